"""Order events of any size for the benchmarks, grown from the 50-item sample.

Items are copied round-robin with fresh ids; the order's totals are recomputed so the event stays
consistent (the templates' figures add up).
"""

from __future__ import annotations

import copy
import json
from typing import Any

from segment_desktop.core.envelope import CommerceEvent, to_event
from segment_desktop.core.samples import list_samples


def order_body(items: int) -> dict[str, Any]:
    """A webhook body for an ``order.paid`` event with ``items`` cart items."""
    sample = next(s for s in list_samples("order.paid") if s.name == "order.paid.50-items")
    body: dict[str, Any] = json.loads(sample.text())
    source = [i for i in body["payload"]["included"]["items"] if i.get("type") == "cart_item"]
    lines = []
    for n in range(items):
        line = copy.deepcopy(source[n % len(source)])
        line["id"] = f"{line['id'][:-6]}{n:06d}"
        lines.append(line)
    body["payload"]["included"]["items"] = lines
    order = body["payload"]["data"]
    order["relationships"]["items"]["data"] = [{"type": "item", "id": i["id"]} for i in lines]
    prices = order["meta"]["display_price"]
    for field, path in (("with_tax", "with_tax"), ("without_tax", "without_tax"), ("tax", "tax")):
        total = sum(i["meta"]["display_price"][path]["value"]["amount"] for i in lines)
        prices[field]["amount"] = total
    prices["shipping"]["amount"] = 0
    body["id"] = f"bench-{items}"
    body["resources"] = json.dumps(body["payload"])
    return body


def order_event(items: int) -> CommerceEvent:
    return to_event(order_body(items))
