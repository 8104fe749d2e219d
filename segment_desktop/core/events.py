"""The seven Segment templates and the Commerce events that trigger them.

This module is the one place that knows the table: which templates exist, which Commerce
event each tracks by default, which alternative a user may pick, and which are on by default.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Group(StrEnum):
    """Templates fall into two groups; a Commerce integration never mixes them."""

    ORDERS = "orders"
    CUSTOMERS = "customers"


@dataclass(frozen=True)
class TemplateSpec:
    """One Segment template: its key, display name, and the Commerce events it may track."""

    key: str
    name: str
    group: Group
    default_event: str
    alternatives: tuple[str, ...] = ()
    enabled_by_default: bool = True

    @property
    def choices(self) -> tuple[str, ...]:
        """Every Commerce event this template may be set to track, default first."""
        return (self.default_event, *self.alternatives)

    @property
    def label(self) -> str:
        """The check box label used by the Integrations Hub's setup."""
        return f"Enable {self.name} Tracking"


TEMPLATES: tuple[TemplateSpec, ...] = (
    TemplateSpec(
        "checkout_started", "Checkout Started", Group.ORDERS, "order.created", ("order.authorized",)
    ),
    TemplateSpec(
        "order_completed", "Order Completed", Group.ORDERS, "order.paid", ("order.fulfilled",)
    ),
    TemplateSpec("order_updated", "Order Updated", Group.ORDERS, "order.updated"),
    TemplateSpec("order_refunded", "Order Refunded", Group.ORDERS, "order.refunded"),
    TemplateSpec("order_cancelled", "Order Cancelled", Group.ORDERS, "order.cancelled"),
    TemplateSpec("customer_created", "Customer Created", Group.CUSTOMERS, "customer.created"),
    TemplateSpec(
        "customer_updated",
        "Customer Updated",
        Group.CUSTOMERS,
        "customer.updated",
        ("customer.deleted",),
    ),
)

BY_KEY: dict[str, TemplateSpec] = {t.key: t for t in TEMPLATES}
BY_NAME: dict[str, TemplateSpec] = {t.name.lower(): t for t in TEMPLATES}

#: Every Commerce event any template can track.
ALL_EVENTS: tuple[str, ...] = tuple(dict.fromkeys(e for t in TEMPLATES for e in t.choices))


def template(key_or_name: str) -> TemplateSpec:
    """Look a template up by key (``order_completed``) or name (``Order Completed``)."""
    found = BY_KEY.get(key_or_name) or BY_NAME.get(key_or_name.strip().lower())
    if found is None:
        names = ", ".join(t.name for t in TEMPLATES)
        raise KeyError(f"Unknown template {key_or_name!r}. Known templates: {names}.")
    return found


def templates_for_event(event: str, chosen: dict[str, str] | None = None) -> list[TemplateSpec]:
    """Templates that fire for a Commerce event, given each template's chosen event.

    ``chosen`` maps template key to its selected event; templates absent from it use their
    default event.
    """
    chosen = chosen or {}
    return [t for t in TEMPLATES if chosen.get(t.key, t.default_event) == event]
