"""A read-only text view that changes only what changed when its text is replaced.

The preview is re-shown after every keystroke, usually with a few characters different.
``setPlainText`` would lay out the whole document again (~11 ms on the GUI thread for a
500-item order), highlight it all again and jump back to the top; replacing just the changed
stretch keeps the work proportional to the change and the reader where they were.
"""

from __future__ import annotations

from PySide6.QtGui import QTextCursor
from PySide6.QtWidgets import QPlainTextEdit, QWidget


def changed_span(old: str, new: str) -> tuple[int, int, int]:
    """``(start, old_end, new_end)``: ``old[start:old_end]`` became ``new[start:new_end]``."""
    limit = min(len(old), len(new))
    low, high = 0, limit  # longest common prefix, by halving (slice comparisons run in C)
    while low < high:
        mid = (low + high + 1) // 2
        if old[:mid] == new[:mid]:
            low = mid
        else:
            high = mid - 1
    start = low
    low, high = 0, limit - start  # longest common suffix that does not overlap the prefix
    while low < high:
        mid = (low + high + 1) // 2
        if old[len(old) - mid :] == new[len(new) - mid :]:
            low = mid
        else:
            high = mid - 1
    return start, len(old) - low, len(new) - low


def _utf16_length(text: str) -> int:
    """Qt counts positions in UTF-16 code units: characters beyond U+FFFF count twice."""
    return len(text.encode("utf-16-le")) // 2


class JsonView(QPlainTextEdit):
    """Read-only, no undo history; :meth:`show_text` edits in place."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setReadOnly(True)
        self.setUndoRedoEnabled(False)
        self._text = ""

    @property
    def text(self) -> str:
        """Exactly the text last shown (``toPlainText`` turns no-break spaces into spaces)."""
        return self._text

    def show_text(self, text: str) -> None:
        old = self._text
        if text == old:
            return
        self._text = text
        if not old or not text:
            self.setPlainText(text)
            return
        start, old_end, new_end = changed_span(old, text)
        first = _utf16_length(old[:start])
        cursor = QTextCursor(self.document())
        cursor.setPosition(first)
        cursor.setPosition(
            first + _utf16_length(old[start:old_end]), QTextCursor.MoveMode.KeepAnchor
        )
        cursor.insertText(text[start:new_end])
