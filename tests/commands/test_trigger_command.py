"""``segment-desktop trigger``: a webhook with overrides, the secret from the keyring, to a real
relay subprocess between the Commerce and Segment emulators."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from segment_desktop.cli import main
from segment_desktop.commerce import CommerceClient
from segment_desktop.core.config import ConfigStore
from segment_desktop.core.secrets import COMMERCE_CLIENT_SECRET, WEBHOOK_SECRET, SecretStore
from segment_desktop.sandbox.runner import Sandbox
from tests.fixtures.secret_service import SecretService
from tests.relay.helpers import WEBHOOK_SECRET as RELAY_SECRET
from tests.relay.helpers import RelayProcess, free_port, save_config, wait_for

CURRENCY = "payload.data.meta.display_price.with_tax.currency"


@pytest.fixture
def relay(sandbox: Sandbox, tmp_path: Path) -> Iterator[RelayProcess]:
    save_config(sandbox.segment_url)
    running = RelayProcess(free_port(), tmp_path / "data").start()
    try:
        yield running
    finally:
        running.kill()


@pytest.fixture
def secret_in_keyring(keyring_clean: SecretService, monkeypatch: pytest.MonkeyPatch) -> SecretStore:
    monkeypatch.delenv("COMMERCE_WEBHOOK_SECRET", raising=False)
    monkeypatch.delenv("COMMERCE_CLIENT_SECRET", raising=False)
    store = SecretStore()
    store.set(WEBHOOK_SECRET, RELAY_SECRET)
    return store


def test_a_sample_with_an_override_reaches_segment(
    relay: RelayProcess,
    sandbox: Sandbox,
    secret_in_keyring: SecretStore,
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = main(["trigger", "order.paid", "--to", relay.url, "--set", f'{CURRENCY}="JPY"'])
    out = capsys.readouterr()
    assert code == 0, out.err
    assert f"POST {relay.url}: 200 OK" in out.out
    assert '"status"' in out.out  # the relay's own answer is printed
    wait_for(lambda: len(sandbox.segment.received_calls()) >= 1, what="a call at Segment")
    (call,) = [c for c in sandbox.segment.received_calls() if c.get("event") == "Order Completed"]
    assert call["properties"]["currency"] == "JPY"


def test_a_wrong_secret_is_refused_by_the_relay(
    relay: RelayProcess, secret_in_keyring: SecretStore, capsys: pytest.CaptureFixture[str]
) -> None:
    secret_in_keyring.set(WEBHOOK_SECRET, "not-the-relays-secret")
    assert main(["trigger", "customer.created", "--to", relay.url]) == 1
    assert ": 401 " in capsys.readouterr().out


def test_bad_input_exits_2_and_sends_nothing(
    relay: RelayProcess,
    sandbox: Sandbox,
    secret_in_keyring: SecretStore,
    capsys: pytest.CaptureFixture[str],
) -> None:
    missing = "payload.data.meta.display_price.with_tax.curency"
    assert main(["trigger", "order.paid", "--to", relay.url, "--set", f"{missing}=1"]) == 2
    assert f"The override path {missing} does not exist" in capsys.readouterr().err
    assert main(["trigger", "order.shipped", "--to", relay.url]) == 2
    assert "Unknown event 'order.shipped'" in capsys.readouterr().err
    secret_in_keyring.delete(WEBHOOK_SECRET)
    assert main(["trigger", "order.paid", "--to", relay.url]) == 2
    assert "No webhook secret is stored" in capsys.readouterr().err
    assert sandbox.segment.received_calls() == []


def test_the_latest_real_order_from_the_store(
    relay: RelayProcess,
    sandbox: Sandbox,
    secret_in_keyring: SecretStore,
    capsys: pytest.CaptureFixture[str],
) -> None:
    store = ConfigStore()
    config = store.load()
    config.commerce.base_url = sandbox.commerce_url
    config.commerce.client_id = sandbox.client_id
    store.save(config)
    secret_in_keyring.set(COMMERCE_CLIENT_SECRET, sandbox.client_secret)
    code = main(["trigger", "order.paid", "--latest", "--to", relay.url, "--show-body"])
    out = capsys.readouterr()
    assert code == 0, out.err
    with CommerceClient(sandbox.commerce_url, sandbox.client_id, sandbox.client_secret) as c:
        latest = c.recent_orders(1)[0]["payload"]["data"]["id"]
    assert f'"id": "{latest}"' in out.out  # the store's order, not a sample's
    assert '"id": "trigger-' in out.out and '"triggered_by": "order.paid"' in out.out
    wait_for(lambda: len(sandbox.segment.received_calls()) >= 1, what="a call at Segment")
