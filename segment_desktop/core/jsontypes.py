"""Naming JSON values in messages: "a string", "an array", "null"…"""

from __future__ import annotations

from typing import Any


def json_type_name(value: Any) -> str:
    """The JSON kind of a decoded value, with its article, for error messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"
