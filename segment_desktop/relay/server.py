"""Running a relay: in a thread (the desktop app's sandbox mode, tests) or in the foreground.

``RelayServer.start(config, write_key, webhook_secret, data_dir)`` returns once the relay
accepts webhooks at ``.url`` (``.webhook_url`` is what Commerce should call); ``.stop()`` stops
accepting, lets requests in flight finish, flushes the outbox for a bounded time and keeps the
rest for the next start.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from segment_desktop.core.errors import NetworkError
from segment_desktop.relay.app import MAX_IN_FLIGHT, WEBHOOK_PATH, WebhookApp, WebhookLimits
from segment_desktop.relay.rendering import TemplateConfig
from segment_desktop.relay.runtime import Relay, SegmentTarget
from segment_desktop.relay.sender import BACKOFF_FIRST
from segment_desktop.relay.settings import DEFAULT_FLUSH_SECONDS, parse_listen

if TYPE_CHECKING:
    import uvicorn

    from segment_desktop.core.config import Config

log = logging.getLogger(__name__)

#: Seconds uvicorn waits for requests in flight when asked to stop.
GRACEFUL_SECONDS = 5


def bind(host: str, port: int) -> socket.socket:
    """A listening socket, bound now so that the port is known and a clash is reported here."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # Accepted connections inherit it: no Nagle / delayed-ACK stalls on keep-alive answers.
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        sock.bind((host, port))
    except OSError as err:
        sock.close()
        raise NetworkError(
            f"The relay cannot listen on {host}:{port} ({err.strerror}). Stop whatever uses "
            "that port or choose another with --listen HOST:PORT.",
            service="relay",
        ) from None
    sock.listen(1024)
    sock.set_inheritable(True)
    return sock


def uvicorn_server(app: WebhookApp) -> uvicorn.Server:
    """uvicorn for ``app``: heads bounded (:mod:`segment_desktop.relay.http_guard`), and its
    log records left to propagate to the root logger, where the redaction filter and the log
    file are (uvicorn's own logging configuration would print them past both)."""
    import uvicorn

    from segment_desktop.relay.http_guard import guarded_protocol

    limits = app.limits
    config = uvicorn.Config(
        app,
        http=guarded_protocol(limits.max_head_bytes, limits.head_seconds, app),
        log_config=None,
        log_level="warning",
        access_log=False,
        lifespan="off",
        ws="none",
        timeout_graceful_shutdown=GRACEFUL_SECONDS,
        server_header=False,
        proxy_headers=False,  # no proxy in front is trusted with X-Forwarded-For
    )
    for name in ("uvicorn", "uvicorn.error"):
        # Another uvicorn in this process (the sandbox's) may have installed uvicorn's own
        # handlers, which do not propagate: the relay's lines belong in the redacted log.
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
    # No access log: with no handler to reach, uvicorn does not even prepare a line per request.
    access = logging.getLogger("uvicorn.access")
    access.handlers.clear()
    access.propagate = False
    return uvicorn.Server(config)


def url_of(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    if host in ("0.0.0.0", "::"):
        host = "127.0.0.1"
    return f"http://{f'[{host}]' if ':' in host else host}:{port}"


class RelayServer:
    """A relay on its own thread and event loop."""

    def __init__(
        self, relay: Relay, app: WebhookApp, sock: socket.socket, flush_seconds: float
    ) -> None:
        self.relay = relay
        self.app = app
        self._socket = sock
        self._flush_seconds = flush_seconds
        self.url = url_of(sock)
        self.webhook_url = self.url + WEBHOOK_PATH
        self._server = uvicorn_server(app)
        self._thread = threading.Thread(target=self._run, name="relay-server", daemon=True)
        self._error: BaseException | None = None
        self._stopped = False

    @classmethod
    def start(
        cls,
        config: Config,
        write_key: str,
        webhook_secret: str,
        data_dir: Path,
        listen: str = "127.0.0.1:0",
        *,
        flush_seconds: float = DEFAULT_FLUSH_SECONDS,
        client: Any = None,
        backoff_first: float = BACKOFF_FIRST,
        max_in_flight: int = MAX_IN_FLIGHT,
        render_processes: int = 0,
        limits: WebhookLimits | None = None,
    ) -> RelayServer:
        """Start a relay for ``config``; returns once it accepts connections.

        ``client`` replaces the Segment client built from ``config.segment`` (it needs
        ``send_encoded_batch(calls_json)``); ``backoff_first`` is the first pause after Segment
        failed (doubling up to 5 minutes). ``render_processes``: 0 (the default here) renders on
        threads of this process, as the desktop app wants; more spawns that many processes.
        ``limits`` replaces the webhook limits (``max_in_flight`` is a shortcut for one).
        Raises ``NetworkError`` when the address is taken, ``ConfigError`` when the data
        folder cannot be used.
        """
        if not webhook_secret:
            raise ValueError("The relay needs a non-empty webhook secret.")
        host, port = parse_listen(listen)
        sock = bind(host, port)
        try:
            relay = Relay(
                templates=TemplateConfig.from_config(config),
                segment=SegmentTarget(config.segment.host, config.segment.path, write_key),
                client=client,
                data_dir=Path(data_dir),
                backoff_first=backoff_first,
                render_processes=render_processes,
            )
        except BaseException:
            sock.close()
            raise
        app = WebhookApp(
            relay, webhook_secret, limits or WebhookLimits(max_in_flight=max_in_flight)
        )
        server = cls(relay, app, sock, flush_seconds)
        server._start()
        return server

    def _run(self) -> None:
        try:
            self._server.run(sockets=[self._socket])
        except BaseException as err:  # reported by _start
            self._error = err

    def _start(self, timeout: float = 10.0) -> None:
        self.relay.start()
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                reason = f": {self._error}" if self._error else ""
                raise NetworkError(f"The relay did not start on {self.url}{reason}.")
            time.sleep(0.005)
        log.info("Relay listening on %s", self.webhook_url)

    def update_templates(self, config: Config) -> None:
        """Render with ``config``'s templates and tracked events from now on."""
        self.relay.renderer.update(TemplateConfig.from_config(config))

    def stop(self) -> None:
        """Stop accepting, finish requests in flight, flush, keep the rest. Safe twice."""
        if self._stopped:
            return
        self._stopped = True
        self._server.should_exit = True
        if self._thread.is_alive():
            self._thread.join(GRACEFUL_SECONDS + 5)
        if self._thread.is_alive():
            self._server.force_exit = True
            self._thread.join(5)
        with contextlib.suppress(OSError):
            self._socket.close()
        self.relay.stop(self._flush_seconds)

    def __enter__(self) -> RelayServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
