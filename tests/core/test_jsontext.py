"""Readable JSON: the fast path writes what the standard library writes."""

from __future__ import annotations

import json

import pytest

from segment_desktop.core import jsontext

VALUES = [
    {"a": [1, 2.5, {"b": "é ✓ 日本"}], "c": {}, "d": [], "e": None, "f": True},
    [{"type": "track", "properties": {"products": [{"price": 27.5, "quantity": 2}]}}],
    {"big": 10**30},  # beyond 64 bits: the fast path hands over to the standard library
    "text",
]


def test_orjson_is_used_when_installed() -> None:
    import orjson  # noqa: F401  (the test run installs the `fast` extra)

    assert jsontext.pretty_json is not jsontext.pretty_json_stdlib


@pytest.mark.parametrize("value", VALUES)
def test_fast_and_standard_layouts_are_the_same(value: object) -> None:
    fast = jsontext.pretty_json(value)
    assert fast == jsontext.pretty_json_stdlib(value)
    assert json.loads(fast) == value
    assert "\\u" not in fast  # non-ASCII stays readable


@pytest.mark.parametrize("value", VALUES)
def test_fast_and_standard_compact_texts_are_the_same(value: object) -> None:
    fast = jsontext.compact_json(value)
    assert fast == jsontext.compact_json_stdlib(value)
    assert json.loads(fast) == value


def test_compact_json_measures_what_is_sent() -> None:
    from segment_desktop.core.spec import call_size

    call = {"type": "track", "event": "Thé ✓", "properties": {"price": 27.5}}
    assert call_size(call) == len(jsontext.compact_json(call).encode("utf-8"))


@pytest.mark.parametrize("text", ["NaN", "[1, Infinity]", '{"a": -Infinity}'])
def test_loads_holds_the_standard_library_to_json(text: str) -> None:
    with pytest.raises(json.JSONDecodeError, match="is not a JSON number"):
        jsontext.loads(text)


def test_loads_words_what_the_parser_cannot_take() -> None:
    with pytest.raises(ValueError, match="too deeply"):
        jsontext.loads("[" * 100_000 + "]" * 100_000)
    with pytest.raises(ValueError, match="more than 4,300 digits"):
        jsontext.loads("9" * 5000)
