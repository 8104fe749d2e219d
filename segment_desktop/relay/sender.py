"""The sender thread: drains the outbox to Segment in batches, deleting only what Segment took.

Outcomes of one batch (from the Segment client, which already retried and honoured
``Retry-After`` within its own budget):

``sent``
    delete the calls.
``rejected`` (a 4xx other than 408/429)
    a batch of several calls refused for its content (400/413) is split in halves and each half
    tried again, so one bad call does not park its neighbours; anything else (a single call, or
    a 401/403/404 that no split can cure) is parked with Segment's reason, for ``relay parked``
    and ``relay replay``.
``failed`` (network, 408, 429, 5xx)
    the calls stay pending; the whole sender pauses with capped exponential backoff and jitter
    (or the ``Retry-After`` the client reports), so an outage is not hammered.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Sequence
from typing import Any, Protocol

from segment_desktop.relay.journal import RETRYING, SENT
from segment_desktop.relay.metrics import Metrics
from segment_desktop.relay.outbox import Outbox
from segment_desktop.relay.records import OutboxCall
from segment_desktop.relay.retention import Retention
from segment_desktop.segment.batches import SEGMENT_LIMITS, BatchLimits, batch_ranges

log = logging.getLogger(__name__)

BACKOFF_FIRST = 1.0
BACKOFF_CAP = 300.0
#: Seconds between two housekeeping passes (:class:`Retention`).
PRUNE_EVERY = 3600.0
IDLE_POLL = 1.0
#: After sending less than a full claim, wait this long before claiming again, so that calls
#: arriving meanwhile go together: under load each batch then costs one claim, one request and
#: one acknowledgement for many calls instead of a few. A lone event is still sent at once.
#: (Segment's own libraries wait 0.5 s.)
LINGER = 0.2
SPLITTABLE = frozenset({400, 413})


class SendInterrupted(Exception):
    """Raised inside the Segment client's retry pause when the relay stops."""


class InterruptibleSleep:
    """The Segment client's ``sleep``: a pause between retries that a stopping relay cuts short.

    Cut short, it raises :class:`SendInterrupted` out of ``send_encoded_batch``; the calls stay
    queued.
    """

    def __init__(self) -> None:
        self._event = threading.Event()

    def __call__(self, seconds: float) -> None:
        if self._event.wait(max(0.0, seconds)):
            raise SendInterrupted("the relay is stopping")

    def interrupt(self) -> None:
        self._event.set()


class BatchOutcomeLike(Protocol):
    status: str
    status_code: int | None
    reason: str


class BatchSender(Protocol):
    """What the sender needs of :class:`segment_desktop.segment.SegmentClient`."""

    def send_encoded_batch(self, calls_json: list[str]) -> Any: ...


def split_batches(
    calls: Sequence[OutboxCall], limits: BatchLimits = SEGMENT_LIMITS
) -> list[list[OutboxCall]]:
    """Consecutive groups of stored calls that each make one Segment batch."""
    return [list(calls[r.start : r.stop]) for r in batch_ranges([c.size for c in calls], limits)]


class Sender:
    """Runs in its own thread; ``wake()`` after new calls were stored, ``stop()`` to finish."""

    def __init__(
        self,
        outbox: Outbox,
        client: BatchSender | None,
        metrics: Metrics,
        *,
        limits: BatchLimits = SEGMENT_LIMITS,
        claim_size: int = 1_000,
        backoff_first: float = BACKOFF_FIRST,
        backoff_cap: float = BACKOFF_CAP,
        linger: float = LINGER,
        retention: Retention | None = None,
    ) -> None:
        self.outbox = outbox
        self.retention = retention or Retention()
        self.client = client
        """Set before :meth:`start` when not given (it may need :attr:`sleep`)."""
        self.sleep = InterruptibleSleep()
        self.metrics = metrics
        self.limits = limits
        self.claim_size = claim_size
        self.backoff_first = backoff_first
        self.backoff_cap = backoff_cap
        self.linger = linger
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._flush_deadline = float("inf")
        self._failures = 0
        self._paused_until = 0.0
        self._last_prune = 0.0
        # Its own generator: the jitter leaves the process's global random state alone (a
        # property-based test generating data at that moment takes a change there for its own).
        self._jitter = random.Random()
        self._thread = threading.Thread(target=self._run, name="relay-sender", daemon=True)
        self.last_error: str | None = None
        self.last_sent_at: float | None = None

    def start(self) -> None:
        freed = self.outbox.release_dead_leases()
        if freed:
            log.info("Took over %d call(s) left by a relay that stopped while sending", freed)
        self._thread.start()

    def wake(self) -> None:
        self._wake.set()

    def is_alive(self) -> bool:
        return self._thread.is_alive()

    @property
    def paused_until(self) -> float:
        return self._paused_until

    def stop(self, flush_seconds: float = 5.0) -> bool:
        """Send what is due for up to ``flush_seconds``, then stop; the rest stays queued.

        Returns True when the thread ended in time.
        """
        self._flush_deadline = time.monotonic() + max(0.0, flush_seconds)
        self._stopping.set()
        self._wake.set()
        if not self._thread.is_alive():
            return True
        self._thread.join(timeout=max(0.0, flush_seconds))
        if self._thread.is_alive():  # in a retry pause, or a request in flight: cut it short
            self.sleep.interrupt()
            self._thread.join(timeout=20.0)  # bounded by the client's request timeout
        return not self._thread.is_alive()

    # -- the loop -----------------------------------------------------------------------------

    def _out_of_time(self) -> bool:
        return self._stopping.is_set() and time.monotonic() >= self._flush_deadline

    def _run(self) -> None:
        while not self._out_of_time():
            now = time.time()
            if now - self._last_prune > PRUNE_EVERY:
                self._prune(now)
            self._checkpoint()
            if now < self._paused_until:
                if self._stopping.is_set():
                    return  # Segment is failing: keep the rest for the next start
                self._sleep(self._paused_until - now)
                continue
            try:
                claimed = self.outbox.claim(self.claim_size)
            except Exception:
                log.exception("Could not read the relay outbox; trying again")
                self._sleep(IDLE_POLL)
                continue
            if not claimed:
                if self._stopping.is_set():
                    return
                self._idle()
                continue
            self._send_all(claimed)
            if len(claimed) < self.claim_size:
                self._stopping.wait(self.linger)  # not when stopping: then flush at once

    def _sleep(self, seconds: float) -> None:
        self._wake.wait(max(0.0, min(seconds, IDLE_POLL * 5)))
        self._wake.clear()

    def _idle(self) -> None:
        due = self.outbox.next_due_at()
        delay = IDLE_POLL if due is None else min(IDLE_POLL, max(0.0, due - time.time()))
        self._wake.wait(max(delay, 0.01))
        self._wake.clear()

    def _send_all(self, claimed: list[OutboxCall]) -> None:
        batches = split_batches(claimed, self.limits)
        for index, batch in enumerate(batches):
            if self._out_of_time() or time.time() < self._paused_until:
                rest = [c.id for b in batches[index:] for c in b]
                self.outbox.release(rest)
                return
            self._deliver(batch)

    def _deliver(self, batch: list[OutboxCall]) -> None:
        from segment_desktop.core.errors import CallRejectedError

        assert self.client is not None, "Sender.client must be set before start()"
        started = time.perf_counter()
        try:
            outcome = self.client.send_encoded_batch([c.call_json for c in batch])
            status = str(outcome.status)
            code = getattr(outcome, "status_code", None)
            reason = str(getattr(outcome, "reason", "") or "")
            retry_after = getattr(outcome, "retry_after", None)
        except SendInterrupted:
            self.outbox.release([c.id for c in batch])  # stopping: keep them for next time
            return
        except CallRejectedError as err:  # refused before sending (over a size limit)
            status, code, reason, retry_after = "rejected", 413, str(err), None
        except Exception as exc:  # a bug or an unexpected library error: keep the calls
            log.exception("Sending a batch to Segment failed unexpectedly")
            status, code, reason, retry_after = "failed", None, f"{type(exc).__name__}", None
        self.metrics.observe("segment_send", time.perf_counter() - started)
        ids = [c.id for c in batch]
        if status == "sent":
            self.outbox.acknowledge(ids)
            self.metrics.add("sent", len(ids))
            self.metrics.journal.answered(batch, SENT)
            self._failures = 0
            self.last_error = None
            self.last_sent_at = time.time()
            log.debug("Sent %d call(s) to Segment", len(ids), extra={"batch_size": len(ids)})
        elif status == "rejected":
            self._failures = 0
            if len(batch) > 1 and code in SPLITTABLE:
                half = len(batch) // 2
                self._deliver(batch[:half])
                self._deliver(batch[half:])
                return
            text = f"Segment refused {'the call' if len(ids) == 1 else 'the batch'}"
            text += f" (HTTP {code}): {reason}" if code else f": {reason}"
            self.outbox.park(ids, text)
            self.metrics.add("parked", len(ids))
            self.metrics.journal.answered(batch, text)
            self.last_error = text
            log.error(
                "%s; %d call(s) parked: see `segment-desktop relay parked`",
                text,
                len(ids),
                extra={"status_code": code, "batch_size": len(ids)},
            )
        else:
            self._failures += 1
            delay = self._backoff(retry_after)
            self._paused_until = time.time() + delay
            text = f"Segment did not take the batch ({reason or 'no answer'})"
            self.outbox.retry_later(ids, self._paused_until, text)
            self.metrics.add("retried", len(ids))
            self.metrics.journal.answered(batch, RETRYING + text)
            self.last_error = text
            log.warning(
                "%s; %d call(s) kept, next try in %.1f s",
                text,
                len(ids),
                delay,
                extra={"status_code": code, "batch_size": len(ids), "retry_after": retry_after},
            )

    def _backoff(self, retry_after: float | None) -> float:
        exponential = min(self.backoff_cap, self.backoff_first * 2 ** (self._failures - 1))
        delay = self._jitter.uniform(exponential / 2, exponential)  # jitter, not crypto
        if retry_after is not None:
            delay = max(delay, min(float(retry_after), self.backoff_cap))
        return delay

    def _checkpoint(self) -> None:
        """Keep the outbox's WAL short, off the intake's path (see ``Outbox.checkpoint_if_due``);
        also while Segment is failing, when this loop writes little itself."""
        try:
            self.outbox.checkpoint_if_due()
        except Exception:
            log.exception("Could not checkpoint the relay outbox; trying again later")

    def _prune(self, now: float) -> None:
        self._last_prune = now
        try:
            self.retention.run(self.outbox, now)
        except Exception:
            log.exception("Could not delete expired data from the relay outbox; trying later")
