"""The relay under attack and through crashes: figures for bench/README.md.

    python bench/relay_hardening.py [--engine NAME]

Everything runs on 127.0.0.1: the Segment emulator in this process, the relay as a subprocess
(``segment-desktop relay``), attackers as raw sockets from here. Measured:

* refusals: deliveries with a wrong secret vs the WARNING lines they leave in the log file;
* heads: 100 connections each sending an unfinished 2 MB header; the relay's peak memory
  (VmHWM) before and after, and what each connection was answered;
* bodies: 260 connections holding the right secret that send a body slowly, while honest
  deliveries go on; honest answers by status, the relay's peak memory;
* templates: the worst templates (doubling strings and arrays, huge padding, a loop) on each
  engine under the relay's limits, time and peak memory of a fresh process each;
* kill -9: events delivered while Segment answers slowly, the relay SIGKILLed mid-send and
  started again; calls lost and calls Segment received more than once (it drops those by
  ``messageId``).

Prints the figures and writes ``bench/results/relay_hardening-<time>.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from segment_desktop.core.config import Config, ConfigStore  # noqa: E402
from segment_desktop.core.engine import ENGINE_ENV, available_engines  # noqa: E402
from segment_desktop.core.samples import list_samples  # noqa: E402
from segment_desktop.sandbox.runner import Sandbox  # noqa: E402

#: Fresh for every run: the relay under test and the local Segment emulator take any value.
SECRET = secrets.token_hex(16)
WRITE_KEY = secrets.token_hex(16)

WORST_TEMPLATES = {
    "doubling string": "($f := function($s, $n){ $n = 0 ? $s : $f($s & $s, $n - 1) }; "
    '$f("xxxxxxxx", 40))',
    "padding": '$pad("", 1000000000, "x")',
    "doubling array": "($f := function($a, $n){ $n = 0 ? $a : $f($append($a, $a), $n - 1) }; "
    "$count($f([1, 2, 3, 4], 30)))",
    "join of a range": '$join([1..1000000].$string(), "abcdefghij")',
    "a thousand 4 MB strings": '$count([1..1000].$pad("", 4000000, "x"))',
    "endless loop": "($f := function($x){$f($x)}; $f(1))",
}
_TEMPLATE_PROBE = """
import resource, sys, time
sys.path.insert(0, sys.argv[1])
from segment_desktop.core.envelope import to_event
from segment_desktop.core.errors import TemplateError
from segment_desktop.core.render import Renderer
from segment_desktop.relay.rendering import relay_limits
event = to_event({"id": "e", "triggered_by": "order.paid", "payload": {"data": {"id": "o"}}})
renderer = Renderer(sys.argv[2], limits=relay_limits())
renderer.render('{"type": "track", "event": "E", "userId": "u"}', event)
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
started = time.perf_counter()
try:
    renderer.render(sys.argv[3], event)
    outcome = "rendered"
except TemplateError as err:
    outcome = err.code
seconds = time.perf_counter() - started
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(seconds, (peak - base) / 1024, peak / 1024, outcome)
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _memory(pid: int) -> dict[str, float]:
    """The process's resident memory now and at its peak, in MB."""
    values = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            values[key] = int(value.split()[0]) / 1024
    return values


def _body(event: str, event_id: str) -> bytes:
    sample = next(iter(list_samples(event)))
    data = json.loads(sample.text())
    data["id"] = event_id
    return json.dumps(data).encode()


class Relay:
    def __init__(self, data: Path, config_dir: Path, log_dir: Path, engine: str) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}/webhooks/commerce"
        env = dict(os.environ)
        env.update(
            SEGMENT_WRITE_KEY=WRITE_KEY,
            COMMERCE_WEBHOOK_SECRET=SECRET,
            SEGMENT_DESKTOP_CONFIG_DIR=str(config_dir),
            SEGMENT_DESKTOP_LOG_DIR=str(log_dir),
            SEGMENT_DESKTOP_RELAY_FLUSH_SECONDS="1",
            PYTHONPATH=str(REPO),
        )
        env[ENGINE_ENV] = engine
        args = ["--data-dir", str(data), "--listen", f"127.0.0.1:{self.port}", "serve"]
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "segment_desktop", "relay", *args, "--render-processes", "0"],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env, cwd=REPO,
        )  # fmt: skip
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line.startswith("Relay listening"):
            raise RuntimeError("the relay did not start")

    def post(self, client: httpx.Client, body: bytes, secret: str = SECRET) -> int:
        return client.post(
            self.url, content=body, headers={"X-MOLTIN-SECRET-KEY": secret}
        ).status_code

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(30)


def _save_config(directory: Path, segment_url: str) -> None:
    config = Config.default()
    config.segment.host = segment_url
    ConfigStore(directory).save(config)


def refusals(relay: Relay, log_file: Path, count: int = 2000) -> dict[str, Any]:
    body = _body("customer.created", "bench-refused")
    started = time.perf_counter()
    with httpx.Client(timeout=10) as client:
        statuses = Counter(relay.post(client, body, secret=f"wrong-{n}") for n in range(count))
    seconds = time.perf_counter() - started
    lines = [x for x in log_file.read_text().splitlines() if "Refused" in x]
    return {"requests": count, "statuses": dict(statuses), "seconds": round(seconds, 1),
            "log_lines": len(lines)}  # fmt: skip


def header_attack(relay: Relay, connections: int = 100, size: int = 2 * 1024 * 1024) -> dict:
    before = _memory(relay.proc.pid)
    answers: Counter[str] = Counter()
    socks = []
    for _ in range(connections):
        sock = socket.create_connection(("127.0.0.1", relay.port), timeout=10)
        sock.sendall(b"POST /webhooks/commerce HTTP/1.1\r\nHost: relay\r\nX-Pad: ")
        socks.append(sock)
    chunk = b"a" * 65536
    for sock in socks:
        try:
            for _ in range(size // len(chunk)):
                sock.sendall(chunk)
        except OSError:
            pass
    for sock in socks:
        try:
            answers[sock.recv(64).split(b"\r\n")[0].decode() or "closed"] += 1
        except OSError as err:
            answers[type(err).__name__] += 1
        sock.close()
    after = _memory(relay.proc.pid)
    return {"connections": connections, "header_bytes": size, "answers": dict(answers),
            "rss_before_mb": before["VmRSS"], "peak_after_mb": after["VmHWM"]}  # fmt: skip


def body_attack(relay: Relay, connections: int = 260, seconds: float = 12.0) -> dict:
    before = _memory(relay.proc.pid)
    body = _body("customer.created", "bench-slow")
    head = (
        b"POST /webhooks/commerce HTTP/1.1\r\nHost: relay\r\nX-MOLTIN-SECRET-KEY: "
        + SECRET.encode() + b"\r\nContent-Length: " + str(len(body)).encode() + b"\r\n\r\n"
    )  # fmt: skip
    socks = []
    for _ in range(connections):
        sock = socket.create_connection(("127.0.0.1", relay.port), timeout=30)
        sock.sendall(head + body[:10])
        socks.append(sock)
    honest: Counter[int] = Counter()
    deadline = time.monotonic() + seconds
    n = 0
    with httpx.Client(timeout=15) as client:
        while time.monotonic() < deadline:
            honest[relay.post(client, _body("customer.created", f"bench-honest-{n}"))] += 1
            n += 1
            time.sleep(0.05)
    slow: Counter[str] = Counter()
    for sock in socks:
        try:
            slow[sock.recv(64).split(b"\r\n")[0].decode() or "closed"] += 1
        except OSError as err:
            slow[type(err).__name__] += 1
        sock.close()
    after = _memory(relay.proc.pid)
    return {"slow_connections": connections, "slow_answers": dict(slow),
            "honest_answers": dict(honest), "rss_before_mb": before["VmRSS"],
            "peak_after_mb": after["VmHWM"]}  # fmt: skip


def worst_templates(engines: list[str]) -> list[dict[str, Any]]:
    rows = []
    for engine in engines:
        for name, text in WORST_TEMPLATES.items():
            done = subprocess.run(
                [sys.executable, "-c", _TEMPLATE_PROBE, str(REPO), engine, text],
                capture_output=True, text=True, timeout=120,
            )  # fmt: skip
            seconds, grew, peak, outcome = done.stdout.split()
            rows.append({"engine": engine, "template": name, "seconds": round(float(seconds), 2),
                         "memory_grew_mb": round(float(grew)), "peak_mb": round(float(peak)),
                         "outcome": outcome})  # fmt: skip
    return rows


def kill_during_slow_send(
    sandbox: Sandbox, tmp: Path, engine: str, events: int = 750
) -> dict[str, Any]:
    """Every batch takes Segment 2 s to answer; the relay is killed after all events were
    acknowledged, while a batch is on its way, and started again with Segment back to normal."""
    data = tmp / "kill-data"
    relay = Relay(data, tmp / "config", tmp / "logs-kill", engine)
    sandbox.segment.faults.slow("/v1/batch", count=1000, delay=2.0)
    with httpx.Client(timeout=10) as client:
        for n in range(events):
            assert relay.post(client, _body("customer.created", f"bench-kill-{n}")) == 200
    time.sleep(1.0)
    relay.kill()
    sandbox.segment.faults.clear()
    relay = Relay(data, tmp / "config", tmp / "logs-kill", engine)

    def ours() -> Counter[str]:
        calls = sandbox.segment.received_calls()
        return Counter(c["messageId"] for c in calls if "bench-kill-" in c["messageId"])

    per_event = 0
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        ids = ours()
        per_event = len([i for i in ids if "bench-kill-0-" in i])
        if per_event and len(ids) >= events * per_event:
            break
        time.sleep(0.2)
    time.sleep(2.0)  # anything sent twice has arrived too
    relay.stop()
    ids = ours()
    return {"events": events, "calls_per_event": per_event,
            "calls_lost": events * per_event - len(ids),
            "calls_resent": sum(n - 1 for n in ids.values())}  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--engine", action="append", help="template engine(s) for the templates")
    args = parser.parse_args()
    engines = args.engine or available_engines()
    results: dict[str, Any] = {"engines": engines}
    with Sandbox.start() as sandbox, tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        _save_config(tmp / "config", sandbox.segment_url)
        relay = Relay(tmp / "data", tmp / "config", tmp / "logs", engines[0])
        try:
            results["refusals"] = refusals(relay, tmp / "logs" / "segment-desktop.log")
            results["header_attack"] = header_attack(relay)
            results["body_attack"] = body_attack(relay)
        finally:
            relay.stop()
        results["kill_during_slow_send"] = kill_during_slow_send(sandbox, tmp, engines[0])
    results["worst_templates"] = worst_templates(engines)
    print(json.dumps(results, indent=2))
    out = REPO / "bench" / "results" / f"relay_hardening-{time.strftime('%Y%m%dT%H%M%S')}.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    threading.current_thread().name = "bench"
    raise SystemExit(main())
