"""The demo store's orders and customers: paging, newest first, include=items, realism."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from segment_desktop.sandbox.runner import Sandbox
from segment_desktop.sandbox.store import build_store, format_money
from tests.sandbox.conftest import get_token


@pytest.fixture(scope="module")
def store_api() -> Iterator[httpx.Client]:
    """One sandbox for this module: these tests only read the seeded store."""
    with (
        Sandbox.start() as shared,
        httpx.Client(base_url=shared.commerce_url, trust_env=False, timeout=10) as client,
    ):
        client.headers["Authorization"] = f"Bearer {get_token(shared, client)}"
        yield client


def _all(client: httpx.Client, path: str, limit: int) -> list[dict[str, Any]]:
    """Follow ``links.next`` to the end."""
    items: list[dict[str, Any]] = []
    url: str | None = f"{path}?page[limit]={limit}"
    while url is not None:
        body = client.get(url).json()
        items += body["data"]
        url = body["links"]["next"]
    return items


def test_orders_are_paged_newest_first(store_api: httpx.Client) -> None:
    first = store_api.get("/v2/orders", params={"page[limit]": 10}).json()
    assert len(first["data"]) == 10
    assert first["meta"]["page"] == {"limit": 10, "offset": 0, "current": 1, "total": 3}
    assert first["meta"]["results"] == {"total": 30}
    assert first["links"]["prev"] is None
    assert "page[offset]=10" in first["links"]["next"]
    assert "page[offset]=20" in first["links"]["last"]

    last = store_api.get("/v2/orders", params={"page[limit]": 10, "page[offset]": 20}).json()
    assert last["links"]["next"] is None
    assert "page[offset]=10" in last["links"]["prev"]
    assert last["meta"]["page"]["current"] == 3

    everything = _all(store_api, "/v2/orders", 7)
    assert len(everything) == 30
    assert len({o["id"] for o in everything}) == 30
    created = [o["meta"]["timestamps"]["created_at"] for o in everything]
    assert created == sorted(created, reverse=True)
    assert everything[:10] == first["data"]


def test_paging_limits(store_api: httpx.Client) -> None:
    capped = store_api.get("/v2/orders", params={"page[limit]": 500}).json()
    assert capped["meta"]["page"]["limit"] == 100
    assert len(capped["data"]) == 30
    beyond = store_api.get("/v2/orders", params={"page[offset]": 100}).json()
    assert beyond["data"] == []
    assert beyond["meta"]["results"]["total"] == 30
    for bad in ({"page[limit]": "ten"}, {"page[limit]": 0}, {"page[offset]": -1}):
        response = store_api.get("/v2/orders", params=bad)
        assert response.status_code == 400, bad
        assert "page[" in response.json()["errors"][0]["detail"]


def test_include_items_returns_the_page_orders_items(store_api: httpx.Client) -> None:
    body = store_api.get("/v2/orders", params={"include": "items", "page[limit]": 5}).json()
    wanted = {ref["id"] for o in body["data"] for ref in o["relationships"]["items"]["data"]}
    assert {item["id"] for item in body["included"]["items"]} == wanted
    assert "include=items" in body["links"]["next"]
    without = store_api.get("/v2/orders", params={"page[limit]": 5}).json()
    assert "included" not in without

    order = body["data"][0]
    single = store_api.get(f"/v2/orders/{order['id']}", params={"include": "items"}).json()
    assert single["data"] == order
    assert {i["id"] for i in single["included"]["items"]} == {
        ref["id"] for ref in order["relationships"]["items"]["data"]
    }
    items = store_api.get(f"/v2/orders/{order['id']}/items").json()["data"]
    assert items == single["included"]["items"]
    assert store_api.get("/v2/orders/not-an-order").status_code == 404
    assert store_api.get("/v2/orders/not-an-order/items").status_code == 404
    assert store_api.get("/v2/customers/not-a-customer").status_code == 404
    not_allowed = store_api.delete(f"/v2/orders/{order['id']}")
    assert not_allowed.status_code == 405
    assert not_allowed.json()["errors"][0]["title"] == "Method Not Allowed"


def test_customers_are_paged_newest_first(store_api: httpx.Client) -> None:
    customers = _all(store_api, "/v2/customers", 4)
    assert len(customers) == 15
    created = [c["meta"]["timestamps"]["created_at"] for c in customers]
    assert created == sorted(created, reverse=True)
    assert all(c["type"] == "customer" and "@" in c["email"] for c in customers)
    assert isinstance(customers[0]["password"], bool)
    one = store_api.get(f"/v2/customers/{customers[3]['id']}").json()["data"]
    assert one == customers[3]


def test_the_store_needs_a_token(store_api: httpx.Client) -> None:
    response = httpx.get(store_api.base_url.join("/v2/orders"), trust_env=False)
    assert response.status_code == 401


def test_the_store_is_deterministic_and_realistic() -> None:
    store, again = build_store(), build_store()
    assert store.orders == again.orders
    assert store.customers == again.customers

    currencies = {o["meta"]["display_price"]["with_tax"]["currency"] for o in store.orders}
    assert currencies == {"GBP", "USD", "EUR", "JPY", "KWD"}
    guests = [o for o in store.orders if "customer" not in o["relationships"]]
    assert 3 <= len(guests) < 30
    assert all(o["customer"]["email"] for o in store.orders)
    assert {o["payment"] for o in store.orders} >= {"paid", "unpaid", "authorized", "refunded"}
    assert {o["status"] for o in store.orders} >= {"complete", "incomplete", "cancelled"}

    promotions = shipping = 0
    for order in store.orders:
        prices = order["meta"]["display_price"]
        items = store.items[order["id"]]
        assert [i["id"] for i in items] == [
            r["id"] for r in order["relationships"]["items"]["data"]
        ]
        # the order's totals are the sums of its lines
        assert prices["without_tax"]["amount"] == sum(i["value"]["amount"] for i in items)
        tax = sum(i["meta"]["display_price"]["tax"]["value"]["amount"] for i in items)
        assert prices["tax"]["amount"] == tax
        assert prices["with_tax"]["amount"] == prices["without_tax"]["amount"] + tax
        for item in items:
            assert item["value"]["amount"] == item["unit_price"]["amount"] * item["quantity"]
            if item["value"]["amount"] < 0:
                promotions += 1
                assert prices["discount"]["amount"] == item["value"]["amount"]
            if item["sku"].startswith("shipping-"):
                shipping += 1
                assert prices["shipping"]["amount"] == item["value"]["amount"]
    assert promotions >= 5
    assert shipping >= 20


def test_money_is_formatted_in_each_currencys_own_unit() -> None:
    assert format_money(10000, "GBP") == "£100.00"
    assert format_money(123456, "JPY") == "¥123,456"
    assert format_money(12345, "KWD") == "KWD 12.345"
    assert format_money(-500, "EUR") == "-€5.00"
    jpy = [
        o
        for o in build_store().orders
        if o["meta"]["display_price"]["with_tax"]["currency"] == "JPY"
    ]
    assert jpy
    for order in jpy:
        price = order["meta"]["display_price"]["with_tax"]
        assert price["formatted"] == f"¥{price['amount']:,}"


def test_promotion_lines_are_promotion_items_and_no_template_makes_them_products() -> None:
    """Elastic Path documents promotion lines of an order as ``promotion_item`` (negative
    amounts); the default templates count them as the discount, never as products."""
    from segment_desktop.core.envelope import to_event
    from segment_desktop.core.render import Renderer
    from segment_desktop.core.spec import check_call
    from segment_desktop.core.templates import default_template
    from segment_desktop.sandbox.webhooks import event_payload

    store = build_store()
    promoted = [
        o for o in store.orders if any(i["type"] == "promotion_item" for i in store.items[o["id"]])
    ]
    assert len(promoted) >= 5
    for order in store.orders:
        for item in store.items[order["id"]]:
            negative = item["value"]["amount"] < 0
            assert negative == (item["type"] == "promotion_item"), item["name"]
            if negative:
                assert item["promotion_id"] and not item["product_id"]
            if item["sku"].startswith("shipping-"):
                assert item["type"] == "custom_item"
    renderer = Renderer()
    template = default_template("order_completed")
    for order in promoted:
        payload, resources = event_payload(store, "order.paid", None, order["id"])
        body = {"id": "e1", "triggered_by": "order.paid", "attempt": 1, "payload": payload,
                "resources": resources}  # fmt: skip
        (call,) = renderer.render(template, to_event(body), template_key="order_completed").calls
        properties = call["properties"]
        assert all(p["price"] >= 0 for p in properties["products"])
        assert properties["discount"] > 0 and properties["coupon"]
        assert not [i for i in check_call(call) if i.path.startswith("properties.products")]
