"""Parse and render in worker processes, in parallel with the relay's HTTP, commits and sending.

Parsing a webhook body and rendering its templates is CPU work that holds the GIL: on threads
it competes with everything else the relay does (answering HTTP, group commits, the sender).
:class:`RenderPool` runs it in a ``ProcessPoolExecutor`` instead. Each worker is started with
``spawn`` (never ``fork``: the relay has threads and a listening socket), builds one
:class:`~segment_desktop.relay.rendering.EventRenderer` in its initializer (compiling the
enabled templates, so the first webhook pays no import) and turns a body into
an :data:`~segment_desktop.relay.rendering.Outcome` with
:func:`~segment_desktop.relay.rendering.render_body`, whose calls come back already encoded as
the outbox stores them (the main process neither decodes nor re-encodes them).

Template updates travel with the work: every task carries the settings' generation and the
settings pickled once per update, and a worker whose generation is older switches before it
renders. So whatever is submitted after :meth:`RenderPool.update` returns uses the new
templates, no worker is restarted, and compiled templates that did not change stay cached.

A worker that dies breaks the whole ``ProcessPoolExecutor``: the deliveries it held fail with
:class:`RenderUnavailable` (answered 503; Commerce retries, nothing was stored), the failure is
logged and a new pool replaces the broken one. A worker exits by itself when the relay process
is gone, even killed with SIGKILL: it watches its parent's sentinel.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import pickle
import signal
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import TYPE_CHECKING, Any

from segment_desktop.relay.intake import RenderUnavailable
from segment_desktop.relay.rendering import Outcome, render_body

if TYPE_CHECKING:
    from segment_desktop.core.engine import Limits
    from segment_desktop.relay.rendering import EventRenderer, TemplateConfig

log = logging.getLogger(__name__)

#: A pool broken again within this many seconds of its replacement waits this long before
#: the next one is started (a worker that cannot start must not make the relay spin).
REPLACE_PAUSE = 1.0
#: The longest pause between restarts of render processes that keep dying young.
REPLACE_PAUSE_CAP = 60.0


# -- inside a worker process ------------------------------------------------------------------


class _Worker:
    def __init__(self, renderer: EventRenderer, generation: int) -> None:
        self.renderer = renderer
        self.generation = generation


_worker: _Worker | None = None


def _init_worker(templates_blob: bytes, engine: str, limits: Limits, generation: int) -> None:
    """A new worker: outlive no relay, ignore Ctrl-C, build the renderer, compile the templates."""
    # Ctrl-C in a terminal reaches the whole process group: the relay stops gracefully and
    # shuts its workers down itself. SIGTERM keeps its default: ProcessPoolExecutor terminates
    # the other workers of a broken pool with it (ignoring it hangs the pool's clean-up), so
    # run the relay with systemd's KillMode=mixed (see the README).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _exit_with_parent()
    from segment_desktop.core.render import Renderer
    from segment_desktop.relay.heap import freeze_startup_heap
    from segment_desktop.relay.rendering import EventRenderer

    templates: TemplateConfig = pickle.loads(templates_blob)
    renderer = EventRenderer(templates, Renderer(engine, limits))
    renderer.warm_up()
    freeze_startup_heap()
    global _worker
    _worker = _Worker(renderer, generation)


def _exit_with_parent() -> None:
    """Exit as soon as the relay process is gone, whatever killed it.

    A ``ProcessPoolExecutor`` worker waits on a queue whose write end it holds itself, so it
    sees no end of file when its parent dies; the parent's sentinel does close.
    """
    parent = multiprocessing.parent_process()
    if parent is None:
        return
    sentinel = parent.sentinel

    def watch() -> None:
        from multiprocessing.connection import wait

        wait([sentinel])
        os._exit(0)

    threading.Thread(target=watch, name="relay-render-parent", daemon=True).start()


def _work(generation: int, templates_blob: bytes, body: bytes) -> Outcome:
    worker = _worker
    assert worker is not None, "the render process was not initialised"
    if worker.generation != generation:
        worker.renderer.update(pickle.loads(templates_blob))
        worker.generation = generation
    return render_body(worker.renderer, body)


def _ready() -> int:
    return os.getpid()


# -- in the relay process ---------------------------------------------------------------------


class RenderPool:
    """``processes`` spawned workers that turn webhook bodies into :data:`Outcome` values."""

    def __init__(
        self,
        templates: TemplateConfig,
        engine: str,
        processes: int,
        limits: Limits | None = None,
    ) -> None:
        from segment_desktop.core.engine import Limits

        if processes < 1:
            raise ValueError("A render pool needs at least one process.")
        self.processes = processes
        self._engine = engine
        self._limits = limits or Limits()
        self._lock = threading.Lock()
        self._generation = 0
        self._templates_blob = pickle.dumps(templates)
        self._closed = False
        self._started = False
        self._last_replaced = 0.0
        self._pause = REPLACE_PAUSE
        self._replacing: ProcessPoolExecutor | None = None
        """The broken executor a thread is replacing."""
        """Pools started after a worker died."""
        self._executor = self._new_executor()

    def _new_executor(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(
            self.processes,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_init_worker,
            initargs=(self._templates_blob, self._engine, self._limits, self._generation),
        )

    def start(self) -> None:
        """Start every worker now; they import and compile in the background."""
        with self._lock:
            self._started = True
            executor = self._executor
        self._launch(executor)

    def _launch(self, executor: ProcessPoolExecutor) -> None:
        # A spawn-context pool starts a worker per task while none is idle: one task per
        # worker starts them all (each runs the initializer, the warm-up, before its task).
        for _ in range(self.processes):
            try:
                executor.submit(_ready).add_done_callback(self._watch(executor))
            except RuntimeError:  # broken or shut down meanwhile: handled elsewhere
                return

    def update(self, templates: TemplateConfig) -> None:
        """Render with ``templates`` everything submitted after this returns."""
        blob = pickle.dumps(templates)
        with self._lock:
            self._generation += 1
            self._templates_blob = blob

    def submit(self, body: bytes) -> Future[Outcome]:
        """Render ``body`` in a worker.

        Raises, or the future fails with, :class:`RenderUnavailable` when a worker died while
        the pool held the body, the pool is being replaced or it is shutting down.
        """
        with self._lock:
            executor, generation, blob = self._executor, self._generation, self._templates_blob
        try:
            inner = executor.submit(_work, generation, blob, body)
        except BrokenProcessPool:
            # Replaced on another thread: starting processes here would hold up the event loop.
            self._replace_soon(executor)
            raise RenderUnavailable(_BROKEN) from None
        except RuntimeError:  # shut down: the relay is stopping
            raise RenderUnavailable(_STOPPING) from None
        outer: Future[Outcome] = Future()
        # Running from now on: a caller that gives up (asyncio.wrap_future cancels) cannot
        # cancel it under the executor's callback, which then sets its outcome unhindered.
        outer.set_running_or_notify_cancel()
        inner.add_done_callback(lambda done: self._settle(done, outer, executor))
        return outer

    def _settle(
        self, inner: Future[Outcome], outer: Future[Outcome], executor: ProcessPoolExecutor
    ) -> None:
        # On the executor's own thread: quick, and nothing that could wait for it.
        if outer.cancelled():  # the delivery was abandoned (client gone, forced shutdown)
            return
        if inner.cancelled():  # only a shutdown cancels
            outer.set_exception(RenderUnavailable(_STOPPING))
            return
        error = inner.exception()
        if error is None:
            outer.set_result(inner.result())
        elif isinstance(error, BrokenProcessPool):
            self._replace_soon(executor, str(error))
            outer.set_exception(RenderUnavailable(_BROKEN))
        else:
            outer.set_exception(error)

    def _watch(self, executor: ProcessPoolExecutor) -> Callable[[Future[int]], None]:
        def check(done: Future[int]) -> None:
            if not done.cancelled() and isinstance(done.exception(), BrokenProcessPool):
                self._replace_soon(executor, str(done.exception()))

        return check

    @property
    def healthy(self) -> bool:
        """No worker has died since the current workers started (``/healthz`` says so)."""
        with self._lock:
            return not self._closed and self._replacing is not self._executor

    def _replace_soon(self, broken: ProcessPoolExecutor, reason: str = "") -> None:
        """Replace ``broken`` on another thread (once)."""
        with self._lock:
            if self._closed or broken is not self._executor or self._replacing is broken:
                return
            self._replacing = broken
        threading.Thread(
            target=self._replace, args=(broken, reason), name="relay-render-restart", daemon=True
        ).start()

    def _replace(self, broken: ProcessPoolExecutor, reason: str) -> None:
        """Start the executor that replaces ``broken`` (on :meth:`_replace_soon`'s thread),
        after a pause when the last replacement broke soon too."""
        while True:
            with self._lock:
                if self._closed or broken is not self._executor:
                    return
                pause = self._last_replaced + self._pause - time.monotonic()
                if pause <= 0:
                    now = time.monotonic()
                    # Workers that die young (cannot start, or crash on every event) are
                    # restarted less and less often; a pool that ran a while restarts at once.
                    young = now - self._last_replaced < REPLACE_PAUSE_CAP
                    self._pause = (
                        min(REPLACE_PAUSE_CAP, self._pause * 2) if young else REPLACE_PAUSE
                    )
                    self._executor = fresh = self._new_executor()
                    self._last_replaced = now
                    started = self._started
                    break
            time.sleep(pause)
        log.error(
            "A render process stopped unexpectedly (%s); the deliveries it held were answered "
            "503 (Commerce delivers them again). Started new render processes; the next restart "
            "waits %.0f s if these stop soon too. The render processes' own errors are on the "
            "relay's standard error.",
            reason or "no reason given",
            self._pause,
        )
        broken.shutdown(wait=False)
        if started:
            self._launch(fresh)

    def pids(self) -> list[int]:
        """The worker processes' ids (those started so far)."""
        with self._lock:
            executor = self._executor
        return sorted(int(pid) for pid in _workers(executor))

    def close(self, timeout: float = 10.0) -> None:
        """Let the work in flight finish (for up to ``timeout`` seconds), then stop the workers."""
        with self._lock:
            self._closed = True
            executor = self._executor
        waiter = threading.Thread(
            target=executor.shutdown, kwargs={"wait": True}, name="relay-render-stop", daemon=True
        )
        waiter.start()
        waiter.join(timeout)
        if waiter.is_alive():
            log.warning("Render processes still busy after %.0f s: stopping them", timeout)
            for process in list(_workers(executor).values()):
                process.kill()
            waiter.join(5)


def _workers(executor: ProcessPoolExecutor) -> dict[int, Any]:
    """The executor's worker processes by pid (private, but stable since Python 3.2)."""
    return dict(getattr(executor, "_processes", None) or {})


_BROKEN = (
    "A render process of the relay stopped while handling this event; nothing was stored. "
    "Deliver the event again."
)
_STOPPING = "The relay is stopping; deliver this event again shortly."
