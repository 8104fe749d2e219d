"""A deterministic demo store: ~15 customers and ~30 orders with their items.

Realistic enough to render every template: five currencies (GBP, USD, EUR, JPY with no minor
unit, KWD with three), guest orders, promotion lines (negative amounts), shipping lines as custom
items, tax, and every order status from incomplete to refunded. The same seed always gives the
same store, so tests can name ids and amounts.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

SEED = 20261129
BASE_TIME = datetime(2026, 10, 1, 9, 0, tzinfo=UTC)

#: currency → (decimal places, symbol, GBP→currency rate, tax rate)
CURRENCIES: dict[str, tuple[int, str, Decimal, Decimal]] = {
    "GBP": (2, "£", Decimal("1"), Decimal("0.20")),
    "USD": (2, "$", Decimal("1.27"), Decimal("0.08875")),
    "EUR": (2, "€", Decimal("1.17"), Decimal("0.19")),
    "JPY": (0, "¥", Decimal("191"), Decimal("0.10")),
    "KWD": (3, "KWD ", Decimal("0.389"), Decimal("0")),
}
ORDER_CURRENCIES = ["GBP", "USD", "EUR", "GBP", "JPY", "USD", "KWD", "EUR"]

#: (name, sku, price in GBP pence)
PRODUCTS: list[tuple[str, str, int]] = [
    ("Merino Crew Jumper", "KNIT-MER-CRW-M", 8900),
    ("Waxed Cotton Jacket", "OUT-WAX-JKT-L", 24500),
    ("Selvedge Denim Jeans", "DNM-SLV-32-32", 12000),
    ("Oxford Button-Down Shirt", "SHT-OXF-BLU-15", 6500),
    ("Leather Chelsea Boots", "FTW-CHL-BRN-9", 18900),
    ("Cashmere Beanie", "ACC-CSH-BNE-GRY", 4500),
    ("Linen Tote Bag", "ACC-LIN-TOTE-NAT", 2750),
    ("Organic Cotton T-Shirt", "TEE-ORG-WHT-M", 2200),
    ("Silk Pocket Square", "ACC-SLK-PSQ-NVY", 3500),
    ("Wool Flat Cap", "ACC-WOL-CAP-HB", 3999),
    ("Canvas Weekender", "BAG-CNV-WKD-OLV", 15000),
    ("Ceramic Espresso Cups (set of 2)", "HOM-CER-ESP-2", 1850),
]

#: (code, promotion name, percent off)
PROMOTIONS: list[tuple[str, str, int]] = [
    ("WELCOME10", "Welcome 10% off", 10),
    ("AUTUMN15", "Autumn sale 15% off", 15),
]

#: (sku, name, price in GBP pence)
SHIPPING: list[tuple[str, str, int]] = [
    ("shipping-standard", "Standard delivery", 495),
    ("shipping-express", "Express delivery", 1295),
]

CUSTOMERS: list[tuple[str, str, str, str]] = [
    # (first, last, city, country)
    ("Amelia", "Hughes", "Manchester", "GB"),
    ("Oliver", "Bennett", "Bristol", "GB"),
    ("Sofia", "Martínez", "Madrid", "ES"),
    ("Lukas", "Schneider", "München", "DE"),
    ("Chloé", "Dubois", "Lyon", "FR"),
    ("James", "O'Connor", "Dublin", "IE"),
    ("Hana", "Suzuki", "Tokyo", "JP"),
    ("Noah", "Williams", "Austin", "US"),
    ("Fatima", "Al-Sabah", "Kuwait City", "KW"),
    ("Emma", "Johnson", "Seattle", "US"),
    ("Mateo", "Rossi", "Milano", "IT"),
    ("Isla", "Campbell", "Edinburgh", "GB"),
    ("Yuto", "Tanaka", "Osaka", "JP"),
    ("Ava", "Garcia", "Miami", "US"),
    ("Liam", "Murphy", "Cork", "IE"),
]

GUESTS: list[tuple[str, str, str, str]] = [
    ("Priya", "Sharma", "Leeds", "GB"),
    ("Daniel", "Kim", "Chicago", "US"),
    ("Elena", "Novak", "Wien", "AT"),
    ("Kenji", "Watanabe", "Kyoto", "JP"),
]

#: (status, payment, shipping), cycled through the orders
STATES: list[tuple[str, str, str]] = [
    ("complete", "paid", "fulfilled"),
    ("complete", "paid", "unfulfilled"),
    ("incomplete", "unpaid", "unfulfilled"),
    ("processing", "authorized", "unfulfilled"),
    ("complete", "paid", "fulfilled"),
    ("complete", "refunded", "fulfilled"),
    ("cancelled", "unpaid", "unfulfilled"),
    ("complete", "paid", "unfulfilled"),
]

ORDER_COUNT = 30
STREETS = ["High Street", "Market Road", "Station Lane", "Park Avenue", "Church Street"]


@dataclass
class Store:
    """The seeded resources, newest first."""

    customers: list[dict[str, Any]] = field(default_factory=list)
    orders: list[dict[str, Any]] = field(default_factory=list)
    items: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    """order id → its items"""

    def order(self, order_id: str) -> dict[str, Any] | None:
        return next((o for o in self.orders if o["id"] == order_id), None)

    def customer(self, customer_id: str) -> dict[str, Any] | None:
        return next((c for c in self.customers if c["id"] == customer_id), None)

    def order_payload(self, order: dict[str, Any]) -> dict[str, Any]:
        """An order as webhooks carry it: ``{"data": order, "included": {"items": [...]}}``."""
        return {"data": order, "included": {"items": self.items.get(order["id"], [])}}


def format_money(minor: int, currency: str) -> str:
    places, symbol, _, _ = CURRENCIES[currency]
    value = Decimal(minor).scaleb(-places)
    sign = "-" if minor < 0 else ""
    return f"{sign}{symbol}{abs(value):,.{places}f}"


def money(minor: int, currency: str) -> dict[str, Any]:
    return {"amount": minor, "currency": currency, "formatted": format_money(minor, currency)}


def convert(gbp_pence: int, currency: str) -> int:
    """A GBP price in another currency's minor units, rounded to a 'nice' shelf price."""
    places, _, rate, _ = CURRENCIES[currency]
    major = Decimal(gbp_pence).scaleb(-2) * rate
    minor = int((major * (10**places)).quantize(Decimal(1)))
    step = {0: 10, 2: 5, 3: 5}[places]
    return max(step, (minor // step) * step)


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _address(first: str, last: str, city: str, country: str, rng: random.Random) -> dict[str, Any]:
    return {
        "first_name": first,
        "last_name": last,
        "company_name": "",
        "phone_number": f"+{rng.randint(30, 99)} {rng.randint(100, 999)} {rng.randint(1000, 9999)}",
        "line_1": f"{rng.randint(1, 220)} {rng.choice(STREETS)}",
        "line_2": "",
        "city": city,
        "postcode": f"{rng.randint(10000, 99999)}",
        "county": "",
        "region": "",
        "country": country,
        "instructions": "",
    }


def _email(first: str, last: str) -> str:
    plain = (
        f"{first}.{last}".lower()
        .replace("'", "")
        .replace("é", "e")
        .replace("í", "i")
        .replace("ü", "u")
    )
    return f"{plain}@example.com"


def _make_customers(rng: random.Random) -> list[dict[str, Any]]:
    customers = []
    for index, (first, last, _city, _country) in enumerate(CUSTOMERS):
        created = BASE_TIME - timedelta(days=120 - index * 7, hours=rng.randint(0, 23))
        customer: dict[str, Any] = {
            "type": "customer",
            "id": _uuid(rng),
            "name": f"{first} {last}",
            "email": _email(first, last),
            "password": index % 3 != 2,
            "meta": {
                "timestamps": {
                    "created_at": _iso(created),
                    "updated_at": _iso(created + timedelta(days=index % 5)),
                }
            },
        }
        if index % 4 == 0:
            customer["external_ref"] = f"CRM-{1000 + index}"
        customers.append(customer)
    return customers


def _line(
    rng: random.Random,
    *,
    name: str,
    sku: str,
    product_id: str,
    unit: int,
    quantity: int,
    tax_rate: Decimal,
    currency: str,
    created: str,
) -> dict[str, Any]:
    value = unit * quantity
    unit_tax = int((Decimal(unit) * tax_rate).quantize(Decimal(1)))
    tax = unit_tax * quantity

    def pair(unit_amount: int, value_amount: int) -> dict[str, Any]:
        return {"unit": money(unit_amount, currency), "value": money(value_amount, currency)}

    return {
        "type": "order_item",
        "id": _uuid(rng),
        "quantity": quantity,
        "product_id": product_id,
        "name": name,
        "sku": sku,
        "unit_price": {"amount": unit, "currency": currency, "includes_tax": False},
        "value": {"amount": value, "currency": currency, "includes_tax": False},
        "discounts": [],
        "links": {},
        "meta": {
            "display_price": {
                "with_tax": pair(unit + unit_tax, value + tax),
                "without_tax": pair(unit, value),
                "tax": pair(unit_tax, tax),
                "discount": pair(0, 0),
            },
            "timestamps": {"created_at": created, "updated_at": created},
        },
        "relationships": {"cart_item": {"data": {"type": "cart_item", "id": _uuid(rng)}}},
    }


def _make_order(
    rng: random.Random,
    index: int,
    customers: list[dict[str, Any]],
    product_ids: list[str],
    promotion_ids: list[str],
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    currency = ORDER_CURRENCIES[index % len(ORDER_CURRENCIES)]
    _, _, _, tax_rate = CURRENCIES[currency]
    status, payment, shipping = STATES[index % len(STATES)]
    hours, minutes = index * 19 + rng.randint(0, 9), rng.randint(0, 59)
    created_at = BASE_TIME + timedelta(hours=hours, minutes=minutes)
    updated_at = created_at + timedelta(minutes=rng.randint(2, 600))
    created, updated = _iso(created_at), _iso(updated_at)

    guest = index % 5 == 3
    if guest:
        first, last, city, country = GUESTS[index % len(GUESTS)]
        customer_ref = None
    else:
        position = (index * 7) % len(CUSTOMERS)
        first, last, city, country = CUSTOMERS[position]
        customer_ref = customers[position]
    name, email = f"{first} {last}", _email(first, last)

    items: list[dict[str, Any]] = []
    for product_index in rng.sample(range(len(PRODUCTS)), k=rng.randint(1, 3)):
        product_name, sku, pence = PRODUCTS[product_index]
        items.append(
            _line(
                rng,
                name=product_name,
                sku=sku,
                product_id=product_ids[product_index],
                unit=convert(pence, currency),
                quantity=rng.choice([1, 1, 1, 2, 3]),
                tax_rate=tax_rate,
                currency=currency,
                created=created,
            )
        )
    goods = sum(item["value"]["amount"] for item in items)
    discount = 0
    if index % 4 == 1:
        promo_index = index % len(PROMOTIONS)
        code, promo_name, percent = PROMOTIONS[promo_index]
        discount = -int((Decimal(goods) * percent / 100).quantize(Decimal(1)))
        promo = _line(
            rng,
            name=promo_name,
            sku=code,
            product_id="",
            unit=discount,
            quantity=1,
            tax_rate=tax_rate,  # the discount lowers the tax too
            currency=currency,
            created=created,
        )
        # a promotion line is typed promotion_item and names its promotion (docs/API_FACTS.md)
        promo["type"] = "promotion_item"
        promo["promotion_id"] = promotion_ids[promo_index]
        promo["promotion_source"] = "rule-promotion"
        promo["relationships"]["promotions"] = {
            "data": [{"type": "promotion", "id": promotion_ids[promo_index]}]
        }
        items.append(promo)
    shipping_amount = 0
    if index % 6 != 5:
        ship_sku, ship_name, ship_pence = SHIPPING[index % 3 == 0]
        shipping_amount = convert(ship_pence, currency)
        ship = _line(
            rng,
            name=ship_name,
            sku=ship_sku,
            product_id="",
            unit=shipping_amount,
            quantity=1,
            tax_rate=Decimal(0),
            currency=currency,
            created=created,
        )
        ship["type"] = "custom_item"  # not a product: the templates count it as shipping
        ship["custom_inputs"] = {"kind": "shipping"}
        items.append(ship)

    without_tax = sum(item["value"]["amount"] for item in items)
    tax = sum(item["meta"]["display_price"]["tax"]["value"]["amount"] for item in items)
    with_tax = without_tax + tax
    settled = payment in {"paid", "refunded"}
    display = {
        "with_tax": money(with_tax, currency),
        "without_tax": money(without_tax, currency),
        "tax": money(tax, currency),
        "discount": money(discount, currency),
        "without_discount": money(with_tax - discount, currency),
        "shipping": money(shipping_amount, currency),
        "balance_owing": money(0 if settled else with_tax, currency),
        "paid": money(with_tax if settled else 0, currency),
        "authorized": money(with_tax if payment == "authorized" else 0, currency),
    }
    order: dict[str, Any] = {
        "type": "order",
        "id": _uuid(rng),
        "status": status,
        "payment": payment,
        "shipping": shipping,
        "anonymized": False,
        "customer": {"name": name, "email": email},
        "shipping_address": _address(first, last, city, country, rng),
        "billing_address": {
            k: v
            for k, v in _address(first, last, city, country, rng).items()
            if k not in {"phone_number", "instructions"}
        },
        "links": {},
        "meta": {
            "display_price": display,
            "timestamps": {"created_at": created, "updated_at": updated},
        },
        "relationships": {
            "items": {"data": [{"type": "item", "id": item["id"]} for item in items]},
        },
    }
    if customer_ref is not None:
        order["relationships"]["customer"] = {
            "data": {"type": "customer", "id": customer_ref["id"]}
        }
    if index % 3 == 0:
        order["order_number"] = f"SD-{10401 + index}"
    if index % 7 == 2:
        order["external_ref"] = f"POS-{880 + index}"
    for item in items:
        item["order_id"] = order["id"]
    return order, items


def build_store(seed: int = SEED) -> Store:
    """The demo store; the same seed always gives the same ids, amounts and dates."""
    rng = random.Random(seed)
    customers = _make_customers(rng)
    product_ids = [_uuid(rng) for _ in PRODUCTS]
    promotion_ids = [_uuid(rng) for _ in PROMOTIONS]
    store = Store()
    for index in range(ORDER_COUNT):
        order, items = _make_order(rng, index, customers, product_ids, promotion_ids)
        store.orders.append(order)
        store.items[order["id"]] = items
    store.orders.reverse()  # newest first
    store.customers = sorted(
        customers, key=lambda c: c["meta"]["timestamps"]["created_at"], reverse=True
    )
    return store
