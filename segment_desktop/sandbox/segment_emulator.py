"""The Segment emulator: the tracking API's answers and limits, and a record of what arrived.

Like the real edge it answers 200 ``{"success": true}`` to almost anything, including an unknown
write key (it records which key was used, from Basic auth and from ``writeKey`` in the body), and
400 only for invalid JSON and oversized payloads (a call or a body over the limits of
``core/spec.py``). A batch of more calls than Segment takes is answered 200 too, and the calls
past the limit are dropped, as Segment documents. A call with no ``userId``/``anonymousId`` is
accepted; ``discarded_calls()`` lists what Segment would silently drop.
"""

from __future__ import annotations

import base64
import binascii
import copy
import gzip
import json
import threading
import zlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from segment_desktop.core.jsontext import loads
from segment_desktop.core.spec import MAX_BATCH_BYTES, MAX_BATCH_CALLS, MAX_CALL_BYTES
from segment_desktop.core.spec import call_size as call_bytes  # what the call limit measures
from segment_desktop.sandbox.faults import ASGIApp, FaultMiddleware, Faults, add_from_json

CALL_TYPES = ("track", "identify", "page", "screen", "group", "alias")


class Rejected(Exception):
    """A 400 answer with Segment's reason."""


@dataclass(frozen=True)
class ReceivedBatch:
    """One accepted request to ``/v1/batch`` (or a single-call endpoint, as a batch of one)."""

    path: str
    write_key: str | None
    """The Basic-auth username, ``None`` when the request had no usable Basic auth."""
    body_write_key: str | None
    """``writeKey`` in the body, if any."""
    sent_at: str | None
    calls: list[dict[str, Any]]
    received_at: str
    context: dict[str, Any] | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    dropped: list[dict[str, Any]] = field(default_factory=list)
    """Calls past Segment's per-batch count: answered 200, never kept."""

    @property
    def key(self) -> str | None:
        """The write key the request authenticated with (alias of ``write_key``)."""
        return self.write_key

    @property
    def sentAt(self) -> str | None:  # the wire name, for tests that think in Segment's terms
        return self.sent_at

    def as_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "write_key": self.write_key,
            "body_write_key": self.body_write_key,
            "sentAt": self.sent_at,
            "received_at": self.received_at,
            "calls": copy.deepcopy(self.calls),
        }


class SegmentEmulator:
    """Thread-safe record of what the Segment emulator received, plus its faults."""

    def __init__(self) -> None:
        self.faults = Faults()
        self._lock = threading.Lock()
        self._batches: list[ReceivedBatch] = []
        self._rejected: list[tuple[str, str]] = []  # (path, reason)

    @property
    def received_batches(self) -> list[ReceivedBatch]:
        with self._lock:
            return list(self._batches)

    def received_calls(self) -> list[dict[str, Any]]:
        """Every accepted call, in the order received."""
        with self._lock:
            return [copy.deepcopy(c) for b in self._batches for c in b.calls]

    def discarded_calls(self) -> list[dict[str, Any]]:
        """Calls answered 200 that real Segment drops: past a batch's call limit, or with no
        userId/anonymousId or a bad type."""
        with self._lock:
            dropped = [copy.deepcopy(c) for b in self._batches for c in b.dropped]
        return dropped + [c for c in self.received_calls() if _would_discard(c)]

    @property
    def rejected(self) -> list[tuple[str, str]]:
        """(path, reason) of each request answered 400."""
        with self._lock:
            return list(self._rejected)

    def reset(self) -> None:
        """Forget everything received and disarm the faults."""
        with self._lock:
            self._batches.clear()
            self._rejected.clear()
        self.faults.clear()

    def accept(self, path: str, raw: bytes, authorization: str | None) -> ReceivedBatch:
        """Check and record one request body; raises ``Rejected`` for a 400."""
        try:
            batch = self._parse(path, raw, authorization)
        except Rejected as err:
            with self._lock:
                self._rejected.append((path, str(err)))
            raise
        with self._lock:
            self._batches.append(batch)
        return batch

    def _parse(self, path: str, raw: bytes, authorization: str | None) -> ReceivedBatch:
        if len(raw) > MAX_BATCH_BYTES:
            raise Rejected(f"Request body is {len(raw):,} bytes; the limit is 500 KB.")
        try:
            body = loads(raw)
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise Rejected("Invalid JSON.") from None
        if not isinstance(body, dict):
            raise Rejected("The body must be a JSON object.")
        kind = path.rsplit("/", 1)[-1]
        if kind == "batch":
            calls = body.get("batch")
            if not isinstance(calls, list):
                raise Rejected('A batch body needs a "batch" array.')
        else:
            calls = [{**body, "type": body.get("type", kind)}]
        for index, call in enumerate(calls):
            if not isinstance(call, dict):
                raise Rejected(f"Call {index} is not a JSON object.")
            size = call_bytes(call)
            if size > MAX_CALL_BYTES:
                raise Rejected(f"Call {index} is {size:,} bytes; the limit is 32 KB.")
        body_key = body.get("writeKey")
        calls, dropped = calls[:MAX_BATCH_CALLS], calls[MAX_BATCH_CALLS:]
        return ReceivedBatch(
            path=path,
            write_key=_basic_user(authorization),
            body_write_key=body_key if isinstance(body_key, str) else None,
            sent_at=body.get("sentAt") if isinstance(body.get("sentAt"), str) else None,
            calls=calls,
            received_at=datetime.now(UTC).isoformat(),
            context=body.get("context") if isinstance(body.get("context"), dict) else None,
            dropped=dropped,
        )


def _would_discard(call: dict[str, Any]) -> bool:
    ids = [call.get("userId"), call.get("anonymousId")]
    has_id = any(isinstance(i, str) and i for i in ids)
    if call.get("type") not in CALL_TYPES or not has_id:
        return True
    return call.get("type") == "track" and not isinstance(call.get("event"), str)


def _basic_user(authorization: str | None) -> str | None:
    scheme, _, encoded = (authorization or "").partition(" ")
    if scheme.lower() != "basic" or not encoded:
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    return decoded.partition(":")[0]


def _decoded_body(raw: bytes, encoding: str) -> bytes:
    encoding = encoding.strip().lower()
    if encoding in ("", "identity"):
        return raw
    if encoding not in ("gzip", "deflate"):
        raise Rejected(f"Unsupported Content-Encoding {encoding!r}.")
    try:
        # never inflate past the limit: a zip bomb is an oversized body like any other
        inflater = zlib.decompressobj(wbits=31 if encoding == "gzip" else 15)
        data = inflater.decompress(raw, MAX_BATCH_BYTES + 1)
    except (zlib.error, gzip.BadGzipFile):
        raise Rejected(f"The body is not valid {encoding} data.") from None
    return data


def error_body(status: int, title: str) -> bytes:
    return json.dumps({"success": False, "code": status, "message": title}).encode()


def build_segment_app(emulator: SegmentEmulator) -> ASGIApp:
    e = emulator

    async def receive_calls(request: Request) -> Response:
        raw = await request.body()
        try:
            raw = _decoded_body(raw, request.headers.get("content-encoding", ""))
            e.accept(request.url.path, raw, request.headers.get("authorization"))
        except Rejected as err:
            return JSONResponse(
                {"success": False, "code": "invalid_request", "message": str(err)},
                status_code=400,
            )
        return JSONResponse({"success": True})

    async def received(request: Request) -> Response:
        return JSONResponse({"batches": [b.as_dict() for b in e.received_batches]})

    async def reset(request: Request) -> Response:
        e.reset()
        return Response(status_code=204)

    async def faults(request: Request) -> Response:
        if request.method == "DELETE":
            e.faults.clear()
            return Response(status_code=204)
        if request.method == "GET":
            return JSONResponse({"data": [f.as_dict() for f in e.faults.pending()]})
        try:
            fault = add_from_json(e.faults, json.loads(await request.body()))
        except (TypeError, ValueError) as err:  # JSONDecodeError is a ValueError
            return JSONResponse({"success": False, "message": str(err)}, status_code=422)
        return JSONResponse({"data": fault.as_dict()}, status_code=201)

    async def on_http(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        return JSONResponse(
            {"success": False, "code": exc.status_code, "message": str(exc.detail)},
            status_code=exc.status_code,
            headers=exc.headers,
        )

    routes = [
        Route(f"/v1/{kind}", receive_calls, methods=["POST"]) for kind in ("batch", *CALL_TYPES)
    ]
    routes += [
        Route("/sandbox/received", received, methods=["GET"]),
        Route("/sandbox/reset", reset, methods=["POST"]),
        Route("/sandbox/faults", faults, methods=["GET", "POST", "DELETE"]),
    ]
    app = Starlette(routes=routes, exception_handlers={HTTPException: on_http})
    return FaultMiddleware(app, e.faults, error_body)
