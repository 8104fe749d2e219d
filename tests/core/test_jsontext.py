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
