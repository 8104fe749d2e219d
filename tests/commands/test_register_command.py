"""``segment-desktop register`` end to end: settings on disk, secrets from the environment,
the Commerce emulator on 127.0.0.1."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from segment_desktop.cli import main
from segment_desktop.core.config import Config, ConfigStore
from segment_desktop.core.secrets import secret_fingerprint
from segment_desktop.registration import PREFIX
from segment_desktop.sandbox.runner import Sandbox

WEBHOOK_SECRET = "cli-webhook-secret-" + "9" * 40


@pytest.fixture
def settings(sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A settings folder pointing at the emulator; secrets come from the environment."""
    directory = tmp_path / "settings"
    config = Config.default()
    config.commerce.base_url = sandbox.commerce_url + "/v2/"  # as people paste it
    config.commerce.client_id = sandbox.client_id
    config.relay_url = "http://127.0.0.1:8765/commerce"
    ConfigStore(directory).save(config)
    monkeypatch.setenv("COMMERCE_CLIENT_SECRET", sandbox.client_secret)
    monkeypatch.setenv("COMMERCE_WEBHOOK_SECRET", WEBHOOK_SECRET)
    return directory


def writes(sandbox: Sandbox) -> int:
    time.sleep(0.05)  # the emulator logs a request just after answering it
    return sandbox.commerce.write_count()


def test_dry_run_prints_the_plan_and_writes_nothing(
    sandbox: Sandbox, settings: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["register", "--dry-run", "--config-dir", str(settings)]) == 0
    out = capsys.readouterr().out
    assert "Will create 2 integrations" in out and "Dry run: nothing was changed." in out
    assert writes(sandbox) == 0 and sandbox.commerce.integrations == []
    assert ConfigStore(settings).load().integration_ids == {}


def test_register_creates_remembers_and_then_has_nothing_to_do(
    sandbox: Sandbox, settings: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["register", "--config-dir", str(settings)]) == 0
    out = capsys.readouterr().out
    assert f"Created “{PREFIX}orders”" in out and f"Created “{PREFIX}customers”" in out
    saved = ConfigStore(settings).load()
    ids = {i["name"]: i["id"] for i in sandbox.commerce.integrations}
    assert saved.integration_ids == ids and len(ids) == 2
    assert saved.webhook_secret_fingerprint == secret_fingerprint(WEBHOOK_SECRET)
    assert WEBHOOK_SECRET not in out and WEBHOOK_SECRET not in settings.joinpath(
        "config.json"
    ).read_text(encoding="utf-8")

    before = writes(sandbox)
    mtime = settings.joinpath("config.json").stat().st_mtime_ns
    assert main(["register", "--config-dir", str(settings)]) == 0
    assert capsys.readouterr().out.startswith("Nothing to change: 2 integrations already match.")
    assert writes(sandbox) == before
    assert settings.joinpath("config.json").stat().st_mtime_ns == mtime  # not rewritten


def test_wrong_credentials_exit_2_with_a_message_and_no_traceback(
    sandbox: Sandbox,
    settings: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    wrong = "wrong-client-secret-0123456789"
    monkeypatch.setenv("COMMERCE_CLIENT_SECRET", wrong)
    assert main(["register", "--config-dir", str(settings)]) == 2
    captured = capsys.readouterr()
    assert captured.err.startswith("segment-desktop register: Commerce refused the client ID")
    assert "Traceback" not in captured.err and wrong not in captured.err + captured.out


def test_unset_commerce_settings_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["register", "--config-dir", str(tmp_path / "empty")]) == 2
    assert "Commerce is not set up yet" in capsys.readouterr().err


def test_plain_http_to_a_remote_store_exit_2(
    settings: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = ConfigStore(settings)
    config = store.load()
    config.commerce.base_url = "http://euwest.api.elasticpath.com"
    store.save(config)
    assert main(["register", "--config-dir", str(settings)]) == 2
    err = capsys.readouterr().err
    assert "must use https://" in err and "Traceback" not in err
