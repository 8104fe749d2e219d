"""The relay's counters, latency histograms and per-minute activity, through prometheus-client.

Each relay owns a :class:`prometheus_client.CollectorRegistry` (several relays can run in one
process: tests, the desktop app's sandbox relay), so ``/metrics`` and the desktop dashboard read
the same numbers. Counters live in memory (they restart at zero with the process, as Prometheus
counters do); the outbox gauges (depth, parked, oldest pending age) are read from the outbox
itself, so they are right across restarts and across several relays sharing one outbox.

Besides what Prometheus scrapes, :class:`Metrics` keeps the last day's received, sent and failed
counts per minute, because a dashboard opened now has to draw the past hour at once rather than
wait for scrapes to accumulate.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from segment_desktop.relay.journal import Journal
from segment_desktop.relay.records import OutboxStats

PREFIX = "segment_desktop_relay_"

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

#: name → (help text, bucket upper bounds in seconds). Exposed as
#: ``segment_desktop_relay_<name>_seconds``. Commerce gives a webhook 10 s; Segment's client
#: timeouts are of the same order, so the buckets reach past that.
HISTOGRAMS: dict[str, tuple[str, tuple[float, ...]]] = {
    "webhook_ack": (
        "Time from a webhook's arrival to the relay's answer to Commerce.",
        (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
    ),
    "render": (
        "Time to parse and render one webhook, including the wait for a render thread or process.",
        (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
    ),
    "segment_send": (
        "Time for one batch sent to Segment to get its answer (or to fail).",
        (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
    ),
}

#: The outbox gauges: name → help text (``segment_desktop_relay_<name>``).
GAUGES: dict[str, str] = {
    "outbox_depth": "Segment calls waiting to be sent.",
    "outbox_parked": "Segment calls refused by Segment, kept.",
    "outbox_template_errors": "Template errors waiting.",
    "oldest_pending_age_seconds": "Age of the oldest call waiting to be sent.",
    "in_flight": "Deliveries being handled now.",
}

#: The series a dashboard charts, and the counters each one sums. "failed" is what needs the
#: user (refused by Segment, or a template error); calls retried later are not failures yet.
SERIES: dict[str, tuple[str, ...]] = {
    "received": ("received",),
    "sent": ("sent",),
    "failed": ("parked", "template_errors"),
}
_SERIES_OF: dict[str, int] = {
    counter: index for index, counters in enumerate(SERIES.values()) for counter in counters
}
#: Minutes of per-minute history kept (one day).
HISTORY_MINUTES = 24 * 60


@dataclass(frozen=True)
class Timeline:
    """Counts per minute: ``minutes[i]`` is the minute's start (Unix seconds) of
    ``counts[name][i]``, oldest first, with no gaps."""

    minutes: list[float]
    counts: dict[str, list[int]]


class Metrics:
    """Thread-safe counters, histograms and per-minute series of one relay."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self._clock = clock
        self._counters = {
            name: Counter(PREFIX + name, text, registry=self.registry)
            for name, text in COUNTERS.items()
        }
        self._histograms = {
            name: Histogram(
                f"{PREFIX}{name}_seconds", text, buckets=buckets, registry=self.registry
            )
            for name, (text, buckets) in HISTOGRAMS.items()
        }
        self._gauges = {
            name: Gauge(PREFIX + name, text, registry=self.registry)
            for name, text in GAUGES.items()
        }
        self._lock = threading.Lock()
        self._minutes: dict[int, list[int]] = {}
        #: Recent deliveries, for the desktop app's delivery log (memory only).
        self.journal = Journal()

    def add(self, name: str, amount: int = 1) -> None:
        counter = self._counters.get(name)
        if counter is None:
            raise KeyError(f"unknown relay counter {name!r}")
        counter.inc(amount)
        series = _SERIES_OF.get(name)
        if series is not None and amount:
            minute = int(self._clock() // 60)
            with self._lock:
                bucket = self._minutes.get(minute)
                if bucket is None:
                    bucket = self._minutes[minute] = [0] * len(SERIES)
                    self._forget_before(minute - HISTORY_MINUTES + 1)
                bucket[series] += amount

    def observe(self, name: str, seconds: float) -> None:
        """Record one duration in the histogram ``name`` (a key of :data:`HISTOGRAMS`)."""
        self._histograms[name].observe(seconds)

    def get(self, name: str) -> int:
        if name not in self._counters:
            raise KeyError(f"unknown relay counter {name!r}")
        value = self.registry.get_sample_value(f"{PREFIX}{name}_total")
        return int(value or 0)

    def snapshot(self) -> dict[str, int]:
        return {name: self.get(name) for name in COUNTERS}

    def histogram(self, name: str) -> tuple[int, float]:
        """(observations, total seconds) of the histogram ``name``."""
        metric = f"{PREFIX}{name}_seconds"
        count = self.registry.get_sample_value(f"{metric}_count") or 0.0
        total = self.registry.get_sample_value(f"{metric}_sum") or 0.0
        return int(count), float(total)

    def timeline(self, minutes: int = 60) -> Timeline:
        """The last ``minutes`` minutes (the current one last), zeros where nothing happened."""
        minutes = max(1, min(minutes, HISTORY_MINUTES))
        now = int(self._clock() // 60)
        first = now - minutes + 1
        with self._lock:
            rows = [self._minutes.get(m) for m in range(first, now + 1)]
        counts = {
            name: [row[index] if row else 0 for row in rows] for index, name in enumerate(SERIES)
        }
        return Timeline([float(m * 60) for m in range(first, now + 1)], counts)

    def _forget_before(self, minute: int) -> None:
        for old in [m for m in self._minutes if m < minute]:
            del self._minutes[old]

    def render(self, stats: OutboxStats, in_flight: int = 0) -> str:
        """The Prometheus text format (version 0.0.4), with the outbox gauges from ``stats``."""
        self._gauges["outbox_depth"].set(stats.pending)
        self._gauges["outbox_parked"].set(stats.parked)
        self._gauges["outbox_template_errors"].set(stats.template_errors)
        self._gauges["oldest_pending_age_seconds"].set(round(stats.oldest_pending_age, 3))
        self._gauges["in_flight"].set(in_flight)
        return generate_latest(self.registry).decode("utf-8")
