"""What needs me: calls Segment refused and template errors, with Replay, Discard, Open in
studio."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from segment_desktop.ui.widgets.fields import MessageLabel, button_named
from segment_desktop.ui.widgets.tables import ReadOnlyTable

KINDS = {"rejected": "Refused by Segment", "template_error": "Template error"}


def item_rows(items: Sequence[Any]) -> list[list[str]]:
    """The table's cells for parked items (no widget touched: safe off the GUI thread)."""
    return [
        [
            dt.datetime.fromtimestamp(i.at).astimezone().strftime("%Y-%m-%d %H:%M:%S"),
            KINDS.get(i.kind, i.kind),
            f"{i.triggered_by} {i.event_id}",
            i.template_key,
            i.reason,
        ]
        for i in items
    ]


class NeedsMePanel(QWidget):
    """The parked items of the relay, oldest first; the buttons act on the selected rows.

    Signals:
        replayRequested(list): event ids to render again / send again.
        discardRequested(list): event ids whose parked work to delete.
        openRequested(object): the parked item to open in the template studio.
    """

    replayRequested = Signal(list)
    discardRequested = Signal(list)
    openRequested = Signal(object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.items: list[Any] = []
        self.summary = QLabel(self)
        self.summary.setWordWrap(True)
        self.table = ReadOnlyTable(
            ["When", "What", "Event", "Template", "Reason"], "What needs me", self
        )
        self.table.itemSelectionChanged.connect(self._update_buttons)
        # Sized once, not to the contents on every update: that would measure every cell.
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        char = self.fontMetrics().horizontalAdvance("0")
        for column, width in enumerate((19, 16, 40, 16)):
            self.table.setColumnWidth(column, char * width)
        self.replay_button = QPushButton("&Replay", self)
        self.replay_button.setToolTip(
            "Render template errors again with the saved templates and send refused calls "
            "again (as `segment-desktop relay replay` does)."
        )
        self.discard_button = QPushButton("Disc&ard…", self)
        self.discard_button.setToolTip(
            "Delete the selected events' parked work (as `segment-desktop relay purge --id`)."
        )
        self.open_button = QPushButton("Open in s&tudio", self)
        self.open_button.setToolTip("Edit the template with this event as the sample.")
        for button in (self.replay_button, self.discard_button, self.open_button):
            button_named(button)
        self.replay_button.clicked.connect(lambda: self.replayRequested.emit(self.event_ids()))
        self.discard_button.clicked.connect(lambda: self.discardRequested.emit(self.event_ids()))
        self.open_button.clicked.connect(self._open)
        self.message = MessageLabel(self)
        row = QHBoxLayout()
        for button in (self.replay_button, self.discard_button, self.open_button):
            row.addWidget(button)
        row.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.summary)
        layout.addWidget(self.table, 1)
        layout.addLayout(row)
        layout.addWidget(self.message)
        self.busy = False
        self._shown_key: list[tuple[str, str, str, str]] | None = None
        self.show_items([])

    def show_items(self, items: list[Any], rows: list[list[str]] | None = None) -> None:
        """The parked items, oldest first, with their rows when :func:`item_rows` made them
        off the GUI thread. New items at the end only add their rows; the rest is kept."""
        key = [(i.kind, i.event_id, i.template_key, i.reason) for i in items]
        shown = self._shown_key
        if key == shown:
            return  # unchanged: keep the rows (and the selection) as they are
        self._shown_key = key
        added = len(key) - len(shown) if shown is not None else 0
        appended = shown is not None and added > 0 and key[: len(shown)] == shown
        if rows is None:
            rows = item_rows(items[-added:] if appended else items)
        if appended:
            # The rows shown (and the selection) stay; only the new ones are made.
            self.items = list(items)
            table = self.table
            first = table.rowCount()
            table.setRowCount(first + added)
            for offset, row in enumerate(rows[-added:]):
                for column, text in enumerate(row):
                    table.setItem(first + offset, column, QTableWidgetItem(text))
        else:
            chosen = set(self.event_ids())
            self.items = list(items)
            self.table.set_rows(rows)
            self.table.clearSelection()  # rows are by position: select the same items again
            for row_index, item in enumerate(self.items):
                if item.event_id in chosen:
                    self.table.selectRow(row_index)
            self._update_buttons()
        self._show_summary()

    def _show_summary(self) -> None:
        if not self.items:
            text = "Nothing needs you: every event was rendered and sent."
        else:
            errors = sum(1 for i in self.items if i.kind == "template_error")
            refused = len(self.items) - errors
            text = (
                f"{refused} refused by Segment, {errors} template error"
                f"{'' if errors == 1 else 's'}. Fix the cause (the template, or the Segment "
                "settings), then Replay; or Discard what should never be sent."
            )
        if text != self.summary.text():
            self.summary.setText(text)

    def selected_items(self) -> list[Any]:
        rows = sorted({i.row() for i in self.table.selectionModel().selectedRows()})
        return [self.items[r] for r in rows if r < len(self.items)]

    def event_ids(self) -> list[str]:
        return list(dict.fromkeys(i.event_id for i in self.selected_items()))

    def set_busy(self, busy: bool) -> None:
        self.busy = busy
        self._update_buttons()

    def _update_buttons(self) -> None:
        chosen = self.selected_items()
        why = "" if chosen else "Select a row first."
        for button in (self.replay_button, self.discard_button, self.open_button):
            button.setEnabled(bool(chosen) and not self.busy)
            button.setStatusTip(why)
        self.open_button.setEnabled(len(chosen) == 1 and not self.busy)

    def _open(self) -> None:
        chosen = self.selected_items()
        if chosen:
            self.openRequested.emit(chosen[0])
