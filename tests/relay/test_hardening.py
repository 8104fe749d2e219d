"""The relay as an attacker or an unlucky operator finds it: bounded, private, clear.

Each test here stands for one way the relay could be made to fall over, fill a disk or a log,
leak, or fail with a traceback; all run against a real relay on 127.0.0.1.
"""

from __future__ import annotations

import logging
import resource
import socket
import stat
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from segment_desktop.core.config import Config
from segment_desktop.core.logs import setup_logging, shutdown_logging
from segment_desktop.relay.app import WebhookLimits
from segment_desktop.relay.outbox import OUTBOX_FILENAME, Outbox
from segment_desktop.relay.server import RelayServer
from segment_desktop.sandbox.runner import Sandbox
from tests.relay.helpers import (
    WEBHOOK_SECRET,
    WRITE_KEY,
    RelayProcess,
    free_port,
    post,
    run_cli,
    sample_body,
    save_config,
    wait_for,
)


def _config(sandbox: Sandbox) -> Config:
    config = Config.default()
    config.segment.host = sandbox.segment_url
    return config


@pytest.fixture
def start(sandbox: Sandbox, tmp_path: Path) -> Iterator[object]:
    """Starts relays with chosen webhook limits; stops them after the test."""
    servers: list[RelayServer] = []

    def start_relay(limits: WebhookLimits | None = None) -> RelayServer:
        server = RelayServer.start(
            _config(sandbox), WRITE_KEY, WEBHOOK_SECRET, tmp_path / "data", limits=limits
        )
        servers.append(server)
        return server

    yield start_relay
    for server in servers:
        server.stop()


def _raw(url: str) -> socket.socket:
    host, port = url.split("//")[1].split("/")[0].split(":")
    sock = socket.create_connection((host, int(port)), timeout=10)
    return sock


def _answer(sock: socket.socket) -> bytes:
    data = b""
    while True:
        try:
            chunk = sock.recv(65536)
        except (ConnectionResetError, TimeoutError):
            break
        if not chunk:
            break
        data += chunk
    return data


# -- refusals are counted, not logged one by one ------------------------------------------------


def test_refused_deliveries_are_logged_as_a_count_per_interval(
    start: object, caplog: pytest.LogCaptureFixture
) -> None:
    relay = start(WebhookLimits(refusal_log_seconds=1.0))  # type: ignore[operator]
    body = sample_body("customer.created", "evt-refused")
    started = time.monotonic()
    with caplog.at_level(logging.WARNING, logger="segment_desktop"):
        with httpx.Client(timeout=10) as client:
            for n in range(300):
                answer = client.post(
                    relay.webhook_url, content=body, headers={"X-MOLTIN-SECRET-KEY": f"w{n}"}
                )
                assert answer.status_code == 401
        elapsed = time.monotonic() - started
        time.sleep(2.2)  # the last summary is out, then a quiet interval logs nothing
    first, *summaries = _refusal_lines(caplog)
    assert "(401, missing or wrong X-MOLTIN-SECRET-KEY)" in first
    assert summaries and len(summaries) <= elapsed + 2  # one line per second, not per refusal
    counted = [int(line.split()[1]) for line in summaries]
    assert 1 + sum(counted) == 300
    assert all(line.endswith("(401, missing or wrong X-MOLTIN-SECRET-KEY)") for line in summaries)
    assert relay.relay.metrics.get("unauthorized") == 300  # /metrics counts every one


def test_refusals_of_many_kinds_are_counted_by_kind_not_by_message(
    start: object, caplog: pytest.LogCaptureFixture
) -> None:
    relay = start(WebhookLimits(refusal_log_seconds=0.5))  # type: ignore[operator]
    started = time.monotonic()
    with caplog.at_level(logging.WARNING, logger="segment_desktop"):
        with httpx.Client(timeout=10) as client:
            for n in range(200):  # every one a different message ("... at line 1, column N")
                bad = b'{"id": "e"' + b" " * n + b"oops}"
                answer = client.post(
                    relay.webhook_url, content=bad, headers={"X-MOLTIN-SECRET-KEY": WEBHOOK_SECRET}
                )
                assert answer.status_code == 400
        elapsed = time.monotonic() - started
        time.sleep(1.2)  # the last summary is out
    first, *summaries = _refusal_lines(caplog)
    assert "(400, not a Commerce event): The event is not valid JSON" in first
    counted = [int(line.split()[1]) for line in summaries]
    assert 1 + sum(counted) == 200  # every refusal counted once, in one line per interval
    assert len(summaries) <= elapsed / 0.5 + 2
    assert all(line.endswith("(400, not a Commerce event)") for line in summaries)


def _refusal_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if "Refused" in r.getMessage()]


# -- customer data in private files -------------------------------------------------------------


def test_the_data_folder_and_every_outbox_file_are_private(start: object, tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir(mode=0o755)
    data.chmod(0o755)  # whatever the umask: as a careless earlier run left it
    older = Outbox.in_dir(data)
    older.close()
    (data / OUTBOX_FILENAME).chmod(0o644)
    relay = start()  # type: ignore[operator]
    assert (
        post(relay.webhook_url, sample_body("customer.created", "evt-private")).status_code == 200
    )
    assert stat.S_IMODE(data.stat().st_mode) == 0o700
    files = sorted(data.glob(OUTBOX_FILENAME + "*"))
    assert {f.name for f in files} >= {OUTBOX_FILENAME, OUTBOX_FILENAME + "-wal"}
    assert {f.name: stat.S_IMODE(f.stat().st_mode) for f in files} == {f.name: 0o600 for f in files}


def test_a_new_data_folder_is_private_from_the_start(tmp_path: Path) -> None:
    outbox = Outbox.in_dir(tmp_path / "fresh" / "data")
    outbox.close()
    assert stat.S_IMODE((tmp_path / "fresh" / "data").stat().st_mode) == 0o700
    assert stat.S_IMODE((tmp_path / "fresh" / "data" / OUTBOX_FILENAME).stat().st_mode) == 0o600


# -- bounded heads and bodies -------------------------------------------------------------------


def test_an_oversized_head_is_431_and_the_relay_serves_on(start: object) -> None:
    relay = start()  # type: ignore[operator]
    with _raw(relay.webhook_url) as sock:
        sock.sendall(b"POST /webhooks/commerce HTTP/1.1\r\nHost: relay\r\n")
        try:
            for _ in range(64):  # 4 MB of one header, never finished
                sock.sendall(b"X-Pad: " + b"a" * 65_536 + b"\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass  # the relay hung up, as it should
        assert _answer(sock).startswith(b"HTTP/1.1 431 ")
    assert post(relay.webhook_url, sample_body("customer.created", "evt-after")).status_code == 200


def test_a_head_that_does_not_arrive_in_time_is_408(start: object) -> None:
    relay = start(WebhookLimits(head_seconds=0.5))  # type: ignore[operator]
    with _raw(relay.webhook_url) as silent, _raw(relay.webhook_url) as trickle:
        trickle.sendall(b"POST /webhooks/commerce HTTP/1.1\r\n")
        time.sleep(0.2)
        trickle.sendall(b"X-Slow: 1\r\n")  # and the rest never comes
        assert _answer(trickle).startswith(b"HTTP/1.1 408 ")
        assert _answer(silent).startswith(b"HTTP/1.1 408 ")


def test_slow_bodies_get_408_and_never_take_the_place_of_honest_deliveries(
    start: object,
) -> None:
    relay = start(WebhookLimits(body_seconds=1.0, max_in_flight=2))  # type: ignore[operator]
    body = sample_body("customer.created", "evt-slow")
    slow = []
    for _ in range(6):  # more slow senders (holding the right secret) than deliveries in flight
        sock = _raw(relay.webhook_url)
        sock.sendall(
            b"POST /webhooks/commerce HTTP/1.1\r\nHost: relay\r\n"
            b"X-MOLTIN-SECRET-KEY: " + WEBHOOK_SECRET.encode() + b"\r\n"
            b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body[:20]
        )
        slow.append(sock)
    try:
        wait_for(lambda: relay.app.receiving == 6, what="the slow senders")
        honest = post(relay.webhook_url, sample_body("customer.created", "evt-honest"))
        assert honest.status_code == 200 and honest.json()["status"] == "queued"
        for sock in slow:
            answer = _answer(sock)
            assert answer.startswith(b"HTTP/1.1 408 "), answer[:80]
    finally:
        for sock in slow:
            sock.close()
    assert relay.app.receiving == 0


# -- an outbox that cannot be written ----------------------------------------------------------


def _small_files() -> None:
    """In the relay's process: files may grow to 512 KB (writing more fails, as on a full
    disk; Python ignores SIGXFSZ)."""
    resource.setrlimit(resource.RLIMIT_FSIZE, (512 * 1024, resource.RLIM_INFINITY))


def test_a_full_disk_answers_503_with_retry_after_and_health_says_why(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    save_config(sandbox.segment_url, {"customer_created": '$error("kept for replay")'})
    relay = RelayProcess(
        free_port(), tmp_path / "data", args=["--render-processes", "0"], preexec_fn=_small_files
    ).start()
    try:
        assert httpx.get(relay.base + "/healthz").status_code == 200
        answers = []
        for n in range(20):  # each stores its 100 KB body (a template error keeps it)
            body = sample_body("customer.created", f"evt-full-{n}")
            body = body[:-1] + b', "pad": "' + b"p" * 100_000 + b'"}'
            answers.append(post(relay.url, body))
            if answers[-1].status_code == 503:
                break
        full = answers[-1]
        assert full.status_code == 503, [a.status_code for a in answers]
        assert full.headers["retry-after"] == "5"
        assert "outbox" in full.json()["error"]
        health = httpx.get(relay.base + "/healthz")
        assert health.status_code == 503
        assert "outbox could not be written" in health.json()["problems"]["outbox"]

        assert relay.proc is not None
        unlimited = (resource.RLIM_INFINITY, resource.RLIM_INFINITY)
        resource.prlimit(relay.proc.pid, resource.RLIMIT_FSIZE, unlimited)  # space again
        again = post(relay.url, sample_body("customer.created", "evt-after-full"))
        assert again.status_code == 200
        assert httpx.get(relay.base + "/healthz").json()["status"] == "ok"
    finally:
        relay.terminate()


def test_an_unusable_data_folder_is_a_clear_error_not_a_traceback(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    done = run_cli("--data-dir", str(blocker / "data"), "--listen", "127.0.0.1:0", "serve")
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    assert f"data folder {blocker / 'data'}" in done.stderr
    assert "--data-dir" in done.stderr


# -- uvicorn's own lines ------------------------------------------------------------------------


def test_uvicorns_own_log_lines_go_through_the_redactor_into_the_log_file(
    start: object, tmp_path: Path
) -> None:
    log_file = setup_logging(tmp_path / "logs")
    try:
        relay = start()  # type: ignore[operator]
        with _raw(relay.webhook_url) as sock:
            sock.sendall(b"NOT HTTP AT ALL\r\n\r\n")
            assert _answer(sock).startswith(b"HTTP/1.1 400 ")
        uvicorn_error = logging.getLogger("uvicorn.error")
        assert uvicorn_error.propagate and not uvicorn_error.handlers  # root's handlers apply
        wait_for(lambda: log_file.exists() and "Invalid HTTP request" in log_file.read_text())
        line = next(x for x in log_file.read_text().splitlines() if "Invalid HTTP" in x)
        assert "WARNING uvicorn.error" in line
    finally:
        shutdown_logging()


def test_threads_of_a_relay_end_with_it(start: object) -> None:
    before = {t.name for t in threading.enumerate()}
    relay = start()  # type: ignore[operator]
    relay.stop()
    assert {t.name for t in threading.enumerate()} <= before


# -- a settings file the watcher cannot load ----------------------------------------------------


def test_a_broken_settings_file_is_reported_in_health_and_watching_goes_on(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    store_path = tmp_path / "config" / "config.json"
    save_config(sandbox.segment_url)
    good = store_path.read_bytes()
    save_config(sandbox.segment_url, {"customer_created": '$error("old template")'})
    relay = RelayProcess(free_port(), tmp_path / "data", args=["--render-processes", "0"]).start()
    try:
        store_path.write_text('{"schema_version": 1, "relay_url": ' + "[" * 50_000 + "]" * 50_000)

        def unhealthy() -> bool:
            answer = httpx.get(relay.base + "/healthz")
            return answer.status_code == 503 and "settings" in answer.json()["problems"]

        wait_for(unhealthy, timeout=15, what="/healthz to report the settings")
        problem = httpx.get(relay.base + "/healthz").json()["problems"]["settings"]
        assert "nests objects or arrays too deeply" in problem
        answer = post(relay.url, sample_body("customer.created", "evt-while-broken"))
        assert answer.json()["status"] == "template_error"  # the previous templates, kept

        store_path.write_bytes(good)  # good settings again (the app would reset, then save)

        def healthy() -> bool:
            return httpx.get(relay.base + "/healthz").json()["status"] == "ok"

        wait_for(healthy, timeout=15, what="the watcher to load the good settings")
        answer = post(relay.url, sample_body("customer.created", "evt-after-fix"))
        assert answer.json()["status"] == "queued"
    finally:
        assert relay.terminate() == 0


def test_an_infinity_in_a_delivery_is_400_and_nothing_is_stored(start: object) -> None:
    relay = start()  # type: ignore[operator]
    body = sample_body("customer.created", "evt-infinity")
    body = body.replace(b'"email": "', b'"email": Infinity, "was": "', 1)
    assert b"Infinity" in body
    answer = post(relay.webhook_url, body)
    assert answer.status_code == 400
    assert "Infinity is not a JSON number" in answer.json()["error"]
    assert relay.relay.outbox_stats().events == 0
