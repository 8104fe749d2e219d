"""Helpers for the sandbox tests: an authenticated Commerce client and a webhook receiver."""

from __future__ import annotations

import json
import ssl
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from segment_desktop.sandbox.runner import Sandbox

#: Shared by the tests' clients: building a TLS context costs ~40 ms, and every client builds one
#: unless given one. (The sandbox is plain HTTP; the context is never used, only built.)
TLS = ssl.create_default_context()


def client(base_url: str = "") -> httpx.Client:
    return httpx.Client(base_url=base_url, trust_env=False, timeout=10, verify=TLS)


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    """A plain client for the test."""
    with client() as plain:
        yield plain


def get_token(sandbox: Sandbox, client: httpx.Client) -> str:
    response = client.post(
        f"{sandbox.commerce_url}/oauth/access_token",
        data={
            "grant_type": "client_credentials",
            "client_id": sandbox.client_id,
            "client_secret": sandbox.client_secret,
        },
    )
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


@pytest.fixture
def commerce(sandbox: Sandbox) -> Iterator[httpx.Client]:
    """An httpx client on the Commerce emulator, already holding a valid token."""
    with client(sandbox.commerce_url) as api:
        api.headers["Authorization"] = f"Bearer {get_token(sandbox, api)}"
        yield api


def webhook(url: str, observes: list[str], **extra: Any) -> dict[str, Any]:
    """A create-integration body for a webhook."""
    data: dict[str, Any] = {
        "type": "integration",
        "integration_type": "webhook",
        "name": "Segment Desktop: orders",
        "description": "Sends order events to Segment",
        "observes": observes,
        "configuration": {"url": url, "secret_key": "whsec-test-0123456789"},
    }
    data.update(extra)
    return {"data": data}


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Receiver:
    """A webhook receiver on 127.0.0.1 answering from a script of (status, delay) pairs."""

    url: str
    script: list[tuple[int, float]] = field(default_factory=list)
    received: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def next_answer(self) -> tuple[int, float]:
        with self.lock:
            return self.script.pop(0) if self.script else (200, 0.0)

    def wait_for(self, count: int, timeout: float = 5.0) -> list[Received]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.received) >= count:
                    return list(self.received)
            time.sleep(0.01)
        raise AssertionError(f"expected {count} deliveries, got {len(self.received)}")


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state: dict[str, Receiver] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length)
            me = state["receiver"]
            with me.lock:
                me.received.append(Received(self.path, dict(self.headers.items()), body))
            status, delay = me.next_answer()
            if delay:
                time.sleep(delay)
            answer = json.dumps({"received": status < 300}).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the sender gave up waiting: that is what a slow test wants

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    port = server.server_address[1]
    state["receiver"] = Receiver(url=f"http://127.0.0.1:{port}/hooks/commerce")
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield state["receiver"]
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
