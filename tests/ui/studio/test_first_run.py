"""The studio's first-run defects, as a user meets them: a failing template saved without a
word, a message with no way back, a window title that repeats the app's name, and template
edits inside the setup wizard that reached the settings file before Finish."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QWizard
from pytestqt.qtbot import QtBot

from segment_desktop.core.config import ConfigStore
from segment_desktop.core.flow import SetupFlow, Step
from segment_desktop.core.render import Renderer
from segment_desktop.sandbox.runner import Sandbox
from segment_desktop.services import Services
from segment_desktop.ui.studio import StudioDialog, TemplateStudio
from segment_desktop.ui.tasks import TaskRunner
from segment_desktop.ui.wizard.templates import TemplatesPage
from tests.ui.studio.test_studio import AnsweringDialogs
from tests.ui.wizard.test_whole_setup import WAIT_MS, button, click, open_wizard, walk_to_finish

pytestmark = [
    pytest.mark.gui,
    pytest.mark.qt_log_ignore(r"This plugin does not support propagateSizeHints\(\)"),
]

#: Compiles, but fails on every order: ``$number`` of a word is an error.
FAILS_ON_ORDERS = '{"type": "track", "userId": "u", "event": "X", "n": $number("many")}'


@pytest.fixture
def dialogs() -> AnsweringDialogs:
    return AnsweringDialogs()


@pytest.fixture
def studio(qtbot: QtBot, dialogs: AnsweringDialogs) -> Iterator[TemplateStudio]:
    widget = TemplateStudio(Renderer(), ConfigStore(), dialogs=dialogs)
    qtbot.addWidget(widget)
    widget.resize(1200, 760)
    widget.show()
    qtbot.wait_until(lambda: widget.last_preview is not None, timeout=3000)
    yield widget
    widget.shutdown()


def type_at_end(qtbot: QtBot, studio: TemplateStudio, text: str) -> None:
    studio.editor.setFocus()
    qtbot.keyClick(studio.editor, Qt.Key.Key_End, Qt.KeyboardModifier.ControlModifier)
    for i, line in enumerate(text.split("\n")):
        if i:
            qtbot.keyClick(studio.editor, Qt.Key.Key_Return)
        qtbot.keyClicks(studio.editor, line)


def type_at_start(qtbot: QtBot, studio: TemplateStudio, text: str) -> None:
    studio.editor.setFocus()
    qtbot.keyClick(studio.editor, Qt.Key.Key_Home, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClicks(studio.editor, text)
    qtbot.keyClick(studio.editor, Qt.Key.Key_Return)


def replace_all(qtbot: QtBot, studio: TemplateStudio, text: str) -> None:
    studio.editor.setFocus()
    qtbot.keyClick(studio.editor, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClicks(studio.editor, text)


def ctrl_s(qtbot: QtBot, studio: TemplateStudio) -> None:
    qtbot.keyClick(studio.editor, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)


# ------------------------------------------------------------ issue 20.5: saving a failing one


def test_ctrl_s_warns_before_saving_a_template_that_fails_on_the_sample(
    qtbot: QtBot, studio: TemplateStudio, dialogs: AnsweringDialogs
) -> None:
    store = ConfigStore()
    replace_all(qtbot, studio, FAILS_ON_ORDERS)
    ctrl_s(qtbot, studio)  # at once: the preview of this text is still to come
    qtbot.wait_until(lambda: any(a.startswith("failing:") for a in dialogs.asked), timeout=3000)
    question = next(a for a in dialogs.asked if a.startswith("failing:"))
    assert "Checkout Started" in question and "stops with an error" in question
    assert studio.is_dirty, "Keep editing leaves the edit unsaved"
    assert store.load().template_overrides == {}
    assert "Not saved" in studio.status.text()
    assert studio.last_preview is None  # the preview shows the error

    dialogs.save_failing_ok = True
    with qtbot.wait_signal(studio.saved, timeout=3000):
        ctrl_s(qtbot, studio)
    assert store.load().template_overrides == {"checkout_started": FAILS_ON_ORDERS}


def test_ctrl_s_saves_a_working_template_without_asking(
    qtbot: QtBot, studio: TemplateStudio, dialogs: AnsweringDialogs
) -> None:
    type_at_start(qtbot, studio, "/* fine */")
    with qtbot.wait_signal(studio.saved, timeout=3000):
        ctrl_s(qtbot, studio)
    assert not [a for a in dialogs.asked if a.startswith("failing:")]
    assert "checkout_started" in ConfigStore().load().template_overrides


# ------------------------------------------------------------ issue 20.6: a way back


def test_revert_button_puts_the_saved_version_back(qtbot: QtBot, studio: TemplateStudio) -> None:
    saved = studio.editor.toPlainText()
    assert not studio.revert_button.isEnabled()
    type_at_end(qtbot, studio, "\n/* oops */")
    assert studio.is_dirty and studio.revert_button.isEnabled()
    qtbot.mouseClick(studio.revert_button, Qt.MouseButton.LeftButton)
    assert studio.editor.toPlainText() == saved
    assert not studio.is_dirty and not studio.revert_button.isEnabled()
    assert not studio.template_list.currentItem().text().startswith("●")


def test_revert_by_keyboard_alone(qtbot: QtBot, studio: TemplateStudio) -> None:
    saved = studio.editor.toPlainText()
    type_at_end(qtbot, studio, "x")
    qtbot.keyClick(studio, Qt.Key.Key_R, Qt.KeyboardModifier.AltModifier)  # the &Revert mnemonic
    qtbot.wait_until(lambda: not studio.is_dirty, timeout=1000)
    assert studio.editor.toPlainText() == saved


# ------------------------------------------------------------ issue 20.8: the window's title


def test_studio_window_title_does_not_repeat_the_app_name(
    qtbot: QtBot, dialogs: AnsweringDialogs
) -> None:
    studio = TemplateStudio(Renderer(), ConfigStore(), dialogs=dialogs)
    dialog = StudioDialog(studio)
    qtbot.addWidget(dialog)
    assert dialog.windowTitle() == "Template studio"
    assert "Segment Desktop" not in dialog.windowTitle()
    studio.shutdown()


# ------------------------------------------------------------ issue 18.7: the wizard's draft


@pytest.mark.slow
def test_cancelling_setup_after_a_template_edit_leaves_the_settings_file_as_it_was(
    qtbot: QtBot, services: Services, sandbox: Sandbox
) -> None:
    services.config_store.save(services.config_store.load())
    before = services.config_store.path.read_bytes()
    wizard = open_wizard(qtbot, services)
    walk_to_finish(qtbot, wizard, sandbox)  # edits order_completed and saves it in the studio
    assert "order_completed" in wizard.flow.config.template_overrides
    assert services.config_store.path.read_bytes() == before
    click(qtbot, button(wizard, QWizard.WizardButton.CancelButton))
    qtbot.wait_until(lambda: not wizard.isVisible(), timeout=WAIT_MS)
    assert services.config_store.path.read_bytes() == before
    wizard.tasks.shutdown()


def test_templates_page_saves_into_the_draft_and_revert_clears_the_block(
    qtbot: QtBot, services: Services
) -> None:
    services.config_store.save(services.config_store.load())
    before = services.config_store.path.read_bytes()
    flow = SetupFlow(services.load_config())
    tasks = TaskRunner()
    page = TemplatesPage(flow, services, tasks)
    qtbot.addWidget(page)
    page.initializePage()
    page.show()
    studio = page.studio
    assert studio is not None
    qtbot.wait_until(lambda: studio.last_preview is not None, timeout=3000)

    type_at_end(qtbot, studio, "\n/* draft */")
    assert not flow.is_complete(Step.TEMPLATES)
    assert "Save or revert" in page.page_error.text()
    qtbot.mouseClick(studio.revert_button, Qt.MouseButton.LeftButton)
    assert flow.is_complete(Step.TEMPLATES)
    assert "Save or revert" not in page.page_error.text()

    type_at_start(qtbot, studio, "/* kept */")
    with qtbot.wait_signal(studio.saved, timeout=3000):
        ctrl_s(qtbot, studio)
    key = studio.current_key
    assert key is not None and flow.config.template_overrides[key].startswith("/* kept */")
    assert "saved when you finish" in studio.status.text()
    assert services.config_store.path.read_bytes() == before
    tasks.shutdown()


def test_ctrl_s_with_no_event_chosen_saves_without_a_check(
    qtbot: QtBot, studio: TemplateStudio, dialogs: AnsweringDialogs
) -> None:
    from segment_desktop.ui.studio.sample_chooser import Source

    studio.samples.set_source(Source.PASTED)  # nothing pasted yet: no event
    qtbot.wait_until(lambda: studio.samples.current_event is None, timeout=1000)
    type_at_start(qtbot, studio, "/* no event */")
    with qtbot.wait_signal(studio.saved, timeout=3000):
        ctrl_s(qtbot, studio)
    assert not [a for a in dialogs.asked if a.startswith("failing:")]
    assert ConfigStore().load().template_overrides["checkout_started"].startswith("/* no event")
