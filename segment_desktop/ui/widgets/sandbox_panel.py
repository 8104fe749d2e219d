"""Sandbox mode: fire a sample order through Commerce's emulator and see what Segment got."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QComboBox,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
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


@dataclass(frozen=True)
class FireReport:
    """What firing a sample did, end to end as far as it is known when Commerce is done."""

    text: str
    event_id: str = ""
    template_error: str = ""
    """A template the relay could not render for this event (open it in the studio)."""
    queued: bool = False
    """The relay queued calls for Segment (whether Segment took them is known later)."""


def describe_fire(event: str, results: Sequence[Any]) -> FireReport:
    """Word what Commerce and the relay did with a fired event, from the delivery handles
    (each attempt keeps the relay's answer, which says what the relay did with the event)."""
    if not results:
        return FireReport(f"No enabled integration observes {event}: nothing was sent.")
    sentences: list[str] = []
    report = FireReport("")
    for result in results:
        attempts = list(getattr(result, "attempts", []))
        last = attempts[-1] if attempts else None
        tries = f"{len(attempts)} attempt{'' if len(attempts) == 1 else 's'}"
        if last is None or not last.succeeded:
            why = (
                f"HTTP {last.status_code}"
                if last is not None and last.status_code
                else (last.error_detail if last is not None else "no attempt finished")
            )
            sentences.append(
                f"Commerce could not deliver {event} to {result.url} ({why}, {tries})."
            )
            continue
        try:
            answer = json.loads(last.body)
        except ValueError:
            answer = {}
        answer = answer if isinstance(answer, dict) else {}
        status = answer.get("status")
        event_id = str(answer.get("event_id") or result.event_id)
        if status == "template_error":
            failed = [str(t) for t in answer.get("failed_templates") or []]
            sentences.append(
                f"Commerce delivered {event} to the relay, but the relay could not render it: "
                f"template error in {', '.join(failed)}. Open it in the studio to fix it."
            )
            report = FireReport("", event_id, failed[0] if failed else "", report.queued)
        elif status == "queued":
            calls = int(answer.get("calls") or 0)
            sentences.append(
                f"Commerce delivered {event} to the relay, which queued {calls} "
                f"call{'' if calls == 1 else 's'} for Segment."
            )
            report = FireReport("", event_id, report.template_error, True)
        elif status == "ignored":
            sentences.append(
                f"Commerce delivered {event} to the relay; no enabled template tracks it, so "
                "nothing goes to Segment."
            )
        else:
            sentences.append(
                f"Commerce delivered {event} to {result.url} (HTTP {last.status_code})."
            )
    return FireReport(" ".join(sentences), report.event_id, report.template_error, report.queued)


#: Received calls listed (a long sandbox session receives thousands).
SHOWN_CALLS = 100


def _call_row(call: dict[str, Any]) -> list[str]:
    who = str(call.get("userId") or call.get("anonymousId") or "")
    name = str(call.get("event") or "")
    props = call.get("properties") or call.get("traits") or {}
    return [str(call.get("type", "")), name, who, json.dumps(props, sort_keys=True)[:200]]


class SandboxPanel(QGroupBox):
    """A "Fire sample order" (or "customer event") button, with the event to fire, and the calls
    the sandbox Segment received.

    Signals:
        fireRequested(str): the user asked to fire this Commerce event.
    """

    fireRequested = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Sandbox", parent)
        self.event_choice = QComboBox(self)
        self.event_choice.addItems(list(SAMPLE_EVENTS))
        self.event_choice.setCurrentText("order.paid")
        label = QLabel("&Event:", self)
        label.setBuddy(self.event_choice)
        name_after_label(self.event_choice, "Event")
        self.fire_button = QPushButton(self)
        self.event_choice.currentTextChanged.connect(self._name_button)
        self._name_button(self.event_choice.currentText())
        self.fire_button.clicked.connect(
            lambda: self.fireRequested.emit(self.event_choice.currentText())
        )
        row = QHBoxLayout()
        row.addWidget(label)
        row.addWidget(self.event_choice)
        row.addWidget(self.fire_button)
        row.addStretch(1)
        self.received_label = QLabel("What the sandbox Segment received:", self)
        self.received = ReadOnlyTable(
            ["Type", "Event", "User", "Properties"], "Received by Segment", self
        )
        # Sized once: measuring every cell of a growing list each second would stall the GUI.
        self.received.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        char = self.fontMetrics().horizontalAdvance("0")
        for column, width in enumerate((10, 22, 40)):
            self.received.setColumnWidth(column, char * width)
        self._shown = -1
        layout = QVBoxLayout(self)
        layout.addLayout(row)
        layout.addWidget(self.received_label)
        layout.addWidget(self.received)

    def _name_button(self, event: str) -> None:
        noun = "customer event" if event.startswith("customer.") else "order"
        self.fire_button.setText(f"Fi&re sample {noun}")
        button_named(self.fire_button)

    def show_calls(self, calls: list[dict[str, Any]]) -> None:
        """The newest :data:`SHOWN_CALLS` first. ``calls`` is every call received so far, in
        order, and grows between calls: only the new ones are added, above the rows shown
        (those keep their items), and the oldest beyond the limit removed."""
        if len(calls) == self._shown:
            return
        new = len(calls) - self._shown
        if 0 <= self._shown < len(calls) and new < SHOWN_CALLS:
            rows = [_call_row(c) for c in reversed(calls[-new:])]
            self.received.prepend_rows(rows, SHOWN_CALLS)
        else:  # the first list, a list that shrank (the emulator restarted), or all new
            self.received.set_rows([_call_row(c) for c in reversed(calls[-SHOWN_CALLS:])])
        self._shown = len(calls)
        shown = "" if len(calls) <= SHOWN_CALLS else f", the newest {SHOWN_CALLS} shown"
        self.received_label.setText(
            f"What the sandbox Segment received ({len(calls)} call"
            f"{'' if len(calls) == 1 else 's'}{shown}):"
        )
