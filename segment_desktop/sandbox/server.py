"""Run an ASGI application with uvicorn in a daemon thread, on 127.0.0.1."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import time
from typing import Any

import uvicorn

from segment_desktop.core.errors import NetworkError

HOST = "127.0.0.1"


class _QuickServer(uvicorn.Server):
    """uvicorn checks ``should_exit`` every 0.1 s; a sandbox per test wants a faster stop."""

    async def main_loop(self) -> None:
        counter = 0
        should_exit = await self.on_tick(counter)
        while not should_exit:
            counter = (counter + 1) % 864_000
            await asyncio.sleep(0.02)
            should_exit = await self.on_tick(counter)


class ServerThread:
    """One uvicorn server on its own thread and event loop.

    The listening socket is bound here, before the thread starts, so the port is known at once
    and a port already in use fails in the caller with a clear message.
    """

    def __init__(self, app: Any, *, port: int = 0, name: str = "sandbox") -> None:
        self.name = name
        self._socket = _bind(port, name)
        self.port: int = self._socket.getsockname()[1]
        config = uvicorn.Config(
            app,
            log_level="warning",
            access_log=False,
            lifespan="off",
            http="h11",
            ws="none",
            timeout_graceful_shutdown=2,
        )
        self._server = _QuickServer(config)
        self._thread = threading.Thread(target=self._run, name=f"{name}-server", daemon=True)
        self._error: BaseException | None = None

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def _run(self) -> None:
        try:
            self._server.run(sockets=[self._socket])
        except BaseException as err:  # pragma: no cover - reported by start()
            self._error = err

    def start(self, timeout: float = 10.0) -> None:
        """Start serving; returns once the server accepts connections."""
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.request_stop()
                self._socket.close()
                reason = f": {self._error}" if self._error else ""
                raise NetworkError(
                    f"The {self.name} emulator did not start on {self.url}{reason}.",
                    service=self.name,
                )
            time.sleep(0.005)

    def request_stop(self) -> None:
        self._server.should_exit = True

    def join(self, timeout: float = 5.0) -> None:
        if self._thread.is_alive():
            self._thread.join(timeout)
        if self._thread.is_alive():  # a connection that will not close: give up on it
            self._server.force_exit = True
            self._thread.join(timeout)
        with contextlib.suppress(OSError):
            self._socket.close()

    def stop(self, timeout: float = 5.0) -> None:
        self.request_stop()
        self.join(timeout)


def _bind(port: int, name: str) -> socket.socket:
    # IPPROTO_TCP explicitly: asyncio only sets TCP_NODELAY on sockets whose proto says TCP,
    # and without it every keep-alive request waits ~40 ms for a delayed ACK.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((HOST, port))
    except OSError as err:
        sock.close()
        raise NetworkError(
            f"The {name} emulator cannot listen on {HOST}:{port} ({err.strerror}). "
            "Choose another port, or 0 for any free one.",
            service=name,
        ) from None
    sock.listen(128)
    sock.set_inheritable(True)
    return sock
