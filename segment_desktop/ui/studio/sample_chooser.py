"""Where the preview's input comes from: a built-in sample, the store, a file, or pasted JSON."""

from __future__ import annotations

import json
from collections.abc import Callable
from enum import Enum
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from segment_desktop.commerce import CommerceClient
from segment_desktop.core.envelope import CommerceEvent, parse_event_text, to_event
from segment_desktop.core.errors import EventError, SegmentDesktopError
from segment_desktop.core.events import Group
from segment_desktop.core.samples import Sample, list_samples
from segment_desktop.ui.studio.dialogs import StudioDialogs
from segment_desktop.ui.studio.editor import CodeEditor
from segment_desktop.ui.studio.highlighter import JsonHighlighter
from segment_desktop.ui.tasks import CancelToken, Debouncer, TaskRunner

__all__ = ["PasteProblem", "SampleChooser", "Source", "parse_pasted", "recent_label"]

RECENT_LIMIT = 10
PASTE_DEBOUNCE_MS = 250


class Source(Enum):
    BUILT_IN = "Built-in sample"
    STORE = "Recent from the store"
    FILE = "From a file"
    PASTED = "Pasted JSON"
    GIVEN = "Handed over"  # by code: a delivery from the relay's log, a benchmark's order


class PasteProblem(Exception):
    """Pasted text that is not a usable event; ``line``/``column`` when JSON itself is broken."""

    def __init__(self, message: str, line: int | None = None, column: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.line = line
        self.column = column


def parse_pasted(text: str) -> CommerceEvent:
    """A pasted webhook body → event; :class:`PasteProblem` with the position of a JSON error."""
    if not text.strip():
        raise PasteProblem("Paste a Commerce webhook body (JSON) here.")
    try:
        body = json.loads(text)
    except json.JSONDecodeError as err:
        raise PasteProblem(
            f"Line {err.lineno}, column {err.colno}: {err.msg}.", err.lineno, err.colno
        ) from None
    try:
        return to_event(body)
    except EventError as err:
        raise PasteProblem(str(err)) from None


def recent_label(body: dict[str, Any]) -> str:
    """A short menu label for a store order or customer."""
    data = body.get("payload", {}).get("data", {}) if isinstance(body, dict) else {}
    if not isinstance(data, dict):
        return str(body.get("id", "event"))
    if data.get("type") == "customer":
        return f"{data.get('name') or 'Customer'} <{data.get('email', '')}>"
    ref = data.get("order_number") or str(data.get("id", ""))[:8]
    customer = data.get("customer") or {}
    who = customer.get("name") or customer.get("email") or "guest"
    price = data.get("meta", {}).get("display_price", {}).get("with_tax", {}).get("formatted", "")
    return " · ".join(part for part in (f"Order {ref}", str(who), str(price)) if part)


class SampleChooser(QWidget):
    """Chooses the event the preview renders.

    Store and file reads, and parsing of pasted text, run off the GUI thread.

    Signals:
        eventChanged(object): the chosen :class:`CommerceEvent`, or ``None`` when there is none.
    """

    eventChanged = Signal(object)

    #: Task keys (after the prefix) this widget runs its background work under.
    TASKS = ("sample", "paste")

    def __init__(
        self,
        runner: TaskRunner,
        dialogs: StudioDialogs,
        *,
        samples: Callable[[str | None], list[Sample]] = list_samples,
        commerce: CommerceClient | None = None,
        task_prefix: str = "samples.",
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._runner = runner
        self._prefix = task_prefix
        self._dialogs = dialogs
        self._samples = samples
        self._commerce = commerce
        self._event_name = ""
        self._group = Group.ORDERS
        self._builtin: list[Sample] = []
        self._recent: list[CommerceEvent] = []
        self._file_event: CommerceEvent | None = None
        self._paste_event: CommerceEvent | None = None
        self._given: tuple[CommerceEvent, str] | None = None
        self.current_event: CommerceEvent | None = None

        self.source = QComboBox(self)
        self.source.setObjectName("sampleSource")
        self.source.setAccessibleName("Event source")
        for src in Source:
            if src is not Source.GIVEN:  # listed once something is handed over
                self.source.addItem(src.value, src)
        self.choice = QComboBox(self)
        self.choice.setObjectName("sampleChoice")
        self.choice.setAccessibleName("Event")
        self.choice.setMinimumContentsLength(18)
        self.action = QPushButton("", self)
        self.action.setObjectName("sampleAction")
        self.status = QLabel("", self)
        self.status.setObjectName("sampleStatus")
        self.status.setWordWrap(True)
        self.status.setTextFormat(Qt.TextFormat.PlainText)  # messages quote file and JSON text
        self.paste = CodeEditor(self)
        self.paste.setObjectName("pasteEditor")
        self.paste.setPlaceholderText("Paste a Commerce webhook body here")
        self.paste.set_highlighter(JsonHighlighter(self.paste.document()))
        self.paste.setMaximumHeight(180)
        self._paste_debounce = Debouncer(PASTE_DEBOUNCE_MS, self)

        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(QLabel("Event from", self))
        row.addWidget(self.source)
        row.addWidget(self.choice, 1)
        row.addWidget(self.action)
        row.addStretch(0)  # takes the room only while the choice is hidden
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(row)
        layout.addWidget(self.paste)
        layout.addWidget(self.status)

        self.source.currentIndexChanged.connect(self._source_changed)
        self.choice.currentIndexChanged.connect(self._choice_changed)
        self.action.clicked.connect(self._act)
        self.paste.textChanged.connect(self._paste_debounce.poke)
        self._paste_debounce.triggered.connect(self._parse_paste)
        self._source_changed()

    # -- public -----------------------------------------------------------------------------
    @property
    def current_source(self) -> Source:
        src = self.source.currentData()
        assert isinstance(src, Source)
        return src

    def set_source(self, source: Source) -> None:
        self.source.setCurrentIndex(self.source.findData(source))

    def set_target(self, event_name: str, group: Group) -> None:
        """The template now being edited tracks ``event_name``; offer samples of that event."""
        if event_name == self._event_name:
            return
        self._event_name = event_name
        self._group = group
        self._builtin = self._samples(event_name) or self._samples(None)
        self._recent = []
        self._source_changed()

    def set_commerce_client(self, client: CommerceClient | None) -> None:
        self._commerce = client
        if self.current_source is Source.STORE:
            self._source_changed()

    def use_event(self, event: CommerceEvent, label: str = "") -> None:
        """Preview on an event from elsewhere (a delivery in the relay's log, a bench order).

        It is not put into the paste editor: a large order is megabytes of JSON, and laying
        that out would freeze the window for a second.
        """
        self._given = (event, label or f"{event.triggered_by} event {event.id}")
        if self.source.findData(Source.GIVEN) < 0:
            self.source.addItem(Source.GIVEN.value, Source.GIVEN)
        if self.current_source is Source.GIVEN:
            self._source_changed()
        else:
            self.set_source(Source.GIVEN)

    def flush_paste(self) -> None:
        """Parse pasted text now instead of after the pause (used before a render)."""
        self._paste_debounce.flush()

    # -- internals --------------------------------------------------------------------------
    def _say(self, text: str) -> None:
        self.status.setText(text)
        self.status.setVisible(bool(text))

    def _set_event(self, event: CommerceEvent | None) -> None:
        self.current_event = event
        self.eventChanged.emit(event)

    def _source_changed(self) -> None:
        src = self.current_source
        self.paste.setVisible(src is Source.PASTED)
        self.choice.setVisible(src in (Source.BUILT_IN, Source.STORE, Source.GIVEN))
        self.choice.setEnabled(src is not Source.GIVEN)
        self.action.setVisible(src in (Source.STORE, Source.FILE))
        self.action.setText("Fetch" if src is Source.STORE else "Open…")
        self._say("")
        self.choice.blockSignals(True)
        self.choice.clear()
        if src is Source.BUILT_IN:
            for sample in self._builtin:
                self.choice.addItem(sample.title, sample.name)
        elif src is Source.STORE:
            for index, event in enumerate(self._recent):
                self.choice.addItem(recent_label(event.body), index)
            if self._commerce is None:
                self._say("Connect a Commerce store (or the sandbox) to preview your own orders.")
            self.action.setEnabled(self._commerce is not None)
        elif src is Source.GIVEN and self._given is not None:
            self.choice.addItem(self._given[1])
        self.choice.blockSignals(False)
        if src is Source.BUILT_IN or src is Source.STORE:
            self._choice_changed()
        elif src is Source.GIVEN:
            self._set_event(self._given[0] if self._given else None)
        elif src is Source.FILE:
            self._set_event(self._file_event)
            if self._file_event is None:
                self._say("Open a JSON file holding a Commerce webhook body.")
        else:
            self._parse_paste()

    def _choice_changed(self) -> None:
        src = self.current_source
        index = self.choice.currentIndex()
        if index < 0:
            self._set_event(None)
            return
        if src is Source.BUILT_IN:
            sample = self._builtin[index]
            try:
                self._set_event(sample.load())
            except EventError as err:
                self._say(str(err))
                self._set_event(None)
        elif src is Source.STORE:
            self._set_event(self._recent[index])

    def _act(self) -> None:
        if self.current_source is Source.STORE:
            self._fetch_recent()
        elif self.current_source is Source.FILE:
            path = self._dialogs.choose_event_file(self)
            if path is not None:
                self.open_file(path)

    def open_file(self, path: Path) -> None:
        """Read and parse ``path`` in the background and use it."""
        self._say(f"Reading {path.name}…")

        def read(token: CancelToken) -> CommerceEvent:
            try:
                raw = path.read_bytes()
            except OSError as err:
                raise EventError(f"Could not read {path}: {err.strerror or err}.") from None
            return parse_event_text(raw)

        def done(event: CommerceEvent) -> None:
            self._file_event = event
            self._say(f"{path.name}: {event.triggered_by} event {event.id}")
            if self.current_source is Source.FILE:
                self._set_event(event)

        self._runner.submit(self._prefix + "sample", read, on_result=done, on_error=self._failed)

    def _fetch_recent(self) -> None:
        client = self._commerce
        if client is None:
            return
        group, event_name = self._group, self._event_name
        what = "orders" if group is Group.ORDERS else "customers"
        self._say(f"Fetching the store's latest {what}…")
        self.action.setEnabled(False)

        def fetch(token: CancelToken) -> list[CommerceEvent]:
            if group is Group.ORDERS:
                bodies = client.recent_orders(RECENT_LIMIT, event=event_name)
            else:
                bodies = client.recent_customers(RECENT_LIMIT, event=event_name)
            return [to_event(body) for body in bodies]

        def done(events: list[CommerceEvent]) -> None:
            self.action.setEnabled(True)
            self._recent = events
            if self.current_source is Source.STORE:
                self._source_changed()
                if not events:
                    self._say(f"The store has no {what} yet.")
                else:
                    self._say(f"{len(events)} recent {what} from the store.")

        def failed(err: BaseException) -> None:
            self.action.setEnabled(True)
            self._failed(err)

        self._runner.submit(self._prefix + "sample", fetch, on_result=done, on_error=failed)

    def _failed(self, err: BaseException) -> None:
        if isinstance(err, SegmentDesktopError):
            self._say(str(err))
        else:
            self._say(f"Unexpected problem: {type(err).__name__}: {err}")

    def _parse_paste(self) -> None:
        if self.current_source is not Source.PASTED:
            return
        text = self.paste.toPlainText()

        def done(event: CommerceEvent) -> None:
            self.paste.clear_error()
            self._paste_event = event
            self._say(f"Pasted {event.triggered_by} event {event.id}")
            if self.current_source is Source.PASTED:
                self._set_event(event)

        def failed(err: BaseException) -> None:
            self._paste_event = None
            if isinstance(err, PasteProblem):
                if err.line is not None:
                    self.paste.set_error(err.line, err.column, err.message)
                else:
                    self.paste.clear_error()
                self._say(err.message)
            else:
                self._failed(err)
            if self.current_source is Source.PASTED:
                self._set_event(None)

        self._runner.submit(
            self._prefix + "paste",
            lambda token: parse_pasted(text),
            on_result=done,
            on_error=failed,
        )
