"""Render threads fed by the event loop that hand what they render straight to the committer.

A webhook body crosses threads twice on its way to the outbox and its answer once: the event
loop queues it for a render thread, the render thread queues the record for the group
committer (:class:`~segment_desktop.relay.intake.GroupCommitter`), and the committer wakes the
loop once per committed group. Nothing goes back to the loop between rendering and committing,
so the loop pays one future and one wake-up per group for a delivery, where a
``run_in_executor`` per body costs a ``concurrent.futures`` future with its condition, a
wake-up of the loop per body and a second await. A busy render thread takes the next body
without sleeping, and a queue put wakes a thread only when one is waiting.

A body that is not a Commerce event, or that no template tracks, is answered from the render
thread the same way, without a commit.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import threading
import time

from segment_desktop.relay.intake import Accepted, Intake, RenderUnavailable
from segment_desktop.relay.metrics import Metrics
from segment_desktop.relay.records import EventRecord
from segment_desktop.relay.rendering import EventRenderer, Outcome, render_body

log = logging.getLogger(__name__)

#: What a delivery's future gives: the answer when nothing was committed, else whether the
#: commit stored the record (False: a duplicate).
Answer = Accepted | bool


class Delivery:
    """One body on its way: the loop awaits :attr:`future`; :attr:`record` is what was queued
    for the commit (set before the commit can settle the future)."""

    __slots__ = ("body", "future", "loop", "queued_at", "record")

    def __init__(self, body: bytes, loop: asyncio.AbstractEventLoop) -> None:
        self.body = body
        self.loop = loop
        self.future: asyncio.Future[Answer] = loop.create_future()
        self.queued_at = time.perf_counter()
        self.record: EventRecord | None = None


class RenderThreads:
    """``count`` threads that parse and render queued bodies; started on first use."""

    def __init__(
        self, renderer: EventRenderer, intake: Intake, metrics: Metrics, count: int
    ) -> None:
        if count < 1:
            raise ValueError("The relay needs at least one render thread.")
        self.count = count
        self._renderer = renderer
        self._intake = intake
        self._metrics = metrics
        self._queue: queue.SimpleQueue[Delivery | None] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self._closed = False

    def submit(self, body: bytes) -> Delivery:
        """Queue ``body`` (on the running event loop); await the delivery's future.

        Raises :class:`RenderUnavailable` once the relay is stopping.
        """
        if not self._threads:
            self._start()
        delivery = Delivery(body, asyncio.get_running_loop())
        with self._lock:  # never after close()'s end marks: no thread would take it
            if self._closed:
                raise RenderUnavailable("The relay is stopping; deliver this event again shortly.")
            self._queue.put(delivery)
        return delivery

    def waiting(self) -> int:
        """Bodies queued and not yet taken by a render thread."""
        return self._queue.qsize()

    def close(self) -> None:
        """Render what is queued, then end the threads."""
        with self._lock:
            self._closed = True
            threads = list(self._threads)
            for _ in threads:
                self._queue.put(None)
        for thread in threads:
            thread.join()

    def _start(self) -> None:
        with self._lock:
            if self._threads or self._closed:
                return
            for index in range(self.count):
                thread = threading.Thread(
                    target=self._run, name=f"relay-render-{index}", daemon=True
                )
                thread.start()
                self._threads.append(thread)

    def _run(self) -> None:
        get = self._queue.get
        while True:
            delivery = get()
            if delivery is None:
                return
            try:
                outcome: Outcome | BaseException = render_body(self._renderer, delivery.body)
            except Exception as exc:  # a bug: its delivery must still get an answer (500)
                log.exception("Rendering a webhook failed unexpectedly")
                outcome = exc
            self._metrics.observe("render", time.perf_counter() - delivery.queued_at)
            self._hand_on(delivery, outcome)

    def _hand_on(self, delivery: Delivery, outcome: Outcome | BaseException) -> None:
        result: Answer | BaseException
        if isinstance(outcome, BaseException):
            result = outcome
        else:
            try:
                admitted = self._intake.admit(outcome)
            except Exception as exc:  # EventError: answered 400
                result = exc
            else:
                if isinstance(admitted, EventRecord):
                    delivery.record = admitted  # before the commit can settle the future
                    self._intake.commit_for(admitted, delivery.loop, delivery.future)
                    return
                result = admitted
        with contextlib.suppress(RuntimeError):  # the loop closed: nobody waits any more
            delivery.loop.call_soon_threadsafe(_answer, delivery.future, result)


def _answer(future: asyncio.Future[Answer], result: Answer | BaseException) -> None:
    if future.done():
        return  # its request went away
    if isinstance(result, BaseException):
        future.set_exception(result)
    else:
        future.set_result(result)
