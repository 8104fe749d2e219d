"""Starting and stopping the sandbox: ports, context manager, no leftover threads."""

from __future__ import annotations

import socket
import threading

import httpx
import pytest

from segment_desktop.core.errors import NetworkError
from segment_desktop.sandbox import DEMO_WRITE_KEY
from segment_desktop.sandbox.runner import Sandbox


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _sandbox_threads() -> list[str]:
    prefixes = ("Commerce-server", "Segment-server", "webhook")
    return [t.name for t in threading.enumerate() if t.name.startswith(prefixes)]


def test_context_manager_serves_then_frees_the_ports() -> None:
    with Sandbox.start() as sandbox:
        assert sandbox.commerce_url.startswith("http://127.0.0.1:")
        assert sandbox.segment_url.startswith("http://127.0.0.1:")
        assert sandbox.commerce_url != sandbox.segment_url
        assert sandbox.write_key == DEMO_WRITE_KEY and len(sandbox.write_key) == 32
        assert httpx.get(f"{sandbox.segment_url}/sandbox/received", trust_env=False).is_success
        assert "running" in repr(sandbox)
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{sandbox.segment_url}/sandbox/received", trust_env=False)
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{sandbox.commerce_url}/v2/orders", trust_env=False)
    assert _sandbox_threads() == []
    sandbox.stop()  # a second stop is harmless
    assert "stopped" in repr(sandbox)


def test_chosen_ports_are_used() -> None:
    commerce_port, segment_port = _free_port(), _free_port()
    with Sandbox.start(commerce_port=commerce_port, segment_port=segment_port) as sandbox:
        assert sandbox.commerce_url == f"http://127.0.0.1:{commerce_port}"
        assert sandbox.segment_url == f"http://127.0.0.1:{segment_port}"


def test_a_taken_port_is_a_clear_error_and_leaves_nothing_running() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        with pytest.raises(NetworkError, match=f"cannot listen on 127.0.0.1:{port}") as caught:
            Sandbox.start(segment_port=port)
        assert "Choose another port" in str(caught.value)
    assert _sandbox_threads() == []


def test_bad_options_are_refused() -> None:
    with pytest.raises(ValueError, match="webhook_timeout"):
        Sandbox.start(webhook_timeout=0)
    with pytest.raises(ValueError, match="retry_delays"):
        Sandbox.start(retry_delays=(1.0, -1.0))
    assert _sandbox_threads() == []


def test_stopping_drops_scheduled_retries_and_finishes_every_result() -> None:
    sandbox = Sandbox.start(retry_delays=(30.0,))
    try:
        sandbox.commerce.create_integration(
            {
                "data": {
                    "type": "integration",
                    "integration_type": "webhook",
                    "name": "nobody home",
                    "enabled": True,
                    "observes": ["order.paid"],
                    "configuration": {"url": "http://127.0.0.1:9/"},
                }
            }
        )
        (result,) = sandbox.commerce.fire("order.paid")
        assert not sandbox.commerce.wait_idle(0.3)  # the retry is 30 s away
        assert [a.number for a in result.attempts] == [1]
    finally:
        sandbox.stop()
    assert result.finished and not result.succeeded
    assert sandbox.commerce.wait_idle(0)
    with pytest.raises(RuntimeError, match="stopped"):
        sandbox.commerce.fire("order.paid")
    assert _sandbox_threads() == []
