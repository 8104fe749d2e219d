"""End to end: secrets in the keyring, a full save + export + logging cycle, and no secret in any
file under the config folder, the log folder, the export, or in an error message."""

from __future__ import annotations

import base64
import logging
import os
from collections.abc import Iterator
from pathlib import Path

import keyring
import keyring.backends.fail
import pytest

from segment_desktop.core.config import Config, ConfigStore
from segment_desktop.core.errors import SecretStoreError
from segment_desktop.core.logs import REDACTED, setup_logging, shutdown_logging
from segment_desktop.core.secrets import (
    COMMERCE_CLIENT_SECRET,
    SECRET_NAMES,
    SEGMENT_WRITE_KEY,
    SQS_SECRET_ACCESS_KEY,
    WEBHOOK_SECRET,
    SecretStore,
    new_webhook_secret,
    secret_fingerprint,
)
from tests.fixtures.secret_service import SecretService


@pytest.fixture
def clean_logging() -> Iterator[None]:
    root = logging.getLogger()
    level = root.level
    yield
    shutdown_logging()
    root.setLevel(level)


def encodings(value: str) -> list[bytes]:
    """The ways a careless writer could put ``value`` in a file."""
    raw = value.encode("utf-8")
    return [raw, base64.b64encode(raw), base64.urlsafe_b64encode(raw), raw.hex().encode()]


def all_files(*roots: Path) -> list[Path]:
    found: list[Path] = []
    for root in roots:
        if root.is_file():
            found.append(root)
        elif root.exists():
            found += [p for p in root.rglob("*") if p.is_file()]
    return found


def test_full_cycle_leaves_no_secret_anywhere(
    keyring_clean: SecretService, clean_logging: None, tmp_path: Path
) -> None:
    values = {
        COMMERCE_CLIENT_SECRET: "cs_e3b0c44298fc1c149afbf4c8996fb924",
        SEGMENT_WRITE_KEY: "wk_27ae41e4649b934ca495991b7852b855",
        WEBHOOK_SECRET: new_webhook_secret(),
        SQS_SECRET_ACCESS_KEY: "aws_9f8e7d6c5b4a39281706f5e4d3c2b1a0",
    }
    store = SecretStore()
    for name, value in values.items():
        # Stored by another process (the app): here only reading them back registers them.
        keyring.set_password(store.service, name, value)
    read = {name: store.get(name) for name in SECRET_NAMES}
    assert read == values

    log_path = setup_logging()
    log = logging.getLogger("segment_desktop.relay")
    log.info("using write key %s", read[SEGMENT_WRITE_KEY])
    log.warning("webhook body %r", {"configuration": {"secret_key": read[WEBHOOK_SECRET]}})
    log.info("token", extra={"client_secret": read[COMMERCE_CLIENT_SECRET], "event_id": "evt-1"})
    logging.getLogger("httpx").info(f"HTTP Request: GET https://x/?k={read[SEGMENT_WRITE_KEY]}")
    try:
        raise RuntimeError(f"auth failed with {read[COMMERCE_CLIENT_SECRET]}")
    except RuntimeError:
        log.exception("registration failed")

    config = Config.default()
    config.commerce.client_id = "client-abc"
    config.commerce.base_url = "https://useast.api.elasticpath.com"
    config.relay_url = "https://relay.example.com/hook"
    config.webhook_secret_fingerprint = secret_fingerprint(values[WEBHOOK_SECRET])
    config_store = ConfigStore()
    config_store.save(config)
    export = tmp_path / "exported-settings.json"
    config_store.export_to(export, config_store.load())
    config_store.reset()  # a backup copy is one more file that must be clean
    config_store.save(config)

    messages: list[str] = []
    keyring.set_keyring(keyring.backends.fail.Keyring())
    try:
        for name, value in values.items():
            with pytest.raises(SecretStoreError) as err:
                store.set(name, value)
            messages.append(str(err.value))
            log.error("keyring: %s", err.value)
    finally:
        keyring.set_keyring(keyring_clean.backend)
    shutdown_logging()  # flushes and closes the file

    log_text = log_path.read_text(encoding="utf-8")
    assert log_text.count(REDACTED) >= 4, "the secrets were not logged at all; nothing proven"
    assert "event_id=evt-1" in log_text
    assert "client_secret" not in log_text  # a field outside the allow-list is dropped
    files = all_files(config_store.directory, log_path.parent, export)
    assert {p.name for p in files} >= {"config.json", log_path.name, export.name}
    assert any(p.name.startswith("config.json.bak-") for p in files)
    for path in files:
        data = path.read_bytes()
        for name, value in values.items():
            for encoded in encodings(value):
                assert encoded not in data, f"{name} found in {path}"
    for message in messages:
        for value in values.values():
            assert value not in message
    assert os.environ["SEGMENT_DESKTOP_CONFIG_DIR"] == str(config_store.directory)
