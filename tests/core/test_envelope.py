from __future__ import annotations

import json
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from segment_desktop.core.envelope import MAX_BODY_BYTES, parse_event_text, to_event
from segment_desktop.core.errors import EventError

ORDER = {"data": {"id": "o-1", "type": "order"}, "included": {"items": [{"id": "i-1"}]}}


def test_payload_is_kept_and_configuration_dropped() -> None:
    event = to_event(
        {
            "id": "e-1",
            "triggered_by": "order.paid",
            "attempt": 2,
            "payload": ORDER,
            "resources": json.dumps(ORDER),
            "configuration": {"secret_key": "do-not-show"},
        }
    )
    assert event.payload == ORDER
    assert event.attempt == 2
    assert "configuration" not in event.body
    assert "resources" not in event.body  # a second copy of payload: not given to templates
    assert event.resource["id"] == "o-1"


def test_payload_is_parsed_from_the_resources_string() -> None:
    event = to_event({"id": "e-1", "triggered_by": "order.paid", "resources": json.dumps(ORDER)})
    assert event.body["payload"] == ORDER


def test_delete_event_carries_type_and_id() -> None:
    body = {
        "id": "e-2",
        "triggered_by": "customer.deleted",
        "resources": {"type": "customer", "id": "c-9"},
    }
    event = to_event(body)
    assert event.payload == {"type": "customer", "id": "c-9"}
    assert event.resource == {"type": "customer", "id": "c-9"}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[1, 2]", "is a JSON object; this is an array"),
        ('{"id": "x"}', "triggered_by"),
        ('{"triggered_by": "order.paid", "payload": {}}', '"id"'),
        ('{"id": "x", "triggered_by": "order.paid"}', 'neither "payload" nor "resources"'),
        ('{"id": "x", "triggered_by": "order.paid", "resources": "{nope"}', "not valid JSON"),
        ('{"id": "x",\n "triggered_by": }', "line 2, column 18"),
        (b"\xff\xfe", "not UTF-8"),
    ],
)
def test_not_a_commerce_event(text: str | bytes, message: str) -> None:
    with pytest.raises(EventError, match=re.escape(message)):
        parse_event_text(text)


def test_huge_body_is_refused_before_parsing() -> None:
    with pytest.raises(EventError, match="limit"):
        parse_event_text(b" " * (MAX_BODY_BYTES + 1))


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        (b'\xef\xbb\xbf{"id": "e", "triggered_by": "order.paid", "payload": {"v": 1}}', 1),
        (b'{"id": "e", "triggered_by": "order.paid", "payload": {"v": "a\\ud800b"}}', "a\ufffdb"),
        (b'{"id": "e", "triggered_by": "order.paid", "payload": {"v": "\\ud83d\\ude00"}}', "😀"),
        ('{"id": "e", "triggered_by": "order.paid", "payload": {"v": "é"}}', "é"),
        (b'{"id": "e", "triggered_by": "order.paid", "payload": {"v": 2, "v": 3}}', 3),
    ],
)
def test_what_the_fast_parser_refuses_is_parsed_the_standard_way(
    raw: str | bytes, value: object
) -> None:
    assert parse_event_text(raw).payload["v"] == value


def test_invalid_json_is_worded_with_line_and_column() -> None:
    with pytest.raises(EventError, match=r"not valid JSON: .* at line 2, column 5"):
        parse_event_text(b'{"id": "e",\n    oops}')


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ('{"id": "e", "triggered_by": "order.paid", "n": ' + "9" * 5000 + "}", "cannot be read"),
        ('{"id": "e", "triggered_by": "order.paid", "n": ' + "[" * 100_000 + "]" * 100_000 + "}",
         "too deeply"),
    ],
    ids=["a 5000-digit number", "arrays nested 100,000 deep"],
)  # fmt: skip
def test_absurd_json_is_a_clear_event_error(text: str, reason: str) -> None:
    with pytest.raises(EventError, match=reason):
        parse_event_text(text)


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinity_are_not_json(constant: str) -> None:
    text = (
        '{"id": "e", "triggered_by": "customer.created", '
        '"payload": {"data": {"id": "c", "email": ' + constant + "}}}"
    )
    with pytest.raises(EventError, match=f"{constant.lstrip('-')} is not a JSON number"):
        parse_event_text(text)
    with pytest.raises(EventError, match="not a JSON number"):
        parse_event_text(text.encode())


# -- any input: an event or a clear EventError ---------------------------------------------------

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)
ENVELOPES = st.fixed_dictionaries(
    {},
    optional={
        "id": JSON_VALUES,
        "triggered_by": st.sampled_from(["order.paid", "customer.created", "x"]) | JSON_VALUES,
        "attempt": JSON_VALUES,
        "payload": JSON_VALUES,
        "resources": JSON_VALUES | st.text(max_size=40),
        "configuration": JSON_VALUES,
    },
)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300) | st.text(max_size=300))
def test_any_bytes_give_an_event_or_an_event_error(raw: bytes | str) -> None:
    try:
        event = parse_event_text(raw)
    except EventError as err:
        assert str(err)
    else:
        assert isinstance(event.id, str) and isinstance(event.body, dict)


@settings(max_examples=300, deadline=None)
@given(ENVELOPES)
def test_any_json_envelope_gives_an_event_or_an_event_error(body: dict[str, object]) -> None:
    import json

    try:
        event = parse_event_text(json.dumps(body))
    except EventError as err:
        assert str(err)
    else:
        assert event.id and "." in event.triggered_by
        assert "configuration" not in event.body and "resources" not in event.body
