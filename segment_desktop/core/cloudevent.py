"""A Commerce event delivered through Amazon SQS (a CloudEvent) → the webhook's template input.

Commerce's ``aws_sqs`` integrations put one CloudEvents 1.0 JSON object on the queue per event:
``id``, ``type`` (the observable event, such as ``order.paid``), ``data`` (the resource
affected), ``integrationid``, ``storeid``, ``source``, ``specversion`` and
``datacontenttype`` (Elastic Path's Integrations API description, "Message Queue Services").
A webhook carries the same event as ``id``, ``triggered_by``, ``attempt``,
``integration`` and ``payload``. Templates are written against the webhook's shape, so a
CloudEvent is rewritten into it here, and one template serves both deliveries:

* ``type`` becomes ``triggered_by``; ``id`` stays the event id, so the Segment ``messageId``
  derived from it is the one a webhook of the same event gives;
* ``data`` becomes ``payload.data`` (``payload`` itself for a deleted resource, whose ``data``
  is only ``{"type", "id"}``, as a webhook's ``payload`` is). The documented ``data`` holds the
  resource alone: an order arrives without its items (``payload.included.items`` is missing),
  which the built-in order templates handle by sending no ``products``. A ``data`` that is
  already a webhook payload (``{"data": …, "included": …}``) is kept as it is;
* ``attempt`` is how many times the queue has handed the message out (SQS's
  ``ApproximateReceiveCount``), 1 when unknown;
* ``integration`` (``id``, ``integration_type: "aws_sqs"``) and ``store_id`` come from
  ``integrationid`` and ``storeid``.

Qt-free and offline, as the rest of ``core``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from segment_desktop.core.envelope import MAX_BODY_BYTES, CommerceEvent, to_event
from segment_desktop.core.errors import EventError
from segment_desktop.core.jsontypes import json_type_name

SPEC_VERSION = "1.0"
INTEGRATION_TYPE = "aws_sqs"


@dataclass(frozen=True)
class QueuedEvent:
    """A CloudEvent read from the queue, as the relay renders it."""

    event: CommerceEvent
    """The event in the webhook's shape (``event.body`` is the template input)."""
    integration_id: str
    store_id: str


def parse_cloudevent_text(text: str | bytes, receive_count: int = 1) -> QueuedEvent:
    """Read a queue message's body. Raises :class:`EventError` saying what is wrong with it."""
    if len(text) > MAX_BODY_BYTES:
        raise EventError(
            f"The message is {len(text):,} bytes; the limit is {MAX_BODY_BYTES:,} bytes. "
            "A Commerce event is never this large."
        )
    try:
        value = json.loads(text)
    except UnicodeDecodeError as err:
        raise EventError(f"The message is not UTF-8 text ({err.reason}).") from None
    except json.JSONDecodeError as err:
        raise EventError(
            f"The message is not JSON ({err.msg} at line {err.lineno}, column {err.colno}), "
            "so it is not a CloudEvent from Commerce."
        ) from None
    except (RecursionError, ValueError) as err:
        raise EventError(f"The message cannot be read as JSON: {err}.") from None
    return from_cloudevent(value, receive_count)


def from_cloudevent(value: object, receive_count: int = 1) -> QueuedEvent:
    """Validate a decoded CloudEvent and build the webhook-shaped template input."""
    if not isinstance(value, dict):
        raise EventError(f"A CloudEvent is a JSON object; this message is {json_type_name(value)}.")
    version = value.get("specversion")
    if version != SPEC_VERSION:
        if "triggered_by" in value:
            raise EventError(
                "This message is a webhook body, not a CloudEvent: Commerce puts CloudEvents on "
                "SQS queues. Whatever sent it is not a Commerce aws_sqs integration."
            )
        raise EventError(
            f'This message is not a CloudEvent 1.0 (its "specversion" is '
            f'{_shown(version)}, expected "1.0"), so it did not come from Commerce.'
        )
    trigger = value.get("type")
    if not isinstance(trigger, str) or "." not in trigger:
        raise EventError(
            f'This CloudEvent\'s "type" is {_shown(trigger)}; a Commerce event names its '
            'observable event there (such as "order.paid").'
        )
    event_id = value.get("id")
    if not isinstance(event_id, str) or not event_id:
        raise EventError('This CloudEvent has no "id"; it is needed to de-duplicate it.')
    data = value.get("data")
    if not isinstance(data, dict):
        raise EventError(
            f'This {trigger} CloudEvent\'s "data" is {json_type_name(data)}; Commerce sends the '
            "affected resource there as an object."
        )
    integration_id = _text(value.get("integrationid"))
    store_id = _text(value.get("storeid"))
    body: dict[str, Any] = {
        "id": event_id,
        "triggered_by": trigger,
        "attempt": max(1, receive_count),
        "integration": {"id": integration_id, "integration_type": INTEGRATION_TYPE},
        "payload": _payload(data),
    }
    if store_id:
        body["store_id"] = store_id
    org_id = _text(value.get("orgid"))
    if org_id:
        body["org_id"] = org_id
    return QueuedEvent(to_event(body), integration_id, store_id)


def _payload(data: dict[str, Any]) -> dict[str, Any]:
    """The webhook's ``payload`` for a CloudEvent's ``data``."""
    if isinstance(data.get("data"), dict):
        return data  # already {"data": resource, "included"?: …}
    if set(data) <= {"type", "id"}:
        return data  # a deleted resource: the webhook's payload is {"type", "id"} too
    return {"data": data}


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


def _shown(value: object) -> str:
    if value is None:
        return "missing"
    if isinstance(value, str):
        return json.dumps(value[:60])
    return json_type_name(value)


def cloudevent_of(
    body: dict[str, Any],
    *,
    integration_id: str = "",
    store_id: str = "",
    source: str = "https://useast.api.elasticpath.com",
) -> dict[str, Any]:
    """The CloudEvent Commerce puts on a queue for the event a webhook ``body`` carries.

    The documented ``data`` is the resource alone (an order without its items): what an
    emulator delivering to a queue sends, and what tests and benchmarks put on one.
    """
    event = to_event(body)
    return {
        "specversion": SPEC_VERSION,
        "id": event.id,
        "type": event.triggered_by,
        "source": source,
        "datacontenttype": "application/json",
        "integrationid": integration_id or str(body.get("integration", {}).get("id", "")),
        "storeid": store_id or str(body.get("store_id", "")),
        "data": event.resource,
    }
