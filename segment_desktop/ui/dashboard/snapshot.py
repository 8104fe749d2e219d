"""What the dashboard shows, gathered in one go off the GUI thread (no Qt here).

:func:`collect` reads the relay that runs in this process (its metrics, journal, sender and
outbox) and turns them into plain values: the state of each hop of the pipeline, the chart's
series (per minute over the last hour, per hour over the last day), what needs the user, and
the recent deliveries. The widgets only copy these values onto the screen.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the relay's modules (prometheus-client) load with the first snapshot
    from segment_desktop.relay.journal import JournalEntry

#: Hop states, worst last. The words come with them so that colour is never the only cue.
OK, DEGRADED, FAILING, UNKNOWN = "ok", "degraded", "failing", "unknown"

#: The chart's series (the relay's metrics count them: ``relay.metrics.SERIES``).
SERIES = ("received", "sent", "failed")

#: A pending call older than this means Segment is not keeping up (or not answering).
STALE_PENDING_SECONDS = 120.0


@dataclass(frozen=True)
class Hop:
    """One step of the pipeline: its state, what that means, and its last success."""

    title: str
    state: str
    words: str
    last_success: float | None = None
    seen_here: bool = True
    """This computer sees the hop's successes (a relay in this process); else none is known."""


@dataclass(frozen=True)
class Series:
    """Counts per slot: ``starts[i]`` (Unix seconds) begins slot i; ``width`` in seconds."""

    starts: list[float]
    width: float
    counts: dict[str, list[int]]

    @property
    def peak(self) -> int:
        return max((max(v) for v in self.counts.values() if v), default=0)


@dataclass(frozen=True)
class Snapshot:
    """Everything on the dashboard at one moment."""

    relay: Hop
    segment: Hop
    hour: Series
    day: Series
    parked: list[Any] = field(default_factory=list)
    deliveries: list[JournalEntry] = field(default_factory=list)
    last_webhook: float | None = None
    local: bool = False
    """A relay runs in this process (sandbox mode or local testing)."""
    numbers: str = ""
    """The relay's counts and mean latencies in one paragraph (empty: no relay known here)."""
    subjects: dict[str, str] = field(default_factory=dict)
    """Event id → its order or customer (see :func:`event_subject`) for ``deliveries``."""


def _empty_series(slots: int, width: float, now: float) -> Series:
    first = (now // width - slots + 1) * width
    return Series(
        [first + i * width for i in range(slots)],
        width,
        {name: [0] * slots for name in SERIES},
    )


def by_hour(minutes: list[float], counts: dict[str, list[int]]) -> Series:
    """Sum a day of per-minute counts into 24 hourly slots, the current hour last."""
    if not minutes:
        return _empty_series(24, 3600.0, time.time())
    last_hour = minutes[-1] // 3600 * 3600
    starts = [last_hour - (23 - i) * 3600 for i in range(24)]
    summed = {name: [0] * 24 for name in counts}
    for index, minute in enumerate(minutes):
        slot = int((minute - starts[0]) // 3600)
        if 0 <= slot < 24:
            for name, values in counts.items():
                summed[name][slot] += values[index]
    return Series(starts, 3600.0, summed)


def queue_url(config: Any) -> str:
    """The SQS queue Commerce delivers to, or ``""`` when it delivers webhooks to the relay."""
    delivery = getattr(config, "delivery", None)
    if delivery is None or getattr(delivery, "kind", "webhook") != "aws_sqs":
        return ""
    return str(getattr(delivery, "sqs_queue_url", "") or "the queue")


def collect(
    services: Any,
    now: float | None = None,
    subjects: dict[str, str] | None = None,
    config: Any = None,
) -> Snapshot:
    """Read this process's relay (if any) and its outbox. Blocking: call off the GUI thread.

    ``subjects``: a cache of :func:`event_subject` by event id, kept by the caller between
    snapshots so that each webhook body is parsed once (only one snapshot is gathered at a
    time, so one thread at a time fills it).
    """
    now = time.time() if now is None else now
    server = getattr(services, "relay", None)
    if server is None:
        status = services.relay_status()
        parked = list(status.parked) if status is not None else []
        queue = queue_url(config)
        middle = (
            Hop(
                "Queue",
                UNKNOWN,
                f"Commerce puts events on {queue}; relay workers send them.",
                seen_here=False,
            )
            if queue
            else Hop(
                "Relay",
                UNKNOWN,
                "The relay runs elsewhere; Commerce delivers to the relay URL you set up.",
                seen_here=False,
            )
        )
        return Snapshot(
            relay=middle,
            segment=Hop(
                "Segment source",
                UNKNOWN,
                "Sent by the relay, which runs elsewhere.",
                seen_here=False,
            ),
            hour=_empty_series(60, 60.0, now),
            day=_empty_series(24, 3600.0, now),
            parked=parked,
            numbers=relay_numbers(None, status.stats) if status is not None else "",
        )
    relay = server.relay
    metrics = relay.metrics
    metrics.journal.keep()  # the delivery log: from now on the relay keeps recent deliveries
    from segment_desktop.relay.parked import parked as parked_work

    stats = relay.outbox.stats(now)
    parked = parked_work(relay.outbox)
    deliveries = metrics.journal.recent()
    day = metrics.timeline(24 * 60)
    hour = Series(day.minutes[-60:], 60.0, {k: v[-60:] for k, v in day.counts.items()})
    last_webhook = deliveries[0].received_at if deliveries else None
    cache = subjects if subjects is not None else {}
    for entry in deliveries:
        if entry.event_id not in cache:
            cache[entry.event_id] = event_subject(entry.body)
    kept = {e.event_id for e in deliveries}
    for gone in [k for k in cache if k not in kept]:
        del cache[gone]
    return Snapshot(
        relay=_relay_hop(relay, stats, last_webhook, now),
        segment=_segment_hop(relay.sender, stats, now),
        hour=hour,
        day=by_hour(day.minutes, day.counts),
        parked=parked,
        deliveries=deliveries,
        last_webhook=last_webhook,
        local=True,
        numbers=relay_numbers(server, stats),
        subjects={e.event_id: cache[e.event_id] for e in deliveries},
    )


#: Histogram → how the numbers paragraph names it.
LATENCIES = {
    "webhook_ack": "answer to Commerce",
    "render": "render",
    "segment_send": "Segment send",
}


def relay_numbers(server: Any, stats: Any) -> str:
    """Counts from the outbox and, for a relay in this process, mean latencies."""
    where = f"Relay running at {server.url}." if server is not None else "Relay (last state)."
    text = (
        f"{where} Events received: {stats.events}; calls waiting to be sent: {stats.pending}; "
        f"refused by Segment: {stats.parked}; template errors: {stats.template_errors}."
    )
    if server is None:
        return text
    means = []
    for name, label in LATENCIES.items():
        count, total = server.relay.metrics.histogram(name)
        if count:
            means.append(f"{label} {total / count * 1000:.1f} ms")
    return text + (" Mean time: " + ", ".join(means) + "." if means else "")


def _relay_hop(relay: Any, stats: Any, last_webhook: float | None, now: float) -> Hop:
    if not relay.sender_alive():
        return Hop("Relay", FAILING, "The relay's sender stopped: restart the app.", last_webhook)
    if not relay.render_healthy():
        return Hop("Relay", FAILING, "The relay's render processes are down.", last_webhook)
    errors = stats.template_errors
    if errors:
        noun = "template error needs" if errors == 1 else "template errors need"
        return Hop(
            "Relay",
            DEGRADED,
            f"Receiving; {errors} {noun} you (see What needs me).",
            last_webhook,
        )
    words = "Receiving webhooks." if last_webhook else "Running; no webhook received yet."
    return Hop("Relay", OK, words, last_webhook)


def _segment_hop(sender: Any, stats: Any, now: float) -> Hop:
    last = sender.last_sent_at
    error = sender.last_error
    if stats.parked:
        noun = "call" if stats.parked == 1 else "calls"
        verb = "needs" if stats.parked == 1 else "need"
        return Hop(
            "Segment source",
            FAILING if error else DEGRADED,
            f"Segment refused {stats.parked} {noun}: {error}"
            if error
            else f"{stats.parked} refused {noun} {verb} you (see What needs me).",
            last,
        )
    if error:
        return Hop("Segment source", DEGRADED, f"{error}; retrying.", last)
    if stats.pending and stats.oldest_pending_age > STALE_PENDING_SECONDS:
        return Hop(
            "Segment source",
            DEGRADED,
            f"{stats.pending} calls waiting for {int(stats.oldest_pending_age)} s.",
            last,
        )
    if last is None:
        return Hop("Segment source", UNKNOWN, "Nothing sent yet.", None)
    return Hop("Segment source", OK, "Segment accepts the calls.", last)


def event_subject(body: bytes | dict[str, Any]) -> str:
    """``order 1234`` or ``customer 5678 (a@b.c)`` for a Commerce webhook body, else ``""``."""
    try:
        data = json.loads(body) if isinstance(body, bytes | str) else body
    except ValueError:
        return ""
    if not isinstance(data, dict):
        return ""
    payload = data.get("payload")
    if isinstance(payload, str):  # some stores send it JSON-encoded
        try:
            payload = json.loads(payload)
        except ValueError:
            payload = None
    resource = payload.get("data") if isinstance(payload, dict) else None
    if not isinstance(resource, dict):
        return ""
    kind = str(resource.get("type") or data.get("triggered_by", "").split(".")[0])
    kind = "customer" if kind.startswith("customer") else "order"
    ident = str(resource.get("id") or "")
    email = resource.get("email") or (resource.get("customer") or {}).get("email")
    subject = f"{kind} {ident}".strip()
    return f"{subject} ({email})" if email and kind == "customer" else subject


def searchable(entry: JournalEntry) -> str:
    """The text a search by order or customer id (or email) looks in, lower-cased."""
    return f"{entry.event_id} {entry.triggered_by} {entry.body.decode('utf-8', 'replace')}".lower()
