"""The relay and emulators the GUI process runs keep the GUI thread's priority: a lowered thread
taken off the CPU while it holds the GIL would make the GUI thread wait for it longer."""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Iterable
from pathlib import Path

from segment_desktop.core.config import Config
from segment_desktop.sandbox.runner import Sandbox
from segment_desktop.services import local_relay
from tests.relay.helpers import WEBHOOK_SECRET, WRITE_KEY, post, sample_body, wait_for


def nice(native_id: int | None = None) -> int:
    return os.getpriority(os.PRIO_PROCESS, native_id or threading.get_native_id())


def niceness(prefixes: Iterable[str]) -> dict[str, int]:
    """The nice value of every live thread whose name starts with one of ``prefixes``."""
    return {
        thread.name: nice(thread.native_id)
        for thread in threading.enumerate()
        if thread.name.startswith(tuple(prefixes)) and thread.native_id is not None
    }


def config_for(segment_url: str) -> Config:
    config = Config.default()
    config.segment.host = segment_url
    config.relay_url = local_relay.webhook_url(local_relay.free_port())
    return config


def test_the_sandbox_threads_keep_the_callers_priority() -> None:
    mine = nice()
    sandbox = local_relay.start_sandbox()
    try:
        threads = niceness(("Commerce-server", "Segment-server", "webhook-scheduler"))
        assert len(threads) == 3, threads
        assert set(threads.values()) == {mine}, threads
    finally:
        sandbox.stop()


def test_the_relay_threads_keep_the_callers_priority_and_so_do_the_ones_made_later(
    tmp_path: Path, sandbox: Sandbox
) -> None:
    mine = nice()
    relay = local_relay.start(
        config_for(sandbox.segment_url), WRITE_KEY, WEBHOOK_SECRET, tmp_path / "data"
    )
    try:
        body = sample_body("customer.created", str(uuid.uuid4()))
        assert post(relay.webhook_url, body).status_code == 200
        wait_for(lambda: sandbox.segment.received_calls() != [], what="Segment's calls")
        kinds = ("relay-server", "relay-sender", "relay-commit", "relay-render")
        threads = niceness(kinds)
        assert {next(k for k in kinds if name.startswith(k)) for name in threads} == set(kinds)
        assert set(threads.values()) == {mine}, threads
    finally:
        relay.stop()
