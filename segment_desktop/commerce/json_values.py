"""Reading loosely typed JSON answers: nested keys, numbers sent as strings, objects."""

from __future__ import annotations

from typing import Any

from segment_desktop.commerce.urls import SERVICE
from segment_desktop.core.errors import ServiceError


def dig(value: object, *keys: str) -> Any:
    """``value[k1][k2]…``, or ``None`` as soon as a level is missing or not an object."""
    for key in keys:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value


def number(value: object) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def as_object(value: object, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ServiceError(f"Commerce's answer for the {what} is not an object.", service=SERVICE)
    return value
