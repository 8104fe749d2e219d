"""What ``/healthz`` says: the relay's parts report their problems here, and clear them.

A problem is kept until the part that reported it sees things work again (the outbox takes a
write, the settings file loads), so that a monitor polling ``/healthz`` sees a failure that
lasted seconds, not only one that happens while it asks.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

#: Problem names.
OUTBOX = "outbox"
SETTINGS = "settings"
SENDER = "sender"
RENDER = "render"


@dataclass(frozen=True)
class Health:
    """A snapshot for ``/healthz``."""

    engine: str
    render_processes: int
    problems: dict[str, str] = field(default_factory=dict)
    """Problem name → what is wrong, for the operator."""

    @property
    def healthy(self) -> bool:
        return not self.problems

    @property
    def status(self) -> str:
        """``ok``, else the first problem in words."""
        if not self.problems:
            return "ok"
        return next(iter(self.problems.values()))

    def as_dict(self) -> dict[str, object]:
        return {
            "status": self.status,
            "engine": self.engine,
            "render_processes": self.render_processes,
            "problems": dict(self.problems),
        }


class HealthReports:
    """Thread-safe problems, each with the time it was first seen."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._problems: dict[str, tuple[str, float]] = {}

    def report(self, name: str, message: str) -> None:
        with self._lock:
            since = self._problems.get(name, ("", time.time()))[1]
            self._problems[name] = (message, since)

    def clear(self, name: str) -> None:
        with self._lock:
            self._problems.pop(name, None)

    def current(self) -> dict[str, str]:
        with self._lock:
            return {
                name: f"{message} (since {time.strftime('%H:%M:%S', time.localtime(since))})"
                for name, (message, since) in self._problems.items()
            }
