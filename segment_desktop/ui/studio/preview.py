"""The live preview: what a template makes of an event, checked the way Segment will check it.

:func:`build_preview` is the background half (render, check, measure, format: all off the GUI
thread); :class:`PreviewPanel` only shows its result.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QColor, QFont, QFontDatabase, QPalette
from PySide6.QtWidgets import (
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from segment_desktop.core.envelope import CommerceEvent
from segment_desktop.core.jsontext import pretty_json
from segment_desktop.core.render import PreparedEvent, Renderer
from segment_desktop.core.spec import MAX_CALL_BYTES, Issue, call_size, check_call
from segment_desktop.ui.studio.highlighter import JsonHighlighter
from segment_desktop.ui.studio.json_view import JsonView
from segment_desktop.ui.tasks import CancelToken

__all__ = [
    "HIGHLIGHT_LIMIT",
    "CallCheck",
    "PreparedEventCache",
    "Preview",
    "PreviewPanel",
    "build_preview",
]

#: Formatted output longer than this (characters) is shown without colours.
HIGHLIGHT_LIMIT = 40_000


@dataclass(frozen=True)
class CallCheck:
    """The spec check and size of one finished call."""

    index: int
    label: str
    size: int
    issues: list[Issue]


@dataclass(frozen=True)
class Preview:
    """One finished preview, ready to show."""

    template_text: str
    calls: list[dict[str, Any]]
    formatted: str
    checks: list[CallCheck] = field(default_factory=list)
    elapsed_ms: float = 0.0
    engine: str = ""

    @property
    def largest_size(self) -> int:
        return max((c.size for c in self.checks), default=0)

    @property
    def issues(self) -> list[tuple[int, Issue]]:
        """Every issue with the index of its call, errors first."""
        found = [(c.index, i) for c in self.checks for i in c.issues]
        return sorted(found, key=lambda pair: pair[1].level != "error")

    @property
    def error_count(self) -> int:
        return sum(1 for _, i in self.issues if i.level == "error")

    @property
    def sendable(self) -> bool:
        return bool(self.calls) and self.error_count == 0


def _label(call: dict[str, Any]) -> str:
    kind = str(call.get("type", "call"))
    event = call.get("event")
    return f"{kind} “{event}”" if isinstance(event, str) else kind


class PreparedEventCache:
    """The event being previewed in the engine's own form, made once per event, not per keystroke.

    Serialising and parsing a 500-item order takes tens of milliseconds (and serialising holds the
    GIL, so the GUI thread stalls meanwhile); the renderer takes it ready-made. Thread-safe.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._prepared: PreparedEvent | None = None

    def get(self, renderer: Renderer, event: CommerceEvent) -> PreparedEvent:
        with self._lock:
            prepared = self._prepared
        if prepared is not None and prepared.event is event:
            return prepared
        prepared = renderer.prepare(event)
        with self._lock:
            self._prepared = prepared
        return prepared


def build_preview(
    renderer: Renderer,
    text: str,
    event: CommerceEvent,
    template_key: str,
    token: CancelToken | None = None,
    cache: PreparedEventCache | None = None,
    extra_checks: Callable[[dict[str, Any]], list[Issue]] | None = None,
) -> Preview:
    """Render, check and format (runs on a worker thread). Raises ``TemplateError``.

    ``extra_checks`` adds issues beside Segment's own (the imported tracking plan's).
    """
    prepared = cache.get(renderer, event) if cache is not None else None
    result = renderer.render(text, event, template_key=template_key, prepared=prepared)
    if token is not None:
        token.raise_if_cancelled()
    checks = []
    for i, call in enumerate(result.calls):
        size = call_size(call)
        issues = check_call(call, size=size)
        if extra_checks is not None:
            issues += extra_checks(call)
        checks.append(CallCheck(i, _label(call), size, issues))
    if token is not None:
        token.raise_if_cancelled()
    body: Any = result.calls[0] if len(result.calls) == 1 else result.calls
    formatted = pretty_json(body) if result.calls else ""
    return Preview(text, result.calls, formatted, checks, result.elapsed_ms, result.engine)


def _kb(size: int) -> str:
    """Kilobytes as Segment counts them (1 KB = 1,024 bytes), so the limit reads 32.0 KB."""
    return f"{size / 1024:.1f} KB"


class PreviewPanel(QWidget):
    """Shows a :class:`Preview`, or why there is none.

    Holds the "Send to Segment…" button; the studio decides what it does.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.summary = QLabel("No preview yet.", self)
        self.summary.setObjectName("previewSummary")
        self.summary.setWordWrap(True)
        self.summary.setTextFormat(Qt.TextFormat.PlainText)  # messages quote template text
        self.timing = QLabel("", self)
        self.timing.setObjectName("previewTiming")
        self.size_meter = QProgressBar(self)
        self.size_meter.setObjectName("sizeMeter")
        self.size_meter.setRange(0, MAX_CALL_BYTES)
        self.size_meter.setValue(0)
        self.size_meter.setFormat("")
        self.size_meter.setAccessibleName("Size of the largest call against the 32 KB limit")
        self.json_view = JsonView(self)
        self.json_view.setObjectName("previewJson")
        self.json_view.setPlaceholderText("The finished Segment call(s) appear here.")
        self.json_view.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.json_view.setFont(_fixed_font())
        self.highlighter = JsonHighlighter(self.json_view.document())
        self.issues = QListWidget(self)
        self.issues.setObjectName("previewIssues")
        self.issues.setMaximumHeight(110)
        self.issues.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Maximum)
        self.issues.setWordWrap(True)
        self.issues.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.issues.hide()
        self.stale_note = QLabel("Last good preview, before the error:", self)
        self.stale_note.setObjectName("staleNote")
        self.stale_note.hide()
        self.send_button = QPushButton("Send to Segment…", self)
        self.send_button.setObjectName("sendButton")
        self.send_button.setEnabled(False)
        self.send_status = QLabel("", self)
        self.send_status.setObjectName("sendStatus")
        self.send_status.setWordWrap(True)
        self.send_status.setTextFormat(Qt.TextFormat.PlainText)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.summary)
        layout.addWidget(self.timing)
        layout.addWidget(self.size_meter)
        layout.addWidget(self.stale_note)
        layout.addWidget(self.json_view, 1)
        layout.addWidget(self.issues)
        layout.addWidget(self.send_button)
        layout.addWidget(self.send_status)
        self.preview: Preview | None = None

    @property
    def is_stale(self) -> bool:
        """The text shown is the last good preview, kept (dimmed) under an error."""
        return not self.stale_note.isHidden()

    def _set_stale(self, stale: bool) -> None:
        self.stale_note.setVisible(stale)
        palette = self.palette()
        if stale:
            palette.setColor(
                QPalette.ColorRole.Text, palette.color(QPalette.ColorRole.PlaceholderText)
            )
        self.json_view.setPalette(palette)
        if self.highlighter.document() is not None:
            self.highlighter.setDocument(None if stale else self.json_view.document())
        self.json_view.setAccessibleDescription(
            "The last good preview, before the current error." if stale else ""
        )

    def show_preview(self, preview: Preview) -> None:
        self.preview = preview
        self._set_stale(False)
        calls = len(preview.calls)
        errors = preview.error_count
        warnings = len(preview.issues) - errors
        if not calls:
            self.summary.setText("The template sends nothing for this event.")
        else:
            noun = "call" if calls == 1 else "calls"
            checks = (
                "passes Segment's checks"
                if not preview.issues
                else f"{_counted(errors, 'error')}, {_counted(warnings, 'warning')}"
            )
            self.summary.setText(f"{calls} Segment {noun}: {checks}.")
        self.timing.setText(f"Rendered in {preview.elapsed_ms:.1f} ms by {preview.engine}")
        size = preview.largest_size
        self.size_meter.show()
        self.size_meter.setValue(min(size, MAX_CALL_BYTES))
        self.size_meter.setFormat(f"{_kb(size)} of {_kb(MAX_CALL_BYTES)}")
        self.size_meter.setToolTip(
            "Segment refuses calls over 32 KB." if size > MAX_CALL_BYTES else ""
        )
        # Highlighting runs on the GUI thread over the whole text; past a size it would stall
        # typing (a 500-item order is ~75 KB of JSON), so large output is shown plain.
        big = len(preview.formatted) > HIGHLIGHT_LIMIT
        if big and self.highlighter.document() is not None:
            self.highlighter.setDocument(None)
        self.json_view.show_text(preview.formatted)  # only the changed stretch, highlighted
        if not big and self.highlighter.document() is None:
            self.highlighter.setDocument(self.json_view.document())
        self.issues.clear()
        for index, issue in preview.issues:
            where = f"call {index + 1}: " if calls > 1 else ""
            item = QListWidgetItem(f"{issue.level}: {where}{issue.path}: {issue.message}")
            color = "#b71c1c" if issue.level == "error" else "#8a5a00"
            item.setForeground(QBrush(QColor(color)))
            item.setToolTip(issue.message)
            self.issues.addItem(item)
        self.issues.setVisible(self.issues.count() > 0)
        self.send_button.setEnabled(preview.sendable)

    def show_problem(self, message: str, *, keep_last: bool = False) -> None:
        """No preview: the template or the event is broken; say why (also beside the editor).

        With ``keep_last`` the last good preview stays on screen, dimmed, under the message:
        while a template is being typed it is broken most of the time, and an emptied pane
        would flicker and hide what it made a moment ago.
        """
        self.preview = None
        self.summary.setText(message)
        self.timing.setText("")
        self.size_meter.setValue(0)
        self.size_meter.setFormat("")
        self.size_meter.hide()
        keep = keep_last and bool(self.json_view.text)
        self._set_stale(keep)
        if not keep:
            self.json_view.show_text("")
        self.issues.clear()
        self.issues.hide()
        self.send_button.setEnabled(False)


def _fixed_font() -> QFont:
    return QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)


def _counted(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"
