"""Test cases, History and the tracking plan, attached to a template studio.

:func:`attach_trust_panels` adds the two panels as tabs under the preview and connects them to
the studio: the open template and every edit go to both panels, the previewed event is what
"Save as test case" keeps, a save refreshes History, and Restore puts the version in the editor
and saves it through the studio's own save (so the text it replaces is kept in turn). The
imported tracking plan checks every preview beside Segment's own checks.
"""

from __future__ import annotations

import contextlib
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from PySide6.QtCore import SignalInstance
from PySide6.QtGui import QTextCursor
from PySide6.QtWidgets import QFileDialog, QWidget

from segment_desktop.core.errors import SegmentDesktopError
from segment_desktop.core.render import Renderer
from segment_desktop.core.spec import Issue
from segment_desktop.core.template_history import TemplateHistory, history_directory
from segment_desktop.core.template_tests import CaseStore, cases_directory
from segment_desktop.core.tracking_plan import TrackingPlan, import_plan, plan_path, read_plan
from segment_desktop.ui.studio.history_panel import HistoryPanel
from segment_desktop.ui.studio.testcases_panel import TestCasesPanel
from segment_desktop.ui.tasks import TaskRunner

__all__ = ["PlanFile", "TrustPanels", "attach_trust_panels"]


class _Studio(Protocol):
    """What the panels need of :class:`~segment_desktop.ui.studio.studio.TemplateStudio`."""

    templateOpened: SignalInstance
    saved: SignalInstance
    editor: Any
    samples: Any
    live: Any

    @property
    def current_key(self) -> str | None: ...
    def add_panel(self, panel: QWidget, title: str) -> int: ...
    def save(self) -> bool: ...
    def request_preview(self) -> None: ...


def choose_plan_file(parent: QWidget) -> Path | None:
    """Ask for a tracking plan file."""
    name, _ = QFileDialog.getOpenFileName(
        parent, "Import a Segment tracking plan", "", "JSON files (*.json);;All files (*)"
    )
    return Path(name) if name else None


class PlanFile:
    """The imported tracking plan, read again only when its file changes (any thread)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._stamp: tuple[int, int] | None = None
        self._plan: TrackingPlan | None = None
        self._lock = threading.Lock()

    def __call__(self) -> TrackingPlan | None:
        with self._lock:
            try:
                stat = os.stat(self.path)
            except FileNotFoundError:
                self._stamp, self._plan = None, None
                return None
            stamp = (stat.st_mtime_ns, stat.st_size)
            if stamp != self._stamp:
                self._plan = read_plan(self.path)  # a broken plan says so where it is used
                self._stamp = stamp
            return self._plan

    def check(self, call: Any) -> list[Issue]:
        """The plan's violations in one call (none without a plan)."""
        plan = self()
        return plan.check(call) if plan is not None else []


@dataclass
class TrustPanels:
    cases: TestCasesPanel
    history: HistoryPanel
    plan: PlanFile

    def cancel(self) -> None:
        """Drop the panels' pending work (with the studio's own)."""
        self.cases.cancel()


def attach_trust_panels(
    studio: _Studio, renderer: Renderer, runner: TaskRunner, config_dir: Path | None = None
) -> TrustPanels:
    """Add Test cases and History to ``studio`` (its renderer and task runner run the cases),
    keeping their files beside the settings."""
    plan = PlanFile(plan_path(config_dir))
    cases = TestCasesPanel(
        renderer,
        CaseStore(cases_directory(config_dir)),
        runner,
        plan=plan,
        choose_plan=choose_plan_file,
        import_plan=lambda path: import_plan(path, config_dir),
    )
    history = HistoryPanel(TemplateHistory(history_directory(config_dir)))
    studio.add_panel(cases, "Test cases")
    studio.add_panel(history, "History")
    # In the preview a plan's violations are warnings: Segment itself accepts such calls.
    studio.live.extra_checks = lambda call: [
        Issue("warning", i.path, i.message) for i in plan.check(call)
    ]

    def opened(key: str) -> None:
        text = studio.editor.toPlainText()
        cases.set_template(key, text)
        history.set_template(key, text)

    def edited() -> None:
        text = studio.editor.toPlainText()
        cases.set_text(text)
        history.set_current_text(text)

    def restore(text: str, _number: int) -> None:
        cursor = studio.editor.textCursor()
        cursor.beginEditBlock()
        cursor.select(QTextCursor.SelectionType.Document)
        cursor.insertText(text)
        cursor.endEditBlock()
        studio.save()

    studio.templateOpened.connect(opened)
    studio.editor.textChanged.connect(edited)
    studio.samples.eventChanged.connect(cases.set_event)
    studio.saved.connect(lambda _key: history.refresh())
    history.restoreRequested.connect(restore)
    cases.planImported.connect(lambda _plan: studio.request_preview())
    with contextlib.suppress(SegmentDesktopError):  # a broken plan file says so when used
        cases.show_plan(plan())
    cases.set_event(studio.samples.current_event)
    if studio.current_key is not None:
        opened(studio.current_key)
    return TrustPanels(cases, history, plan)
