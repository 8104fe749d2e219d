"""The relay's HTTP front alone: CPU per answered delivery, beside two references.

    python -m bench.relay_front [--seconds 5] [--connections 64] [--rounds 3]

The relay's own rate mixes its front (socket to a verified body, and the answer) with
rendering, storing and sending. Here the front runs alone, as ``segment-desktop relay`` runs
it (``relay.server.uvicorn_server`` over ``WebhookApp``), in front of a relay that accepts
every body at once. wrk posts the 5-item ``order.paid`` sample with fresh ids, as
``bench.relay_throughput`` does, to three servers in turn, ``--rounds`` times:

* **front**: the relay's front;
* **bare ASGI**: uvicorn + httptools answering ``{}`` to every POST through ASGI (the
  cheapest answer an ASGI app can give under uvicorn);
* **raw protocol**: an ``asyncio.Protocol`` on httptools and uvloop writing a fixed answer
  (the floor of Python HTTP on this machine).

For each: answers/s and the server process's CPU per answer (user and system), which resists
the machine's other load far better than the rate. Prints a table and writes
``bench/results/relay_front-<time>.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.relay_throughput import (  # noqa: E402
    BARE_ASGI,
    CASES,
    SECRET,
    _body_file,
    _free_port,
    wait_for_port,
    wrk,
    wrk_path,
)

#: The relay's front, with a relay that accepts at once.
FRONT = f"""
import sys
from segment_desktop.relay.app import WebhookApp
from segment_desktop.relay.intake import Accepted
from segment_desktop.relay.metrics import Metrics
from segment_desktop.relay.server import bind, uvicorn_server

class AcceptingRelay:
    metrics = Metrics()
    async def accept(self, body):
        return Accepted("queued", "evt-1", 1)

sock = bind("127.0.0.1", int(sys.argv[1]))
uvicorn_server(WebhookApp(AcceptingRelay(), {SECRET!r})).run(sockets=[sock])
"""

#: A fixed answer from a bare asyncio protocol (no ASGI, no routing, no checks).
RAW = """
import asyncio, sys, httptools, uvloop
ANSWER = b"HTTP/1.1 200 OK\\r\\ncontent-type: application/json\\r\\ncontent-length: 2\\r\\n\\r\\n{}"
class Raw(asyncio.Protocol):
    def connection_made(self, transport):
        self.transport, self.parser = transport, httptools.HttpRequestParser(self)
    def data_received(self, data):
        self.parser.feed_data(data)
    def on_message_complete(self):
        self.transport.write(ANSWER)
async def main():
    server = await asyncio.get_running_loop().create_server(Raw, "127.0.0.1", int(sys.argv[1]))
    await server.serve_forever()
uvloop.run(main())
"""

SERVERS = {"front": FRONT, "bare ASGI": BARE_ASGI, "raw protocol": RAW}


def _cpu(pid: int) -> tuple[float, float]:
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    tick = os.sysconf("SC_CLK_TCK")
    return int(fields[11]) / tick, int(fields[12]) / tick


def measure(code: str, body: Path, seconds: float, connections: int) -> dict[str, float]:
    """One server in a subprocess under wrk: answers/s and CPU microseconds per answer."""
    port = _free_port()
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    proc = subprocess.Popen([sys.executable, "-c", code, str(port)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        wait_for_port(port, "the server")
        url = f"http://127.0.0.1:{port}/webhooks/commerce"
        wrk(url, body, "warm", 1, 16, None)
        user, system = _cpu(proc.pid)
        result = wrk(url, body, "load", seconds, connections, None)
        user_after, system_after = _cpu(proc.pid)
        if result["non_2xx"]:
            raise RuntimeError(f"{result['non_2xx']} answers were not 200")
        answers = result["requests"]
        return {
            "answers_per_s": result["acked_per_s"],
            "user_us": (user_after - user) / answers * 1e6,
            "system_us": (system_after - system) / answers * 1e6,
            "cpu_us": (user_after - user + system_after - system) / answers * 1e6,
        }
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(10)


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="each wrk run")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    wrk_path()
    runs: dict[str, list[dict[str, float]]] = {name: [] for name in SERVERS}
    with tempfile.TemporaryDirectory() as tmp:
        body = _body_file(CASES["5 items"], Path(tmp))
        for n in range(args.rounds):  # alternate, so that noise hits every side alike
            for name, code in SERVERS.items():
                runs[name].append(measure(code, body, args.seconds, args.connections))
                last = runs[name][-1]
                print(f"  round {n + 1}: {name:<13}{last['answers_per_s']:8.0f} answers/s "
                      f"{last['cpu_us']:6.1f} us CPU per answer", flush=True)  # fmt: skip
    median = {
        name: {key: statistics.median(r[key] for r in rows) for key in rows[0]}
        for name, rows in runs.items()
    }
    print(
        f"\n{os.cpu_count()} CPUs, wrk -t1 -c{args.connections}, {args.seconds:g} s runs, "
        f"medians of {args.rounds} alternating rounds (load average now "
        f"{os.getloadavg()[0]:.1f})"
    )
    print(f"{'server':<14}{'answers/s':>10}{'CPU us':>8}{'user':>7}{'system':>8}{'vs front':>10}")
    for name, m in median.items():
        ratio = m["cpu_us"] / median["front"]["cpu_us"]
        print(
            f"{name:<14}{m['answers_per_s']:>10.0f}{m['cpu_us']:>8.1f}{m['user_us']:>7.1f}"
            f"{m['system_us']:>8.1f}{ratio:>10.2f}"
        )
    print("CPU us: the server process's CPU per answer; vs front: that over the front's.")
    out_dir = REPO / "bench" / "results"
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"relay_front-{time.strftime('%Y%m%d-%H%M%S')}.json"
    results: dict[str, Any] = {
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "seconds": args.seconds,
        "connections": args.connections,
        "runs": runs,
        "median": median,
    }
    path.write_text(json.dumps(results, indent=2))
    print(f"wrote {path.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
