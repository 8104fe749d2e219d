"""Read-only views of a relay's outbox, for ``relay status``/``relay parked`` and the GUI.

They open the outbox file read-only and never need the relay to run; when no relay ever ran
with this data directory they report an empty outbox.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from segment_desktop.relay.outbox import OUTBOX_FILENAME, Outbox, OutboxStats, ParkedItem

EMPTY = OutboxStats(events=0, pending=0, due=0, parked=0, template_errors=0, oldest_pending_age=0)


def outbox_path(data_dir: Path) -> Path:
    return Path(data_dir) / OUTBOX_FILENAME


def _open(data_dir: Path) -> Outbox | None:
    path = outbox_path(data_dir)
    if not path.exists():
        return None
    return Outbox(path, read_only=True)


def outbox_stats(data_dir: Path) -> OutboxStats:
    """Counts: events seen, calls pending and parked, template errors, oldest pending age."""
    outbox = _open(data_dir)
    if outbox is None:
        return EMPTY
    try:
        return outbox.stats()
    finally:
        outbox.close()


def parked_items(data_dir: Path, event_ids: Sequence[str] | None = None) -> list[ParkedItem]:
    """Calls Segment refused and template errors, oldest first (optionally for some events)."""
    outbox = _open(data_dir)
    if outbox is None:
        return []
    try:
        return outbox.parked(event_ids)
    finally:
        outbox.close()
