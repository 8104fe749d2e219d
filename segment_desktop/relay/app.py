"""The relay's HTTP face (Starlette): the webhook receiver, ``/healthz`` and ``/metrics``.

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
from typing import TYPE_CHECKING

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from segment_desktop.core.errors import EventError
from segment_desktop.relay.intake import Accepted, OutboxUnavailable, Pending, RenderUnavailable

if TYPE_CHECKING:
    from segment_desktop.relay.runtime import Relay

log = logging.getLogger(__name__)

WEBHOOK_PATH = "/webhooks/commerce"
SECRET_HEADER = "x-moltin-secret-key"


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


async def _read_capped(request: Request, cap: int) -> bytes | None:
    """The body, or None as soon as it is known to exceed ``cap`` bytes."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > cap:
        return None
    chunks: list[bytes] = []
    total = 0
    async for chunk in request.stream():
        total += len(chunk)
        if total > cap:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def build_app(relay: Relay) -> Starlette:
    """The ASGI application for a started :class:`Relay`."""
    secret = relay.webhook_secret.encode("utf-8")

    async def receive_webhook(request: Request) -> Response:
        if relay.in_flight >= relay.max_in_flight:
            # Overloaded: a quick 503 makes Commerce retry later, where a slow answer would
            # pass its 10 s limit anyway, and bodies waiting here would only pile up in memory.
            relay.metrics.add("overloaded")
            return JSONResponse(
                {"error": "The relay is busy; deliver this event again shortly."},
                status_code=503,
                headers={"Retry-After": "5"},
            )
        relay.in_flight += 1  # only the event loop's thread changes it
        try:
            return await _receive(request)
        finally:
            relay.in_flight -= 1

    async def _receive(request: Request) -> Response:
        given = request.headers.get(SECRET_HEADER, "").encode("utf-8", "surrogateescape")
        if not hmac.compare_digest(given, secret):
            relay.metrics.add("unauthorized")
            log.warning("Refused a webhook with a missing or wrong X-MOLTIN-SECRET-KEY")
            return _error(
                401,
                "Missing or wrong X-MOLTIN-SECRET-KEY. The integration's secret_key in Commerce "
                "must be the relay's webhook secret: run `segment-desktop register` again.",
            )
        try:
            body = await _read_capped(request, relay.max_body_bytes)
        except ClientDisconnect:
            return _error(400, "The request body was not received completely.")
        if body is None:
            relay.metrics.add("invalid")
            return _error(
                413,
                f"The body is larger than {relay.max_body_bytes:,} bytes; "
                "a Commerce event is never this large.",
            )
        try:
            # Parsing and rendering are CPU work: in the relay's render processes (or, without
            # them, on its worker threads), never on the event loop.
            prepared: Accepted | Pending
            if relay.pool is not None:
                outcome = await asyncio.wrap_future(relay.pool.submit(body))
                prepared = relay.intake.take(outcome)
            else:
                prepared = await asyncio.get_running_loop().run_in_executor(
                    relay.executor, relay.intake.prepare, body
                )
            if isinstance(prepared, Pending):  # wait for the durable commit, holding no thread
                stored = await asyncio.wrap_future(prepared.future)
                prepared = relay.intake.finish(prepared, stored)
        except EventError as err:
            relay.metrics.add("invalid")
            return _error(400, str(err))
        except OutboxUnavailable as err:
            return _error(503, str(err))
        except RenderUnavailable as err:
            relay.metrics.add("render_unavailable")
            return JSONResponse({"error": str(err)}, status_code=503, headers={"Retry-After": "5"})
        return JSONResponse(prepared.as_dict())

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
        text = relay.metrics.render(stats)
        text += (
            "# HELP segment_desktop_relay_in_flight Deliveries being handled now.\n"
            "# TYPE segment_desktop_relay_in_flight gauge\n"
            f"segment_desktop_relay_in_flight {relay.in_flight}\n"
        )
        return PlainTextResponse(text, media_type="text/plain; version=0.0.4")

    return Starlette(
        routes=[
            Route(WEBHOOK_PATH, receive_webhook, methods=["POST"]),
            Route("/healthz", healthz, methods=["GET"]),
            Route("/metrics", metrics, methods=["GET"]),
        ]
    )
