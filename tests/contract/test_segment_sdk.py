"""Segment's official Python library against the Segment emulator: every call arrives as sent.

The library is what Segment's own users send with, so whatever it sends, the emulator must take
as the real API does (200, each call kept as it came).
"""

from __future__ import annotations

import json
from typing import Any

from segment.analytics import Client
from segment.analytics.request import DatetimeSerializer

from segment_desktop.sandbox.runner import Sandbox


def _as_sent(message: dict[str, Any]) -> dict[str, Any]:
    """The message as the library puts it on the wire (its own JSON encoder)."""
    sent: dict[str, Any] = json.loads(json.dumps(message, cls=DatetimeSerializer))
    return sent


def test_identify_track_page_group_and_alias_arrive_as_sent(sandbox: Sandbox) -> None:
    errors: list[Exception] = []
    client = Client(
        sandbox.write_key,
        host=sandbox.segment_url,
        sync_mode=True,  # one request per call, answered before the call returns
        on_error=lambda error, _batch: errors.append(error),
    )
    results = [
        client.identify("user-1", {"email": "ada@example.com", "name": "Ada"}),
        client.track("user-1", "Order Completed", {"order_id": "o-1", "revenue": 27.5}),
        client.page("user-1", "Shop", "Checkout", {"url": "https://shop.example/checkout"}),
        client.group("user-1", "group-7", {"name": "Example Ltd"}),
        client.alias("user-1", "anonymous-9"),
    ]
    assert errors == []
    assert all(ok for ok, _ in results)
    sent = [_as_sent(message) for _, message in results]
    received = sandbox.segment.received_calls()
    assert received == sent
    assert [c["type"] for c in received] == ["identify", "track", "page", "group", "alias"]
    assert {b.write_key for b in sandbox.segment.received_batches} == {sandbox.write_key}
    assert sandbox.segment.discarded_calls() == []
