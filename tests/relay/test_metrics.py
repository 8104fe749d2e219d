"""The relay's metrics through prometheus-client: histograms, per-minute series, the journal."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from segment_desktop.core.config import Config
from segment_desktop.relay.journal import SENT, Journal
from segment_desktop.relay.metrics import HISTORY_MINUTES, Metrics
from segment_desktop.relay.records import EncodedCall, OutboxCall, TemplateFailure
from segment_desktop.relay.server import RelayServer
from segment_desktop.sandbox.runner import Sandbox
from tests.relay.helpers import WEBHOOK_SECRET, WRITE_KEY, post, sample_body, wait_for

BROKEN = '{"type": "track", "event": $undefinedFunction()}'


@pytest.fixture
def relay(sandbox: Sandbox, tmp_path: Path) -> Iterator[RelayServer]:
    config = Config.default()
    config.segment.host = sandbox.segment_url
    config.template_overrides["order_cancelled"] = BROKEN
    server = RelayServer.start(config, WRITE_KEY, WEBHOOK_SECRET, tmp_path / "data")
    yield server
    server.stop()


def _samples(text: str) -> dict[str, float]:
    return {
        line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line and not line.startswith("#")
    }


def test_histograms_count_each_ack_render_and_send(relay: RelayServer) -> None:
    for n in range(3):
        assert post(relay.webhook_url, sample_body("order.paid", f"evt-h{n}")).status_code == 200
    metrics = relay.relay.metrics
    wait_for(lambda: metrics.get("sent") == metrics.get("rendered") >= 3, what="all sent")
    values = _samples(httpx.get(relay.url + "/metrics").text)
    assert values["segment_desktop_relay_webhook_ack_seconds_count"] == 3
    assert values["segment_desktop_relay_render_seconds_count"] == 3
    assert values["segment_desktop_relay_segment_send_seconds_count"] >= 1
    assert values['segment_desktop_relay_webhook_ack_seconds_bucket{le="+Inf"}'] == 3
    assert 0 < values["segment_desktop_relay_webhook_ack_seconds_sum"] < 30
    assert values["segment_desktop_relay_received_total"] == 3
    # The dashboard's numbers are the exposition's numbers.
    assert metrics.histogram("webhook_ack")[0] == 3
    assert metrics.get("sent") == values["segment_desktop_relay_sent_total"]


def test_journal_keeps_webhook_calls_and_segments_answer(relay: RelayServer) -> None:
    journal = relay.relay.metrics.journal
    post(relay.webhook_url, sample_body("order.paid", "evt-j0"))
    assert journal.recent() == []  # keeps nothing until asked (a relay on a server)
    journal.keep()
    body = sample_body("order.paid", "evt-j1")
    post(relay.webhook_url, body)
    post(relay.webhook_url, sample_body("order.cancelled", "evt-j2"))

    def delivered() -> bool:
        entries = {e.event_id: e for e in journal.recent()}
        return "evt-j1" in entries and entries["evt-j1"].result == "delivered"

    wait_for(delivered, what="evt-j1 delivered")
    entries = {e.event_id: e for e in journal.recent()}
    paid = entries["evt-j1"]
    assert paid.body == body and paid.triggered_by == "order.paid"
    assert paid.calls and all(c.answer == SENT for c in paid.calls)
    assert json.loads(paid.calls[0].text)["event"] == "Order Completed"
    cancelled = entries["evt-j2"]
    assert cancelled.result == "failed" and cancelled.outcome == "template_error"
    assert cancelled.template_errors[0][0] == "order_cancelled"
    timeline = relay.relay.metrics.timeline(60)
    assert sum(timeline.counts["received"]) == 3
    assert sum(timeline.counts["failed"]) == 1
    assert sum(timeline.counts["sent"]) == 2 * len(paid.calls)


def test_timeline_is_per_minute_and_forgets_after_a_day() -> None:
    now = [10_000 * 60.0]
    metrics = Metrics(clock=lambda: now[0])
    metrics.add("received", 2)
    metrics.add("parked")
    now[0] += 61
    metrics.add("sent", 5)
    metrics.add("template_errors", 2)
    timeline = metrics.timeline(3)
    assert timeline.counts == {"received": [0, 2, 0], "sent": [0, 0, 5], "failed": [0, 1, 2]}
    assert timeline.minutes[-1] - timeline.minutes[-2] == 60
    now[0] += HISTORY_MINUTES * 60
    metrics.add("received")
    day = metrics.timeline(HISTORY_MINUTES)
    assert sum(day.counts["received"]) == 1 and sum(day.counts["sent"]) == 0
    with pytest.raises(KeyError):
        metrics.add("nonsense")


def test_journal_is_bounded_and_a_replayed_call_joins_its_event() -> None:
    journal = Journal(capacity=2, max_bytes=100)
    failure = TemplateFailure("order_completed", {"code": "T1006", "message": "boom", "line": 1})
    journal.webhook("e1", "order.paid", b"{}", "template_error", (), (failure,))
    assert journal.recent()[0].template_errors == (
        ("order_completed", "T1006: boom (line 1, column None)"),
    )
    replayed = OutboxCall(1, "e1", "order_completed", "m1", '{"type":"track"}', 16, 0, 0.0)
    journal.answered([replayed], SENT)
    entry = journal.recent()[0]
    assert entry.result == "delivered" and entry.calls[0].message_id == "m1"
    journal.webhook("e2", "order.paid", b"{}", "queued", [EncodedCall("k", "m2", "{}")])
    journal.webhook("e3", "order.paid", b"{}", "queued", [EncodedCall("k", "m3", "{}")])
    assert [e.event_id for e in journal.recent()] == ["e3", "e2"]
    assert journal.recent()[0].result == "waiting"
    journal.webhook("e4", "order.paid", b"x" * 99, "queued")
    assert [e.event_id for e in journal.recent()] == ["e4"]  # over 100 bytes: older ones go
