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
from segment_desktop.core.jsontext import NOT_PARSED, fast_parse, standard_loads
from segment_desktop.core.jsontypes import json_type_name

#: Bodies larger than this are refused before parsing (Commerce's own are a few hundred KB).
MAX_BODY_BYTES = 5 * 1024 * 1024


NOT_FOR_TEMPLATES = frozenset({"configuration", "resources"})
"""Top-level fields of a delivery that are not part of the template input."""

#: What a renderer needs of a delivery besides the template input, as JSONata: evaluated by an
#: engine that parses the body itself (``Engine.prepare_json``), it spares parsing the body into
#: Python. ``timestamps`` is what :func:`segment_desktop.core.messages.event_timestamp` reads.
ENVELOPE_PROBE = (
    '($resource := $type(payload.data) = "object" ? payload.data : payload; '
    '{"root": $type($), "id": id, "triggered_by": triggered_by, "attempt": attempt, '
    '"payload": $type(payload), "timestamps": $type($resource.meta) = "object" and '
    '$type($resource.meta.timestamps) = "object" ? $resource.meta.timestamps})'
)


@dataclass(frozen=True)
class CommerceEvent:
    """One Commerce webhook delivery, validated."""

    id: str
    triggered_by: str
    attempt: int
    body: dict[str, Any]
    """The template input: the delivery with ``payload`` always present."""
    envelope_only: bool = False
    """``body`` holds only what finishing calls reads (:func:`event_from_probe`): it is not
    the template input, which an engine already holds in its own form."""

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
    body = fast_parse(text)
    if body is NOT_PARSED:
        if isinstance(text, bytes):
            try:
                text = text.decode("utf-8-sig")
            except UnicodeDecodeError as err:
                raise EventError(
                    f"The event is not UTF-8 text ({err.reason} at byte {err.start})."
                ) from None
        try:
            body = standard_loads(text)
        except json.JSONDecodeError as err:
            raise EventError(
                f"The event is not valid JSON: {err.msg} at line {err.lineno}, column {err.colno}."
            ) from None
        except ValueError as err:  # nested too deeply, an integer of thousands of digits
            raise EventError(f"The event cannot be read: {err}.") from None
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
    template_input = {k: v for k, v in body.items() if k not in NOT_FOR_TEMPLATES}
    template_input["payload"] = payload
    return CommerceEvent(id=event_id, triggered_by=trigger, attempt=attempt, body=template_input)


def event_from_probe(found: object) -> CommerceEvent | None:
    """The delivery's envelope from :data:`ENVELOPE_PROBE`'s value, when it is a plain event.

    None when :func:`to_event` would refuse it or fill ``payload`` from ``resources``: the
    caller then parses the body with :func:`parse_event_text`, which does that and words the
    error. The event is ``envelope_only``. (JSONata does not tell ``2.0`` from ``2``, so an
    ``attempt`` of ``2.0`` reads as 2 here and as 1 in :func:`to_event`; nothing renders it.)
    """
    if not isinstance(found, dict) or found.get("root") != "object":
        return None
    event_id, trigger = found.get("id"), found.get("triggered_by")
    if not (isinstance(event_id, str) and event_id and isinstance(trigger, str) and "." in trigger):
        return None
    if found.get("payload") != "object":
        return None
    attempt = found.get("attempt", 1)
    if isinstance(attempt, bool) or not isinstance(attempt, int):
        attempt = 1
    stamps = found.get("timestamps")
    resource: dict[str, Any] = {"meta": {"timestamps": stamps}} if isinstance(stamps, dict) else {}
    payload = {"data": resource}
    body = {"id": event_id, "triggered_by": trigger, "attempt": attempt, "payload": payload}
    return CommerceEvent(event_id, trigger, attempt, body, envelope_only=True)


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
