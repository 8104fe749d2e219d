"""The relay as a subprocess between the Commerce and Segment emulators."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from segment_desktop.core.envelope import parse_event_text
from segment_desktop.core.render import Renderer
from segment_desktop.core.templates import TemplateSet
from segment_desktop.sandbox.runner import Sandbox
from tests.relay.helpers import (
    WEBHOOK_SECRET,
    WRITE_KEY,
    Recorder,
    RelayProcess,
    free_port,
    post,
    run_cli,
    sample_body,
    save_config,
    wait_for,
)


@pytest.fixture
def recorder() -> Iterator[Recorder]:
    rec = Recorder()
    yield rec
    rec.close()


def _integration(sandbox: Sandbox, url: str, observes: list[str], secret: str) -> None:
    sandbox.commerce.create_integration(
        {
            "data": {
                "type": "integration",
                "name": f"test {url}",
                "description": "relay test",
                "integration_type": "webhook",
                "enabled": True,
                "observes": observes,
                "configuration": {"url": url, "secret_key": secret},
            }
        }
    )


def test_commerce_to_segment_through_the_relay_subprocess(
    sandbox: Sandbox, recorder: Recorder, tmp_path: Path
) -> None:
    config = save_config(sandbox.segment_url)
    relay = RelayProcess(free_port(), tmp_path / "data").start()
    try:
        events = ["order.created", "order.paid", "order.cancelled", "customer.created"]
        _integration(sandbox, relay.url, events, WEBHOOK_SECRET)
        _integration(sandbox, recorder.url, events, "recorder")  # sees the same bodies
        for name in events:
            (delivery, _) = sandbox.commerce.fire(name, wait=True)
            assert delivery.succeeded, delivery.as_dict()
        renderer = Renderer()
        expected: list[dict[str, object]] = []
        for body in recorder.bodies:
            event = parse_event_text(body)
            rendering = renderer.render_event(event, TemplateSet(), config.chosen_events())
            assert not rendering.errors
            expected.extend(rendering.calls)
        assert len(expected) >= len(events)
        wait_for(lambda: len(sandbox.segment.received_calls()) >= len(expected))
        assert relay.terminate() == 0
    finally:
        relay.kill()
    received = sandbox.segment.received_calls()
    key = lambda call: call["messageId"]  # noqa: E731
    assert sorted(received, key=key) == sorted(expected, key=key)
    batch = sandbox.segment.received_batches[0]
    assert batch.write_key is not None  # the write key was sent (value checked by the client)


def test_template_error_is_parked_then_replayed_after_the_fix(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    save_config(sandbox.segment_url, {"order_completed": '{"type": "track", "event": $x('})
    relay = RelayProcess(free_port(), data).start()
    try:
        answer = post(relay.url, sample_body("order.paid", "evt-broken"))
        assert answer.status_code == 200
        assert answer.json() == {
            "status": "template_error",
            "event_id": "evt-broken",
            "calls": 0,
            "failed_templates": ["order_completed"],
        }
        parked = run_cli("--data-dir", str(data), "parked", "--json")
        assert parked.returncode == 0, parked.stderr
        (item,) = json.loads(parked.stdout)
        assert (item["kind"], item["event_id"], item["template_key"]) == (
            "template_error",
            "evt-broken",
            "order_completed",
        )
        assert "line 1" in item["reason"]
        still = run_cli("--data-dir", str(data), "replay")
        assert still.returncode == 2  # not fixed yet: still failing, said so
        assert "Still failing: evt-broken order_completed" in still.stdout

        config = save_config(sandbox.segment_url)  # the fix: back to the default template
        fixed = run_cli("--data-dir", str(data), "replay", "--id", "evt-broken")
        assert fixed.returncode == 0, fixed.stdout + fixed.stderr
        assert "Rendered 1 template error(s) again" in fixed.stdout
        event = parse_event_text(sample_body("order.paid", "evt-broken"))
        expected = Renderer().render_event(event, TemplateSet(), config.chosen_events()).calls
        wait_for(lambda: len(sandbox.segment.received_calls()) >= len(expected))
        assert run_cli("--data-dir", str(data), "parked").stdout.strip() == "Nothing is parked."
        assert relay.terminate() == 0
    finally:
        relay.kill()
    assert sandbox.segment.received_calls() == expected


def test_rejected_calls_are_parked_and_requeued(sandbox: Sandbox, tmp_path: Path) -> None:
    """A wrong Segment path (404) parks the calls; after fixing the setting, replay sends them."""
    data = tmp_path / "data"
    config = save_config(sandbox.segment_url)
    config.segment.path = "/v1/nope"
    from segment_desktop.core.config import ConfigStore

    ConfigStore().save(config)
    relay = RelayProcess(free_port(), data).start()
    try:
        assert post(relay.url, sample_body("customer.created", "evt-404")).status_code == 200
        wait_for(lambda: "refused" in run_cli("--data-dir", str(data), "parked").stdout)
        status = run_cli("--data-dir", str(data), "status", "--json")
        parked = json.loads(status.stdout)["parked"]
        assert parked >= 1 and json.loads(status.stdout)["pending"] == 0
    finally:
        assert relay.terminate() == 0
    assert sandbox.segment.received_calls() == []
    save_config(sandbox.segment_url)
    assert run_cli("--data-dir", str(data), "replay").returncode == 0
    relay = RelayProcess(free_port(), data).start()
    try:
        wait_for(lambda: len(sandbox.segment.received_calls()) == parked)
    finally:
        assert relay.terminate() == 0
    ids = {c["messageId"] for c in sandbox.segment.received_calls()}
    assert len(ids) == parked and all(i.startswith("sd-evt-404-") for i in ids)


def test_missing_secret_fails_at_start_with_a_clear_message(tmp_path: Path) -> None:
    from tests.relay.helpers import relay_env

    env = relay_env()
    del env["COMMERCE_WEBHOOK_SECRET"]
    env["PYTHON_KEYRING_BACKEND"] = "keyring.backends.fail.Keyring"
    result = run_cli("--data-dir", str(tmp_path), env=env)
    assert result.returncode == 2
    assert "COMMERCE_WEBHOOK_SECRET" in result.stderr
    assert "Traceback" not in result.stderr
    assert env["SEGMENT_WRITE_KEY"] not in result.stderr


def test_an_unknown_template_engine_fails_at_start_with_a_clear_message(tmp_path: Path) -> None:
    from tests.relay.helpers import relay_env

    result = run_cli("--data-dir", str(tmp_path), env=relay_env(SEGMENT_DESKTOP_ENGINE="jsonatta"))
    assert result.returncode == 2
    assert "Unknown template engine 'jsonatta'" in result.stderr
    assert "Traceback" not in result.stderr


def test_bad_listen_address_and_port_in_use(tmp_path: Path) -> None:
    bad = run_cli("--listen", "nowhere", "--data-dir", str(tmp_path))
    assert bad.returncode == 2 and "HOST:PORT" in bad.stderr
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        busy = run_cli("--listen", f"127.0.0.1:{port}", "--data-dir", str(tmp_path))
    assert busy.returncode == 2 and "cannot listen" in busy.stderr
    assert "Traceback" not in busy.stderr


def test_env_overrides_and_engine_logged(sandbox: Sandbox, tmp_path: Path) -> None:
    from tests.relay.helpers import relay_env

    save_config("https://api.segment.io")  # overridden below: nothing goes to the internet
    port = free_port()
    env = relay_env(
        SEGMENT_DESKTOP_SEGMENT_HOST=sandbox.segment_url,
        SEGMENT_DESKTOP_RELAY_LISTEN=f"127.0.0.1:{port}",
    )
    relay = RelayProcess(port, tmp_path / "data", env, listen_flag=False)
    relay.start()
    try:
        assert post(relay.url, sample_body("customer.created", "evt-env")).status_code == 200
        wait_for(lambda: len(sandbox.segment.received_calls()) >= 1)
    finally:
        assert relay.terminate() == 0
    log = "".join(relay.stderr_lines)
    assert f"template engine {Renderer().engine_name}" in log
    assert WEBHOOK_SECRET not in log and WRITE_KEY not in log


def test_a_running_relay_picks_up_saved_template_changes(sandbox: Sandbox, tmp_path: Path) -> None:
    data = tmp_path / "data"
    save_config(sandbox.segment_url, {"customer_created": '{"type": "identify", "userId": $x('})
    relay = RelayProcess(free_port(), data).start()
    try:
        first = post(relay.url, sample_body("customer.created", "evt-before"))
        assert first.json()["status"] == "template_error"
        save_config(sandbox.segment_url)  # the app saves the fixed template
        failed = [1]

        def fixed() -> bool:
            answer = post(relay.url, sample_body("customer.created", f"evt-{time.monotonic()}"))
            if answer.json()["status"] == "template_error":
                failed.append(1)
            return bool(answer.json()["status"] == "queued")

        wait_for(fixed, timeout=15, what="the relay to reload its templates")
        status = run_cli("--data-dir", str(data), "status")
        assert f"Template errors:   {len(failed)}\n" in status.stdout
        assert "relay replay" in status.stdout
    finally:
        assert relay.terminate() == 0
    assert "templates and tracked events reloaded" in "".join(relay.stderr_lines)
