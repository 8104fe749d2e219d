"""Completion as you type in the template editor.

The list lives inside the editor (not in a popup window), so the keyboard never leaves the
editor: typing goes on into the text and filters the list; Up/Down move in it; Tab or Enter
accepts; Escape closes. It opens by itself after ``.`` and ``$`` (and on a name inside a block
such as ``items.{ … }``), and on Ctrl+Space anywhere.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtGui import QKeyEvent, QTextCursor
from PySide6.QtWidgets import QFrame, QLabel, QListWidget, QListWidgetItem, QVBoxLayout

from segment_desktop.core.completion import (
    Candidate,
    CompletionRequest,
    FieldIndex,
    analyze,
    complete,
)
from segment_desktop.ui.studio.editor import CodeEditor

__all__ = ["Completer", "CompletionPopup"]

_NAME_CHARS = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")
_STEPS = {Qt.Key.Key_Down: 1, Qt.Key.Key_Up: -1, Qt.Key.Key_PageDown: 8, Qt.Key.Key_PageUp: -8}
_KIND_MARK = {"field": "◆", "function": "ƒ", "helper": "ƒ", "variable": "$"}


class CompletionPopup(QFrame):
    """The list of candidates and a line of help about the highlighted one."""

    def __init__(self, editor: CodeEditor) -> None:
        super().__init__(editor.viewport())
        self.setObjectName("completionPopup")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setAutoFillBackground(True)
        self.list = QListWidget(self)
        self.list.setObjectName("completions")
        self.list.setAccessibleName("Completions")
        self.list.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # the keyboard stays in the editor
        self.detail = QLabel(self)
        self.detail.setObjectName("completionDetail")
        self.detail.setWordWrap(True)
        self.detail.setAccessibleName("Completion help")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.setSpacing(2)
        layout.addWidget(self.list, 1)
        layout.addWidget(self.detail)
        self.list.currentRowChanged.connect(self._show_detail)
        self.candidates: list[Candidate] = []
        self.hide()

    def show_candidates(self, candidates: list[Candidate]) -> None:
        self.candidates = candidates
        self.list.clear()
        for candidate in candidates:
            item = QListWidgetItem(f"{_KIND_MARK.get(candidate.kind, '')} {candidate.label}")
            item.setToolTip(candidate.detail)
            self.list.addItem(item)
        self.list.setCurrentRow(0)

    def _show_detail(self, row: int) -> None:
        if 0 <= row < len(self.candidates):
            self.detail.setText(self.candidates[row].detail)

    @property
    def current(self) -> Candidate | None:
        row = self.list.currentRow()
        return self.candidates[row] if 0 <= row < len(self.candidates) else None

    def move_by(self, step: int) -> None:
        if self.candidates:
            row = (self.list.currentRow() + step) % len(self.candidates)
            self.list.setCurrentRow(row)


class Completer(QObject):
    """Watches the editor's keys and text and drives a :class:`CompletionPopup`.

    ``index`` gives the fields of the current sample(s); it is rebuilt off the GUI thread
    when the sample changes, so asking it here costs a dictionary lookup.

    Signals:
        shown(int): the list opened or was filtered (how many candidates it shows).
        accepted(str): a candidate was inserted (its text).
    """

    shown = Signal(int)
    accepted = Signal(str)

    def __init__(self, editor: CodeEditor, index: Callable[[], FieldIndex]) -> None:
        super().__init__(editor)
        self._editor = editor
        self._index = index
        self.popup = CompletionPopup(editor)
        self._request: CompletionRequest | None = None
        self._typed = ""
        editor.installEventFilter(self)
        editor.textChanged.connect(self._text_changed)
        self.popup.list.itemClicked.connect(lambda _item: self.accept())

    @property
    def visible(self) -> bool:
        return self.popup.isVisible()

    def hide(self) -> None:
        self.popup.hide()
        self._request = None

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self._editor and event.type() == QEvent.Type.KeyPress:
            assert isinstance(event, QKeyEvent)
            return self._key(event)
        if watched is self._editor and event.type() == QEvent.Type.FocusOut:
            self.hide()
        return False

    def _key(self, event: QKeyEvent) -> bool:
        key = event.key()
        ctrl = event.modifiers() & Qt.KeyboardModifier.ControlModifier
        if ctrl and key == Qt.Key.Key_Space:
            self.open(explicit=True)
            return True
        if self.visible:
            if key == Qt.Key.Key_Escape:
                self.hide()
                return True
            if key in (Qt.Key.Key_Tab, Qt.Key.Key_Return, Qt.Key.Key_Enter):
                self.accept()
                return True
            step = _STEPS.get(Qt.Key(key))
            if step is not None:
                self.popup.move_by(step)
                return True
            if key in (Qt.Key.Key_Left, Qt.Key.Key_Right, Qt.Key.Key_Home, Qt.Key.Key_End):
                self.hide()
        erasing = key in (Qt.Key.Key_Backspace, Qt.Key.Key_Delete)
        self._typed = "" if erasing else event.text()
        return False

    def _text_changed(self) -> None:
        typed, self._typed = self._typed, ""
        if not typed:
            if self.visible and not self._editor.hasFocus():
                self.hide()
            elif self.visible:
                self.open(explicit=False, filtering=True)  # Backspace: filter anew
            return
        if typed in (".", "$"):
            self.open(explicit=False)
        elif typed[-1] in _NAME_CHARS:
            self.open(explicit=False, filtering=self.visible)
        else:
            self.hide()

    def open(self, *, explicit: bool, filtering: bool = False) -> None:
        """Show the candidates at the cursor (``explicit``: the user asked, Ctrl+Space)."""
        cursor = self._editor.textCursor()
        if cursor.hasSelection() or self._editor.is_large:
            self.hide()
            return
        text = self._editor.toPlainText()
        position = cursor.position()
        request = analyze(text, position, explicit=explicit)
        if request is None:
            self.hide()
            return
        if (
            not explicit
            and not filtering
            and request.kind == "field"
            and text[request.start - 1 : request.start] != "."
            and not request.scope.context
        ):
            # A bare name at the top is likely a keyword (true, and…): wait for Ctrl+Space.
            self.hide()
            return
        candidates = complete(request, self._index())
        only = candidates[0] if len(candidates) == 1 else None
        if not candidates or (only is not None and only.insert == text[request.start : position]):
            self.hide()
            return
        self._request = request
        self.popup.show_candidates(candidates)
        self._place()
        self.popup.show()
        self.popup.raise_()
        self.shown.emit(len(candidates))

    def _place(self) -> None:
        rect = self._editor.cursorRect()
        viewport = self._editor.viewport()
        width = min(520, max(260, viewport.width() // 2))
        rows = min(8, len(self.popup.candidates))
        height = rows * (self.popup.list.sizeHintForRow(0) or 18) + 60
        x = min(rect.left(), max(0, viewport.width() - width))
        y = rect.bottom() + 2
        if y + height > viewport.height() and rect.top() - height > 0:
            y = rect.top() - height - 2  # no room below: open above the line
        self.popup.setGeometry(x, y, width, height)

    def accept(self) -> None:
        """Put the highlighted candidate in place of what was typed of it."""
        candidate = self.popup.current
        request = self._request
        self.hide()
        if candidate is None or request is None:
            return
        cursor = self._editor.textCursor()
        end = cursor.position()
        while (
            end < len(self._editor.toPlainText()) and self._editor.toPlainText()[end] in _NAME_CHARS
        ):
            end += 1  # completing in the middle of a name replaces all of it
        cursor.setPosition(request.start)
        cursor.setPosition(end, QTextCursor.MoveMode.KeepAnchor)
        cursor.insertText(candidate.insert)
        self._editor.setTextCursor(cursor)
        self.accepted.emit(candidate.insert)
