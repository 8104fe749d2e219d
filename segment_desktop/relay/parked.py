"""Work that waits for the user: calls Segment refused and template errors, in the outbox.

Read by ``relay parked``, ``relay status`` and the desktop app; changed by ``relay replay``
(after the user fixed the cause) and by ``relay purge`` and the retention (which delete what
is kept longer than the user wants customer data kept).

Every function takes an ``event_ids`` filter: ``None`` for everything, else only those
Commerce events. The ids reach SQLite as one JSON parameter, so the statements are constant.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass

from segment_desktop.core.jsontext import compact_json
from segment_desktop.relay.outbox import INSERT_CALLS, Outbox, call_rows
from segment_desktop.relay.records import (
    ParkedItem,
    PendingTemplateError,
    StoredCall,
    TemplateFailure,
)

#: ``:ids`` is NULL (every event) or a JSON array of event ids.
_REFUSED = (
    "SELECT c.id, c.event_id, e.triggered_by, c.template_key, c.reason, c.created_at "
    "FROM calls c JOIN events e USING (event_id) WHERE c.state = 'parked' "
    "AND (:ids IS NULL OR c.event_id IN (SELECT value FROM json_each(:ids)))"
)
_FAILED = (
    "SELECT t.event_id, e.triggered_by, t.template_key, t.error, t.at "
    "FROM template_errors t JOIN events e USING (event_id) "
    "WHERE (:ids IS NULL OR t.event_id IN (SELECT value FROM json_each(:ids)))"
)
_REQUEUE = (
    "UPDATE calls SET state = 'pending', next_attempt_at = :now, attempts = 0 "
    "WHERE state = 'parked' "
    "AND (:ids IS NULL OR event_id IN (SELECT value FROM json_each(:ids)))"
)
_PENDING_ERRORS = (
    "SELECT e.event_id, e.triggered_by, e.body, group_concat(t.template_key, ' ') "
    "FROM events e JOIN template_errors t USING (event_id) "
    "WHERE (:ids IS NULL OR e.event_id IN (SELECT value FROM json_each(:ids))) "
    "GROUP BY e.event_id ORDER BY e.received_at"
)
_INSERT_FAILURES = (
    "INSERT OR REPLACE INTO template_errors (event_id, template_key, error, at) VALUES (?, ?, ?, ?)"
)
#: Purging: ``:cutoff`` (seconds since the epoch; rows from before it go) and ``:ids``.
_PURGE_REFUSED = (
    "DELETE FROM calls WHERE state = 'parked' AND created_at < :cutoff "
    "AND (:ids IS NULL OR event_id IN (SELECT value FROM json_each(:ids)))"
)
_PURGE_FAILED = (
    "DELETE FROM template_errors WHERE at < :cutoff "
    "AND (:ids IS NULL OR event_id IN (SELECT value FROM json_each(:ids)))"
)
#: An event body is kept only for replaying its template errors.
_DROP_UNNEEDED_BODIES = (
    "UPDATE events SET body = NULL WHERE body IS NOT NULL AND NOT EXISTS "
    "(SELECT 1 FROM template_errors t WHERE t.event_id = events.event_id)"
)


def _ids(event_ids: Sequence[str] | None) -> str | None:
    return None if event_ids is None else json.dumps(list(event_ids))


def parked(outbox: Outbox, event_ids: Sequence[str] | None = None) -> list[ParkedItem]:
    """Refused calls and template errors, oldest first."""
    params = {"ids": _ids(event_ids)}
    with outbox.reading() as db:
        refused = db.execute(_REFUSED, params).fetchall()
        failed = db.execute(_FAILED, params).fetchall()
    items = [
        ParkedItem("rejected", r[1], r[2], r[3], r[4] or "", r[5], call_id=r[0]) for r in refused
    ]
    for event_id, trigger, key, error, at in failed:
        items.append(ParkedItem("template_error", event_id, trigger, key, _error_text(error), at))
    items.sort(key=lambda i: (i.at, i.event_id, i.template_key))
    return items


def requeue_parked(outbox: Outbox, event_ids: Sequence[str] | None = None) -> int:
    """Put refused calls back in the queue, due now. Returns how many."""
    with outbox.writing() as db:
        return db.execute(_REQUEUE, {"now": time.time(), "ids": _ids(event_ids)}).rowcount


def pending_template_errors(
    outbox: Outbox, event_ids: Sequence[str] | None = None
) -> list[PendingTemplateError]:
    """Events with failed templates, with the body to render them again."""
    with outbox.reading() as db:
        rows = db.execute(_PENDING_ERRORS, {"ids": _ids(event_ids)}).fetchall()
    return [
        PendingTemplateError(r[0], r[1], json.loads(r[2] or "{}"), tuple(r[3].split()))
        for r in rows
    ]


def resolve_template_errors(
    outbox: Outbox,
    event_id: str,
    calls: Sequence[StoredCall],
    failures: Sequence[TemplateFailure],
    resolved_keys: Sequence[str],
) -> None:
    """After re-rendering: queue the new calls and replace the errors, in one transaction."""
    now = time.time()
    with outbox.writing() as db:
        db.executemany(
            "DELETE FROM template_errors WHERE event_id = ? AND template_key = ?",
            [(event_id, k) for k in resolved_keys],
        )
        db.executemany(INSERT_CALLS, call_rows(event_id, calls, now))
        db.executemany(
            _INSERT_FAILURES,
            [(event_id, f.template_key, compact_json(f.error), now) for f in failures],
        )
        db.execute(
            "UPDATE events SET body = NULL WHERE event_id = ? AND NOT EXISTS "
            "(SELECT 1 FROM template_errors t WHERE t.event_id = ?)",
            (event_id, event_id),
        )


@dataclass(frozen=True)
class Purged:
    """What a purge deleted."""

    refused_calls: int
    template_errors: int


def purge(
    outbox: Outbox,
    *,
    older_than_seconds: float = 0.0,
    event_ids: Sequence[str] | None = None,
    now: float | None = None,
) -> Purged:
    """Delete parked calls and template errors (with the event bodies kept for them) stored
    more than ``older_than_seconds`` ago, optionally only ``event_ids``'s, in one transaction.

    The deleted rows are overwritten in the file (``secure_delete``); the caller truncates the
    WAL afterwards (:meth:`Outbox.truncate_wal`).
    """
    cutoff = (time.time() if now is None else now) - max(0.0, older_than_seconds)
    params = {"cutoff": cutoff, "ids": _ids(event_ids)}
    with outbox.writing() as db:
        refused = db.execute(_PURGE_REFUSED, params).rowcount
        failed = db.execute(_PURGE_FAILED, params).rowcount
        db.execute(_DROP_UNNEEDED_BODIES)
    return Purged(refused, failed)


def _error_text(error_json: str) -> str:
    try:
        error = json.loads(error_json)
    except json.JSONDecodeError:
        return error_json
    if not isinstance(error, dict):
        return str(error)
    text = str(error.get("message") or error.get("code") or error_json)
    if error.get("code") and error.get("message"):
        text = f"{error['code']}: {error['message']}"
    if error.get("line") is not None:
        text += f" (line {error['line']}, column {error.get('column')})"
    return text
