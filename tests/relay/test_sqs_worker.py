"""The SQS worker against moto's SQS server and the Segment emulator, in this process."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from segment_desktop.core.errors import ConfigError
from segment_desktop.core.messages import message_id
from segment_desktop.relay.metrics import Metrics
from segment_desktop.relay.outbox import Outbox
from segment_desktop.relay.parked import parked as parked_items
from segment_desktop.relay.rendering import EventRenderer, TemplateConfig
from segment_desktop.relay.replay import replay_outbox
from segment_desktop.relay.sqs import MESSAGE_KEY, Worker
from segment_desktop.relay.sqs_queue import Queue, QueueSettings, check_queue, make_client
from segment_desktop.sandbox.runner import Sandbox
from segment_desktop.segment import SegmentClient
from tests.relay.helpers import ONE_CALL, WRITE_KEY, wait_for
from tests.relay.sqs_helpers import (
    ACCESS_KEY_ID,
    INTEGRATION_ID,
    REGION,
    SECRET_ACCESS_KEY,
    cloudevent,
    counts,
    make_queue,
    put,
)

TEMPLATES = TemplateConfig(
    {"customer_created": "customer.created", "order_completed": "order.paid"},
    {"customer_created": ONE_CALL},
)


class Setup:
    def __init__(self, endpoint: str, url: str, segment_url: str, data_dir: Path) -> None:
        settings = QueueSettings(url, REGION, endpoint, ACCESS_KEY_ID)
        self.queue = Queue(make_client(settings, SECRET_ACCESS_KEY), settings)
        self.outbox = Outbox.in_dir(data_dir)
        self.metrics = Metrics()
        self.client = SegmentClient(segment_url, "/v1/batch", WRITE_KEY, max_attempts=1)
        self.renderer = EventRenderer(TEMPLATES)

    def worker(self, **options: Any) -> Worker:
        options.setdefault("integration_ids", frozenset({INTEGRATION_ID}))
        options.setdefault("wait_seconds", 1)
        options.setdefault("backoff_first", 0.05)
        options.setdefault("backoff_cap", 0.1)
        return Worker(
            self.queue, self.queue.check(), self.renderer, self.client, self.outbox,
            self.metrics, **options,
        )  # fmt: skip

    def close(self) -> None:
        self.queue.close()
        self.client.close()
        self.outbox.close()


@pytest.fixture
def segment() -> Iterator[Sandbox]:
    running = Sandbox.start()
    try:
        yield running
    finally:
        running.stop()


def setup_for(moto_sqs: str, segment: Sandbox, tmp_path: Path, **queue: Any) -> tuple[Setup, str]:
    url, _ = make_queue(moto_sqs, **queue)
    return Setup(moto_sqs, url, segment.segment_url, tmp_path / "data"), url


def drain(worker: Worker, rounds: int = 10) -> None:
    for _ in range(rounds):
        if not worker.step():
            return


def test_events_reach_segment_with_the_webhooks_message_ids_and_leave_the_queue(
    moto_sqs: str, segment: Sandbox, tmp_path: Path
) -> None:
    setup, url = setup_for(moto_sqs, segment, tmp_path)
    ids = [f"evt-happy-{i}" for i in range(12)]
    put(moto_sqs, url, [json.dumps(cloudevent("customer.created", i)) for i in ids[:11]])
    put(moto_sqs, url, [json.dumps(cloudevent("order.paid", ids[11]))])
    worker = setup.worker()
    drain(worker)
    calls = segment.segment.received_calls()
    expected = {message_id(i, "customer_created", 0) for i in ids[:11]}
    expected.add(message_id(ids[11], "order_completed", 0))
    assert sorted(c["messageId"] for c in calls) == sorted(expected)
    order = next(c for c in calls if c["event"] == "Order Completed")
    assert order["properties"]["total"] > 0
    assert "products" not in order["properties"]  # the CloudEvent has no items
    assert counts(moto_sqs, url) == (0, 0)
    assert setup.metrics.get("sent") == 12 and setup.metrics.get("received") == 12
    setup.close()


def test_unusable_messages_are_parked_with_their_reason_and_the_rest_is_sent(
    moto_sqs: str, segment: Sandbox, tmp_path: Path
) -> None:
    setup, url = setup_for(moto_sqs, segment, tmp_path)
    foreign = cloudevent("customer.created", "evt-foreign")
    foreign["integrationid"] = "someone-elses-integration"
    webhook = {"id": "evt-hook", "triggered_by": "customer.created", "payload": {"data": {}}}
    put(moto_sqs, url, [
        "this is not JSON", json.dumps(webhook), json.dumps(foreign),
        json.dumps(cloudevent("customer.created", "evt-good")),
    ])  # fmt: skip
    worker = setup.worker()
    drain(worker)
    assert [c["messageId"] for c in segment.segment.received_calls()] == [
        message_id("evt-good", "customer_created", 0)
    ]
    parked = parked_items(setup.outbox)
    reasons = sorted(item.reason for item in parked)
    assert len(parked) == 3 and {item.template_key for item in parked} == {MESSAGE_KEY}
    assert any("not JSON" in r for r in reasons)
    assert any("webhook body, not a CloudEvent" in r for r in reasons)
    assert any("someone-elses-integration" in r for r in reasons)
    assert counts(moto_sqs, url) == (0, 0)  # off the queue only because they are kept here
    # `relay replay` cannot turn them into events: they stay parked, with their reasons.
    report = replay_outbox(setup.outbox, setup.renderer)
    assert sorted(i.reason for i in report.still_failing) == reasons
    setup.close()


def test_a_template_error_is_kept_for_replay_and_the_other_templates_calls_are_sent(
    moto_sqs: str, segment: Sandbox, tmp_path: Path
) -> None:
    setup, url = setup_for(moto_sqs, segment, tmp_path)
    broken = TemplateConfig(
        {"customer_created": "customer.created", "customer_updated": "customer.created"},
        {"customer_created": ONE_CALL, "customer_updated": '$error("no")'},
    )
    setup.renderer.update(broken)
    put(moto_sqs, url, [json.dumps(cloudevent("customer.created", "evt-tpl"))])
    drain(setup.worker())
    assert len(segment.segment.received_calls()) == 1
    [item] = parked_items(setup.outbox)
    assert (item.kind, item.event_id, item.template_key) == ("template_error", "evt-tpl",
                                                             "customer_updated")  # fmt: skip
    assert counts(moto_sqs, url) == (0, 0)
    fixed = TemplateConfig(broken.chosen, {**broken.overrides, "customer_updated": ONE_CALL})
    report = replay_outbox(setup.outbox, EventRenderer(fixed))
    assert (report.fixed_templates, report.queued_calls) == (1, 1)
    [call] = setup.outbox.claim(10)
    assert call.message_id == message_id("evt-tpl", "customer_updated", 0)  # as a first success
    setup.close()


def test_a_message_that_keeps_failing_goes_to_the_dead_letter_queue(
    moto_sqs: str, segment: Sandbox, tmp_path: Path
) -> None:
    setup, url = setup_for(moto_sqs, segment, tmp_path, max_receives=2)
    client_answer = setup.queue.client.get_queue_attributes(
        QueueUrl=url, AttributeNames=["RedrivePolicy"]
    )
    policy = json.loads(client_answer["Attributes"]["RedrivePolicy"])
    dlq_name = policy["deadLetterTargetArn"].rsplit(":", 1)[-1]
    dlq_url = setup.queue.client.get_queue_url(QueueName=dlq_name)["QueueUrl"]
    segment.segment.faults.server_error("/v1", count=1000)
    put(moto_sqs, url, [json.dumps(cloudevent("customer.created", "evt-dlq"))])
    worker = setup.worker()
    deadline = time.monotonic() + 20
    while counts(moto_sqs, dlq_url)[0] == 0:
        assert time.monotonic() < deadline, "the message never reached the dead-letter queue"
        worker.step()
        time.sleep(max(0.0, worker._paused_until - time.time()))
    assert counts(moto_sqs, url) == (0, 0)
    assert segment.segment.received_calls() == []
    assert setup.outbox.stats().pending == 0  # not parked here: the queue's DLQ has it
    setup.close()


def test_without_a_dead_letter_queue_a_failing_message_goes_to_the_local_outbox(
    moto_sqs: str, segment: Sandbox, tmp_path: Path
) -> None:
    setup, url = setup_for(moto_sqs, segment, tmp_path)
    segment.segment.faults.server_error("/v1", count=1000)
    put(moto_sqs, url, [json.dumps(cloudevent("customer.created", "evt-keep"))])
    handed = threading.Event()
    worker = setup.worker(park_after=3, on_handed_over=handed.set)
    deadline = time.monotonic() + 20
    while not handed.is_set():
        assert time.monotonic() < deadline
        worker.step()
        time.sleep(max(0.0, worker._paused_until - time.time()))
    assert counts(moto_sqs, url) == (0, 0)
    [call] = setup.outbox.claim(10)
    assert call.message_id == message_id("evt-keep", "customer_created", 0)
    setup.close()


def test_visibility_is_extended_while_segment_is_slow(
    moto_sqs: str, segment: Sandbox, tmp_path: Path
) -> None:
    """With a 2 s visibility timeout and a 5 s answer, no other worker gets the message."""
    setup, url = setup_for(moto_sqs, segment, tmp_path, visibility=2)
    segment.segment.faults.slow("/v1", count=1, delay=5)
    put(moto_sqs, url, [json.dumps(cloudevent("customer.created", "evt-slow"))])
    worker = setup.worker()
    other = Setup(moto_sqs, url, segment.segment_url, tmp_path / "other")
    thread = threading.Thread(target=worker.run)
    thread.start()
    wait_for(lambda: setup.metrics.get("received") == 1, what="the first worker's receive")
    stolen: list[Any] = []
    while setup.metrics.get("sent") == 0:
        stolen += other.queue.receive(wait_seconds=1)
    worker.stop()
    thread.join()
    assert stolen == []
    assert len(segment.segment.received_calls()) == 1
    assert counts(moto_sqs, url) == (0, 0)
    other.close()
    setup.close()


def test_a_queue_check_reports_its_settings_or_what_to_fix(moto_sqs: str) -> None:
    url, _ = make_queue(moto_sqs, visibility=45, max_receives=4)
    info = check_queue(QueueSettings(url, REGION, moto_sqs, ACCESS_KEY_ID), SECRET_ACCESS_KEY)
    assert (info.visibility_timeout, info.max_receives) == (45, 4)
    assert info.dead_letter_arn.endswith("-dlq")
    missing = QueueSettings(url + "-gone", REGION, moto_sqs, ACCESS_KEY_ID)
    with pytest.raises(ConfigError, match="There is no queue"):
        check_queue(missing, SECRET_ACCESS_KEY)


class RefusingSegment:
    """A Segment stand-in on 127.0.0.1 that answers 400 to any batch holding ``poison``, as
    Segment refuses a batch for its content, and 200 to the rest (keeping their bodies)."""

    def __init__(self, poison: bytes) -> None:
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        accepted: list[dict[str, Any]] = []
        self.accepted = accepted

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # the standard library's name
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                refused = poison in body
                if not refused:
                    accepted.extend(json.loads(body)["batch"])
                answer = b'{"success": false}' if refused else b'{"success": true}'
                self.send_response(400 if refused else 200)
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def test_calls_segment_refuses_go_to_the_local_outbox_and_their_neighbours_are_sent(
    moto_sqs: str, tmp_path: Path
) -> None:
    """One message's calls refused (400) in a batch of several: the batch is split, the others
    are sent, the refused ones wait in the outbox (its sender parks what Segment refuses)."""
    refusing = RefusingSegment(b"evt-poison")
    url, _ = make_queue(moto_sqs)
    setup = Setup(moto_sqs, url, refusing.url, tmp_path / "data")
    ids = ["evt-a", "evt-b", "evt-poison", "evt-c"]
    put(moto_sqs, url, [json.dumps(cloudevent("customer.created", i)) for i in ids])
    drain(setup.worker())
    sent = sorted(c["messageId"] for c in refusing.accepted)
    assert sent == sorted(message_id(i, "customer_created", 0) for i in ids if i != "evt-poison")
    [kept] = setup.outbox.claim(10)
    assert kept.message_id == message_id("evt-poison", "customer_created", 0)
    assert counts(moto_sqs, url) == (0, 0)
    setup.close()
    refusing.close()
