"""Reading a relay's state from its outbox: the one home for ``relay status``, ``relay
parked`` and the desktop app's relay panel.

It opens the outbox file read-only and never needs the relay to run (in WAL mode a reader
never waits for the relay's writes); when no relay ever ran with a data folder it reports an
empty outbox.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from segment_desktop.relay import parked as parked_work
from segment_desktop.relay.outbox import OUTBOX_FILENAME, Outbox
from segment_desktop.relay.records import OutboxStats, ParkedItem

EMPTY = OutboxStats(events=0, pending=0, due=0, parked=0, template_errors=0, oldest_pending_age=0)


@dataclass(frozen=True)
class RelayStatus:
    """What a relay's outbox holds: counts, and what waits for the user."""

    outbox: Path
    exists: bool
    """False when no relay ever ran with this data folder (then everything is empty)."""
    stats: OutboxStats = EMPTY
    parked: list[ParkedItem] = field(default_factory=list)


def outbox_path(data_dir: Path) -> Path:
    return Path(data_dir) / OUTBOX_FILENAME


def read_status(
    data_dir: Path, *, with_parked: bool = True, event_ids: Sequence[str] | None = None
) -> RelayStatus:
    """The outbox under ``data_dir``: counts and (unless ``with_parked`` is False) parked
    items, oldest first, optionally only ``event_ids``'s. Raises ``ConfigError`` when the
    file exists but cannot be read."""
    path = outbox_path(data_dir)
    if not path.exists():
        return RelayStatus(path, exists=False)
    with contextlib.closing(Outbox(path, read_only=True)) as outbox:
        stats = outbox.stats()
        items = parked_work.parked(outbox, event_ids) if with_parked else []
    return RelayStatus(path, exists=True, stats=stats, parked=items)


def outbox_stats(data_dir: Path) -> OutboxStats:
    """Counts: events seen, calls pending and parked, template errors, oldest pending age."""
    return read_status(data_dir, with_parked=False).stats


def parked_items(data_dir: Path, event_ids: Sequence[str] | None = None) -> list[ParkedItem]:
    """Calls Segment refused and template errors, oldest first (optionally for some events)."""
    return read_status(data_dir, event_ids=event_ids).parked
