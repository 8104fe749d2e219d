"""Delivery to the Segment emulator: outages, Retry-After, batch limits, refused calls."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from segment_desktop.core.config import Config
from segment_desktop.core.spec import MAX_CALL_BYTES
from segment_desktop.relay.metrics import Metrics
from segment_desktop.relay.outbox import Outbox
from segment_desktop.relay.parked import parked
from segment_desktop.relay.records import EventRecord, NewCall, OutboxCall
from segment_desktop.relay.sender import Sender, split_batches
from segment_desktop.relay.server import RelayServer
from segment_desktop.sandbox.runner import Sandbox
from segment_desktop.segment.batches import ENVELOPE_RESERVE, BatchLimits
from tests.relay.helpers import WEBHOOK_SECRET, WRITE_KEY, post, sample_body, wait_for


def _server(sandbox: Sandbox, data: Path) -> RelayServer:
    config = Config.default()
    config.segment.host = sandbox.segment_url
    return RelayServer.start(config, WRITE_KEY, WEBHOOK_SECRET, data, backoff_first=0.05)


@pytest.fixture
def relay(sandbox: Sandbox, tmp_path: Path) -> Iterator[RelayServer]:
    server = _server(sandbox, tmp_path / "data")
    yield server
    server.stop()


def _received_at(batch: object) -> float:
    return datetime.fromisoformat(batch.received_at).timestamp()  # type: ignore[attr-defined]


def test_outage_then_rate_limit_delivers_everything_within_limits(
    relay: RelayServer, sandbox: Sandbox
) -> None:
    sandbox.segment.faults.server_error("/v1/batch", count=3, status=500)
    sandbox.segment.faults.server_error("/v1/batch", count=1, status=503)
    sandbox.segment.faults.rate_limit("/v1/batch", count=2, retry_after=0.5)
    big = "order.paid.50-items"
    ids = [f"out-{n}" for n in range(60)]
    for n, event_id in enumerate(ids):
        name = big if n % 4 == 0 else None
        answer = post(relay.webhook_url, sample_body("order.paid", event_id, name))
        assert answer.json()["status"] == "queued"
    wait_for(lambda: relay.relay.outbox.stats().pending == 0, timeout=40, what="outbox empty")
    assert sandbox.segment.faults.pending() == []  # every fault was hit
    received = sandbox.segment.received_calls()
    assert sorted(c["messageId"] for c in received) == sorted(
        f"sd-{i}-order_completed-0" for i in ids
    )
    assert sandbox.segment.rejected == []
    for batch in sandbox.segment.received_batches:
        size = len(json.dumps({"batch": batch.calls}, separators=(",", ":")).encode())
        assert len(batch.calls) <= 2_500 and size <= 475_000
    assert relay.relay.metrics.get("retried") >= 6
    assert relay.relay.metrics.get("sent") == len(ids)


def test_calls_arriving_together_share_a_batch_and_a_lone_one_goes_at_once(
    relay: RelayServer, sandbox: Sandbox
) -> None:
    # A long linger tells the two behaviours apart however slow the machine is: a lone call
    # that waited for company would arrive after it, and a burst behind it shares one window.
    linger = 3.0
    relay.relay.sender.linger = linger
    started = time.time()
    post(relay.webhook_url, sample_body("customer.created", "lone-1"))
    wait_for(lambda: len(sandbox.segment.received_batches) == 1, timeout=5)
    assert _received_at(sandbox.segment.received_batches[0]) - started < linger  # no linger first
    for n in range(10):  # while the sender lingers after that first batch
        post(relay.webhook_url, sample_body("customer.created", f"burst-{n}"))
    metrics = relay.relay.metrics
    wait_for(lambda: metrics.get("sent") == metrics.get("rendered"), timeout=15, what="all sent")
    # the 10 deliveries, one after the other, go together at the end of the window
    assert len(sandbox.segment.received_batches) <= 3


def test_retry_after_is_honoured(relay: RelayServer, sandbox: Sandbox) -> None:
    sandbox.segment.faults.rate_limit("/v1/batch", count=1, retry_after=1.5)
    started = time.time()
    post(relay.webhook_url, sample_body("customer.created", "ra-1"))
    wait_for(lambda: len(sandbox.segment.received_batches) == 1, timeout=10)
    assert _received_at(sandbox.segment.received_batches[0]) - started >= 1.4


def test_stop_keeps_what_segment_did_not_take(sandbox: Sandbox, tmp_path: Path) -> None:
    server = _server(sandbox, tmp_path / "data")
    sandbox.segment.faults.server_error("/v1/batch", count=1000)
    post(server.webhook_url, sample_body("order.paid", "kept-1"))
    wait_for(lambda: server.relay.metrics.get("retried") >= 1)
    started = time.monotonic()
    server.stop()
    assert time.monotonic() - started < 8  # bounded flush
    sandbox.segment.faults.clear()
    again = _server(sandbox, tmp_path / "data")
    try:
        wait_for(lambda: len(sandbox.segment.received_calls()) == 1)
    finally:
        again.stop()
    assert sandbox.segment.received_calls()[0]["messageId"] == "sd-kept-1-order_completed-0"


def _call(n: int, size: int) -> OutboxCall:
    return OutboxCall(n, "e", "k", f"m{n}", "{}", size, 0, 0.0)


def test_split_batches_respects_count_and_bytes() -> None:
    calls = [_call(n, 30_000) for n in range(40)]
    batches = split_batches(calls, BatchLimits(calls=2_500, bytes=475_000))
    assert [c.id for b in batches for c in b] == list(range(40))
    for batch in batches:
        assert ENVELOPE_RESERVE + sum(c.size + 1 for c in batch) <= 475_000
    assert len(batches) == 3
    small = split_batches([_call(n, 10) for n in range(6_000)])
    assert [len(b) for b in small] == [2_500, 2_500, 1_000]


def test_a_call_over_segments_limit_makes_a_batch_of_its_own() -> None:
    calls = [_call(0, 10), _call(1, MAX_CALL_BYTES + 1), _call(2, 10), _call(3, 10)]
    assert [[c.id for c in b] for b in split_batches(calls)] == [[0], [1], [2, 3]]


def test_a_refused_call_is_parked_alone(sandbox: Sandbox, tmp_path: Path) -> None:
    """A batch holding one call Segment refuses (over 32 KB) is split; only that call is parked.

    (The renderer's checks keep such calls out of the outbox; this guards the sender itself.)
    """
    from segment_desktop.segment import SegmentClient

    outbox = Outbox.in_dir(tmp_path)
    good = [
        NewCall("k", {"type": "track", "userId": "u", "event": "E", "messageId": f"g{n}"})
        for n in range(9)
    ]
    too_big = NewCall("k", {"type": "track", "userId": "u", "event": "E", "messageId": "bad",
                            "properties": {"blob": "x" * 40_000}})  # fmt: skip
    outbox.record([EventRecord("e1", "order.paid", {}, [*good[:4], too_big, *good[4:]])])
    metrics = Metrics()
    client = SegmentClient(sandbox.segment_url, "/v1/batch", WRITE_KEY)
    sender = Sender(outbox, client, metrics, backoff_first=0.05)
    sender.start()
    try:
        wait_for(lambda: outbox.stats().pending == 0, timeout=20)
    finally:
        sender.stop(1.0)
        client.close()
    (refused,) = parked(outbox)
    assert refused.kind == "rejected" and f"{MAX_CALL_BYTES:,} bytes" in refused.reason
    assert sorted(c["messageId"] for c in sandbox.segment.received_calls()) == sorted(
        f"g{n}" for n in range(9)
    )
    assert metrics.get("parked") == 1 and metrics.get("sent") == 9
    outbox.close()


def test_the_sender_keeps_the_wal_checkpointed_while_the_relay_runs(
    relay: RelayServer, sandbox: Sandbox
) -> None:
    """No connection checkpoints by itself (it would do so inside a commit, holding up the
    intake): the sender's loop does, so the data reach the database file while the relay runs."""
    database = relay.relay.outbox.path
    before = database.stat().st_size
    for n in range(40):
        assert post(relay.webhook_url, sample_body("order.paid", f"ckpt-{n}")).status_code == 200
    wait_for(lambda: relay.relay.outbox.stats().pending == 0, what="everything sent")
    wait_for(lambda: database.stat().st_size > before, timeout=10, what="a checkpoint")
