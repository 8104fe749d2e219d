"""Keeping one looping template from holding every render thread.

A template that runs to its time limit holds a render thread (or process) for the whole limit,
on every event it tracks: with it on a busy event, every thread is soon busy with it and
unrelated deliveries wait seconds for their 200. After :data:`STRIKES` timeouts in a row, a
template is *suspended* for :data:`PAUSE_SECONDS`: its renders fail at once with an error that
says so (the event is kept with the template error, for ``relay replay`` once the template is
fixed), then one render tries it again. A template is known by its text, so a saved fix starts
with a clean record.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

STRIKES = 3
PAUSE_SECONDS = 60.0
#: The code of a suspended template's error (``relay parked`` shows it).
SUSPENDED = "SD105"


@dataclass
class _Record:
    strikes: int = 0
    until: float = 0.0


class TimeoutBreaker:
    """Thread-safe strike counts per template text."""

    def __init__(self, strikes: int = STRIKES, pause_seconds: float = PAUSE_SECONDS) -> None:
        self._strikes = strikes
        self._pause = pause_seconds
        self._lock = threading.Lock()
        self._records: dict[str, _Record] = {}

    def suspended(self, text: str, now: float | None = None) -> bool:
        """Whether renders of ``text`` are to fail at once now. When the pause is over, lets
        one render through (the next ones wait for its outcome's verdict)."""
        if text not in self._records:  # the usual case, answered without taking the lock
            return False
        now = time.monotonic() if now is None else now
        with self._lock:
            record = self._records.get(text)
            if record is None or record.strikes < self._strikes:
                return False
            if now >= record.until:
                record.until = now + self._pause  # this one tries; the rest stay suspended
                return False
            return True

    def timed_out(self, text: str, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        with self._lock:
            record = self._records.setdefault(text, _Record())
            record.strikes += 1
            if record.strikes >= self._strikes:
                record.until = now + self._pause

    def finished(self, text: str) -> None:
        """A render of ``text`` ended in time (with calls or another error)."""
        if text not in self._records:  # nothing to clear: no lock needed
            return
        with self._lock:
            self._records.pop(text, None)

    def message(self) -> str:
        return (
            f"The template timed out {self._strikes} times in a row, so it is suspended for "
            f"{self._pause:.0f} s at a time to keep the relay answering other events. Fix it "
            "(an endless loop?), then `segment-desktop relay replay`."
        )
