"""Syntax highlighting for JSONata templates and for JSON (pasted events, the preview)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from PySide6.QtGui import QColor, QFont, QSyntaxHighlighter, QTextCharFormat, QTextDocument

__all__ = ["JsonHighlighter", "JsonataHighlighter", "Palette"]


def _format(color: str, *, bold: bool = False, italic: bool = False) -> QTextCharFormat:
    fmt = QTextCharFormat()
    fmt.setForeground(QColor(color))
    if bold:
        fmt.setFontWeight(QFont.Weight.Bold)
    if italic:
        fmt.setFontItalic(True)
    return fmt


@dataclass(frozen=True)
class Palette:
    """Colours chosen to stay readable on a light editor background (WCAG AA on white)."""

    keyword: str = "#7a1fa2"
    function: str = "#0b5cad"
    variable: str = "#00707a"
    string: str = "#a31515"
    number: str = "#116644"
    comment: str = "#6a737d"
    operator: str = "#8a4b00"
    key: str = "#0451a5"
    literal: str = "#7a1fa2"


#: Words with a meaning of their own in JSONata.
KEYWORDS = ("and", "or", "in", "function", "true", "false", "null")

# The state of a block (line) that ends inside an open /* comment.
_IN_COMMENT = 1


class JsonataHighlighter(QSyntaxHighlighter):
    """Keywords, ``$functions``/``$variables``, strings, numbers, ``/* comments */``, operators.

    Strings and comments are found by one left-to-right scan, so a ``/*`` inside a string or a
    quote inside a comment does not confuse the rest of the line; comments may span lines.
    """

    _TOKEN = re.compile(
        r"""
        (?P<comment>/\*)
      | (?P<string>"(?:[^"\\\n]|\\.)*"?|'(?:[^'\\\n]|\\.)*'?)
      | (?P<backtick>`[^`\n]*`?)
      | (?P<call>\$[A-Za-z_][\w]*(?=\s*\())
      | (?P<variable>\$[A-Za-z_]\w*|\$\$|\$(?![\w$]))
      | (?P<number>(?<![\w.])-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?(?![\w]))
      | (?P<word>[A-Za-z_]\w*)
      | (?P<operator>:=|!=|<=|>=|~>|\.\.|\?\?|\?:|[-+*/%&|=<>!?:;,.^#@~])
        """,
        re.VERBOSE,
    )

    def __init__(self, document: QTextDocument, palette: Palette | None = None) -> None:
        super().__init__(document)
        p = palette or Palette()
        self.formats = {
            "keyword": _format(p.keyword, bold=True),
            "call": _format(p.function),
            "variable": _format(p.variable),
            "string": _format(p.string),
            "backtick": _format(p.key),
            "number": _format(p.number),
            "comment": _format(p.comment, italic=True),
            "operator": _format(p.operator),
        }

    def highlightBlock(self, text: str) -> None:
        self.setCurrentBlockState(0)
        start = 0
        if self.previousBlockState() == _IN_COMMENT:
            end = text.find("*/")
            if end < 0:
                self.setFormat(0, len(text), self.formats["comment"])
                self.setCurrentBlockState(_IN_COMMENT)
                return
            self.setFormat(0, end + 2, self.formats["comment"])
            start = end + 2
        pos = start
        while pos < len(text):
            match = self._TOKEN.search(text, pos)
            if match is None:
                break
            kind = match.lastgroup or ""
            begin, finish = match.span()
            if kind == "comment":
                end = text.find("*/", finish)
                if end < 0:
                    self.setFormat(begin, len(text) - begin, self.formats["comment"])
                    self.setCurrentBlockState(_IN_COMMENT)
                    return
                finish = end + 2
                self.setFormat(begin, finish - begin, self.formats["comment"])
            elif kind == "word":
                if match.group() in KEYWORDS:
                    self.setFormat(begin, finish - begin, self.formats["keyword"])
            else:
                self.setFormat(begin, finish - begin, self.formats[kind])
            pos = max(finish, begin + 1)


class JsonHighlighter(QSyntaxHighlighter):
    """Object keys, strings, numbers and ``true``/``false``/``null`` in JSON text."""

    _TOKEN = re.compile(
        r"""
        (?P<key>"(?:[^"\\\n]|\\.)*"(?=\s*:))
      | (?P<string>"(?:[^"\\\n]|\\.)*"?)
      | (?P<number>-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)
      | (?P<literal>\b(?:true|false|null)\b)
        """,
        re.VERBOSE,
    )

    def __init__(self, document: QTextDocument, palette: Palette | None = None) -> None:
        super().__init__(document)
        p = palette or Palette()
        self.formats = {
            "key": _format(p.key),
            "string": _format(p.string),
            "number": _format(p.number),
            "literal": _format(p.literal, bold=True),
        }

    def highlightBlock(self, text: str) -> None:
        for match in self._TOKEN.finditer(text):
            begin, finish = match.span()
            self.setFormat(begin, finish - begin, self.formats[match.lastgroup or "string"])
