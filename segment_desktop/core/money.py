"""Exact money: Commerce's minor-unit integers → Segment's decimal amounts in the main unit.

The number of decimals comes from the currency (ISO 4217): JPY has none, GBP two, KWD three.
We never divide by 100 blindly and never let float arithmetic add noise: the conversion is done
with :class:`~decimal.Decimal` and the result is the float whose shortest representation is the
exact decimal (``2750 GBP`` → ``27.5``), or an ``int`` when there are no decimals.
"""

from __future__ import annotations

from decimal import Decimal

#: ISO 4217 minor-unit exponents that differ from 2.
_EXPONENTS: dict[str, int] = {
    **dict.fromkeys(
        "BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF".split(), 0
    ),
    **dict.fromkeys("BHD IQD JOD KWD LYD OMR TND".split(), 3),
    "CLF": 4,
    "UYW": 4,
}


def currency_exponent(currency: str) -> int:
    """Decimal places of a currency's minor unit (2 for unknown but well-formed codes)."""
    return _EXPONENTS.get(currency.strip().upper(), 2)


def to_decimal(minor: int, currency: str) -> Decimal:
    """``2750, "GBP"`` → ``Decimal("27.50")``; exact."""
    return Decimal(minor).scaleb(-currency_exponent(currency))


def to_number(minor: int | float, currency: str) -> int | float:
    """The JSON number for an amount in minor units: ``27.5`` for 2750 GBP, ``1500`` for 1500 JPY.

    A non-integral ``minor`` (some stores send ``2750.0``) is accepted when it is whole.
    """
    if isinstance(minor, float):
        if not minor.is_integer():
            raise ValueError(f"{minor!r} is not a whole number of minor units")
        minor = int(minor)
    value = to_decimal(minor, currency)
    if value == value.to_integral_value():
        return int(value)
    # float(Decimal) is correctly rounded, so repr() gives back the exact decimal digits.
    return float(value)
