"""The seven default templates against every built-in sample, on every installed engine.

Parametrised over the samples and templates, so a new sample is tested automatically.
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from segment_desktop.core.engine import available_engines
from segment_desktop.core.envelope import CommerceEvent, to_event
from segment_desktop.core.events import TEMPLATES, TemplateSpec
from segment_desktop.core.money import currency_exponent
from segment_desktop.core.render import Renderer
from segment_desktop.core.samples import Sample, get_sample, list_samples
from segment_desktop.core.spec import MAX_CALL_BYTES, call_size, check_call
from segment_desktop.core.templates import default_template

ENGINES = available_engines()
NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
CASES = [
    (spec, sample)
    for spec in TEMPLATES
    for sample in list_samples()
    if sample.event in spec.choices
]
CASE_IDS = [f"{spec.key}-{sample.name}" for spec, sample in CASES]
ORDER_CASES = [(spec, sample) for spec, sample in CASES if spec.group.value == "orders"]
ORDER_CASE_IDS = [f"{spec.key}-{sample.name}" for spec, sample in ORDER_CASES]
_RENDERERS: dict[str, Renderer] = {}


@pytest.fixture(params=ENGINES)
def renderer(request: pytest.FixtureRequest) -> Renderer:
    name: str = request.param
    if name not in _RENDERERS:
        _RENDERERS[name] = Renderer(name)
    return _RENDERERS[name]


def render(renderer: Renderer, key: str, event: CommerceEvent) -> list[dict[str, Any]]:
    result = renderer.render(default_template(key), event, template_key=key, now=NOW)
    return result.calls


def render_body(renderer: Renderer, key: str, body: dict[str, Any]) -> list[dict[str, Any]]:
    return render(renderer, key, to_event(body))


def single(calls: list[dict[str, Any]]) -> dict[str, Any]:
    assert len(calls) == 1, calls
    return calls[0]


def body_of(name: str) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(get_sample(name).text())  # as delivered, with resources
    return body


def expected_anonymous_id(email: str) -> str:
    return "anon-" + hashlib.sha256(email.strip().lower().encode()).hexdigest()[:32]


# --------------------------------------------------------------------------- every case


def test_every_template_has_a_case_for_each_of_its_events() -> None:
    for spec in TEMPLATES:
        covered = {sample.event for s, sample in CASES if s.key == spec.key}
        assert covered == set(spec.choices), spec.key


def test_both_engines_are_installed_for_this_suite() -> None:
    """The templates must behave the same on both engines, so both must be here to prove it."""
    assert set(ENGINES) == {"jsonata-python", "jlens"}


@pytest.mark.parametrize(("spec", "sample"), CASES, ids=CASE_IDS)
def test_default_renders_clean_calls(
    renderer: Renderer, spec: TemplateSpec, sample: Sample
) -> None:
    calls = render(renderer, spec.key, sample.load())
    assert calls, "a default template never skips one of its own events"
    for call in calls:
        assert check_call(call) == [], (call, check_call(call))
        assert call["type"] in {"track", "identify"}
        assert "timestamp" in call and call["messageId"].startswith("sd-")
    tracks = [c for c in calls if c["type"] == "track"]
    assert len(tracks) == 1
    if spec.group.value == "orders":
        assert tracks[0]["event"] == spec.name


@pytest.mark.parametrize(("spec", "sample"), CASES, ids=CASE_IDS)
def test_engines_give_byte_identical_calls(spec: TemplateSpec, sample: Sample) -> None:
    event = sample.load()
    texts = {
        name: json.dumps(render(Renderer(name), spec.key, event), sort_keys=True)
        for name in ENGINES
    }
    assert len(set(texts.values())) == 1, texts


@pytest.mark.parametrize(("spec", "sample"), ORDER_CASES, ids=ORDER_CASE_IDS)
def test_order_amounts_are_exact_and_add_up(
    renderer: Renderer, spec: TemplateSpec, sample: Sample
) -> None:
    """No float noise, no more decimals than the currency has, and the totals reconcile."""
    call = single(render(renderer, spec.key, sample.load()))
    props = call["properties"]
    order = sample.load().payload["data"]
    currency = order["meta"]["display_price"]["with_tax"]["currency"]
    assert props["currency"] == currency
    assert props["order_id"] == order["id"]
    decimals = currency_exponent(currency)

    def exact(value: Any) -> Decimal:
        assert isinstance(value, int | float) and not isinstance(value, bool), value
        if decimals == 0:
            assert isinstance(value, int), f"{value!r} should be a whole number in {currency}"
        as_decimal = Decimal(repr(value))
        exponent = as_decimal.as_tuple().exponent
        assert isinstance(exponent, int) and -exponent <= decimals, f"{value!r} has float noise"
        return as_decimal

    total = exact(props["total"]) if "total" in props else None
    assert Decimal(order["meta"]["display_price"]["with_tax"]["amount"]).scaleb(-decimals) == (
        total
        if total is not None
        else exact(props["revenue"]) + exact(props["shipping"]) + exact(props["tax"])
    )
    for product in props["products"]:
        exact(product["price"])
    if "revenue" in props:
        revenue, shipping, tax = (exact(props[k]) for k in ("revenue", "shipping", "tax"))
        discount = exact(props["discount"])
        assert discount >= 0
        lines = sum(exact(p["price"]) * p["quantity"] for p in props["products"])
        assert revenue == lines - discount
        if total is not None:
            assert total == revenue + shipping + tax
        for key in ("value", "subtotal"):
            if key in props:
                assert exact(props[key]) == revenue


@pytest.mark.parametrize(("spec", "sample"), ORDER_CASES, ids=ORDER_CASE_IDS)
def test_products_are_the_order_lines_without_shipping_or_promotions(
    renderer: Renderer, spec: TemplateSpec, sample: Sample
) -> None:
    event = sample.load()
    props = single(render(renderer, spec.key, event))["properties"]
    lines = [i for i in event.payload["included"]["items"] if i["type"] == "cart_item"]
    products = props["products"]
    assert [p["sku"] for p in products] == [line["sku"] for line in lines]
    assert [p["product_id"] for p in products] == [line["product_id"] for line in lines]
    assert [p["quantity"] for p in products] == [line["quantity"] for line in lines]
    assert [p["position"] for p in products] == list(range(1, len(lines) + 1))
    assert all(p["name"] for p in products)


@pytest.mark.parametrize(("spec", "sample"), ORDER_CASES, ids=ORDER_CASE_IDS)
def test_who_is_the_customer_or_a_stable_guest_id(
    renderer: Renderer, spec: TemplateSpec, sample: Sample
) -> None:
    event = sample.load()
    call = single(render(renderer, spec.key, event))
    order = event.payload["data"]
    registered = order["relationships"].get("customer")
    if registered:
        assert call["userId"] == registered["data"]["id"]
        assert "anonymousId" not in call
    else:
        assert "userId" not in call
        assert call["anonymousId"] == expected_anonymous_id(order["customer"]["email"])


# --------------------------------------------------------------------------- exact money


def test_gbp_order_completed_values(renderer: Renderer) -> None:
    call = single(render(renderer, "order_completed", get_sample("order.paid").load()))
    props = call["properties"]
    assert props["total"] == 130.94
    assert props["revenue"] == props["subtotal"] == 103.5
    assert props["shipping"] == 3.95
    assert props["tax"] == 23.49
    assert props["discount"] == 10
    assert props["coupon"] == "SPRING10"
    assert [p["price"] for p in props["products"]] == [65, 12, 24.5]
    text = json.dumps(props, separators=(",", ":"))
    assert '"total":130.94,' in text and '"revenue":103.5,' in text
    assert '"image_url":"https://files.example-store.co.uk/merino-jumper-navy.jpg"' in text


def test_jpy_amounts_are_whole_numbers(renderer: Renderer) -> None:
    props = single(render(renderer, "order_completed", get_sample("order.paid.guest-jpy").load()))[
        "properties"
    ]
    assert (props["total"], props["revenue"], props["shipping"], props["tax"]) == (
        11960,
        10228,
        600,
        1132,
    )
    assert props["discount"] == 500
    assert [p["price"] for p in props["products"]] == [8000, 1364]
    text = json.dumps(props, separators=(",", ":"))
    assert '"total":11960,' in text
    assert not re.search(r"\d\.0\b", text), "JPY amounts must not carry a .0"


def test_kwd_amounts_keep_three_decimals(renderer: Renderer) -> None:
    props = single(render(renderer, "order_completed", get_sample("order.paid.kwd").load()))[
        "properties"
    ]
    assert props["total"] == 27.003
    assert props["revenue"] == 25.503
    assert props["shipping"] == 1.5
    assert props["discount"] == 1.342
    assert props["tax"] == 0
    assert [p["price"] for p in props["products"]] == [12.345, 7.25]
    text = json.dumps(props, separators=(",", ":"))
    assert '"total":27.003,' in text and '"price":12.345,' in text


def test_fifty_item_order_gives_fifty_products_within_the_size_limit(renderer: Renderer) -> None:
    call = single(render(renderer, "order_completed", get_sample("order.paid.50-items").load()))
    products = call["properties"]["products"]
    assert len(products) == 50
    assert [p["position"] for p in products] == list(range(1, 51))
    assert len({p["sku"] for p in products}) == 50
    assert call_size(call) < MAX_CALL_BYTES


def test_no_template_divides_money_by_100() -> None:
    for spec in TEMPLATES:
        text = default_template(spec.key)
        assert not re.search(r"/\s*100\b", text), spec.key
        assert text.lstrip().startswith("/*"), f"{spec.key} starts with an explaining comment"


# --------------------------------------------------------------------------- guests


def test_guest_id_is_stable_and_follows_the_email(renderer: Renderer) -> None:
    body = body_of("order.paid.guest-jpy")
    first = single(render_body(renderer, "order_completed", body))["anonymousId"]

    body["payload"]["data"]["customer"]["email"] = "  HANA.Sato@Example.JP "
    assert single(render_body(renderer, "order_completed", body))["anonymousId"] == first

    body["payload"]["data"]["customer"]["email"] = "someone.else@example.jp"
    other = single(render_body(renderer, "order_completed", body))["anonymousId"]
    assert other != first
    assert other == expected_anonymous_id("someone.else@example.jp")


def test_same_guest_gets_the_same_id_in_every_order_template(renderer: Renderer) -> None:
    body = body_of("order.created.guest")
    ids = set()
    for key in ("checkout_started", "order_completed", "order_updated", "order_cancelled"):
        ids.add(single(render_body(renderer, key, body))["anonymousId"])
    assert ids == {expected_anonymous_id("Sam.Rivera@Example.net")}


def test_guest_without_email_still_has_an_id(renderer: Renderer) -> None:
    body = body_of("order.paid.guest-jpy")
    del body["payload"]["data"]["customer"]["email"]
    call = single(render_body(renderer, "order_completed", body))
    assert call["anonymousId"] == "commerce-order-" + body["payload"]["data"]["id"]
    assert check_call(call) == []


# --------------------------------------------------------------------------- robustness


def test_order_without_included_items_falls_back_to_order_totals(renderer: Renderer) -> None:
    body = body_of("order.paid")
    del body["payload"]["included"]
    props = single(render_body(renderer, "order_completed", body))["properties"]
    assert "products" not in props  # lines unknown (as from an SQS queue): none are claimed
    assert props["total"] == 130.94
    assert props["shipping"] == 3.95
    assert props["discount"] == 10
    assert props["revenue"] == 103.5
    assert "coupon" not in props


def test_order_without_promotions_or_shipping_has_zero_discount_and_no_coupon(
    renderer: Renderer,
) -> None:
    props = single(render(renderer, "checkout_started", get_sample("order.created.guest").load()))[
        "properties"
    ]
    assert props["discount"] == 0 and props["shipping"] == 0
    assert "coupon" not in props
    assert props["value"] == props["revenue"] == 12.99


def test_line_without_sku_is_a_product(renderer: Renderer) -> None:
    body = body_of("order.paid")
    items = body["payload"]["included"]["items"]
    del items[0]["sku"]
    products = single(render_body(renderer, "order_completed", body))["properties"]["products"]
    assert len(products) == 3
    assert "sku" not in products[0] and products[0]["name"] == items[0]["name"]


def test_several_promotions_join_their_codes(renderer: Renderer) -> None:
    body = body_of("order.paid")
    items = body["payload"]["included"]["items"]
    promotion = next(i for i in items if i["type"] == "promotion_item")
    second = copy.deepcopy(promotion)
    second["id"], second["sku"] = "second-promotion", "LOYAL5"
    items.append(second)
    props = single(render_body(renderer, "order_completed", body))["properties"]
    assert props["coupon"] == "SPRING10,LOYAL5"
    assert props["discount"] == 20


# --------------------------------------------------------------------------- customers


def test_customer_created_identifies_then_tracks(renderer: Renderer) -> None:
    identify, track = render(renderer, "customer_created", get_sample("customer.created").load())
    assert identify["type"] == "identify"
    assert identify["userId"] == "a1d5c0de-7f3b-4c2a-9e61-0b8f4d2c7a15"
    assert identify["traits"] == {
        "id": "a1d5c0de-7f3b-4c2a-9e61-0b8f4d2c7a15",
        "email": "ada.lovelace@example.com",
        "name": "Ada Lovelace",
        "firstName": "Ada",
        "lastName": "Lovelace",
        "createdAt": "2026-03-14T09:58:02.117Z",
    }
    assert track["type"] == "track" and track["event"] == "Customer Created"
    assert track["userId"] == identify["userId"]
    assert identify["messageId"] != track["messageId"]


def test_single_word_name_has_no_last_name(renderer: Renderer) -> None:
    identify, _ = render(
        renderer, "customer_created", get_sample("customer.created.single-name").load()
    )
    assert identify["traits"]["firstName"] == "Prince"
    assert "lastName" not in identify["traits"]


def test_customer_updated_sends_current_traits(renderer: Renderer) -> None:
    identify, track = render(renderer, "customer_updated", get_sample("customer.updated").load())
    assert identify["traits"]["firstName"] == "Grace"
    assert identify["traits"]["lastName"] == "Brewster Hopper"
    assert identify["traits"]["external_ref"] == "crm-000451"
    assert track["event"] == "Customer Updated"


def test_customer_deleted_tracks_the_deletion(renderer: Renderer) -> None:
    event = get_sample("customer.deleted").load()
    call = single(render(renderer, "customer_updated", event))
    assert call["type"] == "track"
    assert call["event"] == "Customer Deleted"
    assert call["userId"] == event.payload["id"]
    assert call["properties"] == {"customer_id": event.payload["id"]}
    assert check_call(call) == []


def test_customer_deleted_from_resources_only(renderer: Renderer) -> None:
    body = body_of("customer.deleted")
    del body["payload"]
    call = single(render_body(renderer, "customer_updated", body))
    assert call["event"] == "Customer Deleted"
    assert call["userId"] == body["resources"]["id"]
