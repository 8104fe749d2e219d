"""Nothing lost, nothing doubled: the relay SIGKILLed at random moments under load."""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from pathlib import Path

import httpx
import pytest

from segment_desktop.core.messages import message_id
from segment_desktop.sandbox.runner import Sandbox
from tests.relay.helpers import (
    ONE_CALL,
    WEBHOOK_SECRET,
    RelayProcess,
    alive,
    free_port,
    sample_body,
    save_config,
    wait_for,
)

EVENTS = 1_000
KILLS = 5
SENDERS = 8


def _deliver_like_commerce(client: httpx.Client, url: str, body: bytes) -> int:
    """POST until a 2xx, as Commerce retries a webhook; returns the attempts it took."""
    attempt = 0
    while True:
        attempt += 1
        try:
            answer = client.post(
                url,
                content=body,
                headers={"X-MOLTIN-SECRET-KEY": WEBHOOK_SECRET},
            )
            if answer.is_success:
                return attempt
        except httpx.HTTPError:
            pass
        time.sleep(0.05)


@pytest.mark.slow
@pytest.mark.parametrize("processes", [0, 2], ids=["render threads", "render processes"])
def test_sigkill_at_random_moments_loses_and_doubles_nothing(
    sandbox: Sandbox, tmp_path: Path, processes: int
) -> None:
    save_config(sandbox.segment_url, {"customer_created": ONE_CALL})
    args = ["--render-processes", str(processes)]
    relay = RelayProcess(free_port(), tmp_path / "data", args=args).start()
    ids = [f"crash-{n:04d}" for n in range(EVENTS)]
    bodies = {i: sample_body("customer.created", i) for i in ids}
    acked: list[str] = []
    lock = threading.Lock()
    kill_at = sorted(random.sample(range(50, EVENTS - 50), KILLS))
    kills_done: list[int] = []
    restart = threading.Lock()

    def sender(chunk: list[str]) -> None:
        with httpx.Client(timeout=5.0) as client:
            for event_id in chunk:
                _deliver_like_commerce(client, relay.url, bodies[event_id])
                with lock:
                    acked.append(event_id)
                    count = len(acked)
                if kill_at and count >= kill_at[0] and restart.acquire(blocking=False):
                    try:
                        if kill_at and count >= kill_at[0]:
                            kill_at.pop(0)
                            relay.kill()
                            kills_done.append(count)
                            relay.start()
                    finally:
                        restart.release()

    started = time.monotonic()
    threads = [threading.Thread(target=sender, args=(ids[n::SENDERS],)) for n in range(SENDERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(90)
    try:
        assert sorted(acked) == sorted(ids)
        assert len(kills_done) == KILLS
        expected = {message_id(i, "customer_created", 0) for i in ids}

        def all_arrived() -> bool:
            return {c["messageId"] for c in sandbox.segment.received_calls()} >= expected

        wait_for(all_arrived, timeout=30, what="every messageId at Segment")
        assert relay.terminate() == 0
    finally:
        relay.kill()
    assert time.monotonic() - started < 60
    # The render processes of every killed relay exit by themselves: no orphans.
    assert len(relay.orphan_candidates) >= (KILLS if processes else 0)
    wait_for(lambda: not alive(relay.orphan_candidates), timeout=10, what="no orphan processes")
    received = sandbox.segment.received_calls()
    counts = Counter(c["messageId"] for c in received)
    assert set(counts) == expected  # none missing, none invented
    # A call sent twice (killed after Segment took it, before we forgot it) has the same
    # messageId and the same content, so Segment drops the copy.
    first: dict[str, dict[str, object]] = {}
    for call in received:
        assert first.setdefault(call["messageId"], call) == call
