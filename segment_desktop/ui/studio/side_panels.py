"""Two panels under the preview: the value of a selected part of the template, and the
searchable JSONata function reference (from the table completion uses)."""

from __future__ import annotations

import html

from PySide6.QtCore import Qt
from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QTextBrowser,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from segment_desktop.core.jsonata_reference import JsonataFunction, search_functions

__all__ = ["FunctionReference", "SelectionPanel"]


class SelectionPanel(QWidget):
    """What "Evaluate selection" (Ctrl+E) found: the expression's value, its type and size,
    or a sentence saying why it has none."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("selectionPanel")
        self.heading = QLabel(
            "Select part of the template and press Ctrl+E to see its value on this event.", self
        )
        self.heading.setObjectName("selectionHeading")
        self.heading.setWordWrap(True)
        self.heading.setTextFormat(Qt.TextFormat.PlainText)
        self.button = QToolButton(self)  # its action comes from the editor (Ctrl+E)
        self.button.setObjectName("evaluateButton")
        self.value = QPlainTextEdit(self)
        self.value.setObjectName("selectionValue")
        self.value.setAccessibleName("Selection value")
        self.value.setReadOnly(True)
        self.value.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.value.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        row = QHBoxLayout()
        row.addWidget(self.heading, 1)
        row.addWidget(self.button, 0, Qt.AlignmentFlag.AlignTop)
        layout.addLayout(row)
        layout.addWidget(self.value, 1)

    def show_value(self, piece: str, kind: str, text: str, note: str) -> None:
        short = _short(piece)
        self.heading.setText(f"{short} is {kind}." + (f" {note}" if note else ""))
        self.value.setPlainText(text)

    def show_problem(self, piece: str, message: str) -> None:
        short = _short(piece)
        self.heading.setText(f"{short}: {message}" if short else message)
        self.value.setPlainText("")


def _short(piece: str) -> str:
    """A selection on one line, at most 60 characters."""
    flat = " ".join(piece.split())
    return flat if len(flat) <= 60 else flat[:59] + "…"


def _entry_html(function: JsonataFunction) -> str:
    result = f" → <code>{html.escape(function.result)}</code>" if function.result else ""
    return (
        f"<p><b><code>{html.escape(function.signature)}</code></b>"
        f" <small>({html.escape(function.category)})</small><br>"
        f"{html.escape(function.description)}<br>"
        f"<code>{html.escape(function.example)}</code>{result}</p>"
    )


class FunctionReference(QWidget):
    """Every function a template may call, searchable by name or by what it does."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("functionReference")
        self.search = QLineEdit(self)
        self.search.setObjectName("functionSearch")
        self.search.setPlaceholderText("Search functions (name or what it does)")
        self.search.setAccessibleName("Search functions")
        self.search.setClearButtonEnabled(True)
        self.view = QTextBrowser(self)
        self.view.setObjectName("functionList")
        self.view.setAccessibleName("Function reference")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addWidget(self.search)
        layout.addWidget(self.view, 1)
        self.search.textChanged.connect(self.show_matches)
        self.shown: list[JsonataFunction] = []
        self.show_matches("")

    def show_matches(self, query: str) -> None:
        self.shown = search_functions(query)
        if not self.shown:
            self.view.setHtml(f"<p>No function mentions “{html.escape(query)}”.</p>")
            return
        self.view.setHtml("".join(_entry_html(f) for f in self.shown))
