"""One webhook delivery handled by the HTTP protocol itself, past ASGI.

uvicorn runs every request as an ASGI cycle: a scope, an ``asyncio.Event``, a message dict for
the body and two for the answer, header checks with regular expressions, the head and body
written apart. For the relay's one hot request, an ordinary ``POST /webhooks/commerce``, that
machinery costs more on the event loop than the rest of the front together.
:class:`WebhookCycle` takes its place: it stands where uvicorn's protocol keeps its current
cycle (so that uvicorn still parses, keeps connections alive, queues pipelined requests and
shuts down), applies :class:`~segment_desktop.relay.app.WebhookApp`'s rules, and writes the
answer in one piece. Nothing is decided here that the app does not decide the same way for a
delivery that comes through ASGI.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import TYPE_CHECKING

from segment_desktop.relay.app import Refusal, WebhookApp, json_body

if TYPE_CHECKING:
    from segment_desktop.relay.http_guard import GuardedHttpToolsProtocol

log = logging.getLogger(__name__)

_REASONS = {
    200: b"OK",
    400: b"Bad Request",
    401: b"Unauthorized",
    408: b"Request Timeout",
    413: b"Content Too Large",
    500: b"Internal Server Error",
    503: b"Service Unavailable",
}
_JSON_HEAD = b"content-type: application/json\r\ncontent-length: "
_CLOSE = b"connection: close\r\n"


class _Progress:
    """What uvicorn's protocol calls ``message_event``: it sets it when body bytes, the end of
    the body or a disconnection arrive."""

    __slots__ = ("_cycle",)

    def __init__(self, cycle: WebhookCycle) -> None:
        self._cycle = cycle

    def set(self) -> None:
        self._cycle.progress()


class _Received:
    """``message_event`` once the body is in (or refused): nothing more to wait for. Putting it
    in :class:`_Progress`'s place ends the reference cycle between the two, so a delivery is
    freed as soon as it is answered rather than by the garbage collector."""

    __slots__ = ()

    def set(self) -> None:
        pass


_RECEIVED = _Received()


class WebhookCycle:
    """A webhook delivery from its head to its answer, in uvicorn's place for a cycle.

    uvicorn's protocol adds body bytes to ``body``, clears ``more_body`` at the end, sets
    ``disconnected`` and ``keep_alive`` and calls ``message_event.set()``; the rest is ours.
    """

    def __init__(
        self,
        protocol: GuardedHttpToolsProtocol,
        app: WebhookApp,
        headers: list[tuple[bytes, bytes]],
    ) -> None:
        self.body = bytearray()
        self.more_body = True
        self.disconnected = False
        self.keep_alive = True
        self.response_started = False
        """Always False: the answer is written whole (see ``http_guard._JoinedWrites``)."""
        self.response_complete = False
        self.message_event: _Progress | _Received = _RECEIVED
        self._protocol = protocol
        self._app = app
        self._started = time.perf_counter()
        self._receiving = False
        self._timer: asyncio.TimerHandle | None = None
        try:
            app.check_head(headers)
        except Refusal as refusal:
            self._refused(refusal)
            return
        app.receiving += 1
        self._receiving = True
        self.message_event = _Progress(self)

    @property
    def waiting_for_body(self) -> bool:
        return self._receiving and self._timer is None

    def expect_body(self) -> None:
        """The body did not come with the head: it gets the rest of its time from now."""
        left = self._app.limits.body_seconds - (time.perf_counter() - self._started)
        self._timer = self._protocol.loop.call_later(max(0.0, left), self._too_slow)

    def progress(self) -> None:
        if not self._receiving:
            return
        if self.disconnected:  # nothing was stored; nobody is left to answer
            self._received()
        elif len(self.body) > self._app.limits.max_body_bytes:
            self._received()
            self._refused(self._app.too_large())
        elif not self.more_body:
            self._received()
            body = bytes(self.body)
            self.body = bytearray()
            task = self._protocol.loop.create_task(self._settle(body))
            tasks = self._protocol.server_state.tasks
            tasks.add(task)  # a graceful shutdown waits for it
            task.add_done_callback(tasks.discard)
        else:
            self._protocol.flow.resume_reading()  # uvicorn pauses past 64 KB; we count to the cap

    def run_asgi(self, app: object) -> None:  # pragma: no cover - never queued
        raise AssertionError("a webhook cycle starts at once, never behind another answer")

    def _received(self) -> None:
        self._receiving = False
        self.message_event = _RECEIVED
        self._app.receiving -= 1
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _too_slow(self) -> None:
        self._timer = None
        if self._receiving:
            self._received()
            self.keep_alive = False  # the rest of a late body must not be read as a request
            self._refused(self._app.too_slow())

    def _refused(self, refusal: Refusal) -> None:
        self._answer(refusal.status, json_body(refusal.body), refusal.headers)
        self._app.relay.metrics.observe("webhook_ack", time.perf_counter() - self._started)

    async def _settle(self, body: bytes) -> None:
        try:
            accepted = await self._app.settle(body)
        except Refusal as refusal:
            self._refused(refusal)
        except Exception:
            log.exception("The webhook delivery failed unexpectedly")
            self.keep_alive = False
            self._answer(500, json_body({"error": "Internal error; see the relay's log."}))
        else:
            self._answer(200, json_body(accepted.as_dict()))
            self._app.relay.metrics.observe("webhook_ack", time.perf_counter() - self._started)

    def _answer(
        self, status: int, data: bytes, headers: tuple[tuple[bytes, bytes], ...] = ()
    ) -> None:
        """Writes the whole answer at once, then lets uvicorn go on with the connection."""
        if self.response_complete:
            return
        self.response_complete = True
        protocol = self._protocol
        transport = protocol.transport
        if self.disconnected or transport.is_closing():
            return
        parts = [b"HTTP/1.1 %d %s\r\n" % (status, _REASONS[status])]
        for name, value in protocol.server_state.default_headers:  # the Date header
            parts += (name, b": ", value, b"\r\n")
        parts += (_JSON_HEAD, b"%d\r\n" % len(data))
        for name, value in headers:
            parts += (name, b": ", value, b"\r\n")
        if not self.keep_alive:
            parts.append(_CLOSE)
        parts += (b"\r\n", data)
        transport.write(b"".join(parts))
        if not self.keep_alive:
            transport.close()
        protocol.on_response_complete()
