"""The local relay's outbox: pending and parked counts, and what is parked and why."""

from __future__ import annotations

import datetime as dt

from PySide6.QtWidgets import QGroupBox, QLabel, QVBoxLayout, QWidget

from segment_desktop.services import RelayStatus
from segment_desktop.ui.widgets.tables import ReadOnlyTable


class RelayStatusPanel(QGroupBox):
    """Shows a :class:`RelayStatus` (or that no relay runs on this computer)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Relay", parent)
        self.summary = QLabel(self)
        self.summary.setWordWrap(True)
        self.parked = ReadOnlyTable(["When", "Event", "Template", "Reason"], "Parked calls", self)
        self.parked.setMaximumHeight(120)
        layout = QVBoxLayout(self)
        layout.addWidget(self.summary)
        layout.addWidget(self.parked)
        self.show_status(None)

    def show_status(self, status: RelayStatus | None) -> None:
        if status is None:
            self.summary.setText(
                "No relay runs on this computer. Commerce delivers to the relay URL you set up."
            )
            self.parked.hide()
            return
        stats = status.stats
        where = f"running at {status.url}" if status.running else "not running (last state)"
        self.summary.setText(
            f"Relay {where}. Events received: {stats.events}; calls waiting to be sent: "
            f"{stats.pending}; parked (need you): {stats.parked}; template errors: "
            f"{stats.template_errors}."
        )
        self.parked.setVisible(bool(status.parked))
        self.parked.set_rows(
            [
                [
                    dt.datetime.fromtimestamp(item.at, dt.UTC).strftime("%Y-%m-%d %H:%M:%S"),
                    item.triggered_by,
                    item.template_key,
                    item.reason,
                ]
                for item in status.parked
            ]
        )
