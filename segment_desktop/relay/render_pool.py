"""Parse and render in worker processes, in parallel with the relay's HTTP, commits and sending.

Parsing a webhook body and rendering its templates is CPU work that holds the GIL (jlens
releases it for part of its work only): on threads it competes with everything else the relay
does (answering HTTP, group commits, the sender). :class:`RenderPool` runs it in a
``ProcessPoolExecutor`` instead, fed in batches: one feeding thread per worker
(:class:`~segment_desktop.relay.render_threads.RenderThreads`) hands it every body queued
while its previous batch was out, as one task (:meth:`RenderPool.render`), so the pickling, the
executor's own thread and the wake-ups cost the relay once per batch, not once per webhook.

Each worker is started with ``spawn`` (never ``fork``: the relay has threads and a listening
socket), builds one :class:`~segment_desktop.relay.rendering.EventRenderer` in its initializer
(compiling the enabled templates, so the first webhook pays no import) and turns each body into
an :data:`~segment_desktop.relay.rendering.Outcome` with
:func:`~segment_desktop.relay.rendering.render_body`, whose calls come back already encoded as
the outbox stores them (the main process neither decodes nor re-encodes them).

Template updates travel with the work: every task carries the settings' generation, and the
settings (pickled once per update) when they changed since the workers started; a worker whose
generation is older switches before it renders. So whatever is queued after
:meth:`RenderPool.update` returns uses the new templates, no worker is restarted, and compiled
templates that did not change stay cached.

A worker that dies breaks the whole ``ProcessPoolExecutor``: the deliveries it held (the
batches in flight) fail with :class:`RenderUnavailable` (answered 503; Commerce retries,
nothing was stored), the failure is logged and a new pool replaces the broken one. A worker
exits by itself when the relay process is gone, even killed with SIGKILL: it watches its
parent's sentinel.
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
from concurrent.futures import CancelledError, Future, ProcessPoolExecutor
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


def _work(
    generation: int, templates_blob: bytes | None, bodies: list[bytes]
) -> list[Outcome | BaseException]:
    worker = _worker
    assert worker is not None, "the render process was not initialised"
    if worker.generation != generation:
        assert templates_blob is not None, "an update comes with its templates"
        worker.renderer.update(pickle.loads(templates_blob))
        worker.generation = generation
    outcomes: list[Outcome | BaseException] = []
    for body in bodies:
        try:
            outcomes.append(render_body(worker.renderer, body))
        except Exception as exc:  # a bug: its delivery gets an answer (500), the batch its own
            log.exception("Rendering a webhook failed unexpectedly")
            outcomes.append(exc)
    return outcomes


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
        self._started_generation = 0
        """The templates' generation the current executor's workers start with."""
        self._executor = self._new_executor()

    def _new_executor(self) -> ProcessPoolExecutor:
        self._started_generation = self._generation
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

    def render(self, bodies: list[bytes]) -> list[Outcome | BaseException]:
        """Render ``bodies`` in one worker, as one task; one outcome per body, in order.

        Blocks (on a feeding thread, :class:`~segment_desktop.relay.render_threads.RenderThreads`)
        until the worker is done. A body whose worker died, or that arrives while the pool is
        being replaced or shutting down, gets :class:`RenderUnavailable` (answered 503).
        """
        with self._lock:
            executor, generation = self._executor, self._generation
            # Workers start with their executor's templates: only a later update travels.
            blob = self._templates_blob if generation != self._started_generation else None
        try:
            future = executor.submit(_work, generation, blob, bodies)
        except BrokenProcessPool:
            # Replaced on another thread: starting processes here would hold up the feeding.
            self._replace_soon(executor)
            return [RenderUnavailable(_BROKEN)] * len(bodies)
        except RuntimeError:  # shut down: the relay is stopping
            return [RenderUnavailable(_STOPPING)] * len(bodies)
        try:
            return future.result()
        except BrokenProcessPool as error:
            self._replace_soon(executor, str(error))
            return [RenderUnavailable(_BROKEN)] * len(bodies)
        except CancelledError:  # only a shutdown cancels
            return [RenderUnavailable(_STOPPING)] * len(bodies)
        except Exception as error:  # the outcomes could not come back (a bug): answered 500
            log.error("Render processes could not return their outcomes: %s", error)
            return [error] * len(bodies)

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
