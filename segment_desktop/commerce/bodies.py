"""A store's recent orders and customers, rebuilt as the webhook bodies Commerce would send.

So a template can be previewed on the user's own data before any event is delivered.
"""

from __future__ import annotations

import json
from typing import Any

from segment_desktop.commerce.json_values import dig
from segment_desktop.commerce.pages import Page


def order_bodies(page: Page, event: str) -> list[dict[str, Any]]:
    """Each order of a ``/v2/orders?include=items`` page as the body of an ``event`` webhook."""
    included = dig(page.raw, "included", "items")
    all_items = [i for i in included or [] if isinstance(i, dict)]
    by_id = {str(item.get("id")): item for item in all_items}
    bodies = []
    for order in page.items:
        refs = dig(order, "relationships", "items", "data") or []
        wanted = [str(r.get("id")) for r in refs if isinstance(r, dict)]
        items = [by_id[i] for i in wanted if i in by_id]
        bodies.append(webhook_body(event, order, {"data": order, "included": {"items": items}}))
    return bodies


def customer_bodies(page: Page, event: str) -> list[dict[str, Any]]:
    """Each customer of a ``/v2/customers`` page as the body of an ``event`` webhook."""
    return [webhook_body(event, c, {"data": c}) for c in page.items]


def webhook_body(event: str, resource: dict[str, Any], payload: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": f"recent-{resource.get('id', '')}",
        "triggered_by": event,
        "attempt": 1,
        "payload": payload,
        "resources": json.dumps(payload, ensure_ascii=False),
    }
