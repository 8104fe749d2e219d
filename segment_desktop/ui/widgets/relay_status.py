"""The local relay's numbers in one paragraph under the delivery chart."""

from __future__ import annotations

from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

NO_RELAY = "No relay runs on this computer. Commerce delivers to the relay URL you set up."


class RelayStatusPanel(QWidget):
    """Outbox counts and mean latencies, as a snapshot worded them (or that no relay runs)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.summary = QLabel(NO_RELAY, self)
        self.summary.setWordWrap(True)
        self.summary.setAccessibleName("Relay numbers")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.summary)

    def show_text(self, text: str) -> None:
        self.summary.setText(text or NO_RELAY)
