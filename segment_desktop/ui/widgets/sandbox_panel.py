"""Sandbox mode: fire a sample order through Commerce's emulator and see what Segment got."""

from __future__ import annotations

import json
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QComboBox,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from segment_desktop.ui.widgets.fields import button_named, name_after_label
from segment_desktop.ui.widgets.tables import ReadOnlyTable

SAMPLE_EVENTS = (
    "order.created",
    "order.paid",
    "order.fulfilled",
    "order.updated",
    "order.refunded",
    "order.cancelled",
    "customer.created",
    "customer.updated",
)


def _call_row(call: dict[str, Any]) -> list[str]:
    who = str(call.get("userId") or call.get("anonymousId") or "")
    name = str(call.get("event") or "")
    props = call.get("properties") or call.get("traits") or {}
    return [str(call.get("type", "")), name, who, json.dumps(props, sort_keys=True)[:200]]


class SandboxPanel(QGroupBox):
    """A "Fire sample …" button (with the event to fire) and the calls Segment received.

    Signals:
        fireRequested(str): the user asked to fire this Commerce event.
    """

    fireRequested = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Sandbox", parent)
        self.event_choice = QComboBox(self)
        self.event_choice.addItems(list(SAMPLE_EVENTS))
        self.event_choice.setCurrentText("order.paid")
        label = QLabel("E&vent:", self)
        label.setBuddy(self.event_choice)
        name_after_label(self.event_choice, "Event")
        self.fire_button = QPushButton("&Fire sample order", self)
        button_named(self.fire_button)
        self.fire_button.clicked.connect(
            lambda: self.fireRequested.emit(self.event_choice.currentText())
        )
        self.event_choice.currentTextChanged.connect(self._name_fire_button)
        row = QHBoxLayout()
        row.addWidget(label)
        row.addWidget(self.event_choice)
        row.addWidget(self.fire_button)
        row.addStretch(1)
        self.received_label = QLabel("What the sandbox Segment received:", self)
        self.received = ReadOnlyTable(
            ["Type", "Event", "User", "Properties"], "Received by Segment", self
        )
        layout = QVBoxLayout(self)
        layout.addLayout(row)
        layout.addWidget(self.received_label)
        layout.addWidget(self.received)

    def _name_fire_button(self, event: str) -> None:
        what = "customer event" if event.startswith("customer.") else "order"
        self.fire_button.setText(f"&Fire sample {what}")
        button_named(self.fire_button)

    def show_calls(self, calls: list[dict[str, Any]]) -> None:
        newest_first = list(reversed(calls))
        self.received.set_rows([_call_row(c) for c in newest_first])
        count = f"{len(calls)} call" + ("" if len(calls) == 1 else "s")
        self.received_label.setText(f"What the sandbox Segment received ({count}):")
