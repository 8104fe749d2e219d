"""``Sandbox``: both emulators started together on 127.0.0.1, stopped together."""

from __future__ import annotations

from collections.abc import Sequence
from types import TracebackType

from segment_desktop.sandbox.commerce_app import build_commerce_app
from segment_desktop.sandbox.commerce_emulator import CommerceEmulator
from segment_desktop.sandbox.demo import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, DEMO_WRITE_KEY
from segment_desktop.sandbox.segment_emulator import SegmentEmulator, build_segment_app
from segment_desktop.sandbox.server import ServerThread

#: Between webhook attempts in the app's sandbox mode; tests pass small ones.
DEFAULT_RETRY_DELAYS = (1.0, 5.0, 15.0)


class Sandbox:
    """Running emulators of Commerce and Segment. Use ``Sandbox.start()``, not the constructor."""

    client_id = DEMO_CLIENT_ID
    client_secret = DEMO_CLIENT_SECRET
    write_key = DEMO_WRITE_KEY

    def __init__(
        self,
        commerce: CommerceEmulator,
        segment: SegmentEmulator,
        commerce_server: ServerThread,
        segment_server: ServerThread,
    ) -> None:
        self.commerce = commerce
        self.segment = segment
        self._servers = (commerce_server, segment_server)
        self.commerce_url = commerce_server.url
        self.segment_url = segment_server.url
        self._stopped = False

    @classmethod
    def start(
        cls,
        *,
        commerce_port: int = 0,
        segment_port: int = 0,
        token_ttl: int = 3600,
        webhook_timeout: float = 10.0,
        retry_delays: Sequence[float] = DEFAULT_RETRY_DELAYS,
    ) -> Sandbox:
        """Start both servers (port 0: any free port) and return once both accept requests.

        Raises ``NetworkError`` when a port is taken, ``ValueError`` for unusable options.
        """
        commerce = CommerceEmulator(
            token_ttl=token_ttl, webhook_timeout=webhook_timeout, retry_delays=retry_delays
        )
        segment = SegmentEmulator()
        started: list[ServerThread] = []
        try:
            commerce_server = ServerThread(
                build_commerce_app(commerce), port=commerce_port, name="Commerce"
            )
            started.append(commerce_server)
            commerce.base_url = commerce_server.url
            segment_server = ServerThread(
                build_segment_app(segment), port=segment_port, name="Segment"
            )
            started.append(segment_server)
            for server in started:
                server.start()
        except BaseException:
            _stop_all(started)
            commerce.close()
            raise
        return cls(commerce, segment, commerce_server, segment_server)

    def stop(self) -> None:
        """Stop delivering webhooks and shut both servers down. Safe to call twice."""
        if self._stopped:
            return
        self._stopped = True
        self.commerce.close()
        _stop_all(list(self._servers))

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = "stopped" if self._stopped else "running"
        return f"<Sandbox {state} commerce={self.commerce_url} segment={self.segment_url}>"


def _stop_all(servers: list[ServerThread]) -> None:
    for server in servers:  # ask all first, so they wind down in parallel
        server.request_stop()
    for server in servers:
        server.join()
