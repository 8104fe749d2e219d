"""A busy indicator with a Cancel button, shown while a background request is in flight."""

from __future__ import annotations

import time

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QPushButton, QWidget

from segment_desktop.ui.widgets.fields import button_named

#: Below this many seconds of waiting the line does not count the seconds (nothing to report).
QUIET_SECONDS = 2


class AttemptReporter(QObject):
    """Carries a worker's "attempt n, t seconds waited" to the GUI thread: call it from any
    thread (it matches ``http_util.AttemptListener``)."""

    attempted = Signal(int, float)

    def __call__(self, attempt: int, waited: float) -> None:
        self.attempted.emit(attempt, waited)


class BusyBar(QWidget):
    """An indeterminate progress bar, a line saying what is happening and for how long, and
    Cancel.

    Signals:
        cancelRequested(): the user pressed Cancel.
    """

    cancelRequested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.label = QLabel(self)
        self.bar = QProgressBar(self)
        self.bar.setRange(0, 0)
        self.bar.setTextVisible(False)
        self.bar.setMaximumWidth(160)
        self.bar.setAccessibleName("Working")
        self.cancel_button = QPushButton("Cancel", self)
        button_named(self.cancel_button)
        self.cancel_button.setAutoDefault(False)
        self.cancel_button.clicked.connect(self.cancelRequested)
        self._text = ""
        self._attempt = 1
        self._started = 0.0
        self._ticker = QTimer(self)
        self._ticker.setInterval(1000)
        self._ticker.timeout.connect(self._render)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.bar)
        layout.addWidget(self.label, 1)
        layout.addWidget(self.cancel_button)
        self.hide()

    def start(self, text: str) -> None:
        self._text = text
        self._attempt = 1
        self._started = time.monotonic()
        self._ticker.start()
        self._render()
        self.show()

    def stop(self) -> None:
        self._ticker.stop()
        self.hide()

    def progress(self) -> AttemptReporter:
        """A listener for the request just started: its retries show on this line."""
        reporter = AttemptReporter(self)
        reporter.attempted.connect(self._attempted)
        return reporter

    def _attempted(self, attempt: int, _waited: float) -> None:
        self._attempt = attempt
        self._render()

    def _render(self) -> None:
        waited = int(time.monotonic() - self._started)
        parts = []
        if self._attempt > 1:
            parts.append(f"attempt {self._attempt}")
        if waited >= QUIET_SECONDS or self._attempt > 1:
            parts.append(f"{waited} s so far")
        self.label.setText(f"{self._text} ({', '.join(parts)})" if parts else self._text)
