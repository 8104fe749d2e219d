"""The relay's HTTP face: the webhook receiver's rules, ``/healthz``, ``/metrics`` (ASGI).

``POST /webhooks/commerce``
    401 for a missing or wrong ``X-MOLTIN-SECRET-KEY`` (compared in constant time, before the
    body is read), 413 for a body over the limit (counted while streaming: Content-Length is
    not trusted), 408 when the body does not arrive within Commerce's own 10 s, 400 with the
    reason for anything that is not a Commerce event, 503 with ``Retry-After`` when the
    outbox cannot be written, too many deliveries are being handled or a render process
    stopped while rendering it (Commerce retries), otherwise 200 once the event is on disk.
    Nothing is stored for any non-200 answer.

The app knows the relay only through :class:`RelayService`; the runtime knows nothing of ASGI.
Ordinary deliveries reach these rules through the HTTP protocol (:mod:`.webhook_cycle`)
rather than ASGI; the answers are the same either way.
Deliveries still sending their body and deliveries being rendered and stored are counted
apart, so that slow senders cannot take the places of deliveries that arrived whole.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import time
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any, Protocol

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from segment_desktop.core.envelope import MAX_BODY_BYTES
from segment_desktop.core.errors import EventError
from segment_desktop.core.jsontext import compact_json
from segment_desktop.relay.health import Health
from segment_desktop.relay.intake import Accepted, OutboxUnavailable, RenderUnavailable
from segment_desktop.relay.metrics import Metrics
from segment_desktop.relay.records import OutboxStats
from segment_desktop.relay.refusals import SUMMARY_SECONDS, RefusalLog

log = logging.getLogger(__name__)

WEBHOOK_PATH = "/webhooks/commerce"
SECRET_HEADER = b"x-moltin-secret-key"
#: Commerce gives up on a delivery after 10 s; a body still arriving then is not Commerce's.
BODY_SECONDS = 10.0
#: Deliveries rendered and stored at once; more are answered 503 (Commerce retries them).
MAX_IN_FLIGHT = 256
#: Deliveries receiving their body at once (each holds at most ``max_body_bytes``).
MAX_RECEIVING = 1024
#: A request's line and headers: a Commerce delivery's are well under a kilobyte.
MAX_HEAD_BYTES = 64 * 1024
HEAD_SECONDS = 10.0
#: A scope key the HTTP protocol (:mod:`.http_guard`) sets once a request's whole body has
#: arrived: reading it then cannot wait, so no timer guards it. A delivery's body nearly
#: always arrives with its head, before the app starts.
BODY_RECEIVED = "segment_desktop.body_received"

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

_RETRY_LATER = ((b"retry-after", b"5"),)


class RelayService(Protocol):
    """What the webhook app needs of a relay (:class:`segment_desktop.relay.runtime.Relay`)."""

    metrics: Metrics

    async def accept(self, body: bytes) -> Accepted:
        """Parse, render and store a verified body; raises ``EventError`` (400),
        ``OutboxUnavailable`` or ``RenderUnavailable`` (503)."""
        ...

    def health(self) -> Health: ...

    def outbox_stats(self) -> OutboxStats: ...


@dataclass(frozen=True)
class WebhookLimits:
    """Bounds on what one delivery, and all of them together, may take."""

    max_body_bytes: int = MAX_BODY_BYTES
    body_seconds: float = BODY_SECONDS
    max_in_flight: int = MAX_IN_FLIGHT
    max_receiving: int = MAX_RECEIVING
    max_head_bytes: int = MAX_HEAD_BYTES
    """Request line and headers (the HTTP server's limit: :mod:`.http_guard`)."""
    head_seconds: float = HEAD_SECONDS
    refusal_log_seconds: float = SUMMARY_SECONDS
    """Refusals are logged as one line per this many seconds (:mod:`.refusals`)."""


class Refusal(Exception):
    """Ends a webhook delivery early with this answer (the reason is in ``body``)."""

    def __init__(
        self, status: int, message: str, headers: tuple[tuple[bytes, bytes], ...] = ()
    ) -> None:
        super().__init__(message)
        self.status = status
        self.body: dict[str, object] = {"error": message}
        self.headers = headers


_WRONG_SECRET = (
    "Missing or wrong X-MOLTIN-SECRET-KEY. The integration's secret_key in Commerce "
    "must be the relay's webhook secret: run `segment-desktop register` again."
)
_BUSY = "The relay is busy; deliver this event again shortly."
#: Refusals are logged counted by these (a message may differ with every request).
_KINDS = {
    400: "400, not a Commerce event",
    401: "401, missing or wrong X-MOLTIN-SECRET-KEY",
    408: "408, body not received in time",
    413: "413, body too large",
}


def json_body(body: dict[str, object]) -> bytes:
    """An answer's JSON body."""
    return compact_json(body).encode("utf-8")


async def _send_json(
    send: Send,
    status: int,
    body: dict[str, object],
    headers: tuple[tuple[bytes, bytes], ...] = (),
) -> None:
    data = json_body(body)
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(data)).encode("ascii")),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": data})


async def _read_capped(receive: Receive, cap: int) -> bytes | None:
    """The body, or None as soon as it is known to exceed ``cap`` bytes."""
    chunks: list[bytes] = []
    total = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise Refusal(400, "The request body was not received completely.")
        chunk = message.get("body", b"")
        total += len(chunk)
        if total > cap:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


class WebhookApp:
    """The ASGI application of a relay, and the rules of a webhook delivery.

    A delivery is judged in two steps whichever way it comes: :meth:`check_head` once its
    headers are in (secret, declared size, room to receive), :meth:`settle` once its body is
    (room to render, then the relay's answer). The HTTP protocol (:mod:`.http_guard`) takes
    ordinary deliveries past ASGI (:mod:`.webhook_cycle`): it is the one hot path, and
    uvicorn's ASGI cycle costs more per delivery than the rest of the front together. Other
    deliveries (``Expect: 100-continue``, ``Connection: close``, pipelined behind an unfinished
    answer, another server) come here as ASGI; ``/healthz``, ``/metrics`` and every other
    request go to Starlette.
    """

    def __init__(
        self, relay: RelayService, webhook_secret: str, limits: WebhookLimits | None = None
    ) -> None:
        if not webhook_secret:
            raise ValueError("The relay needs a non-empty webhook secret.")
        self.relay = relay
        self.limits = limits or WebhookLimits()
        self.in_flight = 0
        """Deliveries being rendered and stored now (only the event loop's thread changes it)."""
        self.receiving = 0
        """Deliveries whose body is still arriving."""
        self._secret = webhook_secret.encode("utf-8")
        self._refusals = RefusalLog(log, self.limits.refusal_log_seconds)
        self._others = _status_app(self)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == WEBHOOK_PATH and scope["method"] == "POST":
            started = time.perf_counter()
            try:
                answer = await self._receive(scope, receive)
            except Refusal as early:
                await _send_json(send, early.status, early.body, early.headers)
            else:
                await _send_json(send, 200, answer.as_dict())
            self.relay.metrics.observe("webhook_ack", time.perf_counter() - started)
        else:
            await self._others(scope, receive, send)

    def _refuse(self, counter: str | None, status: int, message: str, headers: Any = ()) -> Refusal:
        if counter is not None:
            self.relay.metrics.add(counter)
        if status < 500:
            self._refusals.refused(_KINDS.get(status, str(status)), message)
        return Refusal(status, message, headers)

    def check_head(self, headers: list[tuple[bytes, bytes]]) -> None:
        """Raises the answer for a delivery refused on its headers alone (before its body is
        read): a missing or wrong secret (compared in constant time), a declared size over
        the limit (Content-Length is not trusted further: the body is counted too), or too
        many bodies arriving at once."""
        given = b""
        declared = b""
        for name, value in headers:
            if name == SECRET_HEADER:
                given = value
            elif name == b"content-length":
                declared = value
        if not hmac.compare_digest(given, self._secret):
            raise self._refuse("unauthorized", 401, _WRONG_SECRET)
        if declared.isdigit() and int(declared) > self.limits.max_body_bytes:
            raise self.too_large()
        if self.receiving >= self.limits.max_receiving:
            raise self._refuse("overloaded", 503, _BUSY, _RETRY_LATER)

    def too_large(self) -> Refusal:
        return self._refuse(
            "invalid", 413, f"The body is larger than {self.limits.max_body_bytes:,} bytes; "
            "a Commerce event is never this large."
        )  # fmt: skip

    def too_slow(self) -> Refusal:
        return self._refuse(
            "invalid", 408, f"The body did not arrive within {self.limits.body_seconds:g} s."
        )

    async def settle(self, body: bytes) -> Accepted:
        """The relay's answer to a whole, authenticated body; raises the answer to a delivery
        refused now (too many being rendered, not a Commerce event, nowhere to store it)."""
        if self.in_flight >= self.limits.max_in_flight:
            # A quick 503 makes Commerce retry later, where a slow answer would pass its 10 s
            # limit anyway, and bodies waiting here would only pile up in memory.
            raise self._refuse("overloaded", 503, _BUSY, _RETRY_LATER)
        self.in_flight += 1
        try:
            return await self.relay.accept(body)
        except EventError as err:
            raise self._refuse("invalid", 400, str(err)) from None
        except OutboxUnavailable as err:
            raise self._refuse(None, 503, str(err), _RETRY_LATER) from None
        except RenderUnavailable as err:
            raise self._refuse("render_unavailable", 503, str(err), _RETRY_LATER) from None
        finally:
            self.in_flight -= 1

    async def _receive(self, scope: Scope, receive: Receive) -> Accepted:
        self.check_head(scope["headers"])
        self.receiving += 1
        try:
            body = await self._read_body(scope, receive)
        finally:
            self.receiving -= 1
        return await self.settle(body)

    async def _read_body(self, scope: Scope, receive: Receive) -> bytes:
        cap = self.limits.max_body_bytes
        if scope.get(BODY_RECEIVED):
            body = await _read_capped(receive, cap)
        else:
            try:
                async with asyncio.timeout(self.limits.body_seconds):
                    body = await _read_capped(receive, cap)
            except TimeoutError:
                raise self.too_slow() from None
        if body is None:
            raise self.too_large()
        return body


def _status_app(webhooks: WebhookApp) -> Starlette:
    """``/healthz``, ``/metrics``; 404 and 405 for the rest (a GET of the webhook path)."""
    relay = webhooks.relay

    async def refuse(request: Request) -> Response:
        raise AssertionError("POSTs to the webhook path never reach Starlette")

    async def healthz(request: Request) -> Response:
        health = relay.health()
        return JSONResponse(health.as_dict(), status_code=200 if health.healthy else 503)

    async def metrics(request: Request) -> Response:
        stats = await run_in_threadpool(relay.outbox_stats)
        text = relay.metrics.render(stats, webhooks.in_flight + webhooks.receiving)
        return PlainTextResponse(text, media_type="text/plain; version=0.0.4")

    return Starlette(
        routes=[
            Route(WEBHOOK_PATH, refuse, methods=["POST"]),
            Route("/healthz", healthz, methods=["GET"]),
            Route("/metrics", metrics, methods=["GET"]),
        ]
    )
