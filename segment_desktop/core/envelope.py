"""A Commerce webhook body → the template's input.

Templates read ``payload.data`` and ``payload.included.items`` (the Integrations Hub's own
paths). Commerce sends ``payload`` and the deprecated ``resources`` (a JSON *string* for creates
and updates, an object ``{"type", "id"}`` for deletes); when only ``resources`` is there we parse
it into ``payload``. The template input is the body itself with ``payload`` filled in, minus the
echoed ``configuration`` (it carries the webhook secret and is never shown to a template) and minus
``resources`` (a second copy of ``payload``, as text: passing it on would double the cost of every
render for nothing).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from segment_desktop.core.errors import EventError
from segment_desktop.core.jsontext import fast_loads
from segment_desktop.core.jsontypes import json_type_name

#: Bodies larger than this are refused before parsing (Commerce's own are a few hundred KB).
MAX_BODY_BYTES = 5 * 1024 * 1024


_NOT_FOR_TEMPLATES = frozenset({"configuration", "resources"})


@dataclass(frozen=True)
class CommerceEvent:
    """One Commerce webhook delivery, validated."""

    id: str
    triggered_by: str
    attempt: int
    body: dict[str, Any]
    """The template input: the delivery with ``payload`` always present."""

    @property
    def payload(self) -> dict[str, Any]:
        payload: dict[str, Any] = self.body["payload"]
        return payload

    @property
    def resource(self) -> dict[str, Any]:
        """``payload.data`` for creates and updates, the ``{type, id}`` payload for deletes."""
        data = self.payload.get("data")
        return data if isinstance(data, dict) else self.payload


def parse_event_text(text: str | bytes) -> CommerceEvent:
    """Parse a webhook body as received on the wire or read from a file."""
    if len(text) > MAX_BODY_BYTES:
        raise EventError(
            f"The event is {len(text):,} bytes; the limit is {MAX_BODY_BYTES:,} bytes. "
            "A Commerce webhook body is never this large."
        )
    body = _fast_loads(text)
    if body is _NOT_PARSED:
        if isinstance(text, bytes):
            try:
                text = text.decode("utf-8-sig")
            except UnicodeDecodeError as err:
                raise EventError(
                    f"The event is not UTF-8 text ({err.reason} at byte {err.start})."
                ) from None
        try:
            body = json.loads(text)
        except json.JSONDecodeError as err:
            raise EventError(
                f"The event is not valid JSON: {err.msg} at line {err.lineno}, column {err.colno}."
            ) from None
        if _ESCAPED_SURROGATE.search(text):
            body = _without_lone_surrogates(body)
    return to_event(body)


_ESCAPED_SURROGATE = re.compile(r"\\u[dD][89a-fA-F]")


def _without_lone_surrogates(body: Any) -> Any:
    """``body`` with each unpaired UTF-16 surrogate (``"\\ud800"``) replaced by U+FFFD.

    JSON may escape one; nothing downstream can store or send it (it is not UTF-8), so it
    would fail the event at the outbox or at Segment. A pair (an emoji) is left as it is.
    """
    text = json.dumps(body, ensure_ascii=False)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        repaired = text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
        return json.loads(repaired)
    return body


_NOT_PARSED = object()


def _fast_loads(text: str | bytes) -> Any:
    """orjson (the `fast` extra) parses a large order 2-3x faster than the standard library.

    Whatever it refuses (a byte-order mark, NaN, a lone surrogate, bad JSON) goes the standard
    way, which also words the errors. It reads an integer beyond 64 bits as a float, which is
    what JSONata (and JavaScript) make of it anyway.
    """
    if fast_loads is None:
        return _NOT_PARSED
    try:
        return fast_loads(text)
    except ValueError:
        return _NOT_PARSED


def to_event(body: object) -> CommerceEvent:
    """Validate a decoded webhook body and build the template input."""
    if not isinstance(body, dict):
        raise EventError(f"A Commerce event is a JSON object; this is {json_type_name(body)}.")
    trigger = body.get("triggered_by")
    if not isinstance(trigger, str) or "." not in trigger:
        raise EventError(
            'This is not a Commerce webhook event: it has no "triggered_by" (such as "order.paid").'
        )
    event_id = body.get("id")
    if not isinstance(event_id, str) or not event_id:
        raise EventError('This Commerce event has no "id"; it is needed to de-duplicate it.')
    attempt = body.get("attempt", 1)
    if isinstance(attempt, bool) or not isinstance(attempt, int):
        attempt = 1

    payload = body.get("payload")
    if not isinstance(payload, dict):
        payload = _payload_from_resources(body.get("resources"), trigger)
    template_input = {k: v for k, v in body.items() if k not in _NOT_FOR_TEMPLATES}
    template_input["payload"] = payload
    return CommerceEvent(id=event_id, triggered_by=trigger, attempt=attempt, body=template_input)


def _payload_from_resources(resources: object, trigger: str) -> dict[str, Any]:
    if resources is None:
        raise EventError(
            f'This {trigger} event carries neither "payload" nor "resources": '
            "there is nothing to send."
        )
    if isinstance(resources, str):
        try:
            resources = json.loads(resources)
        except json.JSONDecodeError as err:
            raise EventError(
                f'The event\'s "resources" string is not valid JSON: {err.msg} '
                f"at position {err.pos}."
            ) from None
    if not isinstance(resources, dict):
        raise EventError(
            f'The event\'s "resources" is {json_type_name(resources)}; expected an object.'
        )
    return resources
