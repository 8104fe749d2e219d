"""Checks a finished call the way Segment will, before anything is sent.

Errors are what Segment would refuse or silently discard (no ``userId``/``anonymousId``, a
``track`` without ``event``, a call over ``MAX_CALL_BYTES`` …). Warnings are what Segment accepts
but downstream tools misread: e-commerce v2 properties of the wrong type, amounts given as
strings, unknown properties on the five order events.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from segment_desktop.core.jsontext import compact_json
from segment_desktop.core.jsontypes import json_type_name

#: Segment's limits: 32 KB a call, 500 KB and 2,500 calls a batch request (Segment's "HTTP API
#: Source" page), the KB counted as 1,024 bytes as Segment's analytics-python counts them
#: (``MAX_MSG_SIZE = 32 << 10``); see docs/API_FACTS.md. Every size or count check uses these.
MAX_CALL_BYTES = 32 * 1024
MAX_BATCH_BYTES = 500 * 1024
MAX_BATCH_CALLS = 2_500
MAX_MESSAGE_ID = 100
CALL_TYPES = ("identify", "track", "page", "screen", "group", "alias")
_OBJECT_FIELDS = ("properties", "traits", "context", "integrations")
_CURRENCY = re.compile(r"^[A-Z]{3}$")

Level = Literal["error", "warning"]


@dataclass(frozen=True)
class Issue:
    level: Level
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.level}: {self.path}: {self.message}"


_NUMBER = "number"
_STRING = "string"
_INTEGER = "integer"
_ARRAY = "array"

#: E-commerce v2 property types (the properties each order event documents).
_PROPERTY_TYPES: dict[str, str] = {
    "order_id": _STRING,
    "checkout_id": _STRING,
    "affiliation": _STRING,
    "value": _NUMBER,
    "subtotal": _NUMBER,
    "total": _NUMBER,
    "revenue": _NUMBER,
    "shipping": _NUMBER,
    "tax": _NUMBER,
    "discount": _NUMBER,
    "coupon": _STRING,
    "currency": _STRING,
    "products": _ARRAY,
}
_ECOMMERCE_EVENTS: dict[str, tuple[str, ...]] = {
    "Checkout Started": (
        "order_id",
        "affiliation",
        "value",
        "revenue",
        "shipping",
        "tax",
        "discount",
        "coupon",
        "currency",
        "products",
    ),
    "Order Completed": (
        "checkout_id",
        "order_id",
        "affiliation",
        "subtotal",
        "total",
        "revenue",
        "shipping",
        "tax",
        "discount",
        "coupon",
        "currency",
        "products",
    ),
    "Order Updated": (
        "order_id",
        "affiliation",
        "total",
        "revenue",
        "shipping",
        "tax",
        "discount",
        "coupon",
        "currency",
        "products",
    ),
    "Order Refunded": ("order_id", "total", "currency", "products"),
    "Order Cancelled": (
        "order_id",
        "affiliation",
        "total",
        "revenue",
        "shipping",
        "tax",
        "discount",
        "coupon",
        "currency",
        "products",
    ),
}
_PRODUCT_TYPES: dict[str, str] = {
    "product_id": _STRING,
    "sku": _STRING,
    "category": _STRING,
    "name": _STRING,
    "brand": _STRING,
    "variant": _STRING,
    "price": _NUMBER,
    "quantity": _INTEGER,
    "coupon": _STRING,
    "position": _INTEGER,
    "url": _STRING,
    "image_url": _STRING,
}


#: For each product property, the Python types that certainly pass its check.
_TYPES_OK: dict[str, frozenset[type]] = {
    _STRING: frozenset({str}),
    _NUMBER: frozenset({int, float}),
    _INTEGER: frozenset({int}),
}
_PRODUCT_FAST_OK = {
    name: _TYPES_OK.get(kind, frozenset()) | {type(None)} for name, kind in _PRODUCT_TYPES.items()
}


def call_size(call: dict[str, Any]) -> int:
    """Bytes of the call as sent (compact JSON, UTF-8)."""
    return len(compact_json(call).encode("utf-8"))


def check_call(call: Any, *, size: int | None = None, warnings: bool = True) -> list[Issue]:
    """Every problem found in one finished call, errors first.

    ``size`` is :func:`call_size` of the call when the caller has it already. ``warnings=False``
    skips the checks that can only warn (the e-commerce spec's property types, for one): the
    relay only needs to know whether Segment would refuse or drop the call.
    """
    if not isinstance(call, dict):
        return [Issue("error", "$", "A Segment call must be a JSON object.")]
    issues: list[Issue] = []
    kind = call.get("type")
    if kind not in CALL_TYPES:
        issues.append(
            Issue("error", "type", f'"type" must be one of {", ".join(CALL_TYPES)}; got {kind!r}.')
        )
    if not (_nonempty_string(call.get("userId")) or _nonempty_string(call.get("anonymousId"))):
        issues.append(
            Issue(
                "error",
                "userId",
                'Every call needs a non-empty string "userId" or '
                '"anonymousId"; Segment accepts it and then discards it.',
            )
        )
    for id_field in ("userId", "anonymousId"):
        value = call.get(id_field)
        if value is not None and not isinstance(value, str):
            issues.append(
                Issue(
                    "error",
                    id_field,
                    f'"{id_field}" must be a string, not {json_type_name(value)}.',
                )
            )
    if kind == "track" and not _nonempty_string(call.get("event")):
        issues.append(Issue("error", "event", 'A track call needs a non-empty string "event".'))
    if kind == "group" and not _nonempty_string(call.get("groupId")):
        issues.append(Issue("error", "groupId", 'A group call needs a "groupId".'))
    if kind == "alias" and not _nonempty_string(call.get("previousId")):
        issues.append(Issue("error", "previousId", 'An alias call needs a "previousId".'))
    for name in _OBJECT_FIELDS:
        if name in call and not isinstance(call[name], dict):
            issues.append(
                Issue(
                    "error", name, f'"{name}" must be an object, not {json_type_name(call[name])}.'
                )
            )
    message_id = call.get("messageId")
    if message_id is not None and (not isinstance(message_id, str) or len(message_id) > 100):
        issues.append(
            Issue(
                "error",
                "messageId",
                f'"messageId" must be a string of at most {MAX_MESSAGE_ID} characters.',
            )
        )
    timestamp = call.get("timestamp")
    if warnings and timestamp is not None and not _iso8601(timestamp):
        issues.append(
            Issue(
                "warning",
                "timestamp",
                '"timestamp" is not an ISO-8601 date; '
                "Segment will use the time it received the call.",
            )
        )
    if size is None:
        size = call_size(call)
    if size > MAX_CALL_BYTES:
        issues.append(
            Issue(
                "error",
                "$",
                f"The call is {size:,} bytes; Segment refuses calls over {MAX_CALL_BYTES:,} bytes.",
            )
        )
    if warnings and kind == "track" and isinstance(call.get("properties"), dict):
        issues.extend(_check_ecommerce(call.get("event"), call["properties"]))
    issues.sort(key=lambda issue: issue.level != "error")
    return issues


def has_errors(issues: list[Issue]) -> bool:
    return any(issue.level == "error" for issue in issues)


def _check_ecommerce(event: Any, properties: dict[str, Any]) -> list[Issue]:
    documented = _ECOMMERCE_EVENTS.get(event) if isinstance(event, str) else None
    if documented is None:
        return []
    issues: list[Issue] = []
    for name, value in properties.items():
        path = f"properties.{name}"
        expected = _PROPERTY_TYPES.get(name)
        if expected is None or name not in documented:
            issues.append(
                Issue(
                    "warning",
                    path,
                    f'"{name}" is not an e-commerce v2 property of '
                    f'"{event}"; destinations may ignore it.',
                )
            )
            if expected is None:
                continue
        issues.extend(_check_type(path, value, expected))
        if name == "currency" and isinstance(value, str) and not _CURRENCY.match(value):
            issues.append(
                Issue("warning", path, '"currency" should be an ISO 4217 code such as "GBP".')
            )
    products = properties.get("products")
    if isinstance(products, list):
        for index, product in enumerate(products):
            path = f"properties.products[{index}]"
            if not isinstance(product, dict):
                issues.append(Issue("warning", path, "Each product should be an object."))
                continue
            for name, value in product.items():
                expected = _PRODUCT_TYPES.get(name)
                # The exact type decides at once for nearly every value (large orders: speed).
                if expected is None or type(value) in _PRODUCT_FAST_OK[name]:
                    continue
                issues.extend(_check_type(f"{path}.{name}", value, expected))
            price = product.get("price")
            if isinstance(price, int | float) and not isinstance(price, bool) and price < 0:
                issues.append(
                    Issue(
                        "warning",
                        f"{path}.price",
                        f"A product priced {price:g} is most likely a discount or promotion line; "
                        'leave it out of "products" and count it in "discount" instead.',
                    )
                )
    return issues


def _check_type(path: str, value: Any, expected: str) -> list[Issue]:
    if value is None or _has_type(value, expected):
        return []
    hint = ""
    if expected == _NUMBER and isinstance(value, str):
        hint = ' Amounts are numbers in the currency\'s main unit (27.5, not "27.50").'
    return [Issue("warning", path, f"should be a {expected}, not {json_type_name(value)}.{hint}")]


def _has_type(value: Any, expected: str) -> bool:
    if expected == _STRING:
        return isinstance(value, str)
    if isinstance(value, bool):
        return False
    if expected == _NUMBER:
        return isinstance(value, int | float)
    if expected == _INTEGER:
        return isinstance(value, int) or (isinstance(value, float) and value.is_integer())
    return isinstance(value, list)


def _nonempty_string(value: Any) -> bool:
    return isinstance(value, str) and bool(value.strip())


def _iso8601(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    try:
        datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return False
    return True
