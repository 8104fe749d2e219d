"""What Commerce sends to a webhook: the payload for an event, and the request for an attempt."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

from segment_desktop.sandbox.demo import DEMO_ORG_ID, DEMO_STORE_ID
from segment_desktop.sandbox.store import Store

#: Which seeded order best fits an order event when no resource is given.
ORDER_PICKS: dict[str, tuple[str, str]] = {
    "created": ("status", "incomplete"),
    "paid": ("payment", "paid"),
    "authorized": ("payment", "authorized"),
    "fulfilled": ("shipping", "fulfilled"),
    "cancelled": ("status", "cancelled"),
    "refunded": ("payment", "refunded"),
}


def event_payload(
    store: Store, event_name: str, resource: dict[str, Any] | None, resource_id: str | None
) -> tuple[dict[str, Any], Any]:
    """``(payload, resources)`` for an event: the object and its deprecated string form."""
    kind, action = event_name.split(".", 1)
    if resource is None:
        resource = _seeded(store, kind, action, resource_id)
    if action == "deleted":
        target = resource.get("data", resource)
        if not isinstance(target, dict) or "id" not in target:
            raise ValueError("A delete event needs a resource with an 'id'.")
        reference = {"type": target.get("type", kind), "id": target["id"]}
        return reference, dict(reference)
    if "data" in resource:
        payload = copy.deepcopy(resource)
    elif kind == "order":
        items = store.items.get(str(resource.get("id")), [])
        payload = {"data": copy.deepcopy(resource), "included": {"items": copy.deepcopy(items)}}
    else:
        payload = {"data": copy.deepcopy(resource)}
    return payload, json.dumps(payload, ensure_ascii=False)


def _seeded(store: Store, kind: str, action: str, resource_id: str | None) -> dict[str, Any]:
    """The seeded order or customer that best fits the event."""
    if kind == "order":
        if resource_id is not None:
            order = store.order(resource_id)
            if order is None:
                raise LookupError(f"The demo store has no order {resource_id!r}.")
            return store.order_payload(order)
        field, value = ORDER_PICKS.get(action, ("", ""))
        order = next((o for o in store.orders if o.get(field) == value), store.orders[0])
        return store.order_payload(order)
    if kind == "customer":
        if resource_id is not None:
            customer = store.customer(resource_id)
            if customer is None:
                raise LookupError(f"The demo store has no customer {resource_id!r}.")
            return {"data": customer}
        return {"data": store.customers[0]}
    raise ValueError(
        f"The demo store has no {kind} resources; pass the resource for {kind}.{action}."
    )


def request_factory(
    event_id: str,
    event_name: str,
    integration: dict[str, Any],
    payload: dict[str, Any],
    resources: Any,
) -> Callable[[int], tuple[bytes, dict[str, str]]]:
    """Builds the body and headers of attempt *n* (the same event id every time)."""
    configuration = integration["configuration"]
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "Elastic Path Integrations (segment-desktop sandbox)",
        "X-MOLTIN-INTEGRATION-TRIGGER": event_name,
    }
    secret = configuration.get("secret_key")
    if secret:
        headers["X-MOLTIN-SECRET-KEY"] = str(secret)

    def build(attempt: int) -> tuple[bytes, dict[str, str]]:
        body = {
            "id": event_id,
            "triggered_by": event_name,
            "attempt": attempt,
            "integration": {
                "id": integration["id"],
                "integration_type": integration["integration_type"],
                "name": integration["name"],
                "description": integration["description"],
            },
            "payload": payload,
            "resources": resources,
            "configuration": configuration,
            "store_id": DEMO_STORE_ID,  # store-level: both ids (docs/API_FACTS.md)
            "org_id": DEMO_ORG_ID,
        }
        return json.dumps(body, ensure_ascii=False).encode(), headers

    return build
