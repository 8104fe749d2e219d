"""The studio's test cases: save the current event as a case, run the template's cases on every
edit (off the GUI thread), and show a failing case as a side-by-side diff.

The panel knows nothing of the editor: the studio tells it the template and its text
(:meth:`TestCasesPanel.set_template`, :meth:`TestCasesPanel.set_text`) and the event being
previewed (:meth:`TestCasesPanel.set_event`).
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor, QKeyEvent, QTextCharFormat, QTextCursor, QTextFormat
from PySide6.QtWidgets import (
    QDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QTextEdit,
    QVBoxLayout,
    QWidget,
)

from segment_desktop.core.envelope import CommerceEvent
from segment_desktop.core.errors import SegmentDesktopError
from segment_desktop.core.events import template as find_template
from segment_desktop.core.render import Renderer
from segment_desktop.core.template_tests import (
    CaseResult,
    CaseStore,
    TestCase,
    pretty,
    run_case,
    summary,
)
from segment_desktop.core.tracking_plan import TrackingPlan
from segment_desktop.ui.tasks import CancelToken, Debouncer, TaskRunner

__all__ = ["RUN_DEBOUNCE_MS", "CaseDiffDialog", "TestCasesPanel"]

#: Pause after the last edit before the cases run again.
RUN_DEBOUNCE_MS = 150
_FAIL = QColor(255, 224, 224)
_PASS_MARK, _FAIL_MARK = "✓", "✗"


class TestCasesPanel(QWidget):
    """The current template's saved cases, with a pass count and a diff of each failure.

    Signals:
        resultsChanged(list): the cases ran (a list of :class:`CaseResult`).
        caseSaved(str): a case was saved (its file path).
        problem(str): something the user should read (a broken case file, a failed save).
        planImported(object): a tracking plan was imported (the :class:`TrackingPlan`).
    """

    __test__ = False

    resultsChanged = Signal(list)
    caseSaved = Signal(str)
    problem = Signal(str)
    planImported = Signal(object)

    def __init__(
        self,
        renderer: Renderer,
        store: CaseStore,
        runner: TaskRunner,
        *,
        plan: Callable[[], TrackingPlan | None] = lambda: None,
        choose_plan: Callable[[QWidget], Path | None] | None = None,
        import_plan: Callable[[Path], TrackingPlan] | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("testCasesPanel")
        self._renderer = renderer
        self._store = store
        self._runner = runner
        self._plan = plan
        self._choose_plan = choose_plan
        self._import_plan = import_plan
        self._task = f"testcases-{id(self):x}"
        self._key: str | None = None
        self._text = ""
        self._event: CommerceEvent | None = None
        self._results: list[CaseResult] = []
        self._dialog: CaseDiffDialog | None = None

        self.summary = QLabel("No test cases", self)
        self.summary.setObjectName("testCasesSummary")
        self.summary.setAccessibleName("Test cases")
        bold = self.summary.font()
        bold.setBold(True)
        self.summary.setFont(bold)
        self.cases = QListWidget(self)
        self.cases.setAccessibleName("Test case list")
        self.cases.setToolTip("Double-click (or Enter on) a failing case to see its diff")
        self.name = QLineEdit(self)
        self.name.setPlaceholderText("Name of a new case, e.g. guest order in JPY")
        self.name.setAccessibleName("Test case name")
        self.save_button = QPushButton("Save as test case", self)
        self.save_button.setToolTip(
            "Keep the event being previewed and the calls the template makes of it now as the "
            "expected result"
        )
        self.diff_button = QPushButton("Show diff", self)
        self.diff_button.setEnabled(False)
        self.plan_status = QLabel("No tracking plan", self)
        self.plan_status.setAccessibleName("Tracking plan")
        self.plan_status.setWordWrap(True)
        self.plan_button = QPushButton("Import tracking plan…", self)
        self.plan_button.setToolTip(
            "A Segment tracking plan (typewriter's plan.json or the Public API's rules): "
            "every case and every preview is checked against it"
        )

        row = QHBoxLayout()
        row.addWidget(self.name, 1)
        row.addWidget(self.save_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.summary)
        layout.addWidget(self.cases, 1)
        layout.addWidget(self.diff_button)
        layout.addLayout(row)
        plan_row = QHBoxLayout()
        plan_row.addWidget(self.plan_status, 1)
        plan_row.addWidget(self.plan_button)
        layout.addLayout(plan_row)
        importing = choose_plan is not None and import_plan is not None
        self.plan_status.setVisible(importing)
        self.plan_button.setVisible(importing)

        self._debounce = Debouncer(RUN_DEBOUNCE_MS, self)
        self._debounce.triggered.connect(self.run_cases)
        self.save_button.clicked.connect(self.save_case)
        self.name.returnPressed.connect(self.save_case)
        self.diff_button.clicked.connect(self.open_diff)
        self.cases.itemActivated.connect(lambda _item: self.open_diff())
        self.cases.currentRowChanged.connect(self._row_changed)
        self.plan_button.clicked.connect(self.choose_and_import_plan)

    # -- what the studio tells it -------------------------------------------------------------
    @property
    def results(self) -> list[CaseResult]:
        return list(self._results)

    def set_template(self, key: str, text: str) -> None:
        """Another template is open: show its cases and run them now."""
        self._key = find_template(key).key
        self._text = text
        self._debounce.cancel()
        self.run_cases()

    def set_text(self, text: str) -> None:
        """The template's text changed: run its cases again once the typing pauses."""
        self._text = text
        self._debounce.poke()

    def set_event(self, event: CommerceEvent | None) -> None:
        """The event a new case would keep."""
        self._event = event

    def show_plan(self, plan: TrackingPlan | None) -> None:
        """Say which tracking plan applies."""
        self.plan_status.setText(
            f"Tracking plan: {plan.describe()}" if plan else "No tracking plan"
        )

    def choose_and_import_plan(self) -> None:
        """Ask for a plan file, check it and keep it; a bad one is named and changes nothing."""
        if self._choose_plan is None or self._import_plan is None:
            return
        path = self._choose_plan(self)
        if path is None:
            return
        try:
            plan = self._import_plan(path)
        except SegmentDesktopError as err:
            self.plan_status.setText(f"Not imported: {err}")
            self.problem.emit(str(err))
            return
        self.show_plan(plan)
        self.planImported.emit(plan)
        self.run_cases()

    # -- running ------------------------------------------------------------------------------
    def run_cases(self) -> None:
        """Run the template's cases on the current text, in the background."""
        self._debounce.cancel()
        key, text = self._key, self._text
        if key is None:
            return
        renderer, store, plan = self._renderer, self._store, self._plan

        def work(token: CancelToken) -> list[CaseResult]:
            checker = plan()
            check = checker.check if checker is not None else None
            results = []
            for case in store.cases(key):
                token.raise_if_cancelled()
                results.append(run_case(case, text, renderer, check))
            return results

        self._submit(self._task, work, self._show, self._failed)

    def cancel(self) -> None:
        """Drop pending runs and saves; nothing more is shown until the next edit."""
        self._debounce.cancel()
        for key in (self._task, self._task + "-save"):
            self._runner.cancel(key)

    def _submit(
        self,
        key: str,
        work: Callable[[CancelToken], Any],
        on_result: Callable[[Any], None],
        on_error: Callable[[BaseException], None],
    ) -> None:
        try:
            self._runner.submit(key, work, on_result=on_result, on_error=on_error)
        except RuntimeError:
            return  # the runner was shut down with the application: nothing more to show

    def _show(self, results: list[CaseResult]) -> None:
        self._results = results
        row = max(self.cases.currentRow(), 0)
        self.cases.clear()
        for result in results:
            mark = _PASS_MARK if result.passed else _FAIL_MARK
            item = QListWidgetItem(f"{mark} {result.case.name}")
            item.setData(Qt.ItemDataRole.UserRole, result.passed)
            if not result.passed:
                item.setBackground(_FAIL)
                item.setToolTip(result.report())
            self.cases.addItem(item)
        if results:
            self.cases.setCurrentRow(min(row, len(results) - 1))
        text = summary(results)
        self.summary.setText(text)
        self.summary.setAccessibleDescription(text)
        self._row_changed(self.cases.currentRow())
        if self._dialog is not None and self._dialog.isVisible():
            self.open_diff()
        self.resultsChanged.emit(results)

    def _failed(self, err: BaseException) -> None:
        message = str(err) if isinstance(err, SegmentDesktopError) else repr(err)
        self._results = []
        self.cases.clear()
        self.summary.setText(f"Test cases cannot run: {message}")
        self.problem.emit(message)
        self.resultsChanged.emit([])

    def _row_changed(self, row: int) -> None:
        failing = 0 <= row < len(self._results) and not self._results[row].passed
        self.diff_button.setEnabled(failing)

    # -- saving -------------------------------------------------------------------------------
    def save_case(self) -> None:
        """Render the current event with the current text and keep it as a new case."""
        key, text, event = self._key, self._text, self._event
        name = self.name.text().strip()
        if key is None or event is None:
            self._say("Choose an event to preview first: a case keeps that event.")
            return
        if not name:
            self._say("Give the case a name first.")
            self.name.setFocus()
            return
        renderer, store = self._renderer, self._store

        def work(token: CancelToken) -> str:
            calls = renderer.render(text, event, template_key=key).calls
            token.raise_if_cancelled()
            body = {k: v for k, v in event.body.items()}
            return str(store.save(TestCase(name, key, body, calls)))

        def saved(path: str) -> None:
            self.name.clear()
            self.caseSaved.emit(path)
            self.run_cases()

        self._submit(self._task + "-save", work, saved, lambda err: self._say(f"Not saved: {err}"))

    def _say(self, message: str) -> None:
        self.summary.setText(message)
        self.problem.emit(message)

    # -- the diff -----------------------------------------------------------------------------
    def open_diff(self) -> None:
        """Show the selected failing case side by side: expected calls and actual calls."""
        row = self.cases.currentRow()
        if not (0 <= row < len(self._results)) or self._results[row].passed:
            return
        if self._dialog is None:
            self._dialog = CaseDiffDialog(self)
        self._dialog.show_result(self._results[row])
        self._dialog.show()
        self._dialog.raise_()

    @property
    def diff_dialog(self) -> CaseDiffDialog | None:
        return self._dialog

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and self.cases.hasFocus():
            self.open_diff()
            return
        super().keyPressEvent(event)


class CaseDiffDialog(QDialog):
    """Expected and actual calls of one case side by side, differing lines marked, and the
    list of differences with their JSON paths."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Test case diff")
        self.resize(980, 620)
        self.differences = QListWidget(self)
        self.differences.setAccessibleName("Differences")
        self.expected = _side(self, "Expected calls")
        self.actual = _side(self, "Actual calls")
        splitter = QSplitter(Qt.Orientation.Horizontal, self)
        for title, view in (("Expected", self.expected), ("Actual", self.actual)):
            box = QWidget(splitter)
            column = QVBoxLayout(box)
            column.setContentsMargins(0, 0, 0, 0)
            column.addWidget(QLabel(f"<b>{title}</b>", box))
            column.addWidget(view, 1)
            splitter.addWidget(box)
        close = QPushButton("Close", self)
        close.clicked.connect(self.close)
        layout = QVBoxLayout(self)
        layout.addWidget(self.differences)
        layout.addWidget(splitter, 1)
        layout.addWidget(close, 0, Qt.AlignmentFlag.AlignRight)
        self.differences.setMaximumHeight(110)

    def show_result(self, result: CaseResult) -> None:
        self.setWindowTitle(f"Test case diff: {result.case.name}")
        self.differences.clear()
        lines = [str(d) for d in result.differences] + [str(i) for i in result.violations]
        if result.error is not None:
            lines.insert(0, f"Template error: {result.error}")
        self.differences.addItems(lines)
        expected = pretty(result.case.expected).splitlines()
        actual = pretty(result.actual).splitlines()
        self.expected.setPlainText("\n".join(expected))
        self.actual.setPlainText("\n".join(actual))
        changed_left: list[int] = []
        changed_right: list[int] = []
        matcher = difflib.SequenceMatcher(a=expected, b=actual, autojunk=False)
        for tag, a1, a2, b1, b2 in matcher.get_opcodes():
            if tag != "equal":
                changed_left.extend(range(a1, a2))
                changed_right.extend(range(b1, b2))
        _mark(self.expected, changed_left)
        _mark(self.actual, changed_right)
        _reveal(self.expected, changed_left[0] if changed_left else 0)
        _reveal(self.actual, changed_right[0] if changed_right else 0)

    def marked_lines(self, view: QPlainTextEdit) -> list[int]:
        """The 0-based lines marked as different in one side (for tests and screen readers)."""
        return [s.cursor.blockNumber() for s in view.extraSelections()]


def _side(parent: QWidget, name: str) -> QPlainTextEdit:
    view = QPlainTextEdit(parent)
    view.setReadOnly(True)
    view.setAccessibleName(name)
    view.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
    font = view.font()
    font.setFamily("monospace")
    font.setStyleHint(font.StyleHint.Monospace)
    view.setFont(font)
    return view


def _reveal(view: QPlainTextEdit, line: int) -> None:
    """Scroll so that ``line`` (the first difference) is in the middle of the view."""
    block = view.document().findBlockByNumber(line)
    if block.isValid():
        view.setTextCursor(QTextCursor(block))
        view.centerCursor()


def _mark(view: QPlainTextEdit, lines: list[int]) -> None:
    fmt = QTextCharFormat()
    fmt.setBackground(_FAIL)
    fmt.setProperty(QTextFormat.Property.FullWidthSelection, True)
    selections: list[Any] = []
    document = view.document()
    for line in lines:
        block = document.findBlockByNumber(line)
        if not block.isValid():
            continue
        selection = QTextEdit.ExtraSelection()
        selection.format = fmt
        cursor = QTextCursor(block)
        selection.cursor = cursor
        selections.append(selection)
    view.setExtraSelections(selections)
