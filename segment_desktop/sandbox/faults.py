"""Fault injection: make the next N responses on a path prefix fail in a chosen way.

Tests (and people trying the app) arm a fault, through the Python API or ``POST /sandbox/faults``,
and the emulator's middleware answers the matching requests with it instead of the real handler:

- ``rate_limit``: 429 with ``Retry-After`` (seconds),
- ``server_error``: a 5xx (503 unless ``status`` says otherwise),
- ``slow``: waits ``delay`` seconds, then answers normally (the request *is* processed),
- ``malformed``: 200 with a body that is not JSON (the request is not processed).

Paths under ``/sandbox`` (the control endpoints) are never faulted.
"""

from __future__ import annotations

import asyncio
import itertools
import threading
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

#: Renders an error body for (status, title); each emulator speaks its own error dialect.
ErrorBody = Callable[[int, str], bytes]

CONTROL_PREFIX = "/sandbox"
MALFORMED_BODY = b'{"data": [{"id": "truncated'


class FaultKind(StrEnum):
    RATE_LIMIT = "rate_limit"
    SERVER_ERROR = "server_error"
    SLOW = "slow"
    MALFORMED = "malformed"


@dataclass
class Fault:
    """One armed fault; ``remaining`` counts down as requests hit it."""

    id: int
    kind: FaultKind
    prefix: str
    remaining: int
    method: str | None = None
    status: int = 0
    retry_after: float = 1.0
    delay: float = 0.0

    def matches(self, method: str, path: str) -> bool:
        if self.method is not None and self.method != method.upper():
            return False
        return path.startswith(self.prefix)

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["kind"] = str(self.kind)
        return data


class Faults:
    """A thread-safe list of armed faults, consumed first-armed first."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []
        self._ids = itertools.count(1)

    def add(
        self,
        kind: FaultKind | str,
        *,
        prefix: str = "/",
        count: int = 1,
        method: str | None = None,
        status: int | None = None,
        retry_after: float = 1.0,
        delay: float = 1.0,
    ) -> Fault:
        """Arm a fault for the next ``count`` requests whose path starts with ``prefix``.

        Raises ``ValueError`` with a readable reason for a bad kind, count, status or delay.
        """
        try:
            kind = FaultKind(kind)
        except ValueError:
            choices = ", ".join(k.value for k in FaultKind)
            raise ValueError(f"Unknown fault kind {kind!r}; use one of: {choices}.") from None
        if not isinstance(count, int) or isinstance(count, bool) or count < 1:
            raise ValueError("A fault's count must be a whole number of at least 1.")
        if not prefix.startswith("/"):
            raise ValueError(f"A fault's prefix is a path starting with '/', not {prefix!r}.")
        if kind is FaultKind.RATE_LIMIT:
            status = 429 if status is None else status
        elif kind is FaultKind.SERVER_ERROR:
            status = 503 if status is None else status
            if not 500 <= status <= 599:
                raise ValueError(f"A server_error fault needs a 5xx status, not {status}.")
        else:
            status = 0
        if retry_after < 0 or delay < 0:
            raise ValueError("retry_after and delay cannot be negative.")
        fault = Fault(
            id=next(self._ids),
            kind=kind,
            prefix=prefix,
            remaining=count,
            method=method.upper() if method else None,
            status=status,
            retry_after=retry_after,
            delay=delay if kind is FaultKind.SLOW else 0.0,
        )
        with self._lock:
            self._faults.append(fault)
        return fault

    def rate_limit(self, prefix: str = "/", count: int = 1, retry_after: float = 1.0) -> Fault:
        return self.add(FaultKind.RATE_LIMIT, prefix=prefix, count=count, retry_after=retry_after)

    def server_error(self, prefix: str = "/", count: int = 1, status: int = 503) -> Fault:
        return self.add(FaultKind.SERVER_ERROR, prefix=prefix, count=count, status=status)

    def slow(self, prefix: str = "/", count: int = 1, delay: float = 1.0) -> Fault:
        return self.add(FaultKind.SLOW, prefix=prefix, count=count, delay=delay)

    def malformed(self, prefix: str = "/", count: int = 1) -> Fault:
        return self.add(FaultKind.MALFORMED, prefix=prefix, count=count)

    def take(self, method: str, path: str) -> Fault | None:
        """The fault this request triggers (its count is used up), or ``None``."""
        with self._lock:
            for fault in self._faults:
                if fault.matches(method, path):
                    fault.remaining -= 1
                    if fault.remaining <= 0:
                        self._faults.remove(fault)
                    return Fault(**{**fault.__dict__})
        return None

    def pending(self) -> list[Fault]:
        with self._lock:
            return [Fault(**{**f.__dict__}) for f in self._faults]

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()


def add_from_json(faults: Faults, body: object) -> Fault:
    """Arm a fault from a control request's JSON body; ``ValueError`` when it is unusable."""
    if not isinstance(body, dict):
        raise ValueError('Send a JSON object such as {"kind": "rate_limit", "prefix": "/v1"}.')
    allowed = {"kind", "prefix", "count", "method", "status", "retry_after", "delay"}
    unknown = sorted(set(body) - allowed)
    if unknown:
        raise ValueError(f"Unknown fault field(s): {', '.join(unknown)}.")
    if "kind" not in body:
        raise ValueError('A fault needs a "kind".')
    options: dict[str, Any] = {k: v for k, v in body.items() if k != "kind"}
    for name in ("retry_after", "delay"):
        if name in options and not isinstance(options[name], int | float):
            raise ValueError(f'"{name}" is a number of seconds.')
    if "status" in options and not isinstance(options["status"], int):
        raise ValueError('"status" is an HTTP status code.')
    if "prefix" in options and not isinstance(options["prefix"], str):
        raise ValueError('"prefix" is a path such as "/v2/integrations".')
    return faults.add(body["kind"], **options)


class FaultMiddleware:
    """ASGI middleware answering requests with an armed fault instead of the application."""

    def __init__(self, app: ASGIApp, faults: Faults, error_body: ErrorBody) -> None:
        self.app = app
        self.faults = faults
        self.error_body = error_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope.get("path", "")
        if scope["type"] != "http" or path.startswith(CONTROL_PREFIX):
            await self.app(scope, receive, send)
            return
        fault = self.faults.take(scope["method"], path)
        if fault is None:
            await self.app(scope, receive, send)
            return
        if fault.kind is FaultKind.SLOW:
            await asyncio.sleep(fault.delay)
            await self.app(scope, receive, send)
            return
        headers: list[tuple[bytes, bytes]] = [(b"content-type", b"application/json")]
        if fault.kind is FaultKind.MALFORMED:
            status, body = 200, MALFORMED_BODY
        elif fault.kind is FaultKind.RATE_LIMIT:
            status, body = fault.status, self.error_body(fault.status, "Too Many Requests")
            headers.append((b"retry-after", _seconds(fault.retry_after).encode()))
        else:
            status, body = fault.status, self.error_body(fault.status, "Service Unavailable")
        await _drain(receive)
        headers.append((b"content-length", str(len(body)).encode()))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def _seconds(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


async def _drain(receive: Receive) -> None:
    """Read the request body so the connection can be reused cleanly."""
    while True:
        message = await receive()
        if message["type"] != "http.request" or not message.get("more_body", False):
            return
