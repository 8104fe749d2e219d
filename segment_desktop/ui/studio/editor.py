"""A code editor: line numbers, matching brackets, and an error marker at a line and column."""

from __future__ import annotations

from PySide6.QtCore import QMimeData, QRect, QSize, Qt
from PySide6.QtGui import (
    QColor,
    QFontDatabase,
    QPainter,
    QPaintEvent,
    QResizeEvent,
    QSyntaxHighlighter,
    QTextCharFormat,
    QTextCursor,
    QTextFormat,
)
from PySide6.QtWidgets import QPlainTextEdit, QTextEdit, QWidget

from segment_desktop.core.jsonata_scan import CLOSE, OPEN, bracket_partner, code_mask

__all__ = ["LARGE_TEXT", "CodeEditor", "bracket_partner", "code_mask"]

#: Above this many characters the editor stops colouring and bracket matching: both run in
#: Python on the GUI thread over the whole text (a pasted 500-item order is ~2.5 MB of JSON).
LARGE_TEXT = 200_000

ERROR_COLOR = QColor("#d32f2f")
ERROR_LINE_COLOR = QColor(211, 47, 47, 28)
MATCH_COLOR = QColor("#c8e6c9")
UNMATCHED_COLOR = QColor("#ffcdd2")


class _Gutter(QWidget):
    def __init__(self, editor: CodeEditor) -> None:
        super().__init__(editor)
        self._editor = editor

    def sizeHint(self) -> QSize:
        return QSize(self._editor.gutter_width(), 0)

    def paintEvent(self, event: QPaintEvent) -> None:
        self._editor.paint_gutter(event)


class CodeEditor(QPlainTextEdit):
    """A plain-text editor for code.

    * a gutter with line numbers, and a red mark on the line of the current error;
    * the bracket next to the cursor and its partner highlighted (red when unmatched);
    * :meth:`set_error` underlines the reported position with a squiggle and tints its line;
    * a highlighter given to :meth:`set_highlighter` is switched off while the text is larger
      than :data:`LARGE_TEXT` (and so is bracket matching), so a huge paste cannot freeze it.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        font = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        self.setFont(font)
        self.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.setTabStopDistance(self.fontMetrics().horizontalAdvance(" ") * 2)
        self._gutter = _Gutter(self)
        self._highlighter: QSyntaxHighlighter | None = None
        self._error: tuple[int, int, str] | None = None
        self._brackets: tuple[int, int | None] | None = None
        self.blockCountChanged.connect(self._update_gutter_width)
        self.updateRequest.connect(self._scroll_gutter)
        self.cursorPositionChanged.connect(self._refresh_selections)
        self.textChanged.connect(self._text_changed)
        self._update_gutter_width()

    # -- large text -------------------------------------------------------------------------
    def set_highlighter(self, highlighter: QSyntaxHighlighter) -> None:
        """Colour the text with ``highlighter`` while it is not too large."""
        self._highlighter = highlighter
        self._fit_to_size(self._size())

    @property
    def is_large(self) -> bool:
        return self._size() > LARGE_TEXT

    @property
    def highlighting(self) -> bool:
        return self._highlighter is not None and self._highlighter.document() is not None

    def _size(self) -> int:
        return max(0, self.document().characterCount() - 1)

    def _fit_to_size(self, size: int) -> None:
        """Attach or detach the highlighter *before* a change of that size reaches it."""
        if self._highlighter is None:
            return
        attached = self._highlighter.document() is not None
        if size <= LARGE_TEXT and not attached:
            self._highlighter.setDocument(self.document())
        elif size > LARGE_TEXT and attached:
            self._highlighter.setDocument(None)

    def setPlainText(self, text: str) -> None:
        self._fit_to_size(len(text))
        super().setPlainText(text)

    def insertFromMimeData(self, source: QMimeData) -> None:
        if source.hasText():
            self._fit_to_size(self._size() + len(source.text()))
        super().insertFromMimeData(source)

    def _text_changed(self) -> None:
        self._fit_to_size(self._size())
        self._refresh_selections()

    def replace_all(self, text: str) -> None:
        """Replace the whole text as one step the user can undo."""
        cursor = self.textCursor()
        cursor.beginEditBlock()
        cursor.select(QTextCursor.SelectionType.Document)
        cursor.insertText(text)
        cursor.endEditBlock()

    # -- error marker -----------------------------------------------------------------------
    def set_error(self, line: int | None, column: int | None, message: str) -> None:
        """Mark an error at 1-based ``line``/``column`` (clamped into the text)."""
        doc = self.document()
        line = max(1, min(line or 1, doc.blockCount()))
        block = doc.findBlockByNumber(line - 1)
        column = max(1, min(column or 1, max(1, len(block.text()))))
        self._error = (line, column, message)
        self._refresh_selections()
        self._gutter.update()

    def clear_error(self) -> None:
        if self._error is not None:
            self._error = None
            self._refresh_selections()
            self._gutter.update()

    @property
    def error(self) -> tuple[int, int, str] | None:
        """``(line, column, message)`` of the marked error."""
        return self._error

    def error_span(self) -> tuple[int, int] | None:
        """Document offsets ``(start, end)`` of the squiggle."""
        if self._error is None:
            return None
        line, column, _ = self._error
        block = self.document().findBlockByNumber(line - 1)
        text = block.text()
        start = min(column - 1, max(0, len(text) - 1))
        end = start + 1
        while end < len(text) and (text[end].isalnum() or text[end] in "_$"):
            end += 1
        if not text:
            end = start
        return block.position() + start, block.position() + end

    def go_to_error(self) -> None:
        span = self.error_span()
        if span is not None:
            cursor = self.textCursor()
            cursor.setPosition(span[0])
            self.setTextCursor(cursor)
            self.setFocus()

    # -- brackets ---------------------------------------------------------------------------
    @property
    def bracket_match(self) -> tuple[int, int | None] | None:
        """``(bracket, partner or None)`` offsets highlighted at the cursor."""
        return self._brackets

    def _find_brackets(self) -> tuple[int, int | None] | None:
        if self.is_large:
            return None
        text = self.toPlainText()
        pos = self.textCursor().position()
        mask: list[bool] | None = None
        for candidate in (pos, pos - 1):
            if 0 <= candidate < len(text) and text[candidate] in OPEN + CLOSE:
                mask = mask or code_mask(text)
                if mask[candidate]:
                    return candidate, bracket_partner(text, candidate, mask)
        return None

    # -- painting ---------------------------------------------------------------------------
    def _refresh_selections(self) -> None:
        selections: list[QTextEdit.ExtraSelection] = []
        if self._error is not None:
            line, _, message = self._error
            line_sel = QTextEdit.ExtraSelection()
            line_sel.format.setBackground(ERROR_LINE_COLOR)
            line_sel.format.setProperty(QTextFormat.Property.FullWidthSelection, True)
            cursor = QTextCursor(self.document().findBlockByNumber(line - 1))
            line_sel.cursor = cursor
            selections.append(line_sel)
            span = self.error_span()
            if span is not None and span[1] > span[0]:
                squiggle = QTextEdit.ExtraSelection()
                fmt = QTextCharFormat()
                fmt.setUnderlineStyle(QTextCharFormat.UnderlineStyle.WaveUnderline)
                fmt.setUnderlineColor(ERROR_COLOR)
                fmt.setToolTip(message)
                squiggle.format = fmt
                cur = QTextCursor(self.document())
                cur.setPosition(span[0])
                cur.setPosition(span[1], QTextCursor.MoveMode.KeepAnchor)
                squiggle.cursor = cur
                selections.append(squiggle)
        self._brackets = self._find_brackets()
        if self._brackets is not None:
            here, partner = self._brackets
            color = MATCH_COLOR if partner is not None else UNMATCHED_COLOR
            for offset in (here, partner):
                if offset is None:
                    continue
                sel = QTextEdit.ExtraSelection()
                sel.format.setBackground(color)
                cur = QTextCursor(self.document())
                cur.setPosition(offset)
                cur.setPosition(offset + 1, QTextCursor.MoveMode.KeepAnchor)
                sel.cursor = cur
                selections.append(sel)
        self.setExtraSelections(selections)

    def gutter_width(self) -> int:
        digits = max(3, len(str(self.blockCount())))
        return 14 + self.fontMetrics().horizontalAdvance("9") * digits

    def _update_gutter_width(self, _count: int = 0) -> None:
        self.setViewportMargins(self.gutter_width(), 0, 0, 0)

    def _scroll_gutter(self, rect: QRect, dy: int) -> None:
        if dy:
            self._gutter.scroll(0, dy)
        else:
            self._gutter.update(0, rect.y(), self._gutter.width(), rect.height())

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        cr = self.contentsRect()
        self._gutter.setGeometry(QRect(cr.left(), cr.top(), self.gutter_width(), cr.height()))

    def paint_gutter(self, event: QPaintEvent) -> None:
        painter = QPainter(self._gutter)
        painter.fillRect(event.rect(), self.palette().alternateBase())
        block = self.firstVisibleBlock()
        number = block.blockNumber()
        top = round(self.blockBoundingGeometry(block).translated(self.contentOffset()).top())
        bottom = top + round(self.blockBoundingRect(block).height())
        height = self.fontMetrics().height()
        error_line = self._error[0] if self._error else None
        current = self.textCursor().blockNumber()
        while block.isValid() and top <= event.rect().bottom():
            if block.isVisible() and bottom >= event.rect().top():
                if error_line == number + 1:
                    painter.setPen(Qt.PenStyle.NoPen)
                    painter.setBrush(ERROR_COLOR)
                    size = max(6, height // 2)
                    painter.drawEllipse(3, top + (height - size) // 2, size, size)
                    painter.setPen(ERROR_COLOR)
                else:
                    color = self.palette().text().color()
                    if number != current:
                        color.setAlpha(120)
                    painter.setPen(color)
                painter.drawText(
                    0,
                    top,
                    self._gutter.width() - 4,
                    height,
                    Qt.AlignmentFlag.AlignRight,
                    str(number + 1),
                )
            block = block.next()
            top = bottom
            bottom = top + round(self.blockBoundingRect(block).height())
            number += 1
        painter.end()
