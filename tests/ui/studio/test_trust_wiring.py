"""Test cases and History inside the real template studio: save cases, break one by an edit,
see it, restore the previous version from History, and the tracking plan in the preview."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QTextCursor
from pytestqt.qtbot import QtBot

from segment_desktop.core.config import ConfigStore
from segment_desktop.core.render import Renderer
from segment_desktop.core.templates import default_template
from segment_desktop.core.tracking_plan import import_plan
from segment_desktop.ui.studio import TemplateStudio
from segment_desktop.ui.studio.trust_panels import TrustPanels
from tests.ui.studio.test_studio import AnsweringDialogs

pytestmark = pytest.mark.gui
KEY = "order_completed"


@pytest.fixture
def wired(qtbot: QtBot, tmp_path: Path) -> Iterator[tuple[TemplateStudio, TrustPanels]]:
    store = ConfigStore()
    studio = TemplateStudio(Renderer(), store, dialogs=AnsweringDialogs())
    panels = studio.trust
    qtbot.addWidget(studio)
    studio.resize(1200, 800)
    studio.select_template(KEY)
    qtbot.wait_until(lambda: studio.last_preview is not None, timeout=10_000)
    yield studio, panels
    studio.shutdown()


def _replace(studio: TemplateStudio, text: str) -> None:
    cursor = studio.editor.textCursor()
    cursor.select(QTextCursor.SelectionType.Document)
    cursor.insertText(text)
    studio.editor.setTextCursor(cursor)


def test_save_cases_break_one_and_restore_from_history(
    qtbot: QtBot, wired: tuple[TemplateStudio, TrustPanels]
) -> None:
    studio, panels = wired
    cases = panels.cases
    assert studio.findChild(type(cases), "testCasesPanel") is cases
    cases.name.setFocus()
    qtbot.keyClicks(cases.name, "first order")
    with qtbot.wait_signal(cases.caseSaved, timeout=20_000):
        qtbot.keyClick(cases.name, Qt.Key.Key_Return)
    qtbot.wait_until(lambda: cases.summary.text() == "1 of 1 case passes", timeout=20_000)

    broken = default_template(KEY).replace("revenue", "revenue_total")
    _replace(studio, broken)
    qtbot.wait_until(lambda: cases.summary.text() == "0 of 1 case passes", timeout=20_000)
    assert studio.save()
    assert panels.history.versions.count() == 1  # the default text it replaced
    assert ConfigStore().load().template_overrides[KEY] == broken

    panels.history.versions.setCurrentRow(0)
    assert '+    "revenue_total"' in panels.history.diff_view.toPlainText() or (
        "revenue_total" in panels.history.diff_view.toPlainText()
    )
    qtbot.mouseClick(panels.history.restore_button, Qt.MouseButton.LeftButton)
    assert studio.editor.toPlainText() == default_template(KEY)
    assert not studio.is_dirty
    assert KEY not in ConfigStore().load().template_overrides  # the default again
    qtbot.wait_until(lambda: cases.summary.text() == "1 of 1 case passes", timeout=20_000)
    assert panels.history.versions.count() == 2  # restoring is a version too
    assert panels.history.selected() is not None


def test_the_tracking_plan_shows_in_the_preview(
    qtbot: QtBot, wired: tuple[TemplateStudio, TrustPanels], tmp_path: Path
) -> None:
    studio, _panels = wired
    plan = tmp_path / "plan.json"
    rule = {"properties": {"properties": {"required": ["affiliation"]}}}
    plan.write_text(json.dumps({"rules": [{"type": "TRACK", "key": "Order Completed",
                                           "jsonSchema": rule}]}))  # fmt: skip
    import_plan(plan, ConfigStore().directory)
    studio.request_preview()
    qtbot.wait_until(
        lambda: (
            studio.last_preview is not None
            and any(
                "Tracking plan" in i.message for c in studio.last_preview.checks for i in c.issues
            )
        ),
        timeout=10_000,
    )
    (issue,) = [i for c in studio.last_preview.checks for i in c.issues if "Tracking" in i.message]
    assert issue.path == "properties" and "'affiliation' is a required property" in issue.message
