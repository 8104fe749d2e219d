"""Event delivery as Commerce does it: webhook POSTs (10 s limit) or queue puts, retried with
``attempt`` + 1.

A ``DeliveryWorker`` owns a scheduler thread and a small pool of sender threads, so ``fire``
returns at once, a slow receiver does not hold up the others, and a failed attempt is retried
after the next of ``retry_delays`` (``len(retry_delays) + 1`` attempts in all). Every attempt is
reported to a callback (the emulator writes it to the integration's logs) and kept on the
``DeliveryResult`` handle that ``fire`` returned.
"""

from __future__ import annotations

import functools
import heapq
import itertools
import logging
import ssl
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx

logger = logging.getLogger(__name__)

#: How much of a receiver's answer is kept in a log.
MAX_LOGGED_BODY = 2000


@functools.cache
def _tls_context() -> ssl.SSLContext:
    """One verifying TLS context per process: building one costs ~40 ms, per sandbox."""
    return ssl.create_default_context()


@dataclass(frozen=True)
class Attempt:
    """One POST to the receiver."""

    number: int
    succeeded: bool
    status_code: int | None
    """``None`` when nothing usable came back (refused, timed out)."""
    error_detail: str
    body: str
    """The receiver's answer, truncated."""
    processing_time: float
    """Seconds."""
    at: datetime


@dataclass
class DeliveryResult:
    """The delivery of one event to one integration; filled in as attempts happen."""

    event_id: str
    event_name: str
    integration_id: str
    job_id: str
    url: str
    max_attempts: int
    attempts: list[Attempt] = field(default_factory=list)
    _done: threading.Event = field(default_factory=threading.Event, repr=False)

    @property
    def finished(self) -> bool:
        return self._done.is_set()

    @property
    def succeeded(self) -> bool:
        return bool(self.attempts) and self.attempts[-1].succeeded

    def wait(self, timeout: float | None = None) -> bool:
        """Block until delivered or out of attempts; ``False`` when ``timeout`` ran out first."""
        return self._done.wait(timeout)

    def as_dict(self) -> dict[str, Any]:
        return {
            "event_id": self.event_id,
            "event": self.event_name,
            "integration_id": self.integration_id,
            "job_id": self.job_id,
            "url": self.url,
            "finished": self.finished,
            "succeeded": self.succeeded,
            "attempts": [
                {
                    "attempt": a.number,
                    "succeeded": a.succeeded,
                    "status_code": a.status_code,
                    "error_detail": a.error_detail,
                    "processing_time": a.processing_time,
                }
                for a in list(self.attempts)
            ],
        }


#: Builds (body, headers) for attempt number n.
RequestFactory = Callable[[int], tuple[bytes, dict[str, str]]]
#: Makes attempt number n some other way (a queue put): (status or None, answer, error or "").
Sender = Callable[[int], tuple[int | None, str, str]]
AttemptCallback = Callable[[DeliveryResult, Attempt], None]


@dataclass
class Delivery:
    """One event for one integration: a webhook (``build``) or a message to a queue (``send``)."""

    result: DeliveryResult
    build: RequestFactory | None = None
    send: Sender | None = None


class DeliveryWorker:
    """Sends deliveries in the background, retrying failures after ``retry_delays``."""

    def __init__(
        self,
        *,
        timeout: float,
        retry_delays: Sequence[float],
        on_attempt: AttemptCallback,
        max_workers: int = 4,
    ) -> None:
        if timeout <= 0:
            raise ValueError("webhook_timeout must be a positive number of seconds.")
        if any(delay < 0 for delay in retry_delays):
            raise ValueError("retry_delays cannot be negative.")
        self.timeout = timeout
        self.retry_delays = tuple(float(d) for d in retry_delays)
        self._on_attempt = on_attempt
        self._client = httpx.Client(
            timeout=timeout, trust_env=False, follow_redirects=False, verify=_tls_context()
        )
        self._pool = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="webhook")
        self._cond = threading.Condition()
        self._queue: list[tuple[float, int, Delivery, int]] = []  # (due, seq, delivery, attempt)
        self._seq = itertools.count()
        self._pending = 0  # deliveries not yet finished
        self._closed = False
        self._scheduler = threading.Thread(
            target=self._schedule_loop, name="webhook-scheduler", daemon=True
        )
        self._scheduler.start()

    @property
    def max_attempts(self) -> int:
        return len(self.retry_delays) + 1

    def submit(self, delivery: Delivery) -> None:
        with self._cond:
            if self._closed:
                raise RuntimeError("The sandbox has stopped; it cannot deliver webhooks.")
            self._pending += 1
            self._push(0.0, delivery, 1)

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Wait until every delivery has finished (delivered or out of attempts)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while self._pending:
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return False
                self._cond.wait(remaining)
            return True

    def close(self) -> None:
        """Stop: drop scheduled retries, let attempts in flight finish, close the client."""
        with self._cond:
            self._closed = True
            dropped = [delivery for _, _, delivery, _ in self._queue]
            self._queue.clear()
            self._cond.notify_all()
        self._scheduler.join(timeout=5)
        self._pool.shutdown(wait=True)  # queued attempts see _closed and finish at once
        self._client.close()
        for delivery in dropped:
            self._finish(delivery)

    # -- internals ------------------------------------------------------------------------

    def _push(self, delay: float, delivery: Delivery, attempt: int) -> None:
        heapq.heappush(self._queue, (time.monotonic() + delay, next(self._seq), delivery, attempt))
        self._cond.notify_all()

    def _schedule_loop(self) -> None:
        with self._cond:
            while not self._closed:
                if not self._queue:
                    self._cond.wait()
                    continue
                due, _, delivery, attempt = self._queue[0]
                now = time.monotonic()
                if due > now:
                    self._cond.wait(due - now)
                    continue
                heapq.heappop(self._queue)
                self._pool.submit(self._attempt, delivery, attempt)

    def _attempt(self, delivery: Delivery, number: int) -> None:
        result = delivery.result
        if self._closed:
            self._finish(delivery)
            return
        at = datetime.now(UTC)
        started = time.monotonic()
        try:
            status, answer, error = (
                delivery.send(number) if delivery.send is not None else self._post(delivery, number)
            )
        except Exception:  # a resource that cannot be serialised: give up on this delivery
            logger.exception("Cannot deliver %s", result.event_name)
            self._finish(delivery)
            return
        if not error and time.monotonic() - started > self.timeout:
            error = f"No answer within {self.timeout:g} seconds."
        attempt = Attempt(
            number=number,
            succeeded=not error,
            status_code=status,
            error_detail=error,
            body=answer,
            processing_time=round(time.monotonic() - started, 4),
            at=at,
        )
        result.attempts.append(attempt)
        try:
            self._on_attempt(result, attempt)
        finally:
            self._next(delivery, attempt)

    def _post(self, delivery: Delivery, number: int) -> tuple[int | None, str, str]:
        """One webhook POST: (status or ``None``, the receiver's answer, the error or "")."""
        assert delivery.build is not None, "a delivery needs build or send"
        url = delivery.result.url
        body, headers = delivery.build(number)
        try:
            response = self._client.post(url, content=body, headers=headers)
        except httpx.TimeoutException:
            return None, "", f"No answer within {self.timeout:g} seconds."
        except httpx.HTTPError as err:
            return None, "", f"Could not reach {url}: {type(err).__name__}."
        status = response.status_code
        error = "" if 200 <= status < 300 else f"The receiver answered HTTP {status}."
        return status, response.text[:MAX_LOGGED_BODY], error

    def _next(self, delivery: Delivery, attempt: Attempt) -> None:
        """Schedule the retry, or finish the delivery when it succeeded or ran out."""
        with self._cond:
            if (
                not attempt.succeeded
                and attempt.number < delivery.result.max_attempts
                and not self._closed
            ):
                delay = self.retry_delays[attempt.number - 1]
                self._push(delay, delivery, attempt.number + 1)
                return
        self._finish(delivery)

    def _finish(self, delivery: Delivery) -> None:
        delivery.result._done.set()
        with self._cond:
            self._pending -= 1
            self._cond.notify_all()
