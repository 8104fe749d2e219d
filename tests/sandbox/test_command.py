"""``segment-desktop sandbox``: options, a light import, a real run stopped by Ctrl-C."""

from __future__ import annotations

import argparse
import io
import os
import re
import signal
import socket
import subprocess
import sys

import httpx
import pytest

from segment_desktop.sandbox import command
from segment_desktop.sandbox.demo import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, DEMO_WRITE_KEY


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="sandbox")
    command.configure(parser)
    return parser


def test_options() -> None:
    args = _parser().parse_args(["--commerce-port", "8101", "--segment-port", "8102"])
    assert (args.commerce_port, args.segment_port) == (8101, 8102)
    defaults = _parser().parse_args([])
    assert (defaults.commerce_port, defaults.segment_port) == (0, 0)
    for bad in (["--commerce-port", "abc"], ["--segment-port", "70000"]):
        with pytest.raises(SystemExit):
            _parser().parse_args(bad)


def test_importing_the_command_loads_no_server_library() -> None:
    probe = (
        "import sys, segment_desktop.sandbox.command, segment_desktop.sandbox\n"
        "heavy = [m for m in sys.modules if m.split('.')[0] in ('starlette', 'uvicorn', 'httpx')]\n"
        "print(heavy)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_a_taken_port_exits_1_with_a_message(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        args = _parser().parse_args(["--commerce-port", str(port)])
        out = io.StringIO()
        assert command.run(args, out=out) == 1
    assert f"127.0.0.1:{port}" in capsys.readouterr().err
    assert out.getvalue() == ""


@pytest.mark.parametrize("stop_signal", [signal.SIGINT, signal.SIGTERM])
def test_the_command_serves_until_stopped(stop_signal: signal.Signals) -> None:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        [sys.executable, "-m", "segment_desktop", "sandbox"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert process.stdout is not None
        lines = []
        for line in process.stdout:
            lines.append(line)
            if "Ctrl-C" in line:
                break
        text = "".join(lines)
        commerce = re.search(r"Commerce API\s+(http://127\.0\.0\.1:\d+)", text)
        segment = re.search(r"Segment host\s+(http://127\.0\.0\.1:\d+)", text)
        assert commerce and segment, text
        assert DEMO_CLIENT_ID in text and DEMO_CLIENT_SECRET in text and DEMO_WRITE_KEY in text

        token = httpx.post(
            f"{commerce.group(1)}/oauth/access_token",
            data={
                "grant_type": "client_credentials",
                "client_id": DEMO_CLIENT_ID,
                "client_secret": DEMO_CLIENT_SECRET,
            },
            trust_env=False,
        )
        assert token.status_code == 200
        sent = httpx.post(
            f"{segment.group(1)}/v1/batch",
            json={"batch": []},
            auth=(DEMO_WRITE_KEY, ""),
            trust_env=False,
        )
        assert sent.json() == {"success": True}

        process.send_signal(stop_signal)
        rest, errors = process.communicate(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, errors
    assert "Sandbox stopped." in rest
    assert "Traceback" not in errors
