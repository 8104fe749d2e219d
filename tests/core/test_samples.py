"""The built-in samples: every one parses, has the documented envelope, and adds up."""

from __future__ import annotations

import json
from typing import Any

import pytest

from segment_desktop.core.envelope import parse_event_text
from segment_desktop.core.errors import EventError
from segment_desktop.core.events import ALL_EVENTS
from segment_desktop.core.money import currency_exponent
from segment_desktop.core.samples import Sample, get_sample, list_samples

SAMPLES = list_samples()
ORDER_SAMPLES = [s for s in SAMPLES if s.event.startswith("order.")]
CUSTOMER_SAMPLES = [s for s in SAMPLES if s.event.startswith("customer.")]


def _ids(samples: list[Sample]) -> list[str]:
    return [s.name for s in samples]


def _items(body: dict[str, Any]) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = body["payload"]["included"]["items"]
    return items


def _is_shipping(item: dict[str, Any]) -> bool:
    return item["type"] == "custom_item" and "shipping" in item["sku"].lower()


def test_every_tracked_event_has_a_main_sample() -> None:
    names = {s.name for s in SAMPLES}
    assert set(ALL_EVENTS) <= names


def test_the_main_sample_comes_first_and_events_follow_the_events_table() -> None:
    events = list(dict.fromkeys(s.event for s in SAMPLES))
    assert events == list(ALL_EVENTS)
    for event in ALL_EVENTS:
        assert list_samples(event)[0].name == event


def test_filtering_by_event() -> None:
    paid = list_samples("order.paid")
    assert {s.name for s in paid} >= {
        "order.paid",
        "order.paid.guest-jpy",
        "order.paid.kwd",
        "order.paid.50-items",
    }
    assert all(s.event == "order.paid" for s in paid)
    assert list_samples("product.created") == []


def test_titles_are_readable() -> None:
    assert get_sample("order.paid").title == "Order paid"
    assert get_sample("order.paid.guest-jpy").title == "Order paid (guest, JPY)"
    assert get_sample("customer.deleted").title == "Customer deleted"


def test_unknown_sample_name_is_an_event_error_naming_the_choices() -> None:
    with pytest.raises(EventError, match=r"no built-in sample called 'order\.nope'.*order\.paid"):
        get_sample("order.nope")


@pytest.mark.parametrize("sample", SAMPLES, ids=_ids(SAMPLES))
def test_sample_parses_as_its_event(sample: Sample) -> None:
    event = sample.load()
    assert event.triggered_by == sample.event
    assert event.attempt >= 1
    assert len(event.id) == 36 and event.id.count("-") == 4
    assert event == parse_event_text(sample.text().encode("utf-8"))


@pytest.mark.parametrize("sample", SAMPLES, ids=_ids(SAMPLES))
def test_sample_has_the_documented_envelope(sample: Sample) -> None:
    body = json.loads(sample.text())
    assert set(body) >= {"id", "triggered_by", "attempt", "integration", "payload", "resources"}
    assert "configuration" not in body, "a sample must not carry a webhook secret"
    integration = body["integration"]
    assert set(integration) == {"id", "integration_type", "name", "description"}
    assert integration["integration_type"] == "webhook"
    if sample.event.endswith(".deleted"):
        assert (
            body["payload"]
            == body["resources"]
            == {"type": "customer", "id": body["payload"]["id"]}
        )
    else:
        # `resources` is the same payload as a JSON string, as Commerce sends it.
        assert isinstance(body["resources"], str)
        assert json.loads(body["resources"]) == body["payload"]


@pytest.mark.parametrize("sample", SAMPLES, ids=_ids(SAMPLES))
def test_resources_alone_gives_the_same_template_input(sample: Sample) -> None:
    body = json.loads(sample.text())
    del body["payload"]
    assert parse_event_text(json.dumps(body)).payload == sample.load().payload


@pytest.mark.parametrize("sample", CUSTOMER_SAMPLES, ids=_ids(CUSTOMER_SAMPLES))
def test_customer_samples_have_a_customer(sample: Sample) -> None:
    payload = sample.load().payload
    if sample.event == "customer.deleted":
        assert payload["type"] == "customer" and payload["id"]
        return
    customer = payload["data"]
    assert customer["type"] == "customer"
    assert customer["id"] and "@" in customer["email"] and customer["name"]
    assert set(customer["meta"]["timestamps"]) == {"created_at", "updated_at"}


@pytest.mark.parametrize("sample", ORDER_SAMPLES, ids=_ids(ORDER_SAMPLES))
def test_order_sample_shape(sample: Sample) -> None:
    body = sample.load().body
    order = body["payload"]["data"]
    assert order["type"] == "order"
    assert order["status"] in {"incomplete", "complete", "processing", "cancelled"}
    assert order["payment"] in {"unpaid", "authorized", "paid", "refunded"}
    assert order["shipping"] in {"unfulfilled", "fulfilled"}
    assert "@" in order["customer"]["email"] and order["customer"]["name"]
    assert order["billing_address"]["country"] and order["shipping_address"]["line_1"]
    assert set(order["meta"]["timestamps"]) == {"created_at", "updated_at"}
    items = _items(body)
    related = [ref["id"] for ref in order["relationships"]["items"]["data"]]
    assert related == [item["id"] for item in items]
    assert len(set(related)) == len(related)
    assert all(item["order_id"] == order["id"] for item in items)
    customer = order["relationships"].get("customer")
    if customer is not None:
        assert customer["data"]["type"] == "customer" and customer["data"]["id"]


@pytest.mark.parametrize("sample", ORDER_SAMPLES, ids=_ids(ORDER_SAMPLES))
def test_order_sample_adds_up(sample: Sample) -> None:
    """Item values are unit × quantity, and the items add up to the order's totals."""
    body = sample.load().body
    order = body["payload"]["data"]
    items = _items(body)
    display = order["meta"]["display_price"]
    currency = display["with_tax"]["currency"]
    for item in items:
        assert isinstance(item["quantity"], int) and item["quantity"] >= 1
        assert item["value"]["amount"] == item["unit_price"]["amount"] * item["quantity"]
        assert item["unit_price"]["currency"] == item["value"]["currency"] == currency
        prices = item["meta"]["display_price"]
        for kind in ("with_tax", "without_tax", "tax"):
            unit, value = prices[kind]["unit"], prices[kind]["value"]
            assert value["amount"] == unit["amount"] * item["quantity"], (item["name"], kind)
            assert unit["currency"] == value["currency"] == currency
        assert (
            prices["with_tax"]["value"]["amount"]
            == prices["without_tax"]["value"]["amount"] + prices["tax"]["value"]["amount"]
        )
        listed = "with_tax" if item["unit_price"]["includes_tax"] else "without_tax"
        assert prices[listed]["value"]["amount"] == item["value"]["amount"]

    def total(kind: str, *, where: Any = lambda item: True) -> int:
        return sum(i["meta"]["display_price"][kind]["value"]["amount"] for i in items if where(i))

    for kind in ("with_tax", "without_tax", "tax"):
        assert display[kind]["amount"] == total(kind), kind
        assert display[kind]["currency"] == currency
    promotions = total("with_tax", where=lambda i: i["type"] == "promotion_item")
    assert display["discount"]["amount"] == promotions <= 0
    assert display["shipping"]["amount"] == total("without_tax", where=_is_shipping)
    assert display["without_discount"]["amount"] == display["with_tax"]["amount"] - promotions
    for money in display.values():
        assert isinstance(money["amount"], int)
        assert set(money) == {"amount", "currency", "formatted"}


@pytest.mark.parametrize("sample", ORDER_SAMPLES, ids=_ids(ORDER_SAMPLES))
def test_formatted_amounts_show_the_currency_decimals(sample: Sample) -> None:
    display = sample.load().payload["data"]["meta"]["display_price"]
    currency = display["with_tax"]["currency"]
    decimals = currency_exponent(currency)
    formatted = display["with_tax"]["formatted"]
    if decimals:
        assert (
            formatted.rsplit(".", 1)[1].isdigit() and len(formatted.rsplit(".", 1)[1]) == decimals
        )
    else:
        assert "." not in formatted


def test_the_set_covers_the_awkward_cases() -> None:
    """Guests, promotions, shipping, tax, 0 and 3 decimals and a long order are all there."""
    orders = [s.load().body for s in ORDER_SAMPLES]
    currencies = {
        o["payload"]["data"]["meta"]["display_price"]["with_tax"]["currency"] for o in orders
    }
    assert {"JPY", "KWD", "GBP"} <= currencies
    assert any("customer" not in o["payload"]["data"]["relationships"] for o in orders)
    assert any(any(i["type"] == "promotion_item" for i in _items(o)) for o in orders)
    assert any(any(_is_shipping(i) for i in _items(o)) for o in orders)
    assert any(not any(_is_shipping(i) for i in _items(o)) for o in orders)
    assert any(o["payload"]["data"]["meta"]["display_price"]["tax"]["amount"] > 0 for o in orders)
    assert any(sum(i["type"] == "cart_item" for i in _items(o)) == 50 for o in orders), (
        "an order with 50 products"
    )
    multi = [o for o in orders if sum(i["type"] == "cart_item" for i in _items(o)) >= 2]
    assert any(any(i["quantity"] > 1 for i in _items(o)) for o in multi)
