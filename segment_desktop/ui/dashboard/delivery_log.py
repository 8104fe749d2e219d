"""The relay's recent deliveries, searchable: filter by result, event and time, search by order
or customer id; the selected row shows the webhook, the rendered calls and Segment's answer."""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Mapping, Sequence

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QShowEvent, QStandardItem, QStandardItemModel
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QTableView,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from segment_desktop.relay.journal import SENT, JournalEntry
from segment_desktop.ui.dashboard.snapshot import event_subject, searchable
from segment_desktop.ui.widgets.fields import button_named, name_after_label

HEADERS = ("Received", "Event", "Order or customer", "Calls", "Result")
RESULTS = ("Any result", "delivered", "waiting", "failed")
#: Label → seconds back (0: any time).
PERIODS = {"Any time": 0, "Last 15 minutes": 900, "Last hour": 3600, "Last day": 86_400}
#: Characters of a webhook shown at once: a huge order would take the GUI thread seconds to lay
#: out, and its start is what a user looks for.
SHOWN_CHARS = 200_000

#: What a row shows of an entry; equal keys show the same row.
RowKey = tuple[str, str, int]


def row_key(entry: JournalEntry) -> RowKey:
    return (entry.event_id, entry.result, len(entry.calls))


def row_texts(entry: JournalEntry, subject: str) -> list[str]:
    received = dt.datetime.fromtimestamp(entry.received_at).astimezone().strftime("%H:%M:%S")
    return [received, entry.triggered_by, subject, str(len(entry.calls)), entry.result]


class DeliveriesModel(QStandardItemModel):
    """Rows of :class:`JournalEntry` and their subject. The cells are Qt's own items, so
    painting the table runs no Python; an update (new deliveries, a narrower or wider filter)
    inserts, removes or rewrites only the rows that differ."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(0, len(HEADERS), parent)
        self.setHorizontalHeaderLabels(list(HEADERS))
        self.entries: list[JournalEntry] = []
        self.subjects: list[str] = []
        self._keys: list[RowKey] = []

    def set_entries(
        self,
        entries: Sequence[JournalEntry],
        subjects: Sequence[str],
        keys: Sequence[RowKey] | None = None,
    ) -> bool:
        """Show ``entries`` (newest first; ``keys``: their :func:`row_key` s if known).

        Rows of deliveries no longer shown are removed, rows of new ones inserted in place,
        changed ones rewritten; the rest (and the selection on them) stay. ``True``: the order
        of the rows kept changed, so they were all made again (the selection is lost)."""
        keys = list(keys) if keys is not None else [row_key(e) for e in entries]
        if keys == self._keys:
            return False
        old = self._keys
        wanted = {k[0] for k in keys}
        # Removed from the bottom up, a contiguous run in one call, so row numbers hold.
        row = len(old)
        while row > 0:
            end = row
            while row > 0 and old[row - 1][0] not in wanted:
                row -= 1
            if row < end:
                self.removeRows(row, end - row)
            else:
                row -= 1
        had = {k[0] for k in old}
        kept = [k for k in old if k[0] in wanted]
        if [k[0] for k in kept] != [k[0] for k in keys if k[0] in had]:
            self._remake(entries, subjects, keys)
            return True
        was = dict(zip((k[0] for k in kept), kept, strict=True))
        for row, key in enumerate(keys):
            before = was.get(key[0])
            if before is None:
                items = [QStandardItem(t) for t in row_texts(entries[row], subjects[row])]
                self.insertRow(row, items)
            elif before != key:  # a delivery's result or calls changed
                texts = row_texts(entries[row], subjects[row])
                for column in (3, 4):
                    item = self.item(row, column)
                    if item is not None and item.text() != texts[column]:
                        item.setText(texts[column])
        self.entries, self.subjects, self._keys = list(entries), list(subjects), keys
        return False

    def _remake(
        self, entries: Sequence[JournalEntry], subjects: Sequence[str], keys: list[RowKey]
    ) -> None:
        self.setRowCount(0)
        self.setRowCount(len(entries))
        for row, (entry, subject) in enumerate(zip(entries, subjects, strict=True)):
            for column, text in enumerate(row_texts(entry, subject)):
                self.setItem(row, column, QStandardItem(text))
        self.entries, self.subjects, self._keys = list(entries), list(subjects), keys


class DeliveryLog(QWidget):
    """Filters above a table of deliveries, the selected one's detail beside it.

    Signals:
        openRequested(object): open the selected delivery's event in the template studio.
    """

    openRequested = Signal(object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.all: list[JournalEntry] = []
        self._subjects: dict[str, str] = {}
        self._shown_key: tuple[RowKey, ...] = ()
        self._events: set[str] = set()  # the event filter's choices
        self._detail: object = None
        self._detail_made = False
        self._stale = False  # new entries arrived while the log was hidden

        self.result_filter = QComboBox(self)
        self.result_filter.addItems(list(RESULTS))
        self.event_filter = QComboBox(self)
        self.event_filter.addItem("Any event")
        self.period_filter = QComboBox(self)
        self.period_filter.addItems(list(PERIODS))
        self.search = QLineEdit(self)
        self.search.setPlaceholderText("Order or customer id, email…")
        self.search.setClearButtonEnabled(True)
        filters = QHBoxLayout()
        for text, widget in (
            ("Res&ult:", self.result_filter),
            ("&Event:", self.event_filter),
            ("&When:", self.period_filter),
            ("Sea&rch:", self.search),
        ):
            label = QLabel(text, self)
            label.setBuddy(widget)
            name_after_label(widget, text.replace("&", "").rstrip(":"))
            filters.addWidget(label)
            filters.addWidget(widget, 2 if widget is self.search else 0)
        for combo in (self.result_filter, self.event_filter, self.period_filter):
            combo.currentIndexChanged.connect(lambda _i: self._apply())
        self.search.textChanged.connect(lambda _t: self._apply())

        self.model = DeliveriesModel(self)
        self.table = QTableView(self)
        self.table.setModel(self.model)
        self.table.setAccessibleName("Deliveries")
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.table.setAlternatingRowColors(True)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(True)
        char = self.fontMetrics().horizontalAdvance("0")
        for column, width in enumerate((10, 18, 26, 6)):
            self.table.setColumnWidth(column, char * width)
        self.table.selectionModel().selectionChanged.connect(lambda *_: self._show_detail())

        self.detail = QTabWidget(self)
        self.webhook_view = self._text_view("Webhook")
        self.calls_view = self._text_view("Rendered calls")
        self.answer_view = self._text_view("Segment's answer")
        self.answer_view.setLineWrapMode(QPlainTextEdit.LineWrapMode.WidgetWidth)
        self.detail.addTab(self.webhook_view, "Web&hook")
        self.detail.addTab(self.calls_view, "Rendered &calls")
        self.detail.addTab(self.answer_view, "Segment's &answer")
        self.open_button = QPushButton("Open in s&tudio", self)
        button_named(self.open_button)
        self.open_button.clicked.connect(self._open)
        side = QWidget(self)
        side_layout = QVBoxLayout(side)
        side_layout.setContentsMargins(0, 0, 0, 0)
        side_layout.addWidget(self.detail, 1)
        side_layout.addWidget(self.open_button, 0, Qt.AlignmentFlag.AlignRight)

        self.count = QLabel(self)
        splitter = QSplitter(Qt.Orientation.Horizontal, self)
        splitter.addWidget(self.table)
        splitter.addWidget(side)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 2)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(filters)
        layout.addWidget(splitter, 1)
        layout.addWidget(self.count)
        self._apply()

    def _text_view(self, name: str) -> QPlainTextEdit:
        view = QPlainTextEdit(self)
        view.setReadOnly(True)
        view.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        view.setAccessibleName(name)
        return view

    # -- data --------------------------------------------------------------------------------

    def show_entries(
        self,
        entries: Sequence[JournalEntry],
        subjects: Mapping[str, str] | None = None,
        key: tuple[RowKey, ...] | None = None,
    ) -> None:
        """The relay's latest deliveries (newest first) and, by event id, their order or
        customer; ``key``: their :func:`row_key` s (both worked out off the GUI thread when
        given; else here). Filters and selection are kept; while the log is hidden its rows
        wait for it to be shown."""
        key = key if key is not None else tuple(row_key(e) for e in entries)
        if key == self._shown_key:
            return
        self._shown_key = key
        self.all = list(entries)
        known = self._subjects
        self._subjects = (
            dict(subjects)
            if subjects is not None and len(subjects) >= len(self.all)
            else {
                e.event_id: (subjects or {}).get(e.event_id)
                or known.get(e.event_id)
                or event_subject(e.body)
                for e in self.all
            }
        )
        new_events = {e.triggered_by for e in self.all} - self._events
        if new_events:
            self._events |= new_events
            self.event_filter.addItems(sorted(new_events))
        if self.isVisible():
            self._apply()
        else:
            self._stale = True  # the rows follow when the log is shown

    def showEvent(self, event: QShowEvent) -> None:
        if self._stale:
            self._apply()
        super().showEvent(event)

    def known_events(self) -> dict[str, tuple[str, str]]:
        """Commerce event id → (event name, order or customer) of the deliveries kept."""
        return {e.event_id: (e.triggered_by, self._subjects.get(e.event_id, "")) for e in self.all}

    def visible(self) -> list[JournalEntry]:
        return list(self.model.entries)

    def _apply(self) -> None:
        self._stale = False
        selected = self.selected()
        any_result = self.result_filter.currentIndex() == 0
        result = self.result_filter.currentText()
        any_event = self.event_filter.currentIndex() == 0
        event = self.event_filter.currentText()
        since = PERIODS.get(self.period_filter.currentText(), 0)
        cutoff = time.time() - since if since else None
        needle = self.search.text().strip().lower()
        shown = [
            e
            for e in self.all
            if (any_result or e.result == result)
            and (any_event or e.triggered_by == event)
            and (cutoff is None or e.received_at >= cutoff)
            and (not needle or needle in searchable(e))
        ]
        remade = self.model.set_entries(shown, [self._subjects.get(e.event_id, "") for e in shown])
        count = (
            f"{len(shown)} of {len(self.all)} recent deliveries"
            if self.all
            else "No deliveries yet. Fire a sample, or wait for Commerce to send an event."
        )
        if count != self.count.text():
            self.count.setText(count)
        if remade and selected is not None:
            for row, entry in enumerate(shown):
                if entry.event_id == selected.event_id:
                    self.table.selectRow(row)
                    break
        self._show_detail()

    def selected(self) -> JournalEntry | None:
        model = self.table.selectionModel()
        rows = model.selectedRows() if model is not None else []
        if not rows or rows[0].row() >= len(self.model.entries):
            return None
        return self.model.entries[rows[0].row()]

    def _show_detail(self) -> None:
        """The selected delivery's webhook, calls and answers (written again only when the
        selection or what it shows changed)."""
        entry = self.selected()
        shown = (row_key(entry), tuple(c.answer for c in entry.calls)) if entry else None
        if shown == self._detail and self._detail_made:
            return
        self._detail, self._detail_made = shown, True
        self.open_button.setEnabled(entry is not None)
        if entry is None:
            for view in (self.webhook_view, self.calls_view, self.answer_view):
                view.setPlainText("")
            return
        self.webhook_view.setPlainText(_pretty(entry.body)[:SHOWN_CHARS])
        self.calls_view.setPlainText(_calls_text(entry)[:SHOWN_CHARS])
        self.answer_view.setPlainText(_answers_text(entry))

    def _open(self) -> None:
        entry = self.selected()
        if entry is not None:
            self.openRequested.emit(entry)


def _pretty(body: bytes) -> str:
    try:
        return json.dumps(json.loads(body), indent=2, ensure_ascii=False)
    except ValueError:
        return body.decode("utf-8", "replace")


def _calls_text(entry: JournalEntry) -> str:
    parts = []
    for call in entry.calls:
        parts.append(f"// {call.template_key}\n{_pretty(call.text.encode('utf-8'))}")
    for key, error in entry.template_errors:
        parts.append(f"// {key}: the template failed\n{error}")
    if not parts:
        return "No template tracks this event: nothing was sent."
    return "\n\n".join(parts)


def _answers_text(entry: JournalEntry) -> str:
    lines = [f"The relay's answer to Commerce: {entry.outcome.replace('_', ' ')}."]
    for call in entry.calls:
        answer = call.answer
        said = (
            "Segment accepted it (HTTP 200)."
            if answer == SENT
            else "Not sent yet."
            if answer is None
            else answer
        )
        lines += ["", f"{call.template_key}: {said}", f"messageId {call.message_id}"]
    for key, error in entry.template_errors:
        lines += ["", f"{key}: not sent; the template failed: {error}"]
    return "\n".join(lines)
