"""A webhook body → de-duplicated, rendered, durably queued; the answer Commerce gets.

The CPU part (parsing and rendering) runs either in the relay's render processes
(:mod:`segment_desktop.relay.render_pool`, whose result :meth:`Intake.take` queues) or in a
worker thread (:meth:`Intake.prepare`), never on the event loop; the ASGI app then awaits the
commit without holding a thread.

Commits are grouped: deliveries arriving together are written in one transaction, so the
fsync that makes an acknowledgement durable is paid once per group rather than per event
(:class:`GroupCommitter`). A delivery is acknowledged only after its group is on disk.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any, TypeAlias

from segment_desktop.core.errors import EventError, SegmentDesktopError
from segment_desktop.relay.health import OUTBOX, HealthReports
from segment_desktop.relay.metrics import Metrics
from segment_desktop.relay.outbox import Outbox
from segment_desktop.relay.records import EventRecord
from segment_desktop.relay.rendering import (
    EventRenderer,
    Ignored,
    Outcome,
    Refused,
    render_body,
)

log = logging.getLogger(__name__)

#: At most this many events per transaction (bounds the time one commit holds the lock).
MAX_GROUP = 256
#: While bodies wait for a render thread, a commit waits up to this long for their records,
#: so that one fsync covers them too: each commit costs an fsync (CPU time on a virtual disk)
#: and a wake-up of the event loop and of the sender, whatever its size. Only under load, as
#: nothing waits for a render otherwise.
GATHER_SECONDS = 0.002


class OutboxUnavailable(SegmentDesktopError):
    """The outbox could not be written (disk full, read-only, locked too long)."""


class RenderUnavailable(SegmentDesktopError):
    """The event could not be rendered now (a render process stopped); nothing was stored."""


@dataclass(frozen=True)
class Accepted:
    """The outcome of one delivery, as answered to Commerce (always 200)."""

    status: str
    """``queued``, ``duplicate``, ``ignored`` or ``template_error``."""
    event_id: str
    calls: int = 0
    failed_templates: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, object]:
        data: dict[str, object] = {"status": self.status, "event_id": self.event_id}
        data["calls"] = self.calls
        if self.failed_templates:
            data["failed_templates"] = list(self.failed_templates)
        return data


@dataclass(frozen=True)
class Pending:
    """A rendered event waiting for its commit."""

    record: EventRecord
    future: Future[bool] | asyncio.Future[bool]


_Waiter: TypeAlias = "Future[bool] | tuple[asyncio.AbstractEventLoop, asyncio.Future[bool]]"
"""Who hears of a record's commit: a thread, or a coroutine on its event loop."""


def _settle(outcomes: list[tuple[asyncio.Future[bool], bool | BaseException]]) -> None:
    """On the event loop: complete the waiters of one committed group."""
    for future, outcome in outcomes:
        if future.done():
            continue  # its request went away (the client hung up): nothing waits
        if isinstance(outcome, BaseException):
            future.set_exception(outcome)
        else:
            future.set_result(outcome)


class GroupCommitter:
    """One thread that writes queued records to the outbox in groups."""

    def __init__(
        self,
        outbox: Outbox,
        on_commit: Callable[[], None] | None = None,
        reports: HealthReports | None = None,
    ) -> None:
        self._outbox = outbox
        self._on_commit = on_commit
        self._reports = reports or HealthReports()
        self._queue: queue.SimpleQueue[tuple[EventRecord, _Waiter] | None] = queue.SimpleQueue()
        self.backlog: Callable[[], int] | None = None
        """How many bodies wait to be rendered (their records come soon), when known."""
        self._thread = threading.Thread(target=self._run, name="relay-commit", daemon=True)
        self._thread.start()

    def submit(self, record: EventRecord) -> bool:
        """Write ``record``; True when stored, False when a duplicate. Blocks until durable."""
        return self.submit_nowait(record).result()

    def submit_nowait(self, record: EventRecord) -> Future[bool]:
        """Queue ``record``; the future completes once it is durable (or failed)."""
        future: Future[bool] = Future()
        self._queue.put((record, future))
        return future

    def submit_async(self, record: EventRecord) -> asyncio.Future[bool]:
        """:meth:`submit_nowait` for a coroutine (call it on the running event loop).

        The loop is woken once per committed group rather than once per record: under load a
        group holds dozens of records, and every wake-up costs the loop a turn.
        """
        loop = asyncio.get_running_loop()
        future: asyncio.Future[bool] = loop.create_future()
        self._queue.put((record, (loop, future)))
        return future

    def submit_for(
        self, record: EventRecord, loop: asyncio.AbstractEventLoop, future: asyncio.Future[Any]
    ) -> None:
        """:meth:`submit_async` from any thread, for a future of ``loop`` made by the caller."""
        self._queue.put((record, (loop, future)))

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join(timeout=30)

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            group = [item]
            stop = self._drain(group)
            if not stop:
                stop = self._gather(group)
            self._write(group)
            if stop:
                return

    def _drain(self, group: list[tuple[EventRecord, _Waiter]]) -> bool:
        """Add what is queued to ``group``; True when told to stop."""
        while len(group) < MAX_GROUP:
            try:
                more = self._queue.get_nowait()
            except queue.Empty:
                return False
            if more is None:
                return True
            group.append(more)
        return False

    def _gather(self, group: list[tuple[EventRecord, _Waiter]]) -> bool:
        """Wait (for :data:`GATHER_SECONDS` at most) for the records of bodies still waiting to
        be rendered; True when told to stop."""
        backlog = self.backlog
        if backlog is None:
            return False
        deadline = time.monotonic() + GATHER_SECONDS
        while len(group) < MAX_GROUP and backlog() > 0:
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            try:
                more = self._queue.get(timeout=left)
            except queue.Empty:
                return False
            if more is None:
                return True
            group.append(more)
            if self._drain(group):
                return True
        return False

    def _write(self, group: list[tuple[EventRecord, _Waiter]]) -> None:
        outcomes: list[bool | BaseException]
        try:
            stored = self._outbox.record([record for record, _ in group])
        except Exception as exc:
            log.exception("Could not write %d event(s) to the relay outbox", len(group))
            reason = f"{type(exc).__name__}: {exc}"
            self._reports.report(OUTBOX, f"the outbox could not be written ({reason})")
            error = OutboxUnavailable(
                f"The relay could not write to its outbox ({reason}). "
                "Check that the data directory is writable and the disk is not full; "
                "Commerce will deliver the event again."
            )
            outcomes = [error] * len(group)
        else:
            self._reports.clear(OUTBOX)
            outcomes = list(stored)
        on_loops: dict[asyncio.AbstractEventLoop, list[Any]] = {}
        for (_, waiter), outcome in zip(group, outcomes, strict=True):
            if isinstance(waiter, tuple):
                loop, future = waiter
                on_loops.setdefault(loop, []).append((future, outcome))
            elif isinstance(outcome, BaseException):
                waiter.set_exception(outcome)
            else:
                waiter.set_result(outcome)
        for loop, settled in on_loops.items():
            try:
                loop.call_soon_threadsafe(_settle, settled)
            except RuntimeError:
                continue  # the loop closed: the server stopped and nobody waits
        if self._on_commit is not None and any(o is True for o in outcomes):
            self._on_commit()


class Intake:
    """Turns a verified webhook body into an outbox record."""

    def __init__(
        self,
        outbox: Outbox,
        renderer: EventRenderer,
        metrics: Metrics,
        on_commit: Callable[[], None] | None = None,
        reports: HealthReports | None = None,
    ) -> None:
        self.outbox = outbox
        self.renderer = renderer
        self.metrics = metrics
        self._committer = GroupCommitter(outbox, on_commit, reports)

    def close(self) -> None:
        self._committer.close()

    def gather_while(self, backlog: Callable[[], int]) -> None:
        """Let each commit wait briefly for more records while ``backlog()`` bodies wait to be
        rendered (see :data:`GATHER_SECONDS`)."""
        self._committer.backlog = backlog

    def accept(self, body: bytes) -> Accepted:
        """Parse, de-duplicate, render and store one delivery (blocking).

        Raises ``EventError`` for a body that is not a Commerce event (nothing is stored) and
        :class:`OutboxUnavailable` when the outbox cannot be written (answer 503: Commerce
        retries).
        """
        prepared = self.prepare(body)
        if isinstance(prepared, Accepted):
            return prepared
        return self.finish(prepared, prepared.future.result())

    def prepare(self, body: bytes) -> Accepted | Pending:
        """The CPU part: parse and render, then hand the record to the committer.

        Returns the answer at once when nothing is to be stored, else a :class:`Pending` whose
        future completes when the record is durable (the ASGI app awaits it without holding a
        thread).
        """
        return self.take(render_body(self.renderer, body))

    def take(self, outcome: Outcome, *, on_loop: bool = False) -> Accepted | Pending:
        """Queue what rendering a body gave (in a render process, or :meth:`prepare`'s).

        ``on_loop``: called on the event loop, which awaits the pending commit. Raises
        ``EventError`` for a body that is not a Commerce event. Duplicates are found by the
        commit (nothing of them is stored) and :meth:`finish` answers ``duplicate``.
        """
        record = self.admit(outcome)
        if isinstance(record, Accepted):
            return record
        if on_loop:
            return Pending(record, self._committer.submit_async(record))
        return Pending(record, self._committer.submit_nowait(record))

    def admit(self, outcome: Outcome) -> Accepted | EventRecord:
        """The record to commit for what rendering a body gave, or the answer when there is
        none (ignored). Raises ``EventError`` for a body that is not a Commerce event."""
        if isinstance(outcome, Refused):
            raise EventError(outcome.message)
        self.metrics.add("received")
        if isinstance(outcome, Ignored):
            self.metrics.add("ignored")
            return Accepted("ignored", outcome.event_id)
        return EventRecord(
            outcome.event_id,
            outcome.triggered_by,
            outcome.body if outcome.body is not None else {},
            outcome.calls,
            outcome.failures,
        )

    def commit_for(
        self, record: EventRecord, loop: asyncio.AbstractEventLoop, future: asyncio.Future[Any]
    ) -> None:
        """Queue ``record`` from any thread; ``future`` (of ``loop``) gets whether it was
        stored once it is durable (False: a duplicate), or the error."""
        self._committer.submit_for(record, loop, future)

    def finish(self, pending: Pending, stored: bool) -> Accepted:
        """The answer once the record's commit finished (``stored`` False: a duplicate)."""
        return self.answer(pending.record, stored)

    def answer(self, record: EventRecord, stored: bool) -> Accepted:
        """:meth:`finish` for a record queued with :meth:`commit_for`."""
        if not stored:
            self.metrics.add("duplicates")  # a concurrent delivery of the same event won
            return Accepted("duplicate", record.event_id)
        self.metrics.add("rendered", len(record.calls))
        failed = tuple(f.template_key for f in record.failures)
        if failed:
            self.metrics.add("template_errors", len(failed))
            log.warning(
                "Template error for %s %s: %s (kept; fix the template, then `relay replay`)",
                record.triggered_by,
                record.event_id,
                ", ".join(failed),
                extra={"event": record.triggered_by, "event_id": record.event_id},
            )
            return Accepted("template_error", record.event_id, len(record.calls), failed)
        return Accepted("queued", record.event_id, len(record.calls))
