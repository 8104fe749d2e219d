"""The relay's HTTP protocol on a real event loop: what it writes to a connection, write by write.

The transport records each write (the socket's side of asyncio's transport); the protocol,
uvicorn under it and the ASGI app are the real ones.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import uvicorn

from segment_desktop.relay.app import BODY_RECEIVED
from segment_desktop.relay.http_guard import guarded_protocol

Message = MutableMapping[str, Any]
Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


class RecordingTransport(asyncio.Transport):
    """Keeps every write apart, as separate ``send`` calls on a socket would be."""

    def __init__(self) -> None:
        super().__init__()
        self.writes: list[bytes] = []
        self.closed = False

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.writes.append(bytes(data))

    def close(self) -> None:
        self.closed = True

    def is_closing(self) -> bool:
        return self.closed

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"peername": ("127.0.0.1", 50000), "sockname": ("127.0.0.1", 8000)}.get(
            name, default
        )


async def _echo(scope: Scope, receive: Receive, send: Send) -> None:
    """Answers 200 with the request's body, or fails after its head for ``/fail``."""
    body = b""
    more = True
    while more:
        message = await receive()
        body += message.get("body", b"")
        more = message.get("more_body", False)
    headers = [(b"content-type", b"text/plain"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    if scope["path"] == "/fail":
        raise RuntimeError("the app fails after the head")
    await send({"type": "http.response.body", "body": body})


def _connection(app: Any = _echo) -> tuple[Any, RecordingTransport]:
    config = uvicorn.Config(app, log_config=None, lifespan="off")
    config.load()
    protocol = guarded_protocol()(
        config=config, server_state=uvicorn.server.ServerState(), app_state={}
    )
    transport = RecordingTransport()
    protocol.connection_made(transport)
    return protocol, transport


async def _settle() -> None:
    for _ in range(20):
        await asyncio.sleep(0)


def _post(path: bytes, body: bytes, *extra: bytes) -> bytes:
    head = [b"POST " + path + b" HTTP/1.1", b"Host: relay", b"Content-Length: %d" % len(body)]
    return b"\r\n".join([*head, *extra, b"", b""]) + body


def test_an_answer_leaves_in_one_write_head_and_body_together() -> None:
    async def run() -> list[bytes]:
        protocol, transport = _connection()
        protocol.data_received(_post(b"/webhooks/commerce", b'{"id":"1"}'))
        await _settle()
        protocol.data_received(_post(b"/webhooks/commerce", b'{"id":"2"}'))
        await _settle()
        protocol.connection_lost(None)
        return transport.writes

    writes = asyncio.run(run())
    assert len(writes) == 2  # one per answer
    for write, sent in zip(writes, (b'{"id":"1"}', b'{"id":"2"}'), strict=True):
        assert write.startswith(b"HTTP/1.1 200 OK\r\n")
        assert write.endswith(b"\r\n\r\n" + sent)


def test_100_continue_goes_at_once_and_the_answer_follows_in_one_write() -> None:
    async def run() -> list[bytes]:
        protocol, transport = _connection()
        request = _post(b"/webhooks/commerce", b"hello", b"Expect: 100-continue")
        head, _, body = request.partition(b"\r\n\r\n")
        protocol.data_received(head + b"\r\n\r\n")
        await _settle()
        assert transport.writes == [b"HTTP/1.1 100 Continue\r\n\r\n"]  # before any body
        protocol.data_received(body)
        await _settle()
        return transport.writes

    writes = asyncio.run(run())
    assert len(writes) == 2
    assert writes[1].startswith(b"HTTP/1.1 200 OK\r\n") and writes[1].endswith(b"\r\n\r\nhello")


def test_a_head_held_for_an_app_that_then_fails_is_written_before_the_connection_closes() -> None:
    async def run() -> RecordingTransport:
        protocol, transport = _connection()
        protocol.data_received(_post(b"/fail", b"x"))
        await _settle()
        return transport

    transport = asyncio.run(run())
    assert transport.closed
    assert len(transport.writes) == 1 and transport.writes[0].startswith(b"HTTP/1.1 200 OK\r\n")


def test_a_request_with_connection_close_is_answered_whole_then_closed() -> None:
    async def run() -> RecordingTransport:
        protocol, transport = _connection()
        protocol.data_received(_post(b"/webhooks/commerce", b"bye", b"Connection: close"))
        await _settle()
        return transport

    transport = asyncio.run(run())
    assert transport.closed
    assert len(transport.writes) == 1
    assert b"connection: close\r\n" in transport.writes[0]
    assert transport.writes[0].endswith(b"\r\n\r\nbye")


def test_the_scope_says_whether_the_body_had_arrived_when_the_app_started() -> None:
    seen: list[object] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append(scope.get(BODY_RECEIVED))
        await _echo(scope, receive, send)

    async def run() -> list[bytes]:
        protocol, transport = _connection(app)
        protocol.data_received(_post(b"/webhooks/commerce", b"whole"))  # head and body at once
        await _settle()
        head, _, body = _post(b"/webhooks/commerce", b"later").partition(b"\r\n\r\n")
        protocol.data_received(head + b"\r\n\r\n")
        await _settle()
        protocol.data_received(body)
        await _settle()
        return transport.writes

    writes = asyncio.run(run())
    assert seen == [True, None]  # the second body came after the app had started waiting
    assert [w.rpartition(b"\r\n\r\n")[2] for w in writes] == [b"whole", b"later"]
