"""Relay workers on an SQS queue: events/s for 1 and 2 workers, beside a bare consumer.

    python -m bench.sqs_throughput [--events 400] [--workers 1 2] [--threads 4]

Against moto's SQS server (a separate process on 127.0.0.1) and the Segment emulator. For each
worker count: a fresh queue is filled with ``--events`` CloudEvents of the built-in
``order.paid`` sample, then that many ``segment-desktop relay --sqs-queue-url`` processes
(``--threads`` workers each) start together; the rate is events over the time from the first
worker being ready to the Segment emulator holding every call. The reference, in the same run
and against the same server, is a bare consumer: one boto3 client receiving 10 at a time and
deleting them, doing nothing else. moto answers far slower than SQS (it is a Python emulator
on the same two CPUs): the figures show what the worker costs beside the queue's own round
trips, not what SQS carries.

Prints a table and writes ``bench/results/sqs_throughput-<time>.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import secrets
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import boto3  # noqa: E402

from segment_desktop.core.cloudevent import cloudevent_of  # noqa: E402
from segment_desktop.core.config import Config, ConfigStore  # noqa: E402
from segment_desktop.core.samples import get_sample  # noqa: E402
from segment_desktop.sandbox.runner import Sandbox  # noqa: E402

#: Fresh for every run: the local Segment emulator takes any write key.
WRITE_KEY = secrets.token_hex(16)
REGION = "us-east-1"
KEYS = {"aws_access_key_id": "AKIDBENCH", "aws_secret_access_key": "bench-secret"}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _client(endpoint: str) -> Any:
    return boto3.session.Session().client("sqs", region_name=REGION, endpoint_url=endpoint, **KEYS)


def start_moto() -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 30
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return proc, f"http://127.0.0.1:{port}"
        except OSError:
            if time.monotonic() > deadline:
                raise RuntimeError("moto's server did not start") from None
            time.sleep(0.1)


def fill(endpoint: str, events: int, tag: str) -> str:
    client = _client(endpoint)
    url = str(client.create_queue(QueueName=f"bench-{tag}-{uuid.uuid4().hex[:8]}")["QueueUrl"])
    body = json.loads(get_sample("order.paid").text())
    for start in range(0, events, 10):
        entries = []
        for n in range(start, min(events, start + 10)):
            body["id"] = f"{tag}-{n:06d}"
            entries.append({"Id": str(n - start), "MessageBody": json.dumps(cloudevent_of(body))})
        client.send_message_batch(QueueUrl=url, Entries=entries)
    return url


def bare_consumer(endpoint: str, events: int) -> float:
    """Receive-and-delete only: the queue's own pace for one consumer."""
    url = fill(endpoint, events, "bare")
    client = _client(endpoint)
    done, started = 0, time.monotonic()
    while done < events:
        answer = client.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
        messages = answer.get("Messages", [])
        if messages:
            entries = [{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
                       for i, m in enumerate(messages)]  # fmt: skip
            client.delete_message_batch(QueueUrl=url, Entries=entries)
            done += len(messages)
    return events / (time.monotonic() - started)


def workers_rate(
    endpoint: str, sandbox: Sandbox, events: int, count: int, threads: int
) -> dict[str, float]:
    url = fill(endpoint, events, f"w{count}")
    before = sum(len(b.calls) for b in sandbox.segment.received_batches)
    with tempfile.TemporaryDirectory() as tmp:
        config = Config.default()
        config.segment.host = sandbox.segment_url
        ConfigStore(Path(tmp) / "config").save(config)
        path = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
        env = dict(os.environ, SEGMENT_WRITE_KEY=WRITE_KEY, AWS_DEFAULT_REGION=REGION,
                   AWS_ACCESS_KEY_ID=KEYS["aws_access_key_id"],
                   AWS_SECRET_ACCESS_KEY=KEYS["aws_secret_access_key"],
                   SEGMENT_DESKTOP_CONFIG_DIR=str(Path(tmp) / "config"),
                   SEGMENT_DESKTOP_LOG_DIR=str(Path(tmp) / "logs"),
                   SEGMENT_DESKTOP_SQS_WAIT_SECONDS="1", PYTHONPATH=path,
                   SEGMENT_DESKTOP_SQS_THREADS=str(threads))  # fmt: skip
        command = [
            sys.executable, "-m", "segment_desktop", "relay", "--data-dir",
            str(Path(tmp) / "data"), "--listen", "127.0.0.1:0", "--sqs-queue-url", url,
            "--sqs-endpoint-url", endpoint,
        ]  # fmt: skip
        procs = [
            subprocess.Popen(
                command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env
            )
            for _ in range(count)
        ]
        try:
            first_ready = None
            for proc in procs:
                assert proc.stdout is not None
                line = proc.stdout.readline()
                if not line.startswith("Relay worker consuming"):
                    raise RuntimeError(f"a worker did not start: {line!r}")
                first_ready = first_ready or time.monotonic()
            assert first_ready is not None
            deadline = time.monotonic() + 300
            while sum(len(b.calls) for b in sandbox.segment.received_batches) < before + events:
                if time.monotonic() > deadline:
                    raise RuntimeError("Segment did not receive every call")
                time.sleep(0.01)
            elapsed = time.monotonic() - first_ready
        finally:
            for proc in procs:
                proc.terminate()
            for proc in procs:
                proc.wait(30)
                if proc.stdout is not None:
                    proc.stdout.close()
    return {"workers": count, "threads": threads, "events": events,
            "events_per_s": events / elapsed}  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--events", type=int, default=400)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--threads", type=int, default=4, help="workers per process")
    args = parser.parse_args()
    moto, endpoint = start_moto()
    results: dict[str, Any] = {"python": platform.python_version(), "cpus": os.cpu_count(),
                               "events": args.events, "runs": []}  # fmt: skip
    try:
        with Sandbox.start() as sandbox:
            results["bare_consumer_per_s"] = bare_consumer(endpoint, args.events)
            for count in args.workers:
                run = workers_rate(endpoint, sandbox, args.events, count, args.threads)
                run["ratio"] = run["events_per_s"] / results["bare_consumer_per_s"]
                results["runs"].append(run)
                print(f"  {count} worker(s): {run['events_per_s']:.0f} events/s", flush=True)
    finally:
        moto.terminate()
        moto.wait(10)
    print(f"\n{results['cpus']} CPUs, moto's SQS server, {args.events} order.paid events a run")
    print(f"bare consumer (receive 10 + delete, nothing else): "
          f"{results['bare_consumer_per_s']:.0f} messages/s")  # fmt: skip
    for run in results["runs"]:
        print(f"{run['workers']} worker process(es) of {run['threads']} thread(s): "
              f"{run['events_per_s']:.0f} events/s "
              f"({run['ratio']:.0%} of the bare consumer)")  # fmt: skip
    out_dir = REPO / "bench" / "results"
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"sqs_throughput-{time.strftime('%Y%m%d-%H%M%S')}.json"
    path.write_text(json.dumps(results, indent=2))
    print(f"wrote {path.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
