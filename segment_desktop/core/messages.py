"""Finishing a rendered call: the fields a template may leave out.

* ``messageId``: derived from the Commerce event id, the template and the call's index, so a
  Commerce retry of the same event yields the same id and Segment drops the duplicate.
* ``timestamp``: when the change happened (the resource's ``updated_at``/``created_at``), else the
  delivery time.
* ``context.library``: our name and version.

Whatever the template set explicitly wins.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

from segment_desktop import APP_NAME, __version__
from segment_desktop.core.envelope import CommerceEvent

MESSAGE_ID_PREFIX = "sd-"
MAX_MESSAGE_ID = 100


def message_id(event_id: str, template_key: str, index: int) -> str:
    """A deterministic messageId of at most 100 characters."""
    candidate = f"{MESSAGE_ID_PREFIX}{event_id}-{template_key}-{index}"
    if len(candidate) <= MAX_MESSAGE_ID:
        return candidate
    digest = hashlib.sha256(f"{event_id}\0{template_key}\0{index}".encode()).hexdigest()
    return f"{MESSAGE_ID_PREFIX}{digest[:64]}-{index}"


def event_timestamp(event: CommerceEvent, now: datetime | None = None) -> str:
    """ISO-8601 UTC time of the change the event reports."""
    meta = event.resource.get("meta")
    stamps = meta.get("timestamps") if isinstance(meta, dict) else None
    if isinstance(stamps, dict):
        for field in ("updated_at", "created_at"):
            value = stamps.get(field)
            if isinstance(value, str) and _parses(value):
                return value
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _parses(value: str) -> bool:
    try:
        datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


def library() -> dict[str, str]:
    return {"name": APP_NAME, "version": __version__}


def finish_calls(
    calls: list[dict[str, Any]],
    event: CommerceEvent,
    template_key: str,
    now: datetime | None = None,
) -> list[dict[str, Any]]:
    """Complete each call; returns new dicts, the inputs are not changed."""
    stamp: str | None = None
    finished: list[dict[str, Any]] = []
    for index, call in enumerate(calls):
        done = dict(call)
        if not done.get("messageId"):
            done["messageId"] = message_id(event.id, template_key, index)
        if not done.get("timestamp"):
            stamp = stamp or event_timestamp(event, now)
            done["timestamp"] = stamp
        context = done.get("context")
        if context is None:
            done["context"] = {"library": library()}
        elif isinstance(context, dict) and "library" not in context:
            done["context"] = {**context, "library": library()}
        finished.append(done)
    return finished
