"""Tracking plans: both published shapes, draft-07 checks with JSON paths, bad plans refused."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from segment_desktop.core.errors import TrackingPlanError
from segment_desktop.core.tracking_plan import (
    import_plan,
    parse_plan,
    plan_path,
    saved_plan,
)

DRAFT7 = "http://json-schema.org/draft-07/schema#"
ORDER_COMPLETED: dict[str, Any] = {
    "$schema": DRAFT7,
    "type": "object",
    "properties": {
        "properties": {
            "type": "object",
            "required": ["order_id", "total"],
            "properties": {
                "total": {"type": "number"},
                "currency": {"type": "string", "pattern": "^[A-Z]{3}$"},
                "products": {
                    "type": "array",
                    "items": {"type": "object", "properties": {"price": {"type": "number"}}},
                },
            },
        }
    },
    "required": ["properties"],
}
#: The shape of typewriter's plan.json (segmentio/typewriter, example/analytics/plan.json).
TYPEWRITER_PLAN = {
    "display_name": "Shop plan",
    "rules": {
        "events": [{"name": "Order Completed", "rules": ORDER_COMPLETED, "version": 1}],
        "identify": {
            "$schema": DRAFT7,
            "type": "object",
            "properties": {"traits": {"type": "object", "required": ["email"]}},
        },
    },
}
#: The Public API's rule list.
PUBLIC_API_PLAN = {
    "data": {
        "rules": [
            {
                "type": "TRACK",
                "key": "Order Completed",
                "version": 1,
                "jsonSchema": ORDER_COMPLETED,
            },
            {"type": "COMMON", "version": 1, "jsonSchema": {"required": ["userId"]}},
        ]
    }
}


@pytest.mark.parametrize("data", [TYPEWRITER_PLAN, PUBLIC_API_PLAN])
def test_violations_carry_the_json_path(data: dict[str, Any]) -> None:
    plan = parse_plan(data, "plan.json")
    call = {
        "type": "track",
        "event": "Order Completed",
        "userId": "u1",
        "properties": {
            "total": "27.50",
            "currency": "gbp",
            "products": [{"price": 1}, {"price": "2"}],
        },
    }
    found = {(i.path, i.level) for i in plan.check(call)}
    assert found == {
        ("properties", "error"),  # order_id is required
        ("properties.total", "error"),
        ("properties.currency", "error"),
        ("properties.products[1].price", "error"),
    }
    assert all(i.message.startswith("Tracking plan: ") for i in plan.check(call))
    good = {**call, "properties": {"order_id": "o1", "total": 27.5}}
    assert plan.check(good) == []


def test_unplanned_events_and_identify_rules() -> None:
    plan = parse_plan(TYPEWRITER_PLAN, "plan.json")
    unplanned = plan.check({"type": "track", "event": "Order Shipped", "userId": "u"})
    assert [(i.level, i.path) for i in unplanned] == [("warning", "event")]
    assert [i.path for i in plan.check({"type": "identify", "traits": {}})] == ["traits"]
    assert plan.check({"type": "identify", "traits": {"email": "a@b.c"}}) == []


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ([], "not a Segment tracking plan"),
        (
            {"rules": {"events": [{"name": "X", "rules": {"type": "nope"}}]}},
            r"rules.events\[0\].rules.type is not a draft-07 JSON Schema",
        ),
        ({"rules": [{"type": "TRACK", "jsonSchema": {}}]}, 'without a "key"'),
        ({"rules": [{"type": "WHAT", "jsonSchema": {}}]}, "expected TRACK"),
        ({"rules": {"events": [{"name": "X", "rules": "x"}]}}, "not a JSON Schema"),
    ],
)
def test_a_plan_that_is_not_a_json_schema_is_refused(data: Any, message: str) -> None:
    with pytest.raises(TrackingPlanError, match=message):
        parse_plan(data, "plan.json")


def test_import_keeps_a_copy_and_a_bad_file_changes_nothing(tmp_path: Path) -> None:
    good = tmp_path / "good.json"
    good.write_text(json.dumps(TYPEWRITER_PLAN))
    assert saved_plan(tmp_path / "cfg") is None
    import_plan(good, tmp_path / "cfg")
    plan = saved_plan(tmp_path / "cfg")
    assert plan is not None and plan.name == "Shop plan" and len(plan) == 2
    before = plan_path(tmp_path / "cfg").read_bytes()
    bad = tmp_path / "bad.json"
    bad.write_text('{"rules": ')
    with pytest.raises(TrackingPlanError, match=f"{bad} is not valid JSON"):
        import_plan(bad, tmp_path / "cfg")
    assert plan_path(tmp_path / "cfg").read_bytes() == before
