"""The relay and the emulators this process runs: sandbox mode, and local testing.

Their threads keep the GUI thread's scheduling priority. A lower one looks kinder to the GUI,
but a thread that holds the GIL and is taken off a busy CPU makes the GUI thread wait for it
longer: a garbage collection on such a thread stalls every repaint (bench/README.md).
"""

from __future__ import annotations

import socket
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from segment_desktop.core.config import Config

if TYPE_CHECKING:
    from segment_desktop.relay.records import OutboxStats, ParkedItem
    from segment_desktop.relay.server import RelayServer
    from segment_desktop.sandbox.runner import Sandbox


@dataclass(frozen=True)
class RelayStatus:
    """The local relay's outbox: counts, and what waits for the user (parked items)."""

    running: bool
    stats: OutboxStats
    parked: list[ParkedItem]
    url: str


def free_port() -> int:
    """A port on 127.0.0.1 that nothing listens on now (the relay binds it later)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def webhook_url(port: int) -> str:
    from segment_desktop.relay.app import WEBHOOK_PATH

    return f"http://127.0.0.1:{port}{WEBHOOK_PATH}"


def start(config: Config, write_key: str, secret: str, data_dir: Path) -> RelayServer:
    """Start a relay on the address of ``config.relay_url`` (this computer)."""
    from segment_desktop.relay.server import RelayServer

    parts = urlsplit(config.relay_url)
    listen = f"{parts.hostname or '127.0.0.1'}:{parts.port or 0}"
    return RelayServer.start(config, write_key, secret, data_dir, listen, flush_seconds=1.0)


def start_sandbox() -> Sandbox:
    """Start the Commerce and Segment emulators (imported only when the sandbox is wanted)."""
    from segment_desktop.sandbox.runner import Sandbox

    return Sandbox.start()


def status(relay: RelayServer | None, data_dir: Path) -> RelayStatus | None:
    """Outbox counts and parked items of the relay on this computer, or ``None`` when no relay
    ever ran with ``data_dir``. The outbox is read through ``relay.status``, its one reader."""
    from segment_desktop.relay.status import read_status

    outbox = read_status(data_dir)
    if relay is None and not outbox.exists:
        return None
    return RelayStatus(
        running=relay is not None,
        stats=outbox.stats,
        parked=outbox.parked,
        url=relay.url if relay is not None else "",
    )
