"""Relay throughput and webhook ack latency, beside the bare renderer's rate.

    python bench/relay_throughput.py [--events 600] [--concurrency 16]

For a 5-item and a 50-item order (the built-in samples ``order.paid`` and
``order.paid.50-items``):

* bare renderer: ``Renderer.render_event`` on one thread, events/s;
* relay end to end: the relay as a subprocess (``segment-desktop relay``), events POSTed
  concurrently over keep-alive connections, until the Segment emulator has every call; events/s, and
  the ack latency (POST to 200) p50/p99 under that load;
* paced: the same events at half the measured end-to-end rate, ack latency p50/p99 (what
  Commerce sees from a relay that is not saturated).

Prints a table and writes ``bench/results/relay_throughput-<time>.json``. Targets: end-to-end
rate ≥ 75 % of the bare renderer's, paced ack p99 ≤ 50 ms.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from segment_desktop.core.config import Config, ConfigStore  # noqa: E402
from segment_desktop.core.envelope import parse_event_text  # noqa: E402
from segment_desktop.core.render import Renderer  # noqa: E402
from segment_desktop.core.samples import list_samples  # noqa: E402
from segment_desktop.core.templates import TemplateSet  # noqa: E402
from segment_desktop.sandbox.runner import Sandbox  # noqa: E402

SECRET = "bench-webhook-secret-0123456789abcdef"
WRITE_KEY = "bench-write-key-0123456789abcdef"
CASES = {"5 items": "order.paid", "50 items": "order.paid.50-items"}


def _body(sample: str) -> dict[str, Any]:
    (found,) = [s for s in list_samples("order.paid") if s.name == sample]
    body: dict[str, Any] = json.loads(found.text())
    return body


def _bodies(sample: str, prefix: str, count: int) -> list[bytes]:
    template = _body(sample)
    out = []
    for n in range(count):
        template["id"] = f"{prefix}-{n:06d}"
        out.append(json.dumps(template).encode())
    return out


def bare_rate(sample: str, seconds: float = 3.0) -> float:
    renderer = Renderer()
    event = parse_event_text(json.dumps(_body(sample)))
    chosen = Config.default().chosen_events()
    templates = TemplateSet()
    renderer.render_event(event, templates, chosen)  # compile once
    count, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        renderer.render_event(event, templates, chosen)
        count += 1
    return count / (time.perf_counter() - started)


def _percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def _fire(url: str, bodies: list[bytes], concurrency: int, rate: float | None) -> list[float]:
    """POST every body with ``concurrency`` keep-alive connections; the ack latencies in ms.

    Plain ``http.client`` on threads: httpx's async client costs several ms per request here
    and would measure itself rather than the relay.
    """
    parts = urlsplit(url)
    latencies: list[float] = []
    lock = threading.Lock()
    started = time.perf_counter()
    headers = {"X-MOLTIN-SECRET-KEY": SECRET, "Content-Type": "application/json"}

    def worker(index: int) -> None:
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
        mine: list[float] = []
        try:
            for n in range(index, len(bodies), concurrency):
                if rate is not None:  # paced: event n leaves at n / rate
                    delay = started + n / rate - time.perf_counter()
                    if delay > 0:
                        time.sleep(delay)
                t0 = time.perf_counter()
                conn.request("POST", parts.path, body=bodies[n], headers=headers)
                answer = conn.getresponse()
                text = answer.read()
                mine.append((time.perf_counter() - t0) * 1000)
                if answer.status != 200:
                    raise RuntimeError(f"relay answered {answer.status}: {text[:200]!r}")
        finally:
            conn.close()
            with lock:
                latencies.extend(mine)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if len(latencies) != len(bodies):
        raise RuntimeError("some events were not acknowledged")
    return latencies


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class RelayProcess:
    def __init__(self, sandbox: Sandbox, work: Path) -> None:
        config_dir = work / "config"
        config = Config.default()
        config.segment.host = sandbox.segment_url
        ConfigStore(config_dir).save(config)
        self.port = _free_port()
        env = dict(os.environ)
        env.update(
            SEGMENT_WRITE_KEY=WRITE_KEY,
            COMMERCE_WEBHOOK_SECRET=SECRET,
            SEGMENT_DESKTOP_CONFIG_DIR=str(config_dir),
            SEGMENT_DESKTOP_LOG_DIR=str(work / "logs"),
            PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")])),
        )
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "segment_desktop", "relay", "--listen",
             f"127.0.0.1:{self.port}", "--data-dir", str(work / "data")],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env,
        )  # fmt: skip
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line.startswith("Relay listening on"):
            raise RuntimeError(f"the relay did not start: {line!r}")
        self.url = line.split()[-1]

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(30)
        if self.proc.stdout is not None:
            self.proc.stdout.close()


def relay_run(
    sample: str, events: int, concurrency: int, rate: float | None, tag: str
) -> dict[str, float]:
    with Sandbox.start() as sandbox, tempfile.TemporaryDirectory() as tmp:
        relay = RelayProcess(sandbox, Path(tmp))
        try:
            # warm up: compile templates, open connections
            _fire(relay.url, _bodies(sample, f"warm-{tag}", 20), 4, None)
            deadline = time.monotonic() + 30
            while len(sandbox.segment.received_calls()) < 20 and time.monotonic() < deadline:
                time.sleep(0.01)
            bodies = _bodies(sample, f"run-{tag}", events)
            cpu_before = _cpu_seconds(relay.proc.pid)
            started = time.perf_counter()
            latencies = _fire(relay.url, bodies, concurrency, rate)
            acked = time.perf_counter() - started
            target = 20 + events
            while len(sandbox.segment.received_batches) == 0 or (
                sum(len(b.calls) for b in sandbox.segment.received_batches) < target
            ):
                if time.monotonic() > deadline + 120:
                    raise RuntimeError("Segment did not receive every call")
                time.sleep(0.005)
            delivered = time.perf_counter() - started
            cpu = _cpu_seconds(relay.proc.pid) - cpu_before
        finally:
            relay.stop()
    return {
        "events": events,
        "acked_per_s": events / acked,
        "end_to_end_per_s": events / delivered,
        "ack_p50_ms": statistics.median(latencies),
        "ack_p99_ms": _percentile(latencies, 99),
        "ack_max_ms": max(latencies),
        "relay_cpu_ms_per_event": cpu / events * 1000,
    }


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (Linux ``/proc``), all its threads."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=600)
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()
    engine = Renderer().engine_name
    results: dict[str, Any] = {
        "engine": engine,
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "events": args.events,
        "concurrency": args.concurrency,
        "cases": {},
    }
    only = os.environ.get("BENCH_CASE")
    for label, sample in CASES.items():
        if only and only != label:
            continue
        events = args.events if "50" not in label else max(100, args.events // 4)
        bare = bare_rate(sample)
        loaded = relay_run(sample, events, args.concurrency, None, "load")
        paced = relay_run(sample, events, 4, loaded["end_to_end_per_s"] / 2, "paced")
        results["cases"][label] = {
            "bare_render_per_s": bare,
            "relay": loaded,
            "paced": paced,
            "ratio": loaded["end_to_end_per_s"] / bare,
        }
    header = (
        f"{'order':<10}{'bare ev/s':>11}{'relay ev/s':>12}{'ratio':>8}"
        f"{'ack p50':>10}{'ack p99':>10}{'paced p50':>11}{'paced p99':>11}"
        f"{'render ms':>11}{'relay CPU ms':>14}"
    )
    print(f"engine {engine}, {os.cpu_count()} CPUs, concurrency {args.concurrency}")
    print(header)
    for label, case in results["cases"].items():
        r, p = case["relay"], case["paced"]
        print(
            f"{label:<10}{case['bare_render_per_s']:>11.0f}{r['end_to_end_per_s']:>12.0f}"
            f"{case['ratio']:>7.0%} {r['ack_p50_ms']:>7.1f}ms{r['ack_p99_ms']:>8.1f}ms"
            f"{p['ack_p50_ms']:>9.1f}ms{p['ack_p99_ms']:>9.1f}ms"
            f"{1000 / case['bare_render_per_s']:>11.2f}{r['relay_cpu_ms_per_event']:>14.2f}"
        )
    print(
        "render ms: one render_event; relay CPU ms: the relay process's CPU time per event "
        "(HTTP, parsing, rendering, outbox, sending), the rate one core could sustain."
    )
    out_dir = REPO / "bench" / "results"
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"relay_throughput-{time.strftime('%Y%m%d-%H%M%S')}.json"
    path.write_text(json.dumps(results, indent=2))
    print(f"wrote {path.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
