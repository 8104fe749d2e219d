"""Loopback emulators of Elastic Path Commerce and Segment, for trying the app and for tests.

``Sandbox.start()`` runs both as real HTTP servers on 127.0.0.1 in daemon threads::

    with Sandbox.start() as sandbox:
        sandbox.commerce_url, sandbox.client_id, sandbox.client_secret
        sandbox.segment_url, sandbox.write_key
        sandbox.commerce.fire("order.paid", wait=True)
        sandbox.segment.received_calls()

Control endpoints (for people trying the app with curl, and for other processes; never
faulted, never in the request log):

Commerce
    ``POST /sandbox/events``   ``{"event": "order.paid", "resource"?: {...}, "order_id"?: "...",
    "customer_id"?: "...", "wait"?: true}`` → 202 (200 with ``wait``), one result per integration
    ``POST /sandbox/faults``   ``{"kind": "rate_limit"|"server_error"|"slow"|"malformed",
    "prefix"?: "/v2", "count"?: 1, "method"?: "GET", "status"?: 503, "retry_after"?: 1,
    "delay"?: 1}``; ``GET`` lists, ``DELETE`` clears
    ``POST /sandbox/tokens``   ``{"ttl"?: seconds, "revoke"?: true}``
    ``GET /sandbox/requests``  the request log; ``POST /sandbox/reset`` a fresh store
Segment
    ``GET /sandbox/received``, ``POST /sandbox/reset``, ``/sandbox/faults`` as above

Modules: ``runner`` (``Sandbox``: both emulators started together), ``commerce_emulator`` (the
store's state and rules) with ``commerce_app`` (its HTTP face), ``integrations`` (what an
integration must hold), ``paging``, ``problems`` (Commerce's error bodies), ``webhooks`` and
``sqs_delivery`` (what a delivery looks like), ``delivery`` (sending and retrying), ``store``
(the seeded demo data), ``segment_emulator``, ``faults``, ``server`` (a uvicorn thread), ``demo``
(credentials), ``command`` (``segment-desktop sandbox``). The shapes they answer are those of
docs/API_FACTS.md.

Importing this package is cheap: Starlette and uvicorn load only when ``Sandbox`` is first used,
so ``segment-desktop --help`` and the command modules stay fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from segment_desktop.sandbox.demo import (
    DEMO_CLIENT_ID,
    DEMO_CLIENT_SECRET,
    DEMO_STORE_ID,
    DEMO_WRITE_KEY,
)

if TYPE_CHECKING:
    from segment_desktop.sandbox.commerce_emulator import CommerceEmulator
    from segment_desktop.sandbox.delivery import Attempt, DeliveryResult
    from segment_desktop.sandbox.faults import Fault, FaultKind, Faults
    from segment_desktop.sandbox.runner import Sandbox
    from segment_desktop.sandbox.segment_emulator import ReceivedBatch, SegmentEmulator

__all__ = [
    "DEMO_CLIENT_ID",
    "DEMO_CLIENT_SECRET",
    "DEMO_STORE_ID",
    "DEMO_WRITE_KEY",
    "Attempt",
    "CommerceEmulator",
    "DeliveryResult",
    "Fault",
    "FaultKind",
    "Faults",
    "ReceivedBatch",
    "Sandbox",
    "SegmentEmulator",
]

_LAZY = {
    "Sandbox": "segment_desktop.sandbox.runner",
    "CommerceEmulator": "segment_desktop.sandbox.commerce_emulator",
    "SegmentEmulator": "segment_desktop.sandbox.segment_emulator",
    "ReceivedBatch": "segment_desktop.sandbox.segment_emulator",
    "Attempt": "segment_desktop.sandbox.delivery",
    "DeliveryResult": "segment_desktop.sandbox.delivery",
    "Fault": "segment_desktop.sandbox.faults",
    "FaultKind": "segment_desktop.sandbox.faults",
    "Faults": "segment_desktop.sandbox.faults",
}


def __getattr__(name: str) -> Any:
    module_name = _LAZY.get(name)
    if module_name is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module_name), name)
