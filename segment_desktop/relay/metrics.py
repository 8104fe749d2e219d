"""The relay's counters and their Prometheus text exposition.

Counters live in memory (they restart at zero with the process, as Prometheus counters do);
the outbox gauges (depth, parked, oldest pending age) are read from the outbox itself, so they
are right across restarts and across several relays sharing one outbox.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from segment_desktop.relay.records import OutboxStats

#: name → help text. Every counter is exposed as ``segment_desktop_relay_<name>_total``.
COUNTERS: dict[str, str] = {
    "received": "Commerce webhook deliveries accepted (secret and body valid).",
    "duplicates": "Deliveries of an event id already accepted (acknowledged, not stored again).",
    "ignored": "Events no enabled template tracks (acknowledged, not stored).",
    "rendered": "Segment calls rendered and queued.",
    "template_errors": "Templates that failed for an event (kept for replay).",
    "sent": "Segment calls acknowledged by Segment.",
    "retried": "Segment calls whose delivery failed for now and will be retried.",
    "parked": "Segment calls refused by Segment and parked for the user.",
    "unauthorized": "Deliveries refused for a missing or wrong X-MOLTIN-SECRET-KEY.",
    "invalid": "Deliveries refused as not a Commerce event (malformed, too large).",
    "overloaded": "Deliveries answered 503 because too many were in progress (retried).",
    "render_unavailable": "Deliveries answered 503 because a render process stopped (retried).",
}


@dataclass
class Metrics:
    """Thread-safe counters."""

    _values: dict[str, int] = field(default_factory=lambda: dict.fromkeys(COUNTERS, 0))
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, name: str, amount: int = 1) -> None:
        if name not in COUNTERS:
            raise KeyError(f"unknown relay counter {name!r}")
        with self._lock:
            self._values[name] += amount

    def get(self, name: str) -> int:
        with self._lock:
            return self._values[name]

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            return dict(self._values)

    def render(self, stats: OutboxStats) -> str:
        """The Prometheus text format (version 0.0.4)."""
        lines: list[str] = []
        for name, value in self.snapshot().items():
            metric = f"segment_desktop_relay_{name}_total"
            lines += [f"# HELP {metric} {COUNTERS[name]}", f"# TYPE {metric} counter"]
            lines.append(f"{metric} {value}")
        gauges: dict[str, tuple[str, float]] = {
            "outbox_depth": ("Segment calls waiting to be sent.", stats.pending),
            "outbox_parked": ("Segment calls refused by Segment, kept.", stats.parked),
            "outbox_template_errors": ("Template errors waiting.", stats.template_errors),
            "oldest_pending_age_seconds": (
                "Age of the oldest call waiting to be sent.",
                round(stats.oldest_pending_age, 3),
            ),
        }
        for name, (help_text, gauge) in gauges.items():
            metric = f"segment_desktop_relay_{name}"
            lines += [f"# HELP {metric} {help_text}", f"# TYPE {metric} gauge", f"{metric} {gauge}"]
        return "\n".join(lines) + "\n"
