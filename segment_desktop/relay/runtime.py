"""One relay's moving parts wired together: outbox, renderer, intake, sender, metrics, health.

Both ways of running a relay use it: the ``segment-desktop relay`` command (uvicorn in the main
thread) and :class:`segment_desktop.relay.server.RelayServer` (uvicorn in a thread, for the
desktop app's sandbox mode and for tests). It knows nothing of HTTP: the ASGI app
(:mod:`segment_desktop.relay.app`) is given a :class:`Relay` and calls :meth:`Relay.accept`.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from segment_desktop.relay import health
from segment_desktop.relay.health import Health, HealthReports
from segment_desktop.relay.intake import Accepted, Intake
from segment_desktop.relay.metrics import Metrics
from segment_desktop.relay.outbox import Outbox
from segment_desktop.relay.records import EventRecord, OutboxStats
from segment_desktop.relay.render_threads import RenderThreads
from segment_desktop.relay.rendering import EventRenderer, TemplateConfig
from segment_desktop.relay.retention import Retention
from segment_desktop.relay.sender import BACKOFF_FIRST, BatchSender, Sender

if TYPE_CHECKING:
    from segment_desktop.core.render import Renderer
    from segment_desktop.relay.render_pool import RenderPool

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SegmentTarget:
    """Where calls go; the relay builds its Segment client from it."""

    host: str
    path: str
    write_key: str = field(repr=False)


#: Attempts the Segment client makes per batch before the sender takes over the backoff
#: (which survives restarts, as each call's next attempt time is stored).
CLIENT_ATTEMPTS = 2
#: Parse-and-render threads, when there are no render processes, at least: two, so that one
#: template running to its 2 s budget does not hold every ack. jsonata-python holds the GIL
#: while it works, so more threads would only contend; jlens does not, so it gets one per
#: CPU, up to :data:`MAX_RENDER_THREADS`.
RENDER_THREADS = 2
MAX_RENDER_THREADS = 8


def render_threads(engine: str) -> int:
    """Parse-and-render threads for ``engine`` (see :data:`RENDER_THREADS`)."""
    from segment_desktop.core.engine import JLENS

    if engine != JLENS:
        return RENDER_THREADS
    return max(RENDER_THREADS, min(MAX_RENDER_THREADS, os.cpu_count() or 1))


#: Seconds :meth:`Relay.stop` waits for the render processes to finish what they hold.
RENDER_STOP_SECONDS = 10.0


class Relay:
    """A relay ready to serve: call :meth:`start`, hand it to the ASGI app, then :meth:`stop`."""

    def __init__(
        self,
        *,
        templates: TemplateConfig,
        segment: SegmentTarget | None = None,
        data_dir: Path,
        client: BatchSender | None = None,
        renderer: Renderer | None = None,
        backoff_first: float = BACKOFF_FIRST,
        render_processes: int = 0,
        retention: Retention | None = None,
    ) -> None:
        """``render_processes``: processes that parse and render (0: threads in this one);
        ``retention``: how long parked work is kept (30 days).

        Raises ``ConfigError`` when the data folder cannot be used.
        """
        self.metrics = Metrics()
        self.reports = HealthReports()
        """Problems for ``/healthz`` (the settings watcher reports its own here too)."""
        # The intake's commits are what a webhook's 200 waits for: the sender checkpoints the
        # WAL from its own connection and loop instead (Outbox.checkpoint_if_due, without the
        # write lock), so no checkpoint fsync lands on an acknowledgement.
        self.outbox = Outbox.in_dir(data_dir, checkpoint=False)
        # The sender's writes need not survive a power cut (see outbox.py): its own connection.
        self.sender_outbox = Outbox.in_dir(data_dir, synchronous="NORMAL")
        self.renderer = EventRenderer(templates, renderer)
        self.sender = Sender(
            self.sender_outbox,
            client,
            self.metrics,
            backoff_first=backoff_first,
            retention=retention,
        )
        if client is None:
            if segment is None:
                raise ValueError("The relay needs a Segment target or a client.")
            from segment_desktop.segment import SegmentClient

            client = SegmentClient(
                segment.host,
                segment.path,
                segment.write_key,
                max_attempts=CLIENT_ATTEMPTS,
                sleep=self.sender.sleep,
            )
            self.sender.client = client
        self.client = client
        self.intake = Intake(
            self.outbox,
            self.renderer,
            self.metrics,
            on_commit=self.sender.wake,
            reports=self.reports,
        )
        #: Processes for parsing and rendering: in parallel with HTTP, commits and sending,
        #: which share this process's GIL. Started by :meth:`start`.
        self.pool: RenderPool | None = None
        if render_processes > 0:
            from segment_desktop.relay.render_pool import RenderPool

            self.pool = RenderPool(
                templates, self.engine, render_processes, self.renderer.renderer.limits
            )
            self.renderer.on_update(self.pool.update)
        #: Without processes, threads for parsing and rendering (see :func:`render_threads`;
        #: waiting for a commit holds none of them). Started on first use.
        self.render_threads = render_threads(self.engine)
        self.threads = RenderThreads(self.renderer, self.intake, self.metrics, self.render_threads)
        if self.pool is None:
            self.intake.gather_while(self.threads.waiting)
        self._started = False

    @property
    def engine(self) -> str:
        return self.renderer.engine

    @property
    def render_processes(self) -> int:
        """Render processes (0: rendering on threads in this process)."""
        return self.pool.processes if self.pool is not None else 0

    async def accept(self, body: bytes) -> Accepted:
        """Parse, render and durably store one verified webhook body.

        Parsing and rendering are CPU work: in the render processes (or, without them, on the
        render threads), never on the event loop; waiting for the commit holds no thread.
        Raises ``EventError`` for a body that is not a Commerce event, ``OutboxUnavailable``
        and ``RenderUnavailable`` when the event cannot be stored now.
        """
        if self.pool is None:
            # The render thread queues the record for the commit itself (render_threads.py).
            delivery = self.threads.submit(body)
            answer = await delivery.future
            if isinstance(answer, Accepted):
                return answer
            assert delivery.record is not None, "a committed delivery has its record"
            return self._finish(delivery.record, answer, body)
        rendering = time.perf_counter()
        outcome = await asyncio.wrap_future(self.pool.submit(body))
        # Queued from here, so that the commit wakes this loop once per group.
        prepared = self.intake.take(outcome, on_loop=True)
        self.metrics.observe("render", time.perf_counter() - rendering)
        if isinstance(prepared, Accepted):
            return prepared
        stored = await asyncio.wrap_future(prepared.future)  # as is: already the loop's
        return self._finish(prepared.record, stored, body)

    def _finish(self, record: EventRecord, stored: bool, body: bytes) -> Accepted:
        answer = self.intake.answer(record, stored)
        if stored:  # the desktop app's delivery log (the journal keeps nothing unless asked)
            self.metrics.journal.webhook(
                record.event_id,
                record.triggered_by,
                body,
                answer.status,
                record.calls,
                record.failures,
            )
        return answer

    def outbox_stats(self) -> OutboxStats:
        return self.outbox.stats()

    def health(self) -> Health:
        problems = {}
        if not self.sender_alive():
            problems[health.SENDER] = "sender stopped"
        if not self.render_healthy():
            problems[health.RENDER] = "render processes down"
        problems.update(self.reports.current())
        return Health(self.engine, self.render_processes, problems)

    def start(self, *, freeze_heap: bool = False) -> None:
        """Start rendering and sending.

        ``freeze_heap``: exempt what start-up made from later garbage collections (see
        :mod:`segment_desktop.relay.heap`); for a process that is only a relay, not the
        desktop app's.
        """
        if self.pool is not None:
            self.pool.start()  # the workers import and compile while the rest starts
        else:
            self.renderer.warm_up()  # this process renders: compile before the first event
        self.sender.start()
        self._started = True
        if freeze_heap:
            from segment_desktop.relay.heap import freeze_startup_heap

            freeze_startup_heap()
        stats = self.outbox.stats()
        where = (
            f"{self.pool.processes} render process(es)"
            if self.pool is not None
            else f"{self.render_threads} render threads"
        )
        log.info(
            "Relay ready: template engine %s, %s; outbox %s holds %d pending, %d parked, "
            "%d template error(s)",
            self.engine,
            where,
            self.outbox.path,
            stats.pending,
            stats.parked,
            stats.template_errors,
            extra={"engine": self.engine},
        )

    def sender_alive(self) -> bool:
        return self._started and self.sender.is_alive()

    def render_healthy(self) -> bool:
        """The render processes are up (always true when rendering on threads)."""
        return self.pool is None or self.pool.healthy

    def stop(self, flush_seconds: float = 5.0) -> None:
        """Stop after the server stopped accepting: finish commits, flush, close the file."""
        if self.pool is not None:
            self.pool.close(RENDER_STOP_SECONDS)
        self.threads.close()
        self.intake.close()
        if self._started:
            done = self.sender.stop(flush_seconds)
            if not done:
                log.warning("The sender did not finish in time; unsent calls stay queued")
                return  # it still uses the outbox; the process exit closes the file
        close = getattr(self.client, "close", None)
        if callable(close):
            close()
        stats = self.outbox.stats()
        if stats.pending:
            log.info(
                "Stopped with %d call(s) queued; they are sent at the next start", stats.pending
            )
        self.outbox.close()
        self.sender_outbox.close()
