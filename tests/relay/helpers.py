"""Test helpers for the relay: a saved config, the relay as a subprocess, webhook posting."""

from __future__ import annotations

import json
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx

from segment_desktop.core.config import Config, ConfigStore
from segment_desktop.core.samples import list_samples

WRITE_KEY = "wk_test_0123456789abcdef0123456789"
WEBHOOK_SECRET = "whsec-test-7f3a9c1e5b2d4f6a8c0e1b3d5f7a9c2e"
#: A Customer Created template making one call per event (the built-in one makes two), so that
#: calls can be counted against events.
#: A template that never ends: every render of it runs to the time limit.
RUNAWAY = "($f := function($x){$f($x)}; $f(1))"
ONE_CALL = '{"type": "track", "userId": payload.data.id, "event": "Customer Created"}'
REPO = Path(__file__).resolve().parents[2]


def save_config(segment_url: str, overrides: dict[str, str] | None = None) -> Config:
    """Write settings with ``ConfigStore`` into ``$SEGMENT_DESKTOP_CONFIG_DIR``."""
    config = Config.default()
    config.segment.host = segment_url
    config.template_overrides = dict(overrides or {})
    ConfigStore().save(config)
    return config


def sample_body(event: str, event_id: str, name: str | None = None) -> bytes:
    """A sample webhook body with a chosen id (each test event needs its own)."""
    samples = [s for s in list_samples(event) if name is None or s.name == name]
    body = json.loads(samples[0].text())
    body["id"] = event_id
    return json.dumps(body).encode()


def post(url: str, body: bytes, secret: str | None = WEBHOOK_SECRET, **kw: Any) -> httpx.Response:
    headers = {"Content-Type": "application/json", "X-MOLTIN-INTEGRATION-TRIGGER": "x"}
    if secret is not None:
        headers["X-MOLTIN-SECRET-KEY"] = secret
    return httpx.post(url, content=body, headers=headers, timeout=10, **kw)


def wait_for(condition: Callable[[], bool], timeout: float = 20.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or condition}")
        time.sleep(0.02)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def relay_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        SEGMENT_WRITE_KEY=WRITE_KEY,
        COMMERCE_WEBHOOK_SECRET=WEBHOOK_SECRET,
        PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
        SEGMENT_DESKTOP_RELAY_FLUSH_SECONDS="2",
    )
    env.update(extra)
    return env


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "segment_desktop", "relay", *args],
        capture_output=True,
        text=True,
        env=env if env is not None else relay_env(),
        timeout=60,
        cwd=REPO,
    )


class RelayProcess:
    """``segment-desktop relay`` as a real subprocess on a fixed port."""

    def __init__(
        self,
        port: int,
        data_dir: Path,
        env: dict[str, str] | None = None,
        *,
        listen_flag: bool = True,
        args: Sequence[str] = (),
        preexec_fn: Callable[[], None] | None = None,
    ) -> None:
        self.preexec_fn = preexec_fn
        """Run in the child before it starts (resource limits)."""
        self.port = port
        self.args = list(args)
        self.listen_flag = listen_flag
        self.data_dir = data_dir
        self.env = env or relay_env()
        self.url = f"http://127.0.0.1:{port}/webhooks/commerce"
        self.base = f"http://127.0.0.1:{port}"
        self.proc: subprocess.Popen[str] | None = None
        self.stderr_lines: list[str] = []
        self.orphan_candidates: set[tuple[int, int]] = set()
        """(pid, start time) of the processes the relay had started when it was SIGKILLed."""

    def start(self, timeout: float = 30.0) -> RelayProcess:
        args = ["--data-dir", str(self.data_dir)]
        if self.listen_flag:
            args += ["--listen", f"127.0.0.1:{self.port}"]
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "segment_desktop", "relay", *args, "serve", *self.args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=self.env,
            cwd=REPO,
            preexec_fn=self.preexec_fn,
        )
        lines: queue.Queue[str] = queue.Queue()
        assert self.proc.stdout is not None and self.proc.stderr is not None
        self._threads = [
            threading.Thread(target=_pump, args=(self.proc.stdout, lines), daemon=True),
            threading.Thread(
                target=_collect, args=(self.proc.stderr, self.stderr_lines), daemon=True
            ),
        ]
        for thread in self._threads:
            thread.start()
        deadline = time.monotonic() + timeout
        while True:
            try:
                line = lines.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                self.kill()
                raise AssertionError("relay did not start: " + "".join(self.stderr_lines)) from None
            if line.startswith("Relay listening on"):
                return self
            if not line:
                raise AssertionError("relay exited: " + "".join(self.stderr_lines))

    def children(self) -> list[Child]:
        """The relay's child processes now (render processes, multiprocessing's tracker)."""
        assert self.proc is not None
        return children_of(self.proc.pid)

    def render_pids(self) -> list[int]:
        return sorted(c.pid for c in self.children() if "spawn_main" in c.cmdline)

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.orphan_candidates.update(c.identity for c in self.children())
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)
        self._drain()

    def terminate(self, timeout: float = 30.0) -> int:
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()  # never leave a relay running after a failed test
            raise
        self._drain()
        return code

    def _drain(self) -> None:
        """Wait for the output readers; they close the pipes (no ResourceWarning)."""
        for thread in getattr(self, "_threads", []):
            thread.join(10)


class Child:
    """A process seen in ``/proc``."""

    def __init__(self, pid: int, ppid: int, start: int, cmdline: str) -> None:
        self.pid, self.ppid, self.start, self.cmdline = pid, ppid, start, cmdline

    @property
    def identity(self) -> tuple[int, int]:
        """Pid and start time: a pid used again later is another process."""
        return self.pid, self.start

    def __repr__(self) -> str:
        return f"Child({self.pid}, {self.cmdline[:80]!r})"


def process(pid: int) -> Child | None:
    """The process ``pid`` (Linux ``/proc``), or None when it is gone or a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return None
    fields = stat.rpartition(")")[2].split()
    if fields[0] in ("Z", "X"):
        return None  # exited, not yet reaped
    cmdline = raw.replace(b"\0", b" ").decode(errors="replace")
    return Child(pid, int(fields[1]), int(fields[19]), cmdline)


def children_of(pid: int) -> list[Child]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            child = process(int(entry.name))
            if child is not None and child.ppid == pid:
                found.append(child)
    return found


def alive(identities: set[tuple[int, int]]) -> list[Child]:
    """Those of the processes (from :attr:`Child.identity`) still running."""
    found = (process(pid) for pid, _ in sorted(identities))
    return [c for c in found if c is not None and c.identity in identities]


def _pump(stream: Any, lines: queue.Queue[str]) -> None:
    with stream:
        for line in stream:
            lines.put(line)
    lines.put("")


def _collect(stream: Any, into: list[str]) -> None:
    with stream:
        for line in stream:
            into.append(line)


class Recorder:
    """A tiny webhook receiver that keeps every body (to know exactly what Commerce sent)."""

    def __init__(self) -> None:
        bodies: list[bytes] = []
        self.bodies = bodies

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                bodies.append(self.rfile.read(length))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/hook"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
