"""SegmentClient against the Segment emulator on 127.0.0.1, plus answers it never gives
(400, 401) through ``httpx.MockTransport``."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import httpx
import pytest

from segment_desktop.core.errors import CallRejectedError, InvalidURLError, ServiceError
from segment_desktop.core.spec import MAX_BATCH_BYTES, MAX_CALL_BYTES, call_size
from segment_desktop.sandbox.runner import Sandbox
from segment_desktop.segment import (
    ENVELOPE_RESERVE,
    TEST_EVENT_NAME,
    SegmentClient,
    plan_batches,
)

FAST = httpx.Timeout(2.0, connect=1.0)


class Sleeps(list[float]):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def track(n: int, pad: int = 0) -> dict[str, Any]:
    call: dict[str, Any] = {
        "type": "track",
        "event": "Order Completed",
        "userId": f"user-{n}",
        "messageId": f"msg-{n}",
    }
    if pad:
        call["properties"] = {"pad": "x" * pad}
    return call


def sized(n: int, size: int) -> dict[str, Any]:
    """A call of exactly ``size`` bytes."""
    call = track(n, pad=1)
    call["properties"]["pad"] = "x" * (size - call_size(call) + 1)
    assert call_size(call) == size
    return call


def make(sandbox: Sandbox, **options: Any) -> SegmentClient:
    options.setdefault("timeout", FAST)
    options.setdefault("sleep", Sleeps())
    options.setdefault("backoff_base", 0.01)
    return SegmentClient(sandbox.segment_url, "/v1/batch", sandbox.write_key, **options)


@pytest.fixture
def segment(sandbox: Sandbox) -> Iterator[SegmentClient]:
    with make(sandbox) as client:
        yield client


def recording(status: int, body: bytes | dict[str, Any]) -> tuple[httpx.MockTransport, list[bytes]]:
    seen: list[bytes] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.content)
        if isinstance(body, dict):
            return httpx.Response(status, json=body)
        return httpx.Response(status, content=body)

    return httpx.MockTransport(handler), seen


# -- batching ----------------------------------------------------------------------------------


def test_at_most_2500_calls_per_batch_in_order() -> None:
    calls = [track(i) for i in range(5001)]
    batches = plan_batches(calls)
    assert [len(b) for b in batches] == [2500, 2500, 1]
    assert [c for b in batches for c in b] == calls
    assert plan_batches(calls[:2500]) == [calls[:2500]]
    assert plan_batches([]) == []


def test_batches_fill_up_to_exactly_the_byte_budget() -> None:
    budget = MAX_BATCH_BYTES - ENVELOPE_RESERVE
    calls = [sized(i, 31_700) for i in range(16)]
    last = budget - 16 * 31_700 - 16  # the 16 commas
    exactly = [*calls, sized(99, last)]
    assert len(plan_batches(exactly)) == 1
    one_byte_more = [*calls, sized(99, last + 1)]
    assert [len(b) for b in plan_batches(one_byte_more)] == [16, 1]


def test_segment_limits_are_counted_in_kib_as_its_libraries_count_them() -> None:
    assert (MAX_CALL_BYTES, MAX_BATCH_BYTES) == (32 * 1024, 500 * 1024)


def test_a_full_batch_on_the_wire_stays_within_500_kib() -> None:
    budget = MAX_BATCH_BYTES - ENVELOPE_RESERVE
    calls = [*(sized(i, 31_700) for i in range(16)), sized(99, budget - 16 * 31_700 - 16)]
    transport, seen = recording(200, {"success": True})
    with SegmentClient(write_key="k" * 32, transport=transport) as client:
        assert client.send(calls).all_sent
    assert len(seen) == 1 and 500_000 < len(seen[0]) <= MAX_BATCH_BYTES


def test_an_oversize_call_is_refused_before_sending(
    sandbox: Sandbox, segment: SegmentClient
) -> None:
    big = sized(7, MAX_CALL_BYTES + 1)
    assert plan_batches([track(1), big, track(2)]) == [[track(1)], [big], [track(2)]]
    with pytest.raises(CallRejectedError) as caught:
        segment.send_batch([big])
    assert "msg-7" in str(caught.value) and f"{MAX_CALL_BYTES + 1:,} bytes" in str(caught.value)
    assert sandbox.segment.received_batches == []

    report = segment.send([track(1), big, track(2)])
    assert [r.call["messageId"] for r in report.refused] == ["msg-7"]
    assert [c["messageId"] for c in sandbox.segment.received_calls()] == ["msg-1", "msg-2"]
    assert not report.all_sent and "1 refused before sending" in report.summary()


def test_many_calls_arrive_in_several_batches(sandbox: Sandbox, segment: SegmentClient) -> None:
    calls = [track(i) for i in range(2600)]
    report = segment.send(calls)
    assert report.all_sent and len(report.outcomes) == 2
    assert [len(b.calls) for b in sandbox.segment.received_batches] == [2500, 100]
    assert sandbox.segment.received_calls() == calls


# -- the request ---------------------------------------------------------------------------------


def test_basic_auth_write_key_in_body_and_sent_at(sandbox: Sandbox, segment: SegmentClient) -> None:
    outcome = segment.send_batch([track(1)])
    assert outcome.ok and outcome.attempts == 1 and outcome.status_code == 200
    (batch,) = sandbox.segment.received_batches
    assert batch.write_key == sandbox.write_key
    assert batch.body_write_key == sandbox.write_key
    assert batch.sent_at is not None and batch.sent_at.endswith("Z")
    assert datetime.fromisoformat(batch.sent_at).utcoffset() is not None


# -- retries -------------------------------------------------------------------------------------


def test_429_waits_for_retry_after_then_sends(sandbox: Sandbox) -> None:
    sandbox.segment.faults.rate_limit(prefix="/v1", retry_after=3)
    sleeps = Sleeps()
    with make(sandbox, sleep=sleeps) as client:
        outcome = client.send_batch([track(1)])
    assert outcome.ok and outcome.attempts == 2
    assert len(sleeps) == 1 and 3.0 <= sleeps[0] <= 3.5
    assert len(sandbox.segment.received_calls()) == 1


def test_a_very_long_retry_after_is_handed_back_not_slept(sandbox: Sandbox) -> None:
    sandbox.segment.faults.rate_limit(prefix="/v1", retry_after=600)
    sleeps = Sleeps()
    with make(sandbox, sleep=sleeps) as client:
        outcome = client.send_batch([track(1)])
    assert outcome.status == "failed" and outcome.retry_after == 600 and sleeps == []
    assert outcome.calls == [track(1)]


def test_500_is_retried_with_growing_backoff_then_succeeds(sandbox: Sandbox) -> None:
    sandbox.segment.faults.server_error(prefix="/v1", count=2, status=500)
    sleeps = Sleeps()
    with make(sandbox, sleep=sleeps, backoff_base=1.0) as client:
        outcome = client.send_batch([track(1)])
    assert outcome.ok and outcome.attempts == 3
    assert len(sleeps) == 2 and 0.5 <= sleeps[0] <= 1.0 and 1.0 <= sleeps[1] <= 2.0
    assert len(sandbox.segment.received_calls()) == 1


def test_backoff_is_capped(sandbox: Sandbox) -> None:
    sandbox.segment.faults.server_error(prefix="/v1", count=6)
    sleeps = Sleeps()
    with make(sandbox, sleep=sleeps, backoff_base=1.0, backoff_cap=2.0, max_attempts=7) as client:
        assert client.send_batch([track(1)]).ok
    assert max(sleeps) <= 2.0 and len(sleeps) == 6


def test_400_is_rejected_at_once_with_segments_reason() -> None:
    transport, seen = recording(400, {"success": False, "message": "Invalid JSON."})
    sleeps = Sleeps()
    with SegmentClient(write_key="k" * 32, transport=transport, sleep=sleeps) as client:
        outcome = client.send_batch([track(1)])
    assert outcome.status == "rejected" and outcome.status_code == 400
    assert outcome.reason.startswith("400") and "Invalid JSON." in outcome.reason
    assert len(seen) == 1 and sleeps == []


def test_the_write_key_never_appears_in_a_reason() -> None:
    key = "Sup3rS3cretWriteKey0123456789abc"
    transport, _ = recording(401, f"bad key {key}".encode())
    with SegmentClient(write_key=key, transport=transport) as client:
        outcome = client.send_batch([track(1)])
        report = client.check_connection()
    assert outcome.status == "rejected" and key not in outcome.reason
    assert "[write key]" in outcome.reason
    assert key not in report.summary and key not in repr(client)


def test_retries_exhausted_keep_every_call_and_stop_early(sandbox: Sandbox) -> None:
    sandbox.segment.faults.server_error(prefix="/v1", count=100)
    calls = [track(i) for i in range(2600)]
    with make(sandbox, max_attempts=3) as client:
        report = client.send(calls)
    assert not report.all_sent and report.sent_calls == []
    assert report.failed_calls == calls  # nothing silently dropped
    first, second = report.outcomes
    assert first.attempts == 3 and first.status_code == 503
    assert second.attempts == 0 and "not tried" in second.reason
    assert "2600 not sent yet" in report.summary()
    assert sandbox.segment.received_batches == []


def test_unreachable_segment_is_a_failure_with_the_reason(unused_port: int) -> None:
    with SegmentClient(
        f"http://127.0.0.1:{unused_port}", write_key="k" * 32, max_attempts=2, sleep=Sleeps()
    ) as client:
        outcome = client.send_batch([track(1)])
    assert outcome.status == "failed" and outcome.status_code is None and outcome.attempts == 2
    assert "refused the connection" in outcome.reason


def test_every_call_is_accounted_for(sandbox: Sandbox) -> None:
    calls = [track(1), sized(2, 40_000), track(3)]
    sandbox.segment.faults.server_error(prefix="/v1", count=100)
    with make(sandbox, max_attempts=1) as client:
        report = client.send(calls)
    accounted = report.sent_calls + report.rejected_calls + report.failed_calls
    accounted += [r.call for r in report.refused]
    assert sorted(c["messageId"] for c in accounted) == ["msg-1", "msg-2", "msg-3"]


# -- URLs ------------------------------------------------------------------------------------------


def test_plain_http_to_segment_is_refused() -> None:
    with pytest.raises(InvalidURLError, match="https://"):
        SegmentClient("http://api.segment.io", write_key="k" * 32)


def test_a_pasted_endpoint_is_accepted_and_a_foreign_path_explained() -> None:
    client = SegmentClient("https://api.segment.io/v1/batch/", write_key="k" * 32)
    assert str(client.url) == "https://api.segment.io/v1/batch"
    client.close()
    with pytest.raises(InvalidURLError, match="Enter only the Segment host"):
        SegmentClient("https://api.segment.io/v2/things", write_key="k" * 32)


def test_no_write_key_is_a_clear_error() -> None:
    with pytest.raises(ServiceError, match="No Segment write key"):
        SegmentClient(write_key="  ")


# -- connection check and test event -------------------------------------------------------------


def test_connection_check_against_segment(sandbox: Sandbox, segment: SegmentClient) -> None:
    report = segment.check_connection()
    assert report.ok and report.status_code == 200 and report.warnings == []
    assert "does not validate write keys" in report.summary
    assert sandbox.segment.received_calls() == []  # an empty batch: no data sent


def test_connection_check_warns_about_an_odd_key_shape(sandbox: Sandbox) -> None:
    with SegmentClient(sandbox.segment_url, write_key="short-key", timeout=FAST) as client:
        report = client.check_connection()
    assert report.ok
    assert any("9 characters" in w for w in report.warnings)
    assert "9 characters" in report.summary and "does not validate" in report.summary


def test_connection_check_with_a_wrong_path(sandbox: Sandbox) -> None:
    with SegmentClient(sandbox.segment_url, "/v2/batch", sandbox.write_key) as client:
        report = client.check_connection()
    assert report.reachable and not report.answers_like_segment and not report.ok
    assert report.status_code == 404 and "/v1/batch" in report.summary


def test_connection_check_spots_something_that_is_not_segment(sandbox: Sandbox) -> None:
    sandbox.segment.faults.malformed(prefix="/v1")
    with make(sandbox) as client:
        report = client.check_connection()
    assert report.reachable and not report.answers_like_segment
    assert "not like Segment" in report.summary


def test_connection_check_when_unreachable(unused_port: int) -> None:
    with SegmentClient(f"http://127.0.0.1:{unused_port}", write_key="k" * 32) as client:
        report = client.check_connection()
    assert not report.reachable and not report.ok
    assert "Could not reach Segment" in report.summary and "refused" in report.summary


def test_test_event_is_clearly_named(sandbox: Sandbox, segment: SegmentClient) -> None:
    outcome = segment.send_test_event("tester-1")
    assert outcome.ok
    (call,) = sandbox.segment.received_calls()
    assert call["type"] == "track" and call["event"] == TEST_EVENT_NAME
    assert call["userId"] == "tester-1"
    assert call["messageId"].startswith("segment-desktop-test-")
    assert call["context"]["library"]["name"] == "segment-desktop"
    assert call["timestamp"].endswith("Z")
    assert sandbox.segment.discarded_calls() == []
    assert json.loads(json.dumps(call)) == outcome.calls[0]


@pytest.fixture
def unused_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


def test_calls_sent_pre_encoded_arrive_as_they_were(
    sandbox: Sandbox, segment: SegmentClient
) -> None:
    calls = [track(1), track(2) | {"properties": {"name": "Thé ✓"}}]
    texts = [json.dumps(c, separators=(",", ":"), ensure_ascii=False) for c in calls]
    outcome = segment.send_encoded_batch(texts)
    assert outcome.ok and outcome.calls == []
    (batch,) = sandbox.segment.received_batches
    assert batch.body_write_key == sandbox.write_key and batch.sent_at is not None
    assert sandbox.segment.received_calls() == calls


def test_a_pre_encoded_call_over_the_limit_is_refused_before_sending(
    sandbox: Sandbox, segment: SegmentClient
) -> None:
    big = sized(7, MAX_CALL_BYTES + 1)
    with pytest.raises(CallRejectedError, match=f"{MAX_CALL_BYTES + 1:,} bytes"):
        segment.send_encoded_batch([json.dumps(big, separators=(",", ":"))])
    assert sandbox.segment.received_batches == []
