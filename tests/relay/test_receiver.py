"""The webhook receiver, in process (RelayServer on a real socket) against the Segment emulator."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from segment_desktop.core.config import Config
from segment_desktop.core.envelope import parse_event_text
from segment_desktop.core.render import Renderer
from segment_desktop.core.templates import TemplateSet
from segment_desktop.relay.server import RelayServer
from segment_desktop.relay.status import outbox_stats
from segment_desktop.sandbox.runner import Sandbox
from tests.relay.helpers import RUNAWAY, WEBHOOK_SECRET, WRITE_KEY, post, sample_body, wait_for


@pytest.fixture
def relay(sandbox: Sandbox, tmp_path: Path) -> Iterator[RelayServer]:
    config = Config.default()
    config.segment.host = sandbox.segment_url
    config.tracking["order_refunded"].enabled = False
    server = RelayServer.start(config, WRITE_KEY, WEBHOOK_SECRET, tmp_path / "data")
    yield server
    server.stop()


def _stored(relay: RelayServer) -> int:
    return outbox_stats(relay.relay.outbox.path.parent).events


@pytest.mark.parametrize("secret", [None, "", "wrong", WEBHOOK_SECRET + "x", WEBHOOK_SECRET[:-1]])
def test_missing_or_wrong_secret_is_401_and_stores_nothing(
    relay: RelayServer, secret: str | None
) -> None:
    answer = post(relay.webhook_url, sample_body("order.paid", "e-401"), secret=secret)
    assert answer.status_code == 401
    assert "X-MOLTIN-SECRET-KEY" in answer.json()["error"]
    assert WEBHOOK_SECRET not in answer.text
    assert _stored(relay) == 0


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"{not json", "not valid JSON"),
        (b"[1, 2]", "is a JSON object"),
        (b'{"id": "x", "payload": {}}', "triggered_by"),
        (b'{"triggered_by": "order.paid", "payload": {}}', 'no "id"'),
        (b'{"id": "\xc3\x28"}', "not UTF-8"),
        (b"", "not valid JSON"),
    ],
)
def test_not_a_commerce_event_is_400_with_the_reason(
    relay: RelayServer, body: bytes, reason: str
) -> None:
    answer = post(relay.webhook_url, body)
    assert answer.status_code == 400
    assert reason in answer.json()["error"]
    assert _stored(relay) == 0


def test_huge_body_is_413_with_or_without_content_length(relay: RelayServer) -> None:
    cap = relay.app.limits.max_body_bytes
    huge = b'{"id": "big", "triggered_by": "order.paid", "pad": "' + b"x" * cap + b'"}'
    assert post(relay.webhook_url, huge).status_code == 413

    def chunks() -> Iterator[bytes]:  # chunked: no Content-Length to trust
        for start in range(0, len(huge), 65536):
            yield huge[start : start + 65536]

    answer = httpx.post(
        relay.webhook_url,
        content=chunks(),
        headers={"X-MOLTIN-SECRET-KEY": WEBHOOK_SECRET},
        timeout=10,
    )
    assert answer.status_code == 413
    assert _stored(relay) == 0


def test_a_body_cut_short_by_the_sender_stores_nothing(relay: RelayServer) -> None:
    """The sender promised more bytes than it sent, then hung up: what came is a whole event,
    but the delivery did not complete, so it must not be stored (Commerce sends it again)."""
    body = sample_body("order.paid", "e-cut")
    host, port = relay.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        head = (
            f"POST /webhooks/commerce HTTP/1.1\r\nHost: {host}\r\n"
            f"X-MOLTIN-SECRET-KEY: {WEBHOOK_SECRET}\r\nContent-Length: {len(body) + 100}\r\n\r\n"
        )
        sock.sendall(head.encode() + body)
        time.sleep(0.2)  # the relay has read all of it and waits for the rest
    assert post(relay.webhook_url, sample_body("order.paid", "e-whole")).status_code == 200
    wait_for(lambda: relay.app.in_flight == 0, what="the cut delivery to end")
    assert _stored(relay) == 1  # the whole one only


def test_same_event_twice_gives_one_set_of_calls(relay: RelayServer, sandbox: Sandbox) -> None:
    body = sample_body("order.paid", "evt-twice")
    first = post(relay.webhook_url, body)
    second = post(relay.webhook_url, body.replace(b'"attempt": 1', b'"attempt": 2'))
    assert first.json()["status"] == "queued"
    assert second.json()["status"] == "duplicate"
    event = parse_event_text(body)
    expected = Renderer().render_event(event, TemplateSet(), {"order_completed": "order.paid"})
    wait_for(lambda: len(sandbox.segment.received_calls()) >= len(expected.calls))
    relay.stop()  # flushes; nothing more may arrive
    assert sandbox.segment.received_calls() == expected.calls
    assert relay.relay.metrics.get("duplicates") == 1


def test_event_no_template_tracks_is_acknowledged_not_stored(
    relay: RelayServer, sandbox: Sandbox
) -> None:
    answer = post(relay.webhook_url, sample_body("order.refunded", "evt-off"))
    assert answer.status_code == 200
    assert answer.json()["status"] == "ignored"
    assert _stored(relay) == 0
    assert relay.relay.metrics.get("ignored") == 1


def test_concurrent_duplicates_store_one(relay: RelayServer, sandbox: Sandbox) -> None:
    import concurrent.futures

    body = sample_body("customer.created", "evt-race")
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda _: post(relay.webhook_url, body), range(8)))
    statuses = sorted(a.json()["status"] for a in answers)
    assert statuses == ["duplicate"] * 7 + ["queued"]
    wait_for(lambda: len(sandbox.segment.received_calls()) >= 1)
    relay.stop()
    ids = [c["messageId"] for c in sandbox.segment.received_calls()]
    assert len(ids) == len(set(ids)) >= 1


def test_metrics_and_healthz(relay: RelayServer, sandbox: Sandbox) -> None:
    post(relay.webhook_url, sample_body("order.paid", "evt-m"))
    post(relay.webhook_url, b"nope")
    post(relay.webhook_url, b"{}", secret="bad")
    wait_for(lambda: relay.relay.metrics.get("sent") >= 1)
    text = httpx.get(relay.url + "/metrics").text
    values = {
        line.split()[0]: float(line.split()[1])
        for line in text.splitlines()
        if line and not line.startswith("#")
    }
    assert values["segment_desktop_relay_received_total"] == 1
    assert values["segment_desktop_relay_rendered_total"] >= 1
    assert (
        values["segment_desktop_relay_sent_total"] == values["segment_desktop_relay_rendered_total"]
    )
    assert values["segment_desktop_relay_invalid_total"] == 1
    assert values["segment_desktop_relay_unauthorized_total"] == 1
    assert values["segment_desktop_relay_outbox_depth"] == 0
    assert values["segment_desktop_relay_in_flight"] == 0
    assert "segment_desktop_relay_oldest_pending_age_seconds" in values
    health = httpx.get(relay.url + "/healthz")
    assert health.status_code == 200
    assert health.json()["engine"] == Renderer().engine_name
    assert httpx.get(relay.webhook_url).status_code == 405


def test_acks_fast_while_segment_is_slow(relay: RelayServer, sandbox: Sandbox) -> None:
    sandbox.segment.faults.slow("/v1/batch", count=3, delay=2.0)
    for n in range(20):
        answer = post(relay.webhook_url, sample_body("order.paid", f"evt-slow-{n}"))
        assert answer.status_code == 200
        assert answer.elapsed.total_seconds() < 1.0
    wait_for(lambda: relay.relay.outbox.stats().pending == 0, timeout=30)
    assert len({c["messageId"] for c in sandbox.segment.received_calls()}) == 20


def test_stored_body_never_keeps_the_webhook_secret(relay: RelayServer) -> None:
    """A template error keeps the body for replay; the echoed ``configuration`` is dropped."""
    body = json.loads(sample_body("order.paid", "evt-secret"))
    body["configuration"] = {"url": relay.webhook_url, "secret_key": WEBHOOK_SECRET}
    relay.update_templates(_broken_order_completed(relay))
    answer = post(relay.webhook_url, json.dumps(body).encode())
    assert answer.json()["status"] == "template_error"
    relay.stop()
    files = relay.relay.outbox.path.parent.glob("relay-outbox.sqlite3*")
    raw = b"".join(f.read_bytes() for f in files)
    assert WEBHOOK_SECRET.encode() not in raw
    assert b"evt-secret" in raw


def _broken_order_completed(relay: RelayServer) -> Config:
    config = Config.default()
    config.template_overrides = {"order_completed": '{"type": "track", "event": $nope('}
    return config


def test_overload_answers_503_quickly_and_stores_nothing(sandbox: Sandbox, tmp_path: Path) -> None:
    import threading
    import time

    config = Config.default()
    config.segment.host = sandbox.segment_url
    # Rendering this runs to the relay's time limit: the delivery stays in flight meanwhile.
    config.template_overrides = {"order_completed": RUNAWAY}
    server = RelayServer.start(
        config, WRITE_KEY, WEBHOOK_SECRET, tmp_path / "data", max_in_flight=1
    )
    held: list[httpx.Response] = []
    first = threading.Thread(
        target=lambda: held.append(post(server.webhook_url, sample_body("order.paid", "evt-held")))
    )
    try:
        first.start()
        wait_for(lambda: server.app.in_flight == 1)
        started = time.monotonic()
        busy = post(server.webhook_url, sample_body("customer.created", "evt-busy"))
        assert busy.status_code == 503 and busy.headers["retry-after"] == "5"
        assert time.monotonic() - started < 1.0
        first.join(20)
        assert held[0].status_code == 200 and held[0].json()["status"] == "template_error"
        assert (
            post(server.webhook_url, sample_body("customer.created", "evt-busy")).json()["status"]
            == "queued"
        )  # not stored the first time: the retry is not a duplicate
    finally:
        server.stop()
    assert server.relay.metrics.get("overloaded") == 1
