"""Building a webhook to trigger: samples, overrides as JSON, paths that must exist."""

from __future__ import annotations

import json

import pytest

from segment_desktop.core.envelope import to_event
from segment_desktop.core.errors import EventError, OverrideError
from segment_desktop.core.webhook_trigger import build_body, parse_override, sample_body

CURRENCY = "payload.data.meta.display_price.with_tax.currency"


def test_overrides_take_json_values_and_resources_follow() -> None:
    base = sample_body("order.paid")
    body = build_body(
        "order.paid",
        base,
        [f'{CURRENCY}="JPY"', "payload.included.items[0].quantity=7", "attempt=3"],
    )
    assert body["payload"]["data"]["meta"]["display_price"]["with_tax"]["currency"] == "JPY"
    assert body["payload"]["included"]["items"][0]["quantity"] == 7
    assert body["attempt"] == 3
    assert json.loads(body["resources"]) == body["payload"]
    assert body["id"].startswith("trigger-") and body["id"] != base["id"]
    assert build_body("order.paid", base)["id"] != body["id"]  # fresh every time
    assert base["payload"]["included"]["items"][0]["quantity"] != 7  # the sample is untouched
    assert to_event(body).triggered_by == "order.paid"
    assert build_body("order.paid", base, ['id="evt-1"'])["id"] == "evt-1"


@pytest.mark.parametrize(
    ("override", "message"),
    [
        (
            'payload.data.meta.display_price.with_tax.curency="JPY"',
            "payload.data.meta.display_price.with_tax has no 'curency' \\(it has amount, currency",
        ),
        (
            "payload.included.items[99].quantity=1",
            "payload.included.items has 5 items \\(0 to 4\\)",
        ),
        ("payload.data.status.x=1", "payload.data.status is a string, not an object"),
        (f"{CURRENCY}=JPY", "is not JSON: 'JPY'. Strings need double quotes"),
        ("no-equals-sign", "is not PATH=VALUE"),
        ("a..b=1", "is not a dotted path"),
    ],
)
def test_a_bad_override_names_the_path(override: str, message: str) -> None:
    with pytest.raises(OverrideError, match=message):
        build_body("order.paid", sample_body("order.paid"), [override])


def test_samples_must_match_the_event() -> None:
    assert parse_override("a[1].b=null").steps == ("a", 1, "b")
    assert sample_body("order.paid", "order.paid.kwd")["triggered_by"] == "order.paid"
    with pytest.raises(EventError, match=r"belongs to order\.paid, not order\.created"):
        sample_body("order.created", "order.paid.kwd")
