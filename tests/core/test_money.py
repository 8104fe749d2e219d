from __future__ import annotations

import json

import pytest

from segment_desktop.core.money import currency_exponent, to_number


@pytest.mark.parametrize(
    ("minor", "currency", "expected", "text"),
    [
        (2750, "GBP", 27.5, "27.5"),
        (1999, "gbp", 19.99, "19.99"),
        (10, "USD", 0.1, "0.1"),
        (1500, "JPY", 1500, "1500"),
        (12345, "KWD", 12.345, "12.345"),
        (-500, "GBP", -5, "-5"),
        (123456789012345, "GBP", 1234567890123.45, "1234567890123.45"),
        (2750.0, "GBP", 27.5, "27.5"),
    ],
)
def test_exact_amounts(minor: int, currency: str, expected: float, text: str) -> None:
    value = to_number(minor, currency)
    assert value == expected
    assert json.dumps(value) == text


def test_exponents() -> None:
    assert [currency_exponent(c) for c in ("JPY", "GBP", "KWD", "EUR", "CLF")] == [0, 2, 3, 2, 4]


def test_fractional_minor_units_are_refused() -> None:
    with pytest.raises(ValueError, match="whole number"):
        to_number(27.5, "GBP")
