"""Several relays sharing one outbox folder (as the README allows): whichever relay Commerce
reaches, each event is stored once and each call reaches Segment once."""

from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from segment_desktop.core.messages import message_id
from segment_desktop.relay.outbox import OUTBOX_FILENAME, Outbox
from segment_desktop.sandbox.runner import Sandbox
from tests.relay.helpers import (
    ONE_CALL,
    RelayProcess,
    free_port,
    post,
    sample_body,
    save_config,
    wait_for,
)

EVENTS = 300


@pytest.mark.slow
def test_two_relays_on_one_outbox_store_and_send_each_event_once(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    save_config(sandbox.segment_url, {"customer_created": ONE_CALL})
    data = tmp_path / "data"
    relays = [RelayProcess(free_port(), data).start() for _ in range(2)]
    ids = [f"shared-{n:03d}" for n in range(EVENTS)]
    answers: dict[str, list[str]] = {i: [] for i in ids}
    lock = threading.Lock()

    def deliver(event_id: str, relay: RelayProcess) -> None:
        answer = post(relay.url, sample_body("customer.created", event_id))
        assert answer.status_code == 200, answer.text
        with lock:
            answers[event_id].append(str(answer.json()["status"]))

    try:
        with ThreadPoolExecutor(8) as pool:
            jobs = []
            for n, event_id in enumerate(ids):
                jobs.append(pool.submit(deliver, event_id, relays[n % 2]))
                if n % 10 == 0:  # Commerce's retry reaching the other relay, at the same time
                    jobs.append(pool.submit(deliver, event_id, relays[(n + 1) % 2]))
            for job in jobs:
                job.result()
        retried = ids[::10]
        assert all(sorted(answers[i]) == ["duplicate", "queued"] for i in retried)
        assert all(answers[i] == ["queued"] for i in ids if i not in retried)

        expected = {message_id(i, "customer_created", 0) for i in ids}

        def all_arrived() -> bool:
            return {c["messageId"] for c in sandbox.segment.received_calls()} >= expected

        wait_for(all_arrived, timeout=30, what="every messageId at Segment")
        for relay in relays:
            assert relay.terminate() == 0
    finally:
        for relay in relays:
            relay.kill()
    counts = Counter(c["messageId"] for c in sandbox.segment.received_calls())
    assert set(counts) == expected
    assert set(counts.values()) == {1}  # leased by one sender, sent by it alone
    outbox = Outbox(data / OUTBOX_FILENAME, read_only=True)
    try:
        stats = outbox.stats()
        assert (stats.events, stats.pending, stats.parked) == (EVENTS, 0, 0)
    finally:
        outbox.close()
