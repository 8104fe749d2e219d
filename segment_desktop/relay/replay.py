"""``relay replay``: give parked work another chance after the user fixed its cause.

* Template errors are rendered again with the *current* templates; what renders now is queued
  (same messageIds as a first success would have had), what still fails stays parked with the
  new error.
* Calls Segment refused are put back in the queue as they are (the cause was outside them:
  a wrong Segment path or host, a proxy refusing, a bad write key).

A running relay picks the queued calls up within a second; it need not be stopped.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from segment_desktop.core.envelope import to_event
from segment_desktop.core.errors import EventError
from segment_desktop.relay import parked
from segment_desktop.relay.outbox import Outbox
from segment_desktop.relay.records import ParkedItem
from segment_desktop.relay.rendering import EventRenderer, TemplateConfig


@dataclass
class ReplayReport:
    requeued_calls: int = 0
    """Refused calls put back in the queue."""
    fixed_templates: int = 0
    """Template errors that render now."""
    queued_calls: int = 0
    """Calls those templates produced."""
    still_failing: list[ParkedItem] = field(default_factory=list)


def replay(
    data_dir: Path,
    templates: TemplateConfig,
    event_ids: Sequence[str] | None = None,
    *,
    renderer: EventRenderer | None = None,
) -> ReplayReport:
    """Replay everything parked (or only ``event_ids``'s) in the outbox under ``data_dir``."""
    outbox = Outbox.in_dir(Path(data_dir))
    try:
        return replay_outbox(outbox, renderer or EventRenderer(templates), event_ids)
    finally:
        outbox.close()


def replay_outbox(
    outbox: Outbox, renderer: EventRenderer, event_ids: Sequence[str] | None = None
) -> ReplayReport:
    report = ReplayReport()
    report.requeued_calls = parked.requeue_parked(outbox, event_ids)
    for pending in parked.pending_template_errors(outbox, event_ids):
        try:
            event = to_event(pending.body)
        except EventError:  # cannot happen for a body we accepted; keep it parked
            continue
        rendered = renderer.render(event, pending.template_keys)
        failed = {f.template_key for f in rendered.failures}
        resolved = [k for k in pending.template_keys if k not in failed]
        parked.resolve_template_errors(
            outbox, pending.event_id, rendered.calls, rendered.failures, resolved
        )
        report.fixed_templates += len(resolved)
        report.queued_calls += len(rendered.calls)
    report.still_failing = [
        item for item in parked.parked(outbox, event_ids) if item.kind == "template_error"
    ]
    return report
