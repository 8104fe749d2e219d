"""Relay throughput and webhook ack latency, beside the bare renderer's rate, for every engine.

    python bench/relay_throughput.py [--events 600] [--concurrency 16] [--rounds 3]
                                     [--engine NAME ...] [--render-processes N]

For each installed template engine (``available_engines()``) and for a 5-item and a 50-item order
(the built-in samples ``order.paid`` and ``order.paid.50-items``; ``BENCH_CASE="50 items"`` runs
one), ``--rounds`` times, alternately:

* bare renderer: ``Renderer(engine).render_event`` on one thread, events/s;
* relay end to end: the relay as a subprocess (``segment-desktop relay`` with
  ``SEGMENT_DESKTOP_ENGINE`` set), events POSTed concurrently over keep-alive connections (from
  another process, as Commerce sends from other machines), until the Segment emulator has
  every call; events/s, the ack latency (POST to 200) p50/p99 under that load, and the CPU time
  per event of the relay's main process and of its render processes. ``--events`` is the least
  number of events; a fast engine gets as many as the bare renderer does in 2 s, so that the
  rate is the steady one rather than a short run's tail (its last batch on its way to Segment);
* paced: then up to 1,000 new events at half that round's end-to-end rate, ack latency p50/p99
  (what Commerce sees from a relay that is not saturated).

Alternating the two and taking medians keeps a noisy machine from favouring either side; the
ratio is the ratio of the medians. Prints a table and writes
``bench/results/relay_throughput-<time>.json``. Targets: end-to-end rate ≥ 75 % of the bare
renderer's, paced ack p99 ≤ 50 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import json
import multiprocessing
import os
import platform
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from segment_desktop.core.config import Config, ConfigStore  # noqa: E402
from segment_desktop.core.engine import ENGINE_ENV, available_engines  # noqa: E402
from segment_desktop.core.envelope import parse_event_text  # noqa: E402
from segment_desktop.core.render import Renderer  # noqa: E402
from segment_desktop.core.samples import list_samples  # noqa: E402
from segment_desktop.core.templates import TemplateSet  # noqa: E402
from segment_desktop.sandbox.runner import Sandbox  # noqa: E402

SECRET = "bench-webhook-secret-0123456789abcdef"
WRITE_KEY = "bench-write-key-0123456789abcdef"
CASES = {"5 items": "order.paid", "50 items": "order.paid.50-items"}
WARM_EVENTS = 20
#: The loaded run lasts at least this long at the bare renderer's rate, so that its rate is the
#: steady one and not the tail (the last batch still on its way to Segment) over a short run.
LOAD_SECONDS = 2.0
#: Events of the paced run (ack latencies; more would only make it longer).
PACED_EVENTS = 1000


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


def bare_rate(engine: str, sample: str, seconds: float = 3.0) -> float:
    renderer = Renderer(engine)
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


def _fire(
    url: str, sample: str, prefix: str, count: int, concurrency: int, rate: float | None
) -> tuple[float, float, list[float]]:
    """POST ``count`` events (ids ``prefix-n``) over ``concurrency`` keep-alive connections.

    Returns when the first request left and the last answer came (``time.monotonic()``, the
    same clock in every process here) and the ack latencies in ms.

    From a separate process, with asyncio and requests built in advance: Commerce sends from
    other machines, so the sender should take as little as possible of this one's CPU and none
    of the GIL of the process that runs the Segment emulator (``http.client`` on threads took
    ~0.4 ms of CPU per request here, httpx several).
    """
    context = multiprocessing.get_context("spawn")
    with context.Pool(1) as pool:
        job = (url, sample, prefix, count, concurrency, rate)
        started, last_ack, latencies = pool.apply(_fire_here, job)
    if len(latencies) != count:
        raise RuntimeError("some events were not acknowledged")
    return started, last_ack, latencies


def _fire_here(
    url: str, sample: str, prefix: str, count: int, concurrency: int, rate: float | None
) -> tuple[float, float, list[float]]:
    bodies = _bodies(sample, prefix, count)  # before the clock starts
    return asyncio.run(_fire_async(url, bodies, concurrency, rate))


async def _fire_async(
    url: str, bodies: list[bytes], concurrency: int, rate: float | None
) -> tuple[float, float, list[float]]:
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    head = (
        f"POST {parts.path} HTTP/1.1\r\nHost: {host}:{port}\r\n"
        f"X-MOLTIN-SECRET-KEY: {SECRET}\r\nContent-Type: application/json\r\n"
    ).encode()
    requests = [head + b"Content-Length: %d\r\n\r\n" % len(body) + body for body in bodies]
    latencies: list[float] = []
    loop = asyncio.get_running_loop()
    started = loop.time()

    async def connection(index: int) -> None:
        reader, writer = await asyncio.open_connection(host, port)
        try:
            for n in range(index, len(requests), concurrency):
                if rate is not None:  # paced: event n leaves at n / rate
                    delay = started + n / rate - loop.time()
                    if delay > 0:
                        await asyncio.sleep(delay)
                t0 = time.perf_counter()
                writer.write(requests[n])
                status_line, _, rest = (await reader.readuntil(b"\r\n\r\n")).partition(b"\r\n")
                length = 0
                for line in rest.split(b"\r\n"):
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value)
                text = await reader.readexactly(length)
                latencies.append((time.perf_counter() - t0) * 1000)
                if status_line.split()[1] != b"200":
                    raise RuntimeError(f"relay answered {status_line!r}: {text[:200]!r}")
        finally:
            writer.close()

    first_sent = time.monotonic()
    await asyncio.gather(*(connection(i) for i in range(concurrency)))
    return first_sent, time.monotonic(), latencies


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (Linux ``/proc``), all its threads; 0 when gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rpartition(")")[2].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(entry.name))
    return found


class RelayProcess:
    def __init__(
        self, sandbox: Sandbox, work: Path, engine: str, render_processes: int | None
    ) -> None:
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
        env[ENGINE_ENV] = engine
        extra = [] if render_processes is None else ["--render-processes", str(render_processes)]
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "segment_desktop", "relay", "--listen",
             f"127.0.0.1:{self.port}", "--data-dir", str(work / "data"), *extra],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env,
        )  # fmt: skip
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line.startswith("Relay listening on"):
            raise RuntimeError(f"the relay did not start: {line!r}")
        self.url = line.split()[-1]
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        conn.request("GET", "/healthz")
        health = json.loads(conn.getresponse().read())
        conn.close()
        if health["engine"] != engine:
            raise RuntimeError(f"the relay runs {health['engine']}, not {engine}")
        self.render_processes = int(health.get("render_processes", 0))

    def cpu(self) -> tuple[float, float]:
        """CPU seconds of the main process and of its children (the render processes)."""
        children = sum(_cpu_seconds(pid) for pid in _children(self.proc.pid))
        return _cpu_seconds(self.proc.pid), children

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(30)
        if self.proc.stdout is not None:
            self.proc.stdout.close()


def _calls_at_segment(sandbox: Sandbox) -> int:
    return sum(len(b.calls) for b in sandbox.segment.received_batches)


def _measure(
    relay: RelayProcess,
    sandbox: Sandbox,
    sample: str,
    prefix: str,
    events: int,
    concurrency: int,
    rate: float | None,
) -> dict[str, float]:
    target = _calls_at_segment(sandbox) + events  # one call per order.paid event
    main_before, workers_before = relay.cpu()
    started, last_ack, latencies = _fire(relay.url, sample, prefix, events, concurrency, rate)
    acked = last_ack - started
    deadline = time.monotonic() + 120
    while _calls_at_segment(sandbox) < target:
        if time.monotonic() > deadline:
            raise RuntimeError("Segment did not receive every call")
        time.sleep(0.002)
    delivered = time.monotonic() - started
    main_after, workers_after = relay.cpu()
    return {
        "events": events,
        "acked_per_s": events / acked,
        "end_to_end_per_s": events / delivered,
        "ack_p50_ms": statistics.median(latencies),
        "ack_p99_ms": _percentile(latencies, 99),
        "ack_max_ms": max(latencies),
        "main_cpu_ms_per_event": (main_after - main_before) / events * 1000,
        "render_cpu_ms_per_event": (workers_after - workers_before) / events * 1000,
    }


def relay_round(
    engine: str,
    sample: str,
    events: int,
    concurrency: int,
    render_processes: int | None,
    tag: str,
) -> dict[str, Any]:
    """One relay: warm up, a loaded run, then a paced run at half the loaded rate."""
    with Sandbox.start() as sandbox, tempfile.TemporaryDirectory() as tmp:
        relay = RelayProcess(sandbox, Path(tmp), engine, render_processes)
        try:
            # warm up: render processes up, templates compiled, connections open
            _measure(relay, sandbox, sample, f"warm-{tag}", WARM_EVENTS, 4, None)
            loaded = _measure(relay, sandbox, sample, f"load-{tag}", events, concurrency, None)
            pace = loaded["end_to_end_per_s"] / 2
            paced_events = min(events, PACED_EVENTS)
            paced = _measure(relay, sandbox, sample, f"paced-{tag}", paced_events, 4, pace)
            paced["rate_per_s"] = pace
        finally:
            relay.stop()
    return {"render_processes": relay.render_processes, "loaded": loaded, "paced": paced}


def _median(rounds: list[dict[str, Any]], *path: str) -> float:
    values = []
    for item in rounds:
        value: Any = item
        for key in path:
            value = value[key]
        values.append(float(value))
    return statistics.median(values)


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--events", type=int, default=600)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--engine", action="append", dest="engines", metavar="NAME",
        help="only this engine (repeat for several; default: every installed one)",
    )  # fmt: skip
    parser.add_argument(
        "--render-processes", type=int, default=None, metavar="N",
        help="passed to the relay (default: the relay's own default)",
    )  # fmt: skip
    args = parser.parse_args()
    engines = args.engines or available_engines()
    only = os.environ.get("BENCH_CASE")
    results: dict[str, Any] = {
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "events": args.events,
        "concurrency": args.concurrency,
        "rounds": args.rounds,
        "engines": {},
    }
    for engine in engines:
        cases: dict[str, Any] = {}
        for label, sample in CASES.items():
            if only and only != label:
                continue
            least = args.events if "50" not in label else max(100, args.events // 4)
            bare: list[float] = []
            rounds: list[dict[str, Any]] = []
            for n in range(args.rounds):  # alternate, so that noise hits both sides alike
                bare.append(bare_rate(engine, sample))
                events = max(least, round(bare[-1] * LOAD_SECONDS))
                rounds.append(
                    relay_round(
                        engine, sample, events, args.concurrency, args.render_processes, f"r{n}"
                    )
                )
                print(
                    f"  {engine:<15}{label:<10}round {n + 1}: bare {bare[-1]:7.0f} ev/s, "
                    f"relay {rounds[-1]['loaded']['end_to_end_per_s']:7.0f} ev/s",
                    flush=True,
                )
            bare_median = statistics.median(bare)
            relay_median = _median(rounds, "loaded", "end_to_end_per_s")
            cases[label] = {
                "bare_render_per_s": bare,
                "rounds": rounds,
                "render_processes": rounds[0]["render_processes"],
                "median": {
                    "bare_render_per_s": bare_median,
                    "relay_end_to_end_per_s": relay_median,
                    "ratio": relay_median / bare_median,
                    "ack_p50_ms": _median(rounds, "loaded", "ack_p50_ms"),
                    "ack_p99_ms": _median(rounds, "loaded", "ack_p99_ms"),
                    "paced_p50_ms": _median(rounds, "paced", "ack_p50_ms"),
                    "paced_p99_ms": _median(rounds, "paced", "ack_p99_ms"),
                    "main_cpu_ms_per_event": _median(rounds, "loaded", "main_cpu_ms_per_event"),
                    "render_cpu_ms_per_event": _median(rounds, "loaded", "render_cpu_ms_per_event"),
                },
            }
        results["engines"][engine] = cases
    _print(results)
    out_dir = REPO / "bench" / "results"
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"relay_throughput-{time.strftime('%Y%m%d-%H%M%S')}.json"
    path.write_text(json.dumps(results, indent=2))
    print(f"wrote {path.relative_to(REPO)}")
    return 0


def _print(results: dict[str, Any]) -> None:
    print(
        f"\n{results['cpus']} CPUs, concurrency {results['concurrency']}, "
        f"medians of {results['rounds']} alternating rounds"
    )
    header = (
        f"{'engine':<15}{'order':<10}{'procs':>6}{'bare ev/s':>11}{'relay ev/s':>12}"
        f"{'ratio':>7}{'ack p50':>9}{'ack p99':>9}{'paced p50':>11}{'paced p99':>11}"
        f"{'render ms':>11}{'main CPU':>10}{'render CPU':>12}"
    )
    print(header)
    for engine, cases in results["engines"].items():
        for label, case in cases.items():
            m = case["median"]
            print(
                f"{engine:<15}{label:<10}{case['render_processes']:>6}"
                f"{m['bare_render_per_s']:>11.0f}{m['relay_end_to_end_per_s']:>12.0f}"
                f"{m['ratio']:>7.0%}{m['ack_p50_ms']:>7.1f}ms{m['ack_p99_ms']:>7.1f}ms"
                f"{m['paced_p50_ms']:>9.1f}ms{m['paced_p99_ms']:>9.1f}ms"
                f"{1000 / m['bare_render_per_s']:>11.2f}{m['main_cpu_ms_per_event']:>10.2f}"
                f"{m['render_cpu_ms_per_event']:>12.2f}"
            )
    print(
        "procs: render processes (0: threads in the relay). render ms: one bare render_event. "
        "main CPU / render CPU: CPU ms per event of the relay's main process (HTTP, commits, "
        "sending) and of its render processes (parsing, rendering), under load."
    )


if __name__ == "__main__":
    sys.exit(main())
