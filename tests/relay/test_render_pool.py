"""Parsing and rendering in render processes: the same answers and the same outbox as threads,
template updates that reach the workers, a worker dying, and no worker outliving its relay."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sqlite3
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest

from segment_desktop.core.config import Config, ConfigStore
from segment_desktop.core.messages import message_id
from segment_desktop.core.samples import list_samples
from segment_desktop.relay.outbox import OUTBOX_FILENAME
from segment_desktop.relay.server import RelayServer
from segment_desktop.sandbox.runner import Sandbox
from tests.relay.helpers import (
    WEBHOOK_SECRET,
    WRITE_KEY,
    RelayProcess,
    alive,
    free_port,
    post,
    process,
    relay_env,
    sample_body,
    save_config,
    wait_for,
)

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux /proc")

BROKEN = '{"type": "identify", "userId": $x('
#: Renders, but Segment would drop it (no userId or anonymousId): a template error too.
UNSENDABLE = '{"type": "track", "event": "Order Cancelled"}'
NOTHING = "payload.data.no_such_field"


def _config(segment_url: str) -> Config:
    config = Config.default()
    config.segment.host = segment_url
    config.template_overrides = {
        "customer_updated": BROKEN,
        "order_cancelled": UNSENDABLE,
        "checkout_started": NOTHING,
    }
    config.tracking["order_refunded"].enabled = False
    ConfigStore().save(config)
    return config


def _deliveries() -> list[bytes]:
    """Every built-in sample (each a new event), bad bodies, a duplicate, a resources-only body."""
    bodies: list[bytes] = []
    events = sorted({s.event for s in list_samples()})
    for event in events:
        for sample in list_samples(event):
            bodies.append(sample_body(event, f"eq-{sample.name}", sample.name))
    legacy = json.loads(sample_body("order.paid", "eq-resources"))
    legacy["resources"] = json.dumps(legacy.pop("payload"))
    bodies.append(json.dumps(legacy).encode())
    bodies.append(sample_body("order.paid", "eq-order.paid"))  # a duplicate
    bodies += [b"{not json", b"[1, 2]", b'{"id": "\xc3\x28"}', b"", b'{"id": "x", "payload": {}}']
    return bodies


def _outbox(data: Path) -> dict[str, list[tuple[Any, ...]]]:
    db = sqlite3.connect(data / OUTBOX_FILENAME)
    try:
        return {
            "events": db.execute(
                "SELECT event_id, triggered_by, body FROM events ORDER BY event_id"
            ).fetchall(),
            "calls": db.execute(
                "SELECT event_id, template_key, message_id, call, size FROM calls "
                "ORDER BY event_id, id"
            ).fetchall(),
            "template_errors": db.execute(
                "SELECT event_id, template_key, error FROM template_errors "
                "ORDER BY event_id, template_key"
            ).fetchall(),
        }
    finally:
        db.close()


#: What the sender counts depends on timing; these depend on the deliveries alone.
INTAKE_COUNTERS = (
    "received",
    "duplicates",
    "ignored",
    "rendered",
    "template_errors",
    "invalid",
    "render_unavailable",
)


def _counters(relay: RelayProcess) -> dict[str, float]:
    text = httpx.get(relay.base + "/metrics").text
    values = {
        line.split()[0]: float(line.split()[1])
        for line in text.splitlines()
        if line.startswith("segment_desktop_relay_")
    }
    return {name: values[f"segment_desktop_relay_{name}_total"] for name in INTAKE_COUNTERS}


def _run(
    tmp_path: Path, name: str, bodies: list[bytes], env: dict[str, str], args: list[str]
) -> tuple[list[tuple[int, Any]], dict[str, Any], dict[str, float], int]:
    data = tmp_path / name
    relay = RelayProcess(free_port(), data, env, args=args).start()
    try:
        workers = relay.render_pids()
        health = httpx.get(relay.base + "/healthz").json()
        assert health["render_processes"] == len(workers)
        answers = []
        for body in bodies:
            answer = post(relay.url, body)
            answers.append((answer.status_code, answer.json()))
        counters = _counters(relay)
        started = {c.identity for c in relay.children()}
        assert relay.terminate() == 0
    finally:
        relay.kill()
    wait_for(lambda: not alive(started), timeout=10, what="the render processes to stop")
    return answers, _outbox(data), counters, len(workers)


def test_render_processes_answer_and_store_exactly_what_threads_do(tmp_path: Path) -> None:
    # Segment is unreachable: every call stays in the outbox, to be compared.
    _config(f"http://127.0.0.1:{free_port()}")
    bodies = _deliveries()
    threads = _run(
        tmp_path, "threads", bodies, relay_env(SEGMENT_DESKTOP_RELAY_RENDER_PROCESSES="0"), []
    )
    pool = _run(
        tmp_path,
        "processes",
        bodies,
        relay_env(SEGMENT_DESKTOP_RELAY_RENDER_PROCESSES="0"),
        ["--render-processes", "2"],  # the flag wins over the environment
    )
    assert (threads[3], pool[3]) == (0, 2)
    assert pool[0] == threads[0]  # every answer, 400 messages included
    assert pool[1] == threads[1]  # every row of the outbox
    assert pool[2] == threads[2]  # the counters
    statuses = Counter(a[1].get("status", "") if a[0] == 200 else str(a[0]) for a in threads[0])
    assert statuses["duplicate"] == 1 and statuses["ignored"] >= 1
    assert statuses["template_error"] >= 2 and statuses["queued"] >= 5
    assert statuses["400"] == 5
    stored = pool[1]
    kept = {event_id for event_id, _, body in stored["events"] if body is not None}
    assert kept == {event_id for event_id, _, _ in stored["template_errors"]}
    assert any("Segment would refuse or drop" in e for _, _, e in stored["template_errors"])


def _deliver_like_commerce(
    client: httpx.Client, url: str, body: bytes, statuses: list[int]
) -> None:
    while True:
        try:
            answer = client.post(url, content=body, headers={"X-MOLTIN-SECRET-KEY": WEBHOOK_SECRET})
            statuses.append(answer.status_code)
            if answer.is_success:
                return
        except httpx.HTTPError:
            statuses.append(0)
        time.sleep(0.05)


def test_a_killed_render_process_costs_503s_and_nothing_else(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    save_config(sandbox.segment_url)
    relay = RelayProcess(free_port(), tmp_path / "data", args=["--render-processes", "2"])
    relay.start()
    senders, per_sender = 4, 15
    ids = [f"kill-{n:03d}" for n in range(senders * per_sender)]
    statuses: list[int] = []
    stopped: list[int] = []
    try:
        assert post(relay.url, sample_body("customer.created", "kill-warm")).status_code == 200
        workers = relay.render_pids()
        assert len(workers) == 2

        def sender(chunk: list[str]) -> None:
            with httpx.Client(timeout=20) as client:
                for event_id in chunk:
                    body = sample_body("customer.created", event_id)
                    _deliver_like_commerce(client, relay.url, body, statuses)

        threads = [threading.Thread(target=sender, args=(ids[n::senders],)) for n in range(senders)]
        for thread in threads:
            thread.start()
        wait_for(lambda: len(statuses) >= 8, what="events flowing")
        # Hold every delivery: with both workers stopped, each feeding thread waits on a batch
        # and the deliveries it did not take wait for the next; then one worker dies.
        for pid in workers:
            os.kill(pid, signal.SIGSTOP)
            stopped.append(pid)

        def all_held() -> bool:
            text = httpx.get(relay.base + "/metrics").text
            return f"segment_desktop_relay_in_flight {senders}" in text

        wait_for(all_held, what="every sender's delivery held")
        time.sleep(0.2)  # each has reached the pool
        stopped.remove(workers[0])
        os.kill(workers[0], signal.SIGKILL)
        wait_for(lambda: 503 in statuses, what="the held deliveries answered 503")
        for pid in stopped:
            os.kill(pid, signal.SIGCONT)  # the survivor ends: the pool stops it
        stopped.clear()
        for thread in threads:
            thread.join(60)
        assert not any(thread.is_alive() for thread in threads)
        # A dead worker breaks the whole pool: every batch out was answered 503 (each feeding
        # thread had one, as the deliveries outnumber them); a delivery still waiting for a
        # batch may reach the new processes instead. None is lost (below).
        assert Counter(statuses)[503] >= len(workers)
        assert set(statuses) <= {200, 503}
        # A new pool took over; later deliveries succeed at once.
        wait_for(lambda: len(relay.render_pids()) == 2, what="new render processes")
        assert not set(relay.render_pids()) & set(workers)
        assert all(process(pid) is None for pid in workers)
        later = post(relay.url, sample_body("customer.created", "kill-later"))
        assert later.status_code == 200 and later.json()["status"] == "queued"
        counters = _counters(relay)
        assert counters["render_unavailable"] == Counter(statuses)[503]
        expected = {
            message_id(i, key, n)
            for i in [*ids, "kill-warm", "kill-later"]
            for key, n in (("customer_created", 0), ("customer_created", 1))
        }

        def all_arrived() -> bool:
            return {c["messageId"] for c in sandbox.segment.received_calls()} >= expected

        wait_for(all_arrived, timeout=30, what="every call at Segment")
        assert relay.terminate() == 0
    finally:
        for pid in stopped:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGCONT)
        relay.kill()
    received = Counter(c["messageId"] for c in sandbox.segment.received_calls())
    assert set(received) == expected and set(received.values()) == {1}  # stored once each
    assert "A render process stopped unexpectedly" in "".join(relay.stderr_lines)


def test_template_updates_reach_the_render_processes(sandbox: Sandbox, tmp_path: Path) -> None:
    broken = Config.default()
    broken.segment.host = sandbox.segment_url
    broken.template_overrides = {"customer_created": BROKEN}
    fixed = Config.default()
    fixed.segment.host = sandbox.segment_url
    server = RelayServer.start(
        broken, WRITE_KEY, WEBHOOK_SECRET, tmp_path / "data", render_processes=2
    )
    try:
        assert server.relay.pool is not None
        wait_for(lambda: len(server.relay.pool.pids()) == 2, what="two render processes")
        workers = server.relay.pool.pids()

        def status(event_id: str) -> str:
            answer = post(server.webhook_url, sample_body("customer.created", event_id))
            return str(answer.json()["status"])

        # Several deliveries each time, so that both workers see every change.
        assert {status(f"upd-a{n}") for n in range(6)} == {"template_error"}
        server.update_templates(fixed)
        assert {status(f"upd-b{n}") for n in range(6)} == {"queued"}  # at once
        server.update_templates(broken)
        assert {status(f"upd-c{n}") for n in range(6)} == {"template_error"}
        assert server.relay.pool.pids() == workers  # the same workers: none restarted
    finally:
        server.stop()
    assert all(process(pid) is None for pid in workers)


def test_no_render_process_outlives_a_sigkilled_relay(tmp_path: Path) -> None:
    save_config(f"http://127.0.0.1:{free_port()}")
    relay = RelayProcess(free_port(), tmp_path / "data", args=["--render-processes", "2"])
    relay.start()
    try:
        assert post(relay.url, sample_body("order.paid", "orphan-1")).status_code == 200
        assert len(relay.render_pids()) == 2
    finally:
        relay.kill()
    assert len(relay.orphan_candidates) >= 2
    wait_for(lambda: not alive(relay.orphan_candidates), timeout=10, what="no orphan processes")


def test_render_processes_never_see_the_secrets(tmp_path: Path) -> None:
    """The relay reads its secrets from the environment, then drops them from it: the render
    processes it starts inherit the rest of its environment only."""
    save_config(f"http://127.0.0.1:{free_port()}")
    relay = RelayProcess(free_port(), tmp_path / "data", args=["--render-processes", "2"])
    relay.start()
    try:
        assert post(relay.url, sample_body("order.paid", "env-1")).status_code == 200
        workers = relay.render_pids()
        assert len(workers) == 2
        for pid in workers:
            environment = Path(f"/proc/{pid}/environ").read_bytes()
            assert b"SEGMENT_DESKTOP_RELAY_FLUSH_SECONDS" in environment  # the rest is there
            assert WRITE_KEY.encode() not in environment
            assert WEBHOOK_SECRET.encode() not in environment
    finally:
        assert relay.terminate() == 0
