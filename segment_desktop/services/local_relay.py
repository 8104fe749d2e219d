"""The relay and the emulators this process runs: sandbox mode, and local testing.

They share the process with the GUI, so their threads run at a lower scheduling priority than
the GUI thread (:func:`in_background`): when the CPUs are busy, the GUI thread is scheduled
first and a repaint does not wait behind webhooks being rendered. The headless relay
(``segment-desktop relay``) does not come through here and keeps its priority.
"""

from __future__ import annotations

import os
import socket
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar
from urllib.parse import urlsplit

from segment_desktop.core.config import Config

if TYPE_CHECKING:
    from segment_desktop.relay.records import OutboxStats, ParkedItem
    from segment_desktop.relay.server import RelayServer
    from segment_desktop.sandbox.runner import Sandbox

T = TypeVar("T")

#: How much nicer (lower in priority) than the GUI thread the relay's and the emulators'
#: threads run. Enough for the GUI thread to win a busy CPU; their throughput on an idle
#: machine is unchanged, since a nice value only matters while threads compete.
BACKGROUND_NICE = 5


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


def in_background(start: Callable[[], T]) -> T:
    """``start()``, run on a short-lived thread whose priority is first lowered by
    :data:`BACKGROUND_NICE`; returns what it returns and raises what it raises.

    On Linux a nice value belongs to a thread, and a new thread inherits its creator's: the
    servers, senders and pools ``start`` makes, and the threads those make later, all run at
    the lower priority, while the calling thread keeps its own (an unprivileged thread cannot
    raise its priority back, hence the thread of its own). Elsewhere ``start`` runs as is.
    """
    if sys.platform != "linux":
        return start()
    outcome: list[T] = []
    failure: list[BaseException] = []

    def run() -> None:
        try:
            me = threading.get_native_id()
            nice = os.getpriority(os.PRIO_PROCESS, me)
            os.setpriority(os.PRIO_PROCESS, me, min(19, nice + BACKGROUND_NICE))
        except OSError:
            pass  # a sandboxed kernel may refuse: the threads then keep the usual priority
        try:
            outcome.append(start())
        except BaseException as err:  # handed to the caller below
            failure.append(err)

    starter = threading.Thread(target=run, name="background-start", daemon=True)
    starter.start()
    starter.join()
    if failure:
        raise failure[0]
    return outcome[0]


def start(config: Config, write_key: str, secret: str, data_dir: Path) -> RelayServer:
    """Start a relay on the address of ``config.relay_url`` (this computer), its threads at
    the background priority (:func:`in_background`)."""
    from segment_desktop.relay.server import RelayServer

    parts = urlsplit(config.relay_url)
    listen = f"{parts.hostname or '127.0.0.1'}:{parts.port or 0}"
    return in_background(
        lambda: RelayServer.start(config, write_key, secret, data_dir, listen, flush_seconds=1.0)
    )


def start_sandbox() -> Sandbox:
    """Start the Commerce and Segment emulators, their threads at the background priority."""
    from segment_desktop.sandbox.runner import Sandbox

    return in_background(Sandbox.start)


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
