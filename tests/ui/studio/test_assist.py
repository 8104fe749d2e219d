"""Writing a template without knowing Commerce's events by heart, as a user does it: keys typed
into the real editor, the tree walked by keyboard, the value shown on hover and for a selection,
the function reference searched."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QTextCursor
from PySide6.QtWidgets import QApplication, QListWidget, QTreeWidget, QWidget
from pytestqt.qtbot import QtBot

from bench.orders import order_event
from segment_desktop.core.config import ConfigStore
from segment_desktop.core.errors import TemplateError
from segment_desktop.core.expression_values import Evaluation
from segment_desktop.core.render import Renderer
from segment_desktop.ui.studio import TemplateStudio
from segment_desktop.ui.studio.preview import Preview
from segment_desktop.ui.studio.sample_tree import PAGE
from tests.ui.studio.test_studio import AnsweringDialogs

pytestmark = [
    pytest.mark.gui,
    pytest.mark.qt_log_ignore(r"This plugin does not support propagateSizeHints\(\)"),
]


@pytest.fixture
def studio(qtbot: QtBot) -> Iterator[TemplateStudio]:
    widget = TemplateStudio(Renderer(), ConfigStore(), dialogs=AnsweringDialogs())
    qtbot.addWidget(widget)
    widget.resize(1280, 800)
    widget.show()
    qtbot.waitExposed(widget)
    qtbot.wait_until(lambda: widget.last_preview is not None, timeout=3000)
    assert widget.select_template("order_completed")
    qtbot.wait_until(lambda: bool(widget.assist.index.fields(("payload",))), timeout=3000)
    qtbot.wait_until(
        lambda: (
            widget.last_preview is not None
            and widget.last_preview.template_text == widget.editor.toPlainText()
        ),
        timeout=3000,
    )
    yield widget
    widget.shutdown()


def named(root: QWidget, name: str) -> QWidget:
    found = [w for w in root.findChildren(QWidget) if w.accessibleName() == name]
    assert len(found) == 1, f"{len(found)} widgets named {name!r}"
    return found[0]


def clear_editor(qtbot: QtBot, studio: TemplateStudio) -> None:
    studio.editor.setFocus()
    qtbot.keyClick(studio.editor, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClick(studio.editor, Qt.Key.Key_Delete)


def type_keys(qtbot: QtBot, studio: TemplateStudio, text: str) -> None:
    for i, line in enumerate(text.split("\n")):
        if i:
            qtbot.keyClick(studio.editor, Qt.Key.Key_Return)
        qtbot.keyClicks(studio.editor, line)


def completions(studio: TemplateStudio) -> list[str]:
    popup = named(studio, "Completions")
    assert isinstance(popup, QListWidget)
    if not studio.assist.completer.visible:
        return []
    return [popup.item(i).text().split(" ", 1)[1] for i in range(popup.count())]


# --------------------------------------------------------------------------- completion


def test_fields_complete_after_a_dot_and_tab_accepts(qtbot: QtBot, studio: TemplateStudio) -> None:
    clear_editor(qtbot, studio)
    type_keys(qtbot, studio, "payload.data.meta.display_price.with_tax.")
    assert completions(studio) == ["amount", "currency", "formatted"]
    event = studio.samples.current_event
    assert event is not None
    amount = event.body["payload"]["data"]["meta"]["display_price"]["with_tax"]["amount"]
    help_text = named(studio, "Completion help").text()  # type: ignore[attr-defined]
    assert help_text == f"a number, e.g. {amount}"
    qtbot.keyClicks(studio.editor, "cu")
    assert completions(studio) == ["currency"]
    qtbot.keyClick(studio.editor, Qt.Key.Key_Tab)
    assert studio.editor.toPlainText() == "payload.data.meta.display_price.with_tax.currency"
    assert not studio.assist.completer.visible


def test_escape_closes_and_enter_accepts_the_highlighted_one(
    qtbot: QtBot, studio: TemplateStudio
) -> None:
    clear_editor(qtbot, studio)
    type_keys(qtbot, studio, "payload.")
    assert "data" in completions(studio)
    qtbot.keyClick(studio.editor, Qt.Key.Key_Escape)
    assert not studio.assist.completer.visible
    qtbot.keyClick(studio.editor, Qt.Key.Key_Space, Qt.KeyboardModifier.ControlModifier)
    assert studio.assist.completer.visible
    shown = completions(studio)
    qtbot.keyClick(studio.editor, Qt.Key.Key_Down)
    qtbot.keyClick(studio.editor, Qt.Key.Key_Return)
    assert studio.editor.toPlainText() == f"payload.{shown[1]}"


def test_dollar_lists_variables_functions_and_helpers_with_help(
    qtbot: QtBot, studio: TemplateStudio
) -> None:
    clear_editor(qtbot, studio)
    type_keys(qtbot, studio, "($order := payload.data;\n$order.")
    found = completions(studio)
    assert {"id", "status", "meta", "customer"} <= set(found)
    type_keys(qtbot, studio, "id;\n$am")
    assert completions(studio) == ["$amount(money[, currency])"]
    assert "minor units" in named(studio, "Completion help").text()  # type: ignore[attr-defined]
    qtbot.keyClick(studio.editor, Qt.Key.Key_Backspace)
    qtbot.keyClick(studio.editor, Qt.Key.Key_Backspace)
    assert "$order" in completions(studio)
    qtbot.keyClicks(studio.editor, "subst")
    assert completions(studio)[0] == "$substring(str, start[, length])"
    qtbot.keyClick(studio.editor, Qt.Key.Key_Tab)
    assert studio.editor.toPlainText().endswith("$substring(")


# --------------------------------------------------------------------------- the tree


def test_tree_inserts_a_path_by_keyboard(qtbot: QtBot, studio: TemplateStudio) -> None:
    tree = named(studio, "Sample fields")
    assert isinstance(tree, QTreeWidget)
    clear_editor(qtbot, studio)
    item = studio.assist.tree.find_item(
        ("payload", "data", "meta", "display_price", "with_tax", "amount")
    )
    assert item is not None and item.text(1).isdigit()
    tree.setFocus()
    tree.setCurrentItem(item)
    qtbot.keyClick(tree, Qt.Key.Key_Return)
    assert studio.editor.toPlainText() == "payload.data.meta.display_price.with_tax.amount"
    assert studio.editor.hasFocus()

    clear_editor(qtbot, studio)
    type_keys(qtbot, studio, 'payload.included.items.{"n": ')
    studio.assist.completer.hide()
    name = studio.assist.tree.find_item(("payload", "included", "items", 0, "name"))
    assert name is not None
    tree.setCurrentItem(name)
    qtbot.keyClick(tree, Qt.Key.Key_Return)
    assert studio.editor.toPlainText() == 'payload.included.items.{"n": name'  # relative inside


def test_a_500_item_order_opens_lazily_and_filters_off_the_gui_thread(
    qtbot: QtBot, studio: TemplateStudio
) -> None:
    studio.samples.use_event(order_event(500))
    tree = studio.assist.tree
    qtbot.wait_until(lambda: studio.samples.current_event is not None, timeout=3000)
    items = tree.find_item(("payload", "included", "items"))
    assert items is not None and items.text(1) == "[500 items]"
    items.setExpanded(True)
    assert items.childCount() == PAGE + 1  # a page, and a "more" row
    more = items.child(PAGE)
    assert more is not None and more.text(0).startswith(f"… {500 - PAGE} more")
    tree.tree.setCurrentItem(more)
    tree.tree.setFocus()
    qtbot.keyClick(tree.tree, Qt.Key.Key_Return)
    assert items.childCount() == 2 * PAGE + 1

    tree.filter.setFocus()
    qtbot.keyClicks(tree.filter, "with_tax amount")
    qtbot.wait_until(lambda: tree.tree.topLevelItemCount() > 0
                     and "with_tax" in tree.tree.topLevelItem(0).text(0), timeout=3000)  # fmt: skip
    shown = [tree.tree.topLevelItem(i).text(0) for i in range(tree.tree.topLevelItemCount())]
    assert "payload.data.meta.display_price.with_tax.amount" in shown
    assert all("with_tax" in s and "amount" in s for s in shown)


# --------------------------------------------------------------------------- values


def test_hover_shows_the_value_of_the_path_under_the_mouse(
    qtbot: QtBot, studio: TemplateStudio
) -> None:
    clear_editor(qtbot, studio)
    type_keys(qtbot, studio, "payload.data.meta.display_price.with_tax.currency")
    studio.assist.completer.hide()
    cursor = studio.editor.textCursor()
    cursor.setPosition(len("payload.data.meta.display_price.with_tax.cur"))
    point = studio.editor.cursorRect(cursor).center()
    with qtbot.wait_signal(studio.assist.hoverShown, timeout=3000) as shown:
        qtbot.mouseMove(studio.editor.viewport(), point + QPoint(0, 1))
        qtbot.mouseMove(studio.editor.viewport(), point)
    assert shown.args is not None
    assert "a string" in shown.args[0] and '"GBP"' in shown.args[0]
    assert named(studio, "Value under the mouse").isVisible()


def test_ctrl_e_evaluates_a_selection_with_the_variables_bound_above(
    qtbot: QtBot, studio: TemplateStudio
) -> None:
    text = studio.editor.toPlainText()
    start = text.index("$money($revenueMinor)")
    cursor = studio.editor.textCursor()
    cursor.setPosition(start)
    cursor.setPosition(start + len("$money($revenueMinor)"), QTextCursor.MoveMode.KeepAnchor)
    studio.editor.setTextCursor(cursor)
    studio.editor.setFocus()
    with qtbot.wait_signal(studio.assist.selectionEvaluated, timeout=3000) as done:
        qtbot.keyClick(studio.editor, Qt.Key.Key_E, Qt.KeyboardModifier.ControlModifier)
    assert isinstance(done.args[0], Evaluation) if done.args else False
    panel = named(studio, "Selection value")
    assert studio.side_tabs.currentWidget() is studio.assist.selection
    assert panel.toPlainText() == "103.5"  # type: ignore[attr-defined]
    assert "a number" in studio.assist.selection.heading.text()

    start = text.index("$i + 1")
    cursor.setPosition(start)
    cursor.setPosition(start + len("$i + 1"), QTextCursor.MoveMode.KeepAnchor)
    studio.editor.setTextCursor(cursor)
    with qtbot.wait_signal(studio.assist.selectionEvaluated, timeout=3000):
        studio.assist.evaluate_action.trigger()  # the menu entry
    heading = studio.assist.selection.heading.text()
    assert "$i gets a value only while the whole template runs" in heading


def test_selection_that_is_not_an_expression_says_so(qtbot: QtBot, studio: TemplateStudio) -> None:
    clear_editor(qtbot, studio)
    type_keys(qtbot, studio, '{"a": payload.id}')
    cursor = studio.editor.textCursor()
    cursor.setPosition(0)
    cursor.setPosition(4, QTextCursor.MoveMode.KeepAnchor)
    studio.editor.setTextCursor(cursor)
    with qtbot.wait_signal(studio.assist.selectionEvaluated, timeout=3000) as done:
        qtbot.keyClick(studio.editor, Qt.Key.Key_E, Qt.KeyboardModifier.ControlModifier)
    assert done.args is not None and isinstance(done.args[0], TemplateError)
    assert "not a whole expression" in studio.assist.selection.heading.text()


# --------------------------------------------------------------------------- errors and help


def test_an_error_keeps_the_last_good_preview_dimmed_under_it(
    qtbot: QtBot, studio: TemplateStudio
) -> None:
    good = studio.preview.json_view.text
    assert good and not studio.preview.is_stale
    studio.editor.setFocus()
    qtbot.keyClick(studio.editor, Qt.Key.Key_End, Qt.KeyboardModifier.ControlModifier)
    with qtbot.wait_signal(studio.previewUpdated, timeout=3000) as outcome:
        qtbot.keyClicks(studio.editor, " +")
    assert outcome.args is not None and isinstance(outcome.args[0], TemplateError)
    assert studio.preview.is_stale
    assert studio.preview.json_view.text == good
    assert studio.preview.stale_note.isVisible()
    assert studio.preview.summary.text().startswith("No preview:")
    assert studio.editor.error is not None
    with qtbot.wait_signal(studio.previewUpdated, timeout=3000) as outcome:
        qtbot.keyClick(studio.editor, Qt.Key.Key_Backspace)
    assert isinstance(outcome.args[0], Preview) if outcome.args else False
    assert not studio.preview.is_stale


def test_f1_opens_the_searchable_function_reference(qtbot: QtBot, studio: TemplateStudio) -> None:
    studio.editor.setFocus()
    qtbot.keyClick(studio.editor, Qt.Key.Key_F1)
    search = named(studio, "Search functions")
    assert search.hasFocus()
    qtbot.keyClicks(search, "base64")
    reference = studio.assist.reference
    assert [f.name for f in reference.shown] == ["base64encode", "base64decode"]
    shown = named(studio, "Function reference").toPlainText()  # type: ignore[attr-defined]
    assert "$base64encode(str)" in shown and '"aGk="' in shown


# --------------------------------------------------------------------------- the whole story


def test_a_newcomer_writes_the_products_list_from_completion_and_the_tree(
    qtbot: QtBot, studio: TemplateStudio
) -> None:
    """Order Completed's products, written only from what the studio offers: the tree shows
    where the lines are, completion gives each field's name."""
    clear_editor(qtbot, studio)
    type_keys(qtbot, studio, '{"type": "track", "userId": "u-1", "event": "Order Completed",\n')
    type_keys(qtbot, studio, ' "properties": {"products": ')
    tree = studio.assist.tree
    lines = tree.find_item(("payload", "included", "items"))
    assert lines is not None
    tree.tree.setCurrentItem(lines)
    tree.tree.setFocus()
    qtbot.keyClick(tree.tree, Qt.Key.Key_Return)  # inserts payload.included.items
    type_keys(qtbot, studio, '[type="cart_item"].{\n  "sku": ')
    qtbot.keyClick(studio.editor, Qt.Key.Key_Space, Qt.KeyboardModifier.ControlModifier)
    assert "sku" in completions(studio) and "quantity" in completions(studio)
    qtbot.keyClicks(studio.editor, "sk")
    qtbot.keyClick(studio.editor, Qt.Key.Key_Tab)
    type_keys(qtbot, studio, ',\n  "name": na')
    qtbot.keyClick(studio.editor, Qt.Key.Key_Tab)
    type_keys(qtbot, studio, ',\n  "quantity": qua')
    qtbot.keyClick(studio.editor, Qt.Key.Key_Tab)
    type_keys(qtbot, studio, ',\n  "price": $am')
    qtbot.keyClick(studio.editor, Qt.Key.Key_Tab)  # $amount(
    type_keys(qtbot, studio, "unit_price.")
    assert "amount" in completions(studio) and "currency" in completions(studio)
    qtbot.keyClicks(studio.editor, "am")
    qtbot.keyClick(studio.editor, Qt.Key.Key_Tab)
    type_keys(qtbot, studio, ", unit_price.cur")
    qtbot.keyClick(studio.editor, Qt.Key.Key_Tab)
    type_keys(qtbot, studio, ")\n}}}")
    assert studio.editor.toPlainText().endswith(
        '"price": $amount(unit_price.amount, unit_price.currency)\n}}}'
    )
    with qtbot.wait_signal(studio.previewUpdated, timeout=3000) as outcome:
        studio.request_preview()
    preview = outcome.args[0] if outcome.args else None
    assert isinstance(preview, Preview), studio.status.text()
    products = json.loads(studio.preview.json_view.text)["properties"]["products"]
    assert products and all(set(p) == {"sku", "name", "quantity", "price"} for p in products)
    assert all(isinstance(p["price"], int | float) for p in products)
    assert "passes Segment's checks" in studio.preview.summary.text()
    assert QApplication.focusWidget() is studio.editor


def test_the_tree_by_keyboard_alone(qtbot: QtBot, studio: TemplateStudio) -> None:
    """Alt+S to the filter, Down into the tree, arrows to walk and open, Enter to insert."""
    clear_editor(qtbot, studio)
    tree = studio.assist.tree
    qtbot.keyClick(studio.editor, Qt.Key.Key_S, Qt.KeyboardModifier.AltModifier)
    assert tree.filter.hasFocus()
    qtbot.keyClick(tree.filter, Qt.Key.Key_Down)
    assert tree.tree.hasFocus()
    labels = [tree.tree.topLevelItem(i).text(0) for i in range(tree.tree.topLevelItemCount())]
    for _ in range(labels.index("payload")):
        qtbot.keyClick(tree.tree, Qt.Key.Key_Down)
    qtbot.keyClick(tree.tree, Qt.Key.Key_Right)  # open payload (filled now, lazily)
    qtbot.keyClick(tree.tree, Qt.Key.Key_Down)  # data
    assert tree.tree.currentItem().text(0) == "data"
    qtbot.keyClick(tree.tree, Qt.Key.Key_Right)
    qtbot.keyClick(tree.tree, Qt.Key.Key_Down)  # data's first field
    first = tree.tree.currentItem().text(0)
    qtbot.keyClick(tree.tree, Qt.Key.Key_Return)
    assert studio.editor.toPlainText() == f"payload.data.{first}"
    assert studio.editor.hasFocus()


def test_a_click_on_a_completion_accepts_it(qtbot: QtBot, studio: TemplateStudio) -> None:
    clear_editor(qtbot, studio)
    type_keys(qtbot, studio, "payload.data.meta.display_price.with_tax.")
    popup = named(studio, "Completions")
    assert isinstance(popup, QListWidget)
    rect = popup.visualItemRect(popup.item(1))
    qtbot.mouseClick(popup.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert studio.editor.toPlainText() == "payload.data.meta.display_price.with_tax.currency"
    assert not studio.assist.completer.visible


def test_hover_on_a_function_call_shows_its_help(qtbot: QtBot, studio: TemplateStudio) -> None:
    clear_editor(qtbot, studio)
    type_keys(qtbot, studio, '$uppercase("gbp")')
    studio.assist.completer.hide()
    cursor = studio.editor.textCursor()
    cursor.setPosition(3)
    point = studio.editor.cursorRect(cursor).center()
    with qtbot.wait_signal(studio.assist.hoverShown, timeout=3000) as shown:
        qtbot.mouseMove(studio.editor.viewport(), point + QPoint(0, 1))
        qtbot.mouseMove(studio.editor.viewport(), point)
    assert shown.args == ["$uppercase(str)\nThe string in capitals."]
