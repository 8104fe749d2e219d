from __future__ import annotations

from datetime import UTC, datetime

from segment_desktop import __version__
from segment_desktop.core.envelope import to_event
from segment_desktop.core.messages import finish_calls, message_id
from segment_desktop.core.spec import MAX_CALL_BYTES, call_size, check_call, has_errors

EVENT = to_event(
    {
        "id": "evt-42",
        "triggered_by": "order.paid",
        "payload": {
            "data": {
                "id": "o",
                "meta": {
                    "timestamps": {
                        "created_at": "2026-01-01T10:00:00.000Z",
                        "updated_at": "2026-01-02T11:00:00.000Z",
                    }
                },
            }
        },
    }
)


def test_finish_fills_what_the_template_left_out() -> None:
    calls = finish_calls([{"type": "track"}, {"type": "identify"}], EVENT, "order_completed")
    assert [c["messageId"] for c in calls] == [
        "sd-evt-42-order_completed-0",
        "sd-evt-42-order_completed-1",
    ]
    assert calls[0]["timestamp"] == "2026-01-02T11:00:00.000Z"
    assert calls[0]["context"]["library"] == {"name": "segment-desktop", "version": __version__}


def test_what_the_template_set_wins() -> None:
    call = {
        "messageId": "mine",
        "timestamp": "2020-01-01T00:00:00Z",
        "context": {"library": {"name": "x"}, "ip": "1.2.3.4"},
    }
    done = finish_calls([call], EVENT, "order_completed")[0]
    assert done["messageId"] == "mine"
    assert done["timestamp"] == "2020-01-01T00:00:00Z"
    assert done["context"] == {"library": {"name": "x"}, "ip": "1.2.3.4"}


def test_timestamp_falls_back_to_delivery_time_for_deletes() -> None:
    delete = to_event(
        {
            "id": "e",
            "triggered_by": "customer.deleted",
            "resources": {"type": "customer", "id": "c"},
        }
    )
    now = datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC)
    assert finish_calls([{}], delete, "customer_updated", now)[0]["timestamp"] == (
        "2026-03-04T05:06:07.000Z"
    )


def test_message_id_is_deterministic_and_bounded() -> None:
    long_id = "x" * 200
    first = message_id(long_id, "order_completed", 0)
    assert first == message_id(long_id, "order_completed", 0)
    assert len(first) <= 100
    assert first != message_id(long_id, "order_completed", 1)
    assert first.startswith("sd-")


def _track(**extra: object) -> dict[str, object]:
    return {"type": "track", "event": "Order Completed", "userId": "c-1", **extra}


def test_a_good_call_has_no_issue() -> None:
    call = _track(
        properties={
            "order_id": "o",
            "total": 27.5,
            "currency": "GBP",
            "products": [{"product_id": "p", "price": 10, "quantity": 2}],
        }
    )
    assert check_call(call) == []


def test_errors_for_what_segment_discards() -> None:
    issues = check_call({"type": "track", "userId": "", "properties": []})
    paths = {i.path for i in issues if i.level == "error"}
    assert paths == {"userId", "event", "properties"}
    assert has_errors(issues)
    assert not has_errors(check_call(_track(anonymousId="anon-1", userId=None)))
    assert {i.path for i in check_call({"type": "shout", "userId": "u"})} == {"type"}


def test_warnings_for_mistyped_or_unknown_ecommerce_properties() -> None:
    issues = check_call(
        _track(
            properties={
                "total": "27.50",
                "currency": "pounds",
                "colour": "red",
                "products": [{"price": "1"}],
            }
        )
    )
    assert not has_errors(issues)
    by_path = {i.path: i.message for i in issues}
    assert "27.5, not" in by_path["properties.total"]
    assert "ISO 4217" in by_path["properties.currency"]
    assert "not an e-commerce v2 property" in by_path["properties.colour"]
    assert "number" in by_path["properties.products[0].price"]


def test_a_product_with_a_negative_price_is_a_warning() -> None:
    products = [
        {"product_id": "p", "price": 20, "quantity": 1},
        {"product_id": "AUTUMN15", "name": "Autumn sale 15% off", "price": -7.61, "quantity": 1},
    ]
    issues = check_call(_track(properties={"order_id": "o", "products": products}))
    assert not has_errors(issues)
    (issue,) = [i for i in issues if i.path.startswith("properties.products")]
    assert issue.level == "warning" and issue.path == "properties.products[1].price"
    assert "-7.61" in issue.message and "discount" in issue.message


def test_size_limit() -> None:
    call = _track(properties={"blob": "x" * MAX_CALL_BYTES})
    assert call_size(call) > MAX_CALL_BYTES
    assert any("bytes" in i.message and i.level == "error" for i in check_call(call))


def test_without_warnings_the_check_keeps_every_error_and_only_errors() -> None:
    call = {
        "type": "track",
        "userId": 7,  # an error
        "event": "Order Completed",
        "timestamp": "yesterday",  # a warning
        "properties": {"total": "27.50", "products": [{"price": "1"}]},  # warnings
    }
    everything = check_call(call)
    errors_only = check_call(call, warnings=False)
    assert any(i.level == "warning" for i in everything)
    assert errors_only == [i for i in everything if i.level == "error"] and errors_only
