"""What the dashboard's buttons do to parked work, as ``relay replay`` and ``relay purge`` do it.

Each function blocks (SQLite, rendering): the dashboard runs them off the GUI thread. They act
on the outbox of the relay in this process when there is one (so its sender picks replayed
calls up at once), else on the outbox in the app's data folder.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # imported when a button is pressed, not with the window
    from segment_desktop.core.envelope import CommerceEvent
    from segment_desktop.relay.journal import JournalEntry


def _data_dir(services: Any) -> Path:
    server = getattr(services, "relay", None)
    if server is not None:
        return Path(server.relay.outbox.path).parent
    return Path(services.data_dir())


def _wake(services: Any) -> None:
    server = getattr(services, "relay", None)
    if server is not None:
        server.relay.sender.wake()


def replay(services: Any, config: Any, event_ids: Sequence[str] | None) -> str:
    """Render template errors again with ``config``'s templates and re-queue refused calls."""
    from segment_desktop.relay.rendering import TemplateConfig
    from segment_desktop.relay.replay import replay as replay_parked

    report = replay_parked(_data_dir(services), TemplateConfig.from_config(config), event_ids)
    _wake(services)
    parts = []
    if report.requeued_calls:
        parts.append(_count(report.requeued_calls, "refused call") + " queued again")
    if report.fixed_templates:
        verb = "renders" if report.fixed_templates == 1 else "render"
        parts.append(
            f"{_count(report.fixed_templates, 'template')} {verb} now "
            f"({_count(report.queued_calls, 'call')} queued)"
        )
    if report.still_failing:
        first = report.still_failing[0]
        verb = "fails" if len(report.still_failing) == 1 else "fail"
        parts.append(
            f"{_count(len(report.still_failing), 'template')} still {verb} "
            f"({first.template_key}: {first.reason})"
        )
    return "; ".join(parts) + "." if parts else "Nothing was waiting for a replay."


def discard(services: Any, event_ids: Sequence[str]) -> str:
    """Delete these events' refused calls and template errors (``relay purge --id``)."""
    from segment_desktop.relay.outbox import Outbox
    from segment_desktop.relay.parked import purge

    outbox = Outbox.in_dir(_data_dir(services))
    try:
        purged = purge(outbox, event_ids=list(event_ids))
        outbox.truncate_wal()  # what purge deleted leaves the write-ahead log too
    finally:
        outbox.close()
    return (
        f"Discarded {_count(purged.refused_calls, 'refused call')} and "
        f"{_count(purged.template_errors, 'template error')}."
    )


def event_for(
    services: Any, event_id: str, deliveries: Sequence[JournalEntry] = ()
) -> CommerceEvent:
    """The Commerce event behind a parked item or a delivery, to open in the studio.

    The outbox keeps the webhook of a template error; the relay's journal has the recent ones.
    """
    from segment_desktop.core.envelope import to_event
    from segment_desktop.core.errors import EventError

    for entry in deliveries:
        if entry.event_id == event_id:
            return to_event(json.loads(entry.body))
    from segment_desktop.relay.outbox import Outbox
    from segment_desktop.relay.parked import pending_template_errors

    path = _data_dir(services)
    outbox = Outbox.in_dir(path, read_only=True)
    try:
        waiting = pending_template_errors(outbox, [event_id])
    finally:
        outbox.close()
    if not waiting:
        raise EventError(
            "The relay no longer keeps this event's webhook (only template errors and the "
            "last deliveries are kept). Pick a sample in the studio instead."
        )
    return to_event(waiting[0].body)


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"
