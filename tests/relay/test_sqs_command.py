"""``segment-desktop relay --sqs-queue-url``: real worker processes on moto's SQS server."""

from __future__ import annotations

import json
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from segment_desktop.core.messages import message_id
from segment_desktop.sandbox.runner import Sandbox
from tests.relay.helpers import ONE_CALL, REPO, relay_env, run_cli, save_config, wait_for
from tests.relay.sqs_helpers import (
    REGION,
    auth_enforcing_sqs,
    cloudevent,
    counts,
    make_queue,
    put,
)

__all__ = ["auth_enforcing_sqs"]  # the fixture, used by name


def worker_env() -> dict[str, str]:
    return relay_env(
        AWS_ACCESS_KEY_ID="AKIDTESTING",
        AWS_SECRET_ACCESS_KEY="testing-secret",
        AWS_DEFAULT_REGION=REGION,
        SEGMENT_DESKTOP_SQS_WAIT_SECONDS="1",
    )


@pytest.fixture
def segment() -> Iterator[Sandbox]:
    running = Sandbox.start()
    try:
        yield running
    finally:
        running.stop()


class WorkerProcess:
    def __init__(self, endpoint: str, url: str, data_dir: Path) -> None:
        self.args = [
            sys.executable, "-m", "segment_desktop", "relay", "--data-dir", str(data_dir),
            "--listen", "127.0.0.1:0", "--sqs-queue-url", url, "--sqs-endpoint-url", endpoint,
        ]  # fmt: skip
        self.proc: subprocess.Popen[str] | None = None
        self.metrics_url = ""
        self.stderr: list[str] = []

    def start(self) -> WorkerProcess:
        self.proc = subprocess.Popen(
            self.args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env=worker_env(), cwd=REPO,
        )  # fmt: skip
        lines: queue.Queue[str] = queue.Queue()
        assert self.proc.stdout is not None and self.proc.stderr is not None
        stdout, stderr = self.proc.stdout, self.proc.stderr
        self.readers = [
            threading.Thread(target=lambda: [lines.put(x) for x in stdout], daemon=True),
            threading.Thread(target=lambda: self.stderr.extend(stderr), daemon=True),
        ]
        for reader in self.readers:
            reader.start()
        try:
            line = lines.get(timeout=30)
        except queue.Empty:
            self.kill()
            raise AssertionError("worker did not start: " + "".join(self.stderr)) from None
        assert line.startswith("Relay worker consuming"), line + "".join(self.stderr)
        self.metrics_url = line.rsplit(" ", 1)[-1].strip()
        return self

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)
        self._close()

    def terminate(self) -> int:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.kill()
            raise
        self._close()
        return code

    def _close(self) -> None:
        """Wait for the readers to see the end of the output, then close the pipes."""
        for reader in getattr(self, "readers", []):
            reader.join(10)
        if self.proc is not None:
            for stream in (self.proc.stdout, self.proc.stderr):
                if stream is not None:
                    stream.close()


def test_an_unknown_queue_stops_the_worker_with_exit_2(moto_sqs: str, segment: Sandbox) -> None:
    save_config(segment.segment_url)
    missing = f"{moto_sqs}/123456789012/no-such-queue"
    done = run_cli("--sqs-queue-url", missing, "--sqs-endpoint-url", moto_sqs,
                   "--listen", "127.0.0.1:0", env=worker_env())  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert "There is no queue" in done.stderr and "no-such-queue" in done.stderr
    assert "Traceback" not in done.stderr


def test_credentials_aws_refuses_stop_the_worker_with_exit_2(
    auth_enforcing_sqs: str, segment: Sandbox
) -> None:
    save_config(segment.segment_url)
    url = f"{auth_enforcing_sqs}/123456789012/commerce"
    done = run_cli("--sqs-queue-url", url, "--sqs-endpoint-url", auth_enforcing_sqs,
                   "--listen", "127.0.0.1:0", env=worker_env())  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert "AWS refused the credentials" in done.stderr
    assert "InvalidClientTokenId" in done.stderr
    assert "testing-secret" not in done.stderr and "Traceback" not in done.stderr


def test_three_workers_killed_at_random_with_segment_failing_lose_nothing(
    moto_sqs: str, segment: Sandbox, tmp_path: Path
) -> None:
    """60 events over one queue, 3 worker processes, 4 SIGKILLs, Segment failing and slow:
    every event's call reaches Segment (distinct messageIds), none other, the queue ends empty."""
    save_config(segment.segment_url, {"customer_created": ONE_CALL})
    url, _ = make_queue(moto_sqs, visibility=3)
    data_dir = tmp_path / "data"
    workers = [WorkerProcess(moto_sqs, url, data_dir).start() for _ in range(3)]
    faults = segment.segment.faults
    faults.server_error("/v1", count=4)
    faults.slow("/v1", count=6, delay=0.7)
    ids = [f"evt-many-{i:03d}" for i in range(60)]
    try:
        for wave in range(4):
            put(moto_sqs, url, [json.dumps(cloudevent("customer.created", i))
                                for i in ids[wave * 15 : (wave + 1) * 15]])  # fmt: skip
            time.sleep(0.6)
            victim = workers[wave % 3]
            victim.kill()  # at whatever point it is: receiving, sending, deleting
            workers[wave % 3] = WorkerProcess(moto_sqs, url, data_dir).start()
            if wave == 1:
                faults.server_error("/v1", count=2)

        expected = {message_id(i, "customer_created", 0) for i in ids}

        def delivered() -> set[str]:
            return {c["messageId"] for c in segment.segment.received_calls()}

        wait_for(lambda: delivered() >= expected, timeout=60, what="every event at Segment")
        wait_for(lambda: counts(moto_sqs, url) == (0, 0), timeout=30, what="an empty queue")
        assert delivered() == expected
        metrics = httpx.get(workers[0].metrics_url, timeout=5).text
        assert "segment_desktop_relay_sqs_oldest_message_age_seconds" in metrics
    finally:
        codes = [w.terminate() for w in workers]
    assert codes == [0, 0, 0]


def test_relay_status_shows_the_queues_depth(moto_sqs: str, segment: Sandbox) -> None:
    save_config(segment.segment_url)
    url, _ = make_queue(moto_sqs)
    put(moto_sqs, url, [json.dumps(cloudevent("customer.created", f"e{i}")) for i in range(3)])
    done = run_cli("status", "--json", "--sqs-queue-url", url, "--sqs-endpoint-url", moto_sqs,
                   env=worker_env())  # fmt: skip
    assert done.returncode == 0, done.stderr
    status = json.loads(done.stdout)["queue"]
    assert (status["queue"], status["visible"], status["in_flight"]) == (url, 3, 0)
    text = run_cli("status", "--sqs-queue-url", url, "--sqs-endpoint-url", moto_sqs,
                   env=worker_env())  # fmt: skip
    assert "Messages waiting:  3" in text.stdout


def test_a_worker_applies_a_saved_template_change_without_a_restart(
    moto_sqs: str, segment: Sandbox, tmp_path: Path
) -> None:
    save_config(segment.segment_url, {"customer_created": ONE_CALL})
    url, _ = make_queue(moto_sqs)
    worker = WorkerProcess(moto_sqs, url, tmp_path / "data").start()
    try:
        health = httpx.get(worker.metrics_url.replace("/metrics", "/healthz"), timeout=5).json()
        assert health == {"status": "ok", "queue": url}
        put(moto_sqs, url, [json.dumps(cloudevent("customer.created", "evt-before"))])
        wait_for(lambda: len(segment.segment.received_calls()) == 1, what="the first call")
        status = run_cli("status", "--json", "--data-dir", str(tmp_path / "data"),
                         "--sqs-queue-url", url, "--sqs-endpoint-url", moto_sqs,
                         env=worker_env())  # fmt: skip
        queue_status = json.loads(status.stdout)["queue"]
        assert queue_status["local_workers"] == 1 and "oldest_age" in queue_status
        renamed = ONE_CALL.replace('"Customer Created"', '"Customer Signed Up"')
        save_config(segment.segment_url, {"customer_created": renamed})
        time.sleep(3)  # the settings are polled every 2 s
        put(moto_sqs, url, [json.dumps(cloudevent("customer.created", "evt-after"))])
        wait_for(lambda: len(segment.segment.received_calls()) == 2, what="the second call")
        events = [c["event"] for c in segment.segment.received_calls()]
        assert events == ["Customer Created", "Customer Signed Up"]
    finally:
        assert worker.terminate() == 0


def test_from_registration_to_segment_through_a_queue(
    sandbox: Sandbox, moto_sqs: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`register --sqs-queue-url`, then Commerce (the emulator) puts its events on the queue
    and a worker process delivers them: the same messageIds a webhook of each event gives."""
    from segment_desktop.cli import main
    from segment_desktop.core.config import Config, ConfigStore

    config = Config.default()
    config.commerce.base_url, config.commerce.client_id = sandbox.commerce_url, sandbox.client_id
    config.segment.host = sandbox.segment_url
    ConfigStore().save(config)
    env = worker_env()
    monkeypatch.setenv("COMMERCE_CLIENT_SECRET", sandbox.client_secret)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", env["AWS_SECRET_ACCESS_KEY"])
    url, _ = make_queue(moto_sqs)
    args = ["register", "--sqs-queue-url", url, "--sqs-region", REGION,
            "--sqs-access-key-id", env["AWS_ACCESS_KEY_ID"]]  # fmt: skip
    assert main(args) == 0
    assert {i["integration_type"] for i in sandbox.commerce.integrations} == {"aws_sqs"}
    # The worker finds the queue in the saved settings: no --sqs-queue-url.
    worker = WorkerProcess(moto_sqs, url, tmp_path / "data")
    worker.args = [a for a in worker.args if a not in ("--sqs-queue-url", url)]
    worker.start()
    try:
        (paid,) = sandbox.commerce.fire("order.paid", wait=True, timeout=10)
        customer = sandbox.commerce.fire("customer.created", wait=True, timeout=10)[0]
        assert paid.succeeded and customer.succeeded
        expected = {
            message_id(paid.event_id, "order_completed", 0),
            message_id(customer.event_id, "customer_created", 0),
            message_id(customer.event_id, "customer_created", 1),  # identify, then track
        }

        def delivered() -> set[str]:
            return {c["messageId"] for c in sandbox.segment.received_calls()}

        wait_for(lambda: delivered() == expected, timeout=30, what="the three calls")
        order = next(c for c in sandbox.segment.received_calls() if c["type"] == "track"
                     and c["event"] == "Order Completed")  # fmt: skip
        assert order["properties"]["order_id"] and "products" not in order["properties"]
        assert counts(moto_sqs, url) == (0, 0)
    finally:
        assert worker.terminate() == 0
