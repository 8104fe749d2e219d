"""The relay's HTTP face: the webhook receiver (plain ASGI), ``/healthz``, ``/metrics``.

``POST /webhooks/commerce``
    401 for a missing or wrong ``X-MOLTIN-SECRET-KEY`` (compared in constant time, before the
    body is read), 413 for a body over the limit (counted while streaming: Content-Length is
    not trusted), 400 with the reason for anything that is not a Commerce event, 503 when the
    outbox cannot be written, ``max_in_flight`` deliveries are already being handled or a render
    process stopped while rendering it (Commerce retries), otherwise 200 once the event is on
    disk.
    Nothing is stored for any non-200 answer.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import TYPE_CHECKING, Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from segment_desktop.core.errors import EventError
from segment_desktop.core.jsontext import compact_json
from segment_desktop.relay.intake import Accepted, OutboxUnavailable, Pending, RenderUnavailable

if TYPE_CHECKING:
    from segment_desktop.relay.runtime import Relay

log = logging.getLogger(__name__)

WEBHOOK_PATH = "/webhooks/commerce"
SECRET_HEADER = b"x-moltin-secret-key"

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class _Answer(Exception):
    """Ends a webhook delivery early with this answer."""

    def __init__(
        self, status: int, message: str, headers: tuple[tuple[bytes, bytes], ...] = ()
    ) -> None:
        super().__init__(message)
        self.status = status
        self.body: dict[str, object] = {"error": message}
        self.headers = headers


_RETRY_LATER = ((b"retry-after", b"5"),)


async def _send_json(
    send: Send,
    status: int,
    body: dict[str, object],
    headers: tuple[tuple[bytes, bytes], ...] = (),
) -> None:
    data = compact_json(body).encode("utf-8")
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


async def _read_capped(scope: Scope, receive: Receive, cap: int) -> bytes | None:
    """The body, or None as soon as it is known to exceed ``cap`` bytes."""
    for name, value in scope["headers"]:
        if name == b"content-length" and value.isdigit() and int(value) > cap:
            return None
    chunks: list[bytes] = []
    total = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise _Answer(400, "The request body was not received completely.")
        chunk = message.get("body", b"")
        total += len(chunk)
        if total > cap:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def build_app(relay: Relay) -> ASGIApp:
    """The ASGI application for a started :class:`Relay`.

    The webhook route is plain ASGI: it is the one hot path (Starlette's request and response
    objects and middleware cost more per delivery than a small order takes to render with
    jlens); ``/healthz``, ``/metrics`` and every other request go to Starlette.
    """
    secret = relay.webhook_secret.encode("utf-8")
    others = _status_app(relay)

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == WEBHOOK_PATH and scope["method"] == "POST":
            await receive_webhook(scope, receive, send)
        else:
            await others(scope, receive, send)

    async def receive_webhook(scope: Scope, receive: Receive, send: Send) -> None:
        if relay.in_flight >= relay.max_in_flight:
            # Overloaded: a quick 503 makes Commerce retry later, where a slow answer would
            # pass its 10 s limit anyway, and bodies waiting here would only pile up in memory.
            relay.metrics.add("overloaded")
            message = "The relay is busy; deliver this event again shortly."
            await _send_json(send, 503, {"error": message}, _RETRY_LATER)
            return
        relay.in_flight += 1  # only the event loop's thread changes it
        started = time.perf_counter()
        try:
            answer = await _receive(scope, receive)
        except _Answer as early:
            await _send_json(send, early.status, early.body, early.headers)
        else:
            await _send_json(send, 200, answer.as_dict())
        finally:
            relay.in_flight -= 1
            relay.metrics.observe("webhook_ack", time.perf_counter() - started)

    async def _receive(scope: Scope, receive: Receive) -> Accepted:
        given = b""
        for name, value in scope["headers"]:
            if name == SECRET_HEADER:
                given = value
                break
        if not hmac.compare_digest(given, secret):
            relay.metrics.add("unauthorized")
            log.warning("Refused a webhook with a missing or wrong X-MOLTIN-SECRET-KEY")
            raise _Answer(
                401,
                "Missing or wrong X-MOLTIN-SECRET-KEY. The integration's secret_key in Commerce "
                "must be the relay's webhook secret: run `segment-desktop register` again.",
            )
        body = await _read_capped(scope, receive, relay.max_body_bytes)
        if body is None:
            relay.metrics.add("invalid")
            raise _Answer(
                413,
                f"The body is larger than {relay.max_body_bytes:,} bytes; "
                "a Commerce event is never this large.",
            )
        try:
            # Parsing and rendering are CPU work: in the relay's render processes (or, without
            # them, on its worker threads), never on the event loop.
            prepared: Accepted | Pending
            rendering = time.perf_counter()
            if relay.pool is not None:
                outcome = await asyncio.wrap_future(relay.pool.submit(body))
                prepared = relay.intake.take(outcome)
            else:
                prepared = await asyncio.get_running_loop().run_in_executor(
                    relay.executor, relay.intake.prepare, body
                )
            relay.metrics.observe("render", time.perf_counter() - rendering)
            if isinstance(prepared, Pending):  # wait for the durable commit, holding no thread
                pending = prepared
                stored = await asyncio.wrap_future(pending.future)
                prepared = relay.intake.finish(pending, stored)
                if stored:
                    record = pending.record
                    relay.metrics.journal.webhook(
                        record.event_id,
                        record.triggered_by,
                        body,
                        prepared.status,
                        record.calls,
                        record.failures,
                    )
        except EventError as err:
            relay.metrics.add("invalid")
            raise _Answer(400, str(err)) from None
        except OutboxUnavailable as err:
            raise _Answer(503, str(err)) from None
        except RenderUnavailable as err:
            relay.metrics.add("render_unavailable")
            raise _Answer(503, str(err), _RETRY_LATER) from None
        return prepared

    return app


def _status_app(relay: Relay) -> Starlette:
    """``/healthz``, ``/metrics``; 404 and 405 for the rest (a GET of the webhook path)."""

    async def refuse(request: Request) -> Response:
        raise AssertionError("POSTs to the webhook path never reach Starlette")

    async def healthz(request: Request) -> Response:
        sending, rendering = relay.sender_alive(), relay.render_healthy()
        healthy = sending and rendering
        status = "ok" if healthy else "sender stopped" if not sending else "render processes down"
        return JSONResponse(
            {
                "status": status,
                "engine": relay.engine,
                "render_processes": relay.render_processes,
            },
            status_code=200 if healthy else 503,
        )

    async def metrics(request: Request) -> Response:
        stats = await run_in_threadpool(relay.outbox.stats)
        text = relay.metrics.render(stats, relay.in_flight)
        return PlainTextResponse(text, media_type="text/plain; version=0.0.4")

    return Starlette(
        routes=[
            Route(WEBHOOK_PATH, refuse, methods=["POST"]),
            Route("/healthz", healthz, methods=["GET"]),
            Route("/metrics", metrics, methods=["GET"]),
        ]
    )
