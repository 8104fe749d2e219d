"""Relay throughput and webhook ack latency, measured with wrk, beside two references.

    python -m bench.relay_throughput [--seconds 6] [--connections 64] [--rounds 3]
                                     [--engine NAME ...] [--render-processes N]

The load comes from ``wrk`` (a C load generator, Debian package ``wrk``; ``scripts/bench``
installs it), so that what is measured is the relay and not a Python sender competing with it
for the same CPUs. A Lua script gives every request a fresh event id. For each installed
template engine and for a 5-item and a 50-item order (``BENCH_CASE="50 items"`` runs one),
``--rounds`` times, alternately:

* **bare renderer**: ``Renderer(engine).render_event`` on one thread, events/s (the ceiling a
  relay rendering on one core could reach);
* **bare ASGI app**: uvicorn + httptools answering 200 to the same POSTs without reading them
  further, under the same wrk load (the ceiling of HTTP alone on this machine);
* **relay**: ``segment-desktop relay`` as a subprocess, loaded by wrk for ``--seconds``: its
  acknowledged rate (wrk), its end-to-end rate (until the Segment emulator has every call),
  ack p50/p99 under that load and the CPU per event of its processes;
* **paced**: then wrk again at half that end-to-end rate over 16 connections (each waits
  between its requests), ack p50/p99: what Commerce sees from a relay that is not saturated.

wrk keeps ``--connections`` requests in flight and sends the next as an answer comes back, so
the loaded run needs enough of them to keep the relay busy while each waits for its group's
commit (16 left the relay idle part of the time on two CPUs; 64 did not).

Prints a table and writes ``bench/results/relay_throughput-<time>.json``. Targets (5-item
orders, jlens): relay end to end ≥ 50 % of the bare renderer, paced ack p99 ≤ 50 ms.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import re
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from segment_desktop.core.config import Config, ConfigStore  # noqa: E402
from segment_desktop.core.engine import ENGINE_ENV, available_engines  # noqa: E402
from segment_desktop.core.envelope import parse_event_text  # noqa: E402
from segment_desktop.core.render import Renderer  # noqa: E402
from segment_desktop.core.samples import list_samples  # noqa: E402
from segment_desktop.core.templates import TemplateSet  # noqa: E402
from segment_desktop.sandbox.runner import Sandbox  # noqa: E402

#: Fresh for every run: the relay under test and the local Segment emulator take any value.
SECRET = secrets.token_hex(16)
WRITE_KEY = secrets.token_hex(16)
CASES = {"5 items": "order.paid", "50 items": "order.paid.50-items"}
PACED_CONNECTIONS = 16


def _body(sample: str) -> dict[str, Any]:
    (found,) = [s for s in list_samples("order.paid") if s.name == sample]
    body: dict[str, Any] = json.loads(found.text())
    return body


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


#: wrk's script: a fresh event id per request (``@@ID@@`` in the body), and with a delay
#: argument a pause before each request of a connection (a paced load).
WRK_SCRIPT = """
local counter = 0
local prefix, before, after, pause = "e", "", "", nil
init = function(args)
  prefix = args[1] .. "-"
  local file = io.open(args[2], "rb"); local body = file:read("*a"); file:close()
  local at = body:find("@@ID@@", 1, true)
  before, after = body:sub(1, at - 1), body:sub(at + 6)
  pause = tonumber(args[3])
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["X-MOLTIN-SECRET-KEY"] = args[4]
end
request = function()
  counter = counter + 1
  return wrk.format(nil, nil, nil, before .. prefix .. counter .. after)
end
"""
#: Added for a paced run only: wrk asks for a delay before every request when it is defined.
WRK_DELAY = """
delay = function()
  return pause
end
"""

#: A bare ASGI app on uvicorn + httptools: reads the body, answers 200 (HTTP alone's ceiling).
BARE_ASGI = """
import sys, uvicorn
async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    more = True
    while more:
        message = await receive()
        more = message.get("more_body", False)
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"application/json"), (b"content-length", b"2")]})
    await send({"type": "http.response.body", "body": b"{}"})
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), http="httptools", log_level="warning",
            access_log=False, lifespan="off")
"""


def wrk_path() -> str:
    found = shutil.which("wrk")
    if found is None:
        raise SystemExit("wrk is not installed: run scripts/bench (it installs the Debian package)")
    return found


def _body_file(sample: str, directory: Path) -> Path:
    body = _body(sample)
    body["id"] = "@@ID@@"
    path = directory / f"{sample}.json"
    path.write_text(json.dumps(body))
    return path


def wrk(
    url: str, body: Path, prefix: str, seconds: float, connections: int, pause_ms: float | None
) -> dict[str, float]:
    """One wrk run; requests done, their rate, latency percentiles, non-2xx answers."""
    script = body.parent / "fresh_ids.lua"
    script.write_text(WRK_SCRIPT + (WRK_DELAY if pause_ms is not None else ""))
    args = [prefix, str(body), "" if pause_ms is None else f"{pause_ms:.3f}", SECRET]
    if pause_ms is None:
        args[2] = "0"
    command = [
        wrk_path(), "-t1", f"-c{connections}", f"-d{seconds:g}s", "--latency", "-s",
        str(script), url, "--", *args,
    ]  # fmt: skip
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    requests = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    result = {"requests": requests, "acked_per_s": rate, "non_2xx": int(bad.group(1)) if bad else 0}
    for label, key in (("50%", "ack_p50_ms"), ("99%", "ack_p99_ms")):
        found = re.search(rf"\s{re.escape(label)}\s+([\d.]+)(us|ms|s)", out)
        if found:
            value, unit = float(found.group(1)), found.group(2)
            result[key] = value / 1000 if unit == "us" else value * 1000 if unit == "s" else value
    return result


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
    body: Path,
    prefix: str,
    seconds: float,
    connections: int,
    pause_ms: float | None,
) -> dict[str, float]:
    before = _calls_at_segment(sandbox)
    main_before, workers_before = relay.cpu()
    sink_before = time.process_time()
    started = time.monotonic()
    result = wrk(relay.url, body, prefix, seconds, connections, pause_ms)
    if result["non_2xx"]:
        raise RuntimeError(f"the relay refused {result['non_2xx']} deliveries")
    events = int(result["requests"])
    deadline = time.monotonic() + 120
    while _calls_at_segment(sandbox) < before + events:  # one call per order.paid event
        if time.monotonic() > deadline:
            raise RuntimeError("Segment did not receive every call")
        time.sleep(0.002)
    delivered = time.monotonic() - started
    main_after, workers_after = relay.cpu()
    sink = time.process_time() - sink_before
    return {
        **result,
        "end_to_end_per_s": events / delivered,
        "main_cpu_ms_per_event": (main_after - main_before) / events * 1000,
        "render_cpu_ms_per_event": (workers_after - workers_before) / events * 1000,
        "sink_cpu_ms_per_event": sink / events * 1000,
    }


def relay_round(
    engine: str, sample: str, seconds: float, connections: int, render_processes: int | None,
    tag: str,
) -> dict[str, Any]:  # fmt: skip
    """One relay: warm up, a loaded run, then a paced run at half the loaded rate."""
    with Sandbox.start() as sandbox, tempfile.TemporaryDirectory() as tmp:
        body = _body_file(sample, Path(tmp))
        relay = RelayProcess(sandbox, Path(tmp), engine, render_processes)
        try:
            _measure(relay, sandbox, body, f"warm-{tag}", 1, 4, None)
            loaded = _measure(relay, sandbox, body, f"load-{tag}", seconds, connections, None)
            pace = loaded["end_to_end_per_s"] / 2
            # Each connection waits between an answer and its next request, so that together
            # they send `pace` a second: a short run measures the answer time to subtract.
            cycle_ms = PACED_CONNECTIONS / pace * 1000
            trial = wrk(relay.url, body, f"trial-{tag}", 1, PACED_CONNECTIONS, cycle_ms)
            answer_ms = max(0.0, PACED_CONNECTIONS / trial["acked_per_s"] * 1000 - cycle_ms)
            pause_ms = max(0.0, cycle_ms - answer_ms)
            paced = _measure(
                relay, sandbox, body, f"paced-{tag}", seconds, PACED_CONNECTIONS, pause_ms
            )
            paced["rate_per_s"] = pace
        finally:
            relay.stop()
    return {"render_processes": relay.render_processes, "loaded": loaded, "paced": paced}


def wait_for_port(port: int, what: str, timeout: float = 20.0) -> None:
    """Return once something accepts connections on 127.0.0.1:``port``."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise RuntimeError(f"{what} did not start") from None
            time.sleep(0.05)


def bare_asgi_rate(sample: str, seconds: float, connections: int) -> dict[str, float]:
    """wrk against a bare ASGI app (uvicorn + httptools) with the same bodies."""
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-c", BARE_ASGI, str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        wait_for_port(port, "the bare ASGI app")
        with tempfile.TemporaryDirectory() as tmp:
            body = _body_file(sample, Path(tmp))
            return wrk(f"http://127.0.0.1:{port}/", body, "bare", seconds, connections, None)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(10)


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
    parser.add_argument("--seconds", type=float, default=6.0, help="each wrk run")
    parser.add_argument("--connections", type=int, default=64, help="of the loaded run")
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
    wrk_path()
    engines = args.engines or available_engines()
    only = os.environ.get("BENCH_CASE")
    results: dict[str, Any] = {
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "load": "wrk -t1",
        "seconds": args.seconds,
        "connections": args.connections,
        "rounds": args.rounds,
        "engines": {},
    }
    for engine in engines:
        cases: dict[str, Any] = {}
        for label, sample in CASES.items():
            if only and only != label:
                continue
            bare: list[float] = []
            asgi: list[float] = []
            rounds: list[dict[str, Any]] = []
            for n in range(args.rounds):  # alternate, so that noise hits every side alike
                bare.append(bare_rate(engine, sample))
                asgi.append(bare_asgi_rate(sample, args.seconds, args.connections)["acked_per_s"])
                rounds.append(
                    relay_round(engine, sample, args.seconds, args.connections,
                                args.render_processes, f"r{n}")
                )  # fmt: skip
                print(
                    f"  {engine:<15}{label:<10}round {n + 1}: bare render {bare[-1]:7.0f} ev/s, "
                    f"bare ASGI {asgi[-1]:7.0f} req/s, relay "
                    f"{rounds[-1]['loaded']['end_to_end_per_s']:7.0f} ev/s end to end "
                    f"({rounds[-1]['loaded']['acked_per_s']:.0f} acked/s)",
                    flush=True,
                )
            bare_median = statistics.median(bare)
            relay_median = _median(rounds, "loaded", "end_to_end_per_s")
            cases[label] = {
                "bare_render_per_s": bare,
                "bare_asgi_per_s": asgi,
                "rounds": rounds,
                "render_processes": rounds[0]["render_processes"],
                "median": {
                    "bare_render_per_s": bare_median,
                    "bare_asgi_per_s": statistics.median(asgi),
                    "relay_acked_per_s": _median(rounds, "loaded", "acked_per_s"),
                    "relay_end_to_end_per_s": relay_median,
                    "ratio": relay_median / bare_median,
                    "ack_p50_ms": _median(rounds, "loaded", "ack_p50_ms"),
                    "ack_p99_ms": _median(rounds, "loaded", "ack_p99_ms"),
                    "paced_rate_per_s": _median(rounds, "paced", "rate_per_s"),
                    "paced_acked_per_s": _median(rounds, "paced", "acked_per_s"),
                    "paced_p50_ms": _median(rounds, "paced", "ack_p50_ms"),
                    "paced_p99_ms": _median(rounds, "paced", "ack_p99_ms"),
                    "main_cpu_ms_per_event": _median(rounds, "loaded", "main_cpu_ms_per_event"),
                    "render_cpu_ms_per_event": _median(rounds, "loaded", "render_cpu_ms_per_event"),
                    "sink_cpu_ms_per_event": _median(rounds, "loaded", "sink_cpu_ms_per_event"),
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
        f"\n{results['cpus']} CPUs, wrk -t1 -c{results['connections']}, "
        f"{results['seconds']:g} s runs, medians of {results['rounds']} alternating rounds"
    )
    header = (
        f"{'engine':<15}{'order':<10}{'procs':>6}{'render/s':>10}{'ASGI/s':>9}"
        f"{'relay/s':>9}{'acked/s':>9}{'ratio':>7}{'ack p50':>9}{'ack p99':>9}"
        f"{'paced/s':>9}{'paced p99':>11}{'main CPU':>10}{'render CPU':>12}{'sink CPU':>10}"
    )
    print(header)
    for engine, cases in results["engines"].items():
        for label, case in cases.items():
            m = case["median"]
            print(
                f"{engine:<15}{label:<10}{case['render_processes']:>6}"
                f"{m['bare_render_per_s']:>10.0f}{m['bare_asgi_per_s']:>9.0f}"
                f"{m['relay_end_to_end_per_s']:>9.0f}{m['relay_acked_per_s']:>9.0f}"
                f"{m['ratio']:>7.0%}{m['ack_p50_ms']:>7.1f}ms{m['ack_p99_ms']:>7.1f}ms"
                f"{m['paced_acked_per_s']:>9.0f}{m['paced_p99_ms']:>9.1f}ms"
                f"{m['main_cpu_ms_per_event']:>10.2f}{m['render_cpu_ms_per_event']:>12.2f}"
                f"{m['sink_cpu_ms_per_event']:>10.2f}"
            )
    print(
        "render/s: one thread's bare render_event. ASGI/s: a bare uvicorn app under the same "
        "load. relay/s: end to end (until Segment has every call); acked/s: wrk's rate. "
        "ratio: relay/s over render/s. paced: at half relay/s. CPU: ms per event of the "
        "relay's main process and of its render processes; sink: of this process, whose "
        "Segment emulator receives the batches (the harness's own share of the CPUs)."
    )


if __name__ == "__main__":
    sys.exit(main())
