"""What helps the user write a template without knowing Commerce's events by heart: the sample
as a tree, completion, values on hover, "Evaluate selection" and the function reference.

:class:`EditorAssist` wires them to the studio's editor, event chooser and preview. The field
index completion reads is rebuilt off the GUI thread whenever the sample changes; hover values
and selections are evaluated off the GUI thread by the same engine as the preview.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QEvent, QObject, QPoint, Qt, Signal
from PySide6.QtGui import (
    QAction,
    QContextMenuEvent,
    QKeySequence,
    QMouseEvent,
    QPalette,
    QShortcut,
)
from PySide6.QtWidgets import QFrame, QLabel, QTabWidget, QWidget

from segment_desktop.core.completion import FieldIndex
from segment_desktop.core.envelope import CommerceEvent
from segment_desktop.core.errors import SegmentDesktopError, TemplateError
from segment_desktop.core.expression_values import (
    Evaluation,
    evaluate,
    selection_expression,
    show_value,
)
from segment_desktop.core.jsonata_paths import chain_before, relative_path, scope_at
from segment_desktop.core.jsonata_reference import BY_NAME
from segment_desktop.core.render import Renderer
from segment_desktop.core.samples import Sample
from segment_desktop.ui.studio.completion_popup import Completer
from segment_desktop.ui.studio.editor import CodeEditor
from segment_desktop.ui.studio.live_preview import LivePreview
from segment_desktop.ui.studio.sample_tree import SampleTree
from segment_desktop.ui.studio.side_panels import FunctionReference, SelectionPanel
from segment_desktop.ui.tasks import CancelToken, Debouncer, TaskRunner

__all__ = ["HOVER_MS", "EditorAssist"]

#: How long the mouse rests on a path before its value is looked up.
HOVER_MS = 350
_NAME_CHARS = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")


def _documents(
    event: CommerceEvent, samples: Callable[[str | None], list[Sample]], token: CancelToken
) -> FieldIndex:
    """The current sample first, then the event's other samples (for fields it lacks)."""
    documents: list[Any] = [event.body]
    for sample in samples(event.triggered_by):
        token.raise_if_cancelled()
        try:
            other = sample.load()
        except SegmentDesktopError:
            continue
        if other.id != event.id:
            documents.append(other.body)
    return FieldIndex(documents)


class EditorAssist(QObject):
    """The tree, completion, hover and selection evaluation around one editor.

    Signals:
        indexReady(): the fields of the current sample(s) are known to completion.
        selectionEvaluated(object): an :class:`Evaluation`, or the error that replaced it.
        hoverShown(str): the value under the mouse was shown (its text).
    """

    indexReady = Signal()
    selectionEvaluated = Signal(object)
    hoverShown = Signal(str)

    def __init__(
        self,
        editor: CodeEditor,
        live: LivePreview,
        renderer: Renderer,
        runner: TaskRunner,
        task_prefix: str,
        samples: Callable[[str | None], list[Sample]],
        tabs: QTabWidget,
        parent: QWidget,
    ) -> None:
        super().__init__(parent)
        self._editor = editor
        self._live = live
        self._renderer = renderer
        self._runner = runner
        self._prefix = task_prefix
        self._samples = samples
        self._tabs = tabs
        self._event: CommerceEvent | None = None
        self._index = FieldIndex()
        self.tree = SampleTree(runner, task_prefix + "tree-filter", parent)
        self.completer = Completer(editor, lambda: self._index)
        self.selection = SelectionPanel(parent)
        self.reference = FunctionReference(parent)
        self.hover = QLabel(editor.viewport())
        self.hover.setObjectName("hoverValue")
        self.hover.setAccessibleName("Value under the mouse")
        self.hover.setWordWrap(True)
        self.hover.setTextFormat(Qt.TextFormat.PlainText)
        self.hover.setMaximumWidth(420)
        self.hover.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        palette = self.hover.palette()
        palette.setColor(QPalette.ColorRole.Window, palette.color(QPalette.ColorRole.ToolTipBase))
        palette.setColor(
            QPalette.ColorRole.WindowText, palette.color(QPalette.ColorRole.ToolTipText)
        )
        self.hover.setPalette(palette)
        self.hover.setAutoFillBackground(True)
        self.hover.setFrameShape(QFrame.Shape.Box)
        self.hover.setMargin(4)
        self.hover.setFont(editor.font())
        self.hover.hide()
        self._hover_at = QPoint()
        self._hover_debounce = Debouncer(HOVER_MS, self)
        self._hover_debounce.triggered.connect(self._look_up_hover)
        editor.viewport().setMouseTracking(True)
        editor.viewport().installEventFilter(self)
        editor.installEventFilter(self)
        editor.textChanged.connect(self.hover.hide)

        self.evaluate_action = QAction("&Evaluate selection", editor)
        self.evaluate_action.setShortcut(QKeySequence("Ctrl+E"))
        self.evaluate_action.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
        self.evaluate_action.setToolTip("Show the value of the selected part of the template")
        self.evaluate_action.triggered.connect(self.evaluate_selection)
        editor.addAction(self.evaluate_action)
        self.selection.button.setDefaultAction(self.evaluate_action)
        help_shortcut = QShortcut(QKeySequence.StandardKey.HelpContents, parent)
        help_shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        help_shortcut.activated.connect(self.show_reference)
        self.tree.insertRequested.connect(self.insert_path)

    # -- the sample ---------------------------------------------------------------------------
    def set_event(self, event: CommerceEvent | None) -> None:
        """A new sample: show it in the tree, and index its fields (with its siblings')."""
        self._event = event
        self.tree.set_document(event.body if event is not None else None)
        self.hover.hide()
        if event is None:
            self._index = FieldIndex()
            return
        samples = self._samples
        self._runner.submit(
            self._prefix + "index",
            lambda token: _documents(event, samples, token),
            on_result=self._indexed,
        )

    def _indexed(self, index: FieldIndex) -> None:
        self._index = index
        self.indexReady.emit()

    @property
    def index(self) -> FieldIndex:
        return self._index

    def insert_path(self, parts: tuple[str | int, ...]) -> None:
        """Put a tree node's path at the cursor, relative to the context value there."""
        cursor = self._editor.textCursor()
        context = scope_at(self._editor.toPlainText(), cursor.position()).context
        cursor.insertText(relative_path(parts, context))
        self._editor.setTextCursor(cursor)
        self._editor.setFocus()

    def show_reference(self) -> None:
        self._tabs.setCurrentWidget(self.reference)
        self.reference.search.setFocus()

    # -- evaluating a piece of the template ---------------------------------------------------
    def _piece_at_cursor(self) -> tuple[int, int]:
        """The selection, or else the path under the cursor."""
        cursor = self._editor.textCursor()
        if cursor.hasSelection():
            return cursor.selectionStart(), cursor.selectionEnd()
        return self._path_around(cursor.position())

    def _path_around(self, position: int) -> tuple[int, int]:
        text = self._editor.toPlainText()
        end = position
        while end < len(text) and text[end] in _NAME_CHARS:
            end += 1
        chain = chain_before(text, end)
        return (chain.start, end) if chain is not None else (position, position)

    def _submit(
        self, key: str, start: int, end: int, done: Callable[[str, Evaluation], None],
        failed: Callable[[str, BaseException], None],
    ) -> None:  # fmt: skip
        text = self._editor.toPlainText()
        piece = text[start:end].strip()
        event = self._event
        live = self._live
        renderer = self._renderer
        if event is None:
            failed(piece, TemplateError("SD301", "Choose an event first: values come from it."))
            return

        def work(_token: CancelToken) -> Evaluation:
            selection = selection_expression(text, start, end)
            try:
                return evaluate(renderer, live.prepared(event).data, selection)
            except TemplateError as err:
                err.add_note(selection.note)  # what the panel adds to the error, if anything
                raise

        self._runner.submit(
            self._prefix + key,
            work,
            on_result=lambda result: done(piece, result),
            on_error=lambda err: failed(piece, err),
        )

    def evaluate_selection(self) -> None:
        """Ctrl+E: the selection's value (or the path's under the cursor) in the panel."""
        start, end = self._piece_at_cursor()
        self._tabs.setCurrentWidget(self.selection)
        self.selection.show_problem("", "Working it out…")
        self._submit("selection", start, end, self._selection_done, self._selection_failed)

    def _selection_done(self, piece: str, result: Evaluation) -> None:
        kind, text = show_value(result.value)
        self.selection.show_value(piece, kind, text, result.selection.note)
        self.selectionEvaluated.emit(result)

    def _selection_failed(self, piece: str, err: BaseException) -> None:
        message = err.message if isinstance(err, TemplateError) else str(err)
        if isinstance(err, TemplateError) and err.code.startswith("S0"):
            message = f"this is not a whole expression ({message})"
        note = " ".join(getattr(err, "__notes__", ()))
        self.selection.show_problem(piece, f"{message} {note}".strip())
        self.selectionEvaluated.emit(err)

    # -- hover --------------------------------------------------------------------------------
    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        kind = event.type()
        if watched is self._editor.viewport():
            if kind == QEvent.Type.MouseMove:
                assert isinstance(event, QMouseEvent)
                self._hover_at = event.position().toPoint()
                self.hover.hide()
                self._hover_debounce.poke()
            elif kind == QEvent.Type.Leave:
                self._hover_debounce.cancel()
                self.hover.hide()
        elif watched is self._editor:
            if kind == QEvent.Type.KeyPress:
                self.hover.hide()
            elif kind == QEvent.Type.ContextMenu:
                assert isinstance(event, QContextMenuEvent)
                menu = self._editor.createStandardContextMenu()
                menu.addSeparator()
                menu.addAction(self.evaluate_action)
                menu.popup(event.globalPos())
                return True
        return False

    def hover_at(self, point: QPoint) -> None:
        """Look up the value of the path at ``point`` (viewport coordinates) after a pause."""
        self._hover_at = point
        self._hover_debounce.poke()

    def _look_up_hover(self) -> None:
        position = self._editor.cursorForPosition(self._hover_at).position()
        text = self._editor.toPlainText()
        if not (0 <= position < len(text)) or text[position] not in _NAME_CHARS:
            return
        start, end = self._path_around(position)
        if end <= start:
            return
        function = BY_NAME.get(text[start + 1 : end]) if text[start] == "$" else None
        if function is not None and text[end : end + 1] == "(":
            # A function call: its help, from the table completion and the reference use.
            self._show_hover(f"{function.signature}\n{function.description}")
            return
        self._submit("hover", start, end, self._hover_done, lambda _piece, _err: None)

    def _hover_done(self, piece: str, result: Evaluation) -> None:
        kind, text = show_value(result.value, limit=400)
        if result.selection.unknown:
            self._show_hover(f"{piece}: {result.selection.note}")
        else:
            self._show_hover(f"{piece} — {kind}\n{text}")

    def _show_hover(self, text: str) -> None:
        self.hover.setText(text)
        self.hover.adjustSize()
        viewport = self._editor.viewport()
        x = min(self._hover_at.x() + 12, max(0, viewport.width() - self.hover.width()))
        y = self._hover_at.y() + 18
        if y + self.hover.height() > viewport.height():
            y = max(0, self._hover_at.y() - self.hover.height() - 6)
        self.hover.move(x, y)
        self.hover.show()
        self.hover.raise_()
        self.hoverShown.emit(self.hover.text())

    def cancel(self) -> None:
        self._hover_debounce.cancel()
        for key in ("index", "selection", "hover", "tree-filter"):
            self._runner.cancel(self._prefix + key)
