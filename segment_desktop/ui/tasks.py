"""Background work for the GUI: one helper, results on the GUI thread, stale results dropped.

Every network call and template run leaves the GUI thread through :class:`TaskRunner`:

    runner = TaskRunner(parent=self)
    runner.submit("preview", lambda token: renderer.render(text, event),
                  on_result=self._show, on_error=self._show_error)

* The callable runs on a ``QThreadPool`` thread and receives a :class:`CancelToken` it may check
  (``token.cancelled`` or ``token.raise_if_cancelled()``) between slow steps.
* ``on_result`` / ``on_error`` are called on the GUI thread (the runner's thread), never on the
  worker thread, so they may touch widgets.
* There is at most one task in flight per *key*. Submitting again under the same key cancels the
  running task (its token is set, its result will never be delivered) and queues the new one; a
  later submission replaces a queued one that has not started. Only the latest submission's
  outcome ever reaches its callbacks: this is what keeps a slow, stale preview or a late network
  answer from overwriting a newer one.

:class:`Debouncer` is the small timer that turns a burst of keystrokes into one call.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from PySide6 import QtCore
from PySide6.QtCore import QObject, QRunnable, QThreadPool, QTimer, Signal, Slot

__all__ = ["CancelToken", "Debouncer", "TaskCancelled", "TaskHandle", "TaskRunner"]

log = logging.getLogger(__name__)

T = TypeVar("T")


class TaskCancelled(Exception):
    """Raised by :meth:`CancelToken.raise_if_cancelled`; a cancelled task's outcome is dropped."""


class CancelToken:
    """A flag the GUI sets and the worker reads. Thread-safe."""

    def __init__(self) -> None:
        self._event = threading.Event()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def cancel(self) -> None:
        self._event.set()

    def raise_if_cancelled(self) -> None:
        if self._event.is_set():
            raise TaskCancelled()


@dataclass
class TaskHandle(Generic[T]):
    """What :meth:`TaskRunner.submit` returns: enough to cancel or identify one submission."""

    key: str
    generation: int
    token: CancelToken = field(default_factory=CancelToken)

    def cancel(self) -> None:
        self.token.cancel()

    @property
    def cancelled(self) -> bool:
        return self.token.cancelled


@dataclass
class _Job:
    handle: TaskHandle[Any]
    fn: Callable[[CancelToken], Any]
    on_result: Callable[[Any], None] | None
    on_error: Callable[[BaseException], None] | None


class _OutcomeCarrier(QObject):
    """Carries a worker's outcome to the GUI thread (it lives on the GUI thread)."""

    done = Signal(object, bool, object)  # job, ok, value-or-exception


class _Runnable(QRunnable):
    def __init__(self, job: _Job, carrier: _OutcomeCarrier) -> None:
        super().__init__()
        self._job = job
        self._carrier = carrier

    def run(self) -> None:  # worker thread
        job = self._job
        ok = True
        value: object
        try:
            job.handle.token.raise_if_cancelled()
            value = job.fn(job.handle.token)
        except Exception as exc:  # delivered to on_error on the GUI thread
            ok, value = False, exc
        # RuntimeError: the runner (and its carrier) was deleted while this ran; nobody listens.
        with contextlib.suppress(RuntimeError):
            self._carrier.done.emit(job, ok, value)


class TaskRunner(QObject):
    """Runs callables on a thread pool, one in flight per key, outcomes on the GUI thread.

    Signals:
        busyChanged(str key, bool busy): a key started or stopped having work (running or queued).
        delivered(str key): the latest task of ``key`` finished and its callback was called.
    """

    busyChanged = Signal(str, bool)
    delivered = Signal(str)

    def __init__(self, parent: QObject | None = None, *, pool: QThreadPool | None = None) -> None:
        super().__init__(parent)
        if pool is None:
            pool = QThreadPool(self)
            pool.setMaxThreadCount(max(2, QThreadPool.globalInstance().maxThreadCount()))
        self._pool = pool
        self._carrier = _OutcomeCarrier(self)
        # Emitted only on pool threads, so the automatic connection queues it to this thread.
        # (Not naming Qt.ConnectionType here keeps the ~40 ms Qt namespace off start-up.)
        self._carrier.done.connect(self._on_done)
        self._generation: dict[str, int] = {}
        self._running: dict[str, _Job] = {}
        self._pending: dict[str, _Job] = {}
        self._busy: set[str] = set()
        self._closed = False

    # -- public API -------------------------------------------------------------------------
    def submit(
        self,
        key: str,
        fn: Callable[[CancelToken], T],
        *,
        on_result: Callable[[T], None] | None = None,
        on_error: Callable[[BaseException], None] | None = None,
    ) -> TaskHandle[T]:
        """Run ``fn(token)`` in the background; supersede any earlier task under ``key``."""
        if self._closed:
            raise RuntimeError("TaskRunner is shut down")
        generation = self._generation.get(key, 0) + 1
        self._generation[key] = generation
        handle: TaskHandle[T] = TaskHandle(key, generation)
        job = _Job(handle, fn, on_result, on_error)
        superseded = self._pending.pop(key, None)
        if superseded is not None:
            superseded.handle.cancel()
        running = self._running.get(key)
        if running is not None:
            running.handle.cancel()
            self._pending[key] = job  # starts once the running one comes back
        else:
            self._start(job)
        return handle

    def cancel(self, key: str) -> None:
        """Cancel ``key``'s running and queued work; no callback of it will be called."""
        self._generation[key] = self._generation.get(key, 0) + 1
        pending = self._pending.pop(key, None)
        if pending is not None:
            pending.handle.cancel()
        running = self._running.get(key)
        if running is not None:
            running.handle.cancel()
        self._update_busy(key)

    def is_busy(self, key: str) -> bool:
        return key in self._running or key in self._pending

    @property
    def closed(self) -> bool:
        """:meth:`shutdown` was called: :meth:`submit` refuses work from now on."""
        return self._closed

    def shutdown(self, wait_ms: int = 2000) -> bool:
        """Cancel everything, refuse new work and wait for running callables to return.

        Returns ``False`` when some callable was still running after ``wait_ms``.
        """
        self._closed = True
        for key in list(self._running) + list(self._pending):
            self.cancel(key)
        return bool(self._pool.waitForDone(wait_ms))

    # -- internals --------------------------------------------------------------------------
    def _start(self, job: _Job) -> None:
        key = job.handle.key
        self._running[key] = job
        self._pool.start(_Runnable(job, self._carrier))
        self._update_busy(key)

    @Slot(object, bool, object)
    def _on_done(self, job: _Job, ok: bool, value: object) -> None:  # GUI thread
        key = job.handle.key
        if self._running.get(key) is job:
            del self._running[key]
        current = (
            not job.handle.cancelled
            and self._generation.get(key) == job.handle.generation
            and not (not ok and isinstance(value, TaskCancelled))
        )
        nxt = self._pending.pop(key, None)
        if nxt is not None and not self._closed:
            self._start(nxt)
        self._update_busy(key)
        if current:
            try:
                self._deliver(job, ok, value)
            finally:
                self.delivered.emit(key)

    def _deliver(self, job: _Job, ok: bool, value: object) -> None:
        if ok:
            if job.on_result is not None:
                job.on_result(value)
        elif job.on_error is not None:
            assert isinstance(value, BaseException)
            job.on_error(value)
        else:
            log.error("Background task %r failed", job.handle.key, exc_info=value)  # type: ignore[arg-type]

    def _update_busy(self, key: str) -> None:
        busy = self.is_busy(key)
        if busy != (key in self._busy):
            if busy:
                self._busy.add(key)
            else:
                self._busy.discard(key)
            self.busyChanged.emit(key, busy)


class Debouncer(QObject):
    """Turns a burst of :meth:`poke` calls into one ``triggered`` signal, ``interval_ms`` after
    the last poke (a restartable single-shot ``QTimer``).

    Signals:
        triggered(): the burst is over.
    """

    triggered = Signal()

    def __init__(self, interval_ms: int, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        # A coarse timer may fire 5 % early or late; the preview's budget is tight.
        self._timer.setTimerType(QtCore.Qt.TimerType.PreciseTimer)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self.triggered)

    @property
    def interval_ms(self) -> int:
        return int(self._timer.interval())

    @property
    def pending(self) -> bool:
        return bool(self._timer.isActive())

    def poke(self) -> None:
        """(Re)start the countdown."""
        self._timer.start()

    def flush(self) -> None:
        """Fire now if a poke is pending (e.g. before saving)."""
        if self._timer.isActive():
            self._timer.stop()
            self.triggered.emit()

    def cancel(self) -> None:
        self._timer.stop()
