"""Sending one Commerce-style webhook to a relay, as Commerce would: for ``trigger``.

Commerce sends the integration's secret as it is in ``X-MOLTIN-SECRET-KEY`` (a shared secret, not
a signature) and the event name in ``X-MOLTIN-INTEGRATION-TRIGGER``; so does this. Plain http is
refused for a host other than this machine, so the secret never crosses a network in clear.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import httpx

from segment_desktop.core.errors import EventError
from segment_desktop.http_util import network_error, parse_http_url

if TYPE_CHECKING:
    from segment_desktop.commerce import CommerceClient

SERVICE = "the relay"
#: Said when no webhook secret is found (the relay refuses a webhook without it).
NO_SECRET = (
    "No webhook secret is stored, so the relay would refuse the webhook. Run the setup in the "
    "app (it creates one), or set COMMERCE_WEBHOOK_SECRET."
)
#: Commerce gives up on an answer after 10 seconds; so does ``trigger``.
TIMEOUT = httpx.Timeout(10.0, connect=5.0)


@dataclass(frozen=True)
class WebhookAnswer:
    """What the relay answered."""

    url: str
    status_code: int
    reason: str
    body: str
    elapsed_ms: float

    @property
    def ok(self) -> bool:
        return 200 <= self.status_code < 300

    def describe(self) -> str:
        """``POST URL: 200 OK in 12 ms`` and the body, for a terminal or a dialog."""
        head = f"POST {self.url}: {self.status_code} {self.reason} in {self.elapsed_ms:.0f} ms"
        return f"{head}\n{self.body}" if self.body else head


def send_webhook(
    url: str,
    body: dict[str, Any],
    secret: str | None,
    *,
    client: httpx.Client | None = None,
) -> WebhookAnswer:
    """POST ``body`` to ``url`` with Commerce's headers; raises our errors, never httpx's."""
    target = parse_http_url(url, service=SERVICE, what="relay URL")
    headers = {
        "Content-Type": "application/json",
        "X-MOLTIN-INTEGRATION-TRIGGER": str(body.get("triggered_by", "")),
    }
    if secret:
        headers["X-MOLTIN-SECRET-KEY"] = secret
    content = json.dumps(body, ensure_ascii=False).encode("utf-8")
    own = client is None
    http = client or httpx.Client(timeout=TIMEOUT, trust_env=False)
    started = time.perf_counter()
    try:
        response = http.post(target, content=content, headers=headers)
    except httpx.TransportError as err:
        raise network_error(err, service=SERVICE, host=target.host) from None
    finally:
        if own:
            http.close()
    elapsed = (time.perf_counter() - started) * 1000
    return WebhookAnswer(
        str(target), response.status_code, response.reason_phrase, response.text[:2000], elapsed
    )


def latest_event(client: CommerceClient, event: str) -> dict[str, Any]:
    """The store's latest order or customer as the body of an ``event`` webhook."""
    if event.startswith("order."):
        bodies = client.recent_orders(1, event=event)
    elif event.startswith("customer."):
        bodies = client.recent_customers(1, event=event)
    else:
        raise EventError(f"Only order and customer events can come from the store, not {event}.")
    if not bodies:
        kind = "orders" if event.startswith("order.") else "customers"
        raise EventError(f"The store has no {kind} yet; use a built-in sample instead.")
    return bodies[0]
