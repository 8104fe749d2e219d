"""The relay's HTTP protocol on a real event loop: what it writes to a connection, write by write.

The transport records each write (the socket's side of asyncio's transport); the protocol,
uvicorn under it and the ASGI app are the real ones.
"""

from __future__ import annotations

import asyncio
import gc
import json
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Awaitable, Callable, Iterator, MutableMapping
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from segment_desktop.core.config import Config
from segment_desktop.relay.app import BODY_RECEIVED, WebhookApp, WebhookLimits
from segment_desktop.relay.http_guard import guarded_protocol
from segment_desktop.relay.intake import Accepted
from segment_desktop.relay.metrics import Metrics
from segment_desktop.relay.server import RelayServer
from segment_desktop.sandbox.runner import Sandbox
from tests.relay.helpers import RUNAWAY, WEBHOOK_SECRET, WRITE_KEY, sample_body, wait_for

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


def _connection(app: Any = _echo, **options: Any) -> tuple[Any, RecordingTransport]:
    config = uvicorn.Config(app, log_config=None, lifespan="off", **options)
    config.load()
    webhooks = app if isinstance(app, WebhookApp) else None
    protocol = guarded_protocol(webhooks=webhooks)(
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


# -- deliveries on a real relay, past ASGI and through it --------------------------------------


@pytest.fixture
def relay(sandbox: Sandbox, tmp_path: Path) -> Iterator[RelayServer]:
    config = Config.default()
    config.segment.host = sandbox.segment_url
    server = RelayServer.start(config, WRITE_KEY, WEBHOOK_SECRET, tmp_path / "data")
    yield server
    server.stop()


def _delivery(event_id: str, *extra: bytes, secret: str = WEBHOOK_SECRET) -> bytes:
    body = sample_body("customer.created", event_id)
    return _post(b"/webhooks/commerce", body, b"X-MOLTIN-SECRET-KEY: " + secret.encode(), *extra)


def _exchange(relay: RelayServer, data: bytes, answers: int, pause: float = 0.0) -> list[bytes]:
    """Sends ``data`` on one connection (in two parts ``pause`` apart when given) and reads
    ``answers`` final answers (an interim ``100 Continue`` is left out)."""
    host, port = relay.url.split("//")[1].split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        if pause:
            sock.sendall(data[: len(data) - 40])
            time.sleep(pause)
            sock.sendall(data[len(data) - 40 :])
        else:
            sock.sendall(data)
        received = b""
        found: list[bytes] = []
        while len(found) < answers:
            chunk = sock.recv(65536)
            assert chunk, f"the relay closed the connection after {found}"
            received += chunk
            while b"\r\n\r\n" in received:
                head, _, rest = received.partition(b"\r\n\r\n")
                sized = head.lower().split(b"content-length: ")
                length = int(sized[1].split(b"\r\n")[0]) if len(sized) > 1 else 0
                if len(rest) < length:
                    break
                if not head.startswith(b"HTTP/1.1 1"):
                    found.append(head + b"\r\n\r\n" + rest[:length])
                received = rest[length:]
    return found


def _status_and_json(answer: bytes) -> tuple[int, dict[str, Any]]:
    head, _, body = answer.partition(b"\r\n\r\n")
    return int(head.split(b" ")[1]), json.loads(body)


def test_pipelined_deliveries_are_answered_in_order(relay: RelayServer) -> None:
    data = _delivery("evt-p1") + _delivery("evt-p2", secret="wrong") + _delivery("evt-p3")
    answers = [_status_and_json(a) for a in _exchange(relay, data, 3)]
    assert [status for status, _ in answers] == [200, 401, 200]
    assert answers[0][1]["event_id"] == "evt-p1" and answers[2][1]["event_id"] == "evt-p3"


def test_a_body_that_comes_after_its_head_is_waited_for(relay: RelayServer) -> None:
    (answer,) = _exchange(relay, _delivery("evt-split"), 1, pause=0.3)
    assert _status_and_json(answer) == (
        200,
        {"status": "queued", "event_id": "evt-split", "calls": 2},
    )
    assert relay.app.receiving == 0


@pytest.mark.parametrize(
    "extra",
    [b"X-Plain: 1", b"Expect: 100-continue", b"Connection: close"],
    ids=["plain", "expect-100-continue", "connection-close"],
)
def test_every_way_in_gets_the_same_answers(relay: RelayServer, extra: bytes) -> None:
    """Plain deliveries are answered by the protocol, the others through ASGI: the same rules."""
    secret = b"X-MOLTIN-SECRET-KEY: " + WEBHOOK_SECRET.encode()
    event_id = "evt-way-" + extra.split(b":")[0].decode()
    cases = [
        (_delivery(event_id, extra), 200, {"status": "queued", "event_id": event_id, "calls": 2}),
        (
            _delivery(event_id, extra),
            200,
            {"status": "duplicate", "event_id": event_id, "calls": 0},
        ),
        (_delivery("evt-x", extra, secret="nope"), 401, None),
        (_post(b"/webhooks/commerce", b"[1]", secret, extra), 400, None),
    ]
    for data, status, wanted in cases:
        (answer,) = _exchange(relay, data, 1)
        got_status, got = _status_and_json(answer)
        assert got_status == status, answer
        if wanted is not None:
            assert got == wanted
        else:
            assert set(got) == {"error"}
        head = answer.partition(b"\r\n\r\n")[0].lower()
        assert head.count(b"content-type: application/json") == 1
        assert b"\r\ndate: " in head
        assert (b"connection: close" in head) == (extra == b"Connection: close")


def test_a_head_trickling_in_after_an_answer_on_the_same_connection_is_408(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    config = Config.default()
    config.segment.host = sandbox.segment_url
    limits = WebhookLimits(head_seconds=0.5)
    with RelayServer.start(
        config, WRITE_KEY, WEBHOOK_SECRET, tmp_path / "d", limits=limits
    ) as relay:
        host, port = relay.url.split("//")[1].split(":")
        with socket.create_connection((host, int(port)), timeout=10) as sock:
            sock.sendall(_delivery("evt-first"))
            time.sleep(0.8)  # longer than a head may take: the quiet time is not the head's
            assert sock.recv(65536).startswith(b"HTTP/1.1 200 ")
            sock.sendall(b"POST /webhooks/commerce HTTP/1.1\r\nHost: relay\r\n")
            started = time.monotonic()
            answer = sock.recv(65536)
            assert answer.startswith(b"HTTP/1.1 408 "), answer
            assert 0.4 < time.monotonic() - started < 3


def test_a_delivery_in_flight_when_the_relay_stops_gets_its_answer_and_the_connection_closes(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    config = Config.default()
    config.segment.host = sandbox.segment_url
    # Rendering this runs to the relay's time limit: the delivery stays in flight meanwhile.
    config.template_overrides = {"order_completed": RUNAWAY}
    relay = RelayServer.start(config, WRITE_KEY, WEBHOOK_SECRET, tmp_path / "data")
    host, port = relay.url.split("//")[1].split(":")
    try:
        with socket.create_connection((host, int(port)), timeout=20) as sock:
            body = sample_body("order.paid", "evt-at-stop")
            sock.sendall(
                _post(
                    b"/webhooks/commerce", body, b"X-MOLTIN-SECRET-KEY: " + WEBHOOK_SECRET.encode()
                )
            )
            wait_for(lambda: relay.app.in_flight == 1, what="the delivery in flight")
            stopping = threading.Thread(target=relay.stop)
            stopping.start()
            answer = b""
            while chunk := sock.recv(65536):  # until the relay closes the connection
                answer += chunk
            stopping.join(30)
    finally:
        relay.stop()
    head, _, data = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 ") and b"\r\nconnection: close" in head.lower()
    assert json.loads(data)["status"] == "template_error"  # stored: kept for `relay replay`


def test_no_access_log_line_is_prepared_for_each_request() -> None:
    """uvicorn formats an access line whenever its logger reaches a handler (root's, in the
    relay). Checked in a fresh process: pytest hangs its own handlers on quiet loggers."""
    check = (
        "import logging\n"
        "from segment_desktop.relay.app import WebhookApp\n"
        "from segment_desktop.relay.server import uvicorn_server\n"
        "logging.getLogger().addHandler(logging.StreamHandler())\n"
        "class Relay: metrics = None\n"
        "uvicorn_server(WebhookApp(Relay(), 'secret'))\n"
        "print(logging.getLogger('uvicorn.access').hasHandlers(),"
        " logging.getLogger('uvicorn.error').hasHandlers())\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", check], capture_output=True, text=True, check=True
    ).stdout
    assert out.split() == ["False", "True"]  # no access lines; warnings still reach the log


class _AcceptingRelay:
    """A relay that accepts every body at once (what the protocol does around it is tested)."""

    metrics = Metrics()

    async def accept(self, body: bytes) -> Accepted:
        return Accepted("queued", "evt-1", 1)


def test_an_answered_delivery_leaves_nothing_for_the_garbage_collector() -> None:
    secret = b"X-MOLTIN-SECRET-KEY: " + WEBHOOK_SECRET.encode()

    async def run() -> tuple[int, int]:
        protocol, transport = _connection(WebhookApp(_AcceptingRelay(), WEBHOOK_SECRET))
        gc.collect()
        gc.disable()
        try:
            for n in range(20):
                wrong = b"X-MOLTIN-SECRET-KEY: no" if n % 4 == 0 else secret  # refused at the head
                protocol.data_received(_post(b"/webhooks/commerce", b"{}", wrong))
                await _settle()
            return len(transport.writes), gc.collect()
        finally:
            gc.enable()

    answers, garbage = asyncio.run(run())
    assert answers == 20
    assert garbage == 0


def test_a_client_that_does_not_read_its_answers_gets_no_more_until_it_does() -> None:
    secret = b"X-MOLTIN-SECRET-KEY: " + WEBHOOK_SECRET.encode()

    async def run() -> tuple[int, int]:
        protocol, transport = _connection(WebhookApp(_AcceptingRelay(), WEBHOOK_SECRET))
        protocol.pause_writing()  # the transport's buffer is full: the client is not reading
        protocol.data_received(_post(b"/webhooks/commerce", b"{}", secret))
        await _settle()
        held = len(transport.writes)
        protocol.resume_writing()
        await _settle()
        return held, len(transport.writes)

    held, written = asyncio.run(run())
    assert (held, written) == (0, 1)


class _SlowRelay(_AcceptingRelay):
    async def accept(self, body: bytes) -> Accepted:
        await asyncio.sleep(0.5)
        return Accepted("queued", "evt-slow", 1)


def test_a_delivery_behind_one_refused_on_its_head_does_not_run_under_the_idle_timeout() -> None:
    secret = b"X-MOLTIN-SECRET-KEY: " + WEBHOOK_SECRET.encode()

    async def run() -> RecordingTransport:
        app = WebhookApp(_SlowRelay(), WEBHOOK_SECRET)
        protocol, transport = _connection(app, timeout_keep_alive=0.1)
        refused = _post(b"/webhooks/commerce", b"{}", b"X-MOLTIN-SECRET-KEY: no")
        protocol.data_received(refused + _post(b"/webhooks/commerce", b"{}", secret))
        await asyncio.sleep(0.8)  # the second takes longer than the idle timeout
        return transport

    transport = asyncio.run(run())
    assert [w.split(b" ")[1] for w in transport.writes] == [b"401", b"200"]  # not cut off
