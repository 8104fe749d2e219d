"""Secrets through a real Secret Service (gnome-keyring on a private D-Bus), and its failures."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import keyring
import keyring.backends.chainer
import keyring.backends.fail
import keyring.backends.null
import keyring.errors
import pytest
from keyring.backend import KeyringBackend

from segment_desktop.core.errors import SecretStoreError
from segment_desktop.core.logs import REDACTED, redact_text
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
from tests.fixtures.secret_service import (
    SecretService,
    start_secret_service,
    stop_secret_service,
)

VALUES = {
    COMMERCE_CLIENT_SECRET: "cs_4f1c9a77e0b24d8e9b6a",
    SEGMENT_WRITE_KEY: "wk_Zr8qK2mN5pL0xYt7",
    WEBHOOK_SECRET: "whs_✓_unicode_ok_3b9d",
    SQS_SECRET_ACCESS_KEY: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
}


@pytest.fixture
def restore_keyring(keyring_clean: SecretService) -> Iterator[SecretService]:
    """For tests that swap keyring's backend: the real one is back afterwards."""
    yield keyring_clean
    keyring.set_keyring(keyring_clean.backend)


def assert_actionable(message: str) -> None:
    assert "gnome-keyring" in message.lower() or "gnome keyring" in message.lower()
    assert "KWallet" in message
    assert "SEGMENT_WRITE_KEY" in message and "COMMERCE_WEBHOOK_SECRET" in message


class _RecordingBackend(KeyringBackend):
    """A stand-in for a third-party keyring backend; records what reached it."""

    priority = 1  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[tuple[str, str]] = []

    def get_password(self, service: str, username: str) -> str | None:
        self.calls.append(("get", username))
        return None

    def set_password(self, service: str, username: str, password: str) -> None:
        self.calls.append(("set", username))

    def delete_password(self, service: str, username: str) -> None:
        self.calls.append(("delete", username))


class PlaintextLike(_RecordingBackend):
    """Looks like keyrings.alt's file backend to the store (same module path)."""


PlaintextLike.__module__ = "keyrings.alt.file"


class LeakyBackend(_RecordingBackend):
    """A backend whose errors quote the password, as a careless one might."""

    def set_password(self, service: str, username: str, password: str) -> None:
        raise keyring.errors.PasswordSetError(f"could not store {password!r} for {username}")


# -- the real Secret Service -----------------------------------------------------------------


@pytest.mark.parametrize("name", SECRET_NAMES)
def test_round_trip_through_the_real_secret_service(
    keyring_clean: SecretService, name: str
) -> None:
    store = SecretStore()
    assert store.get(name) is None
    store.set(name, VALUES[name])
    assert store.get(name) == VALUES[name]
    assert keyring_clean.lookup(name) == VALUES[name]  # really in gnome-keyring
    assert store.source(name) == "keyring"
    store.delete(name)
    assert store.get(name) is None
    assert keyring_clean.lookup(name) is None
    store.delete(name)  # deleting what is not there is fine


def test_set_replaces_and_names_are_separate(keyring_clean: SecretService) -> None:
    store = SecretStore()
    store.set(SEGMENT_WRITE_KEY, "first")
    store.set(SEGMENT_WRITE_KEY, "second")
    store.set(WEBHOOK_SECRET, "other")
    assert store.get(SEGMENT_WRITE_KEY) == "second"
    assert keyring_clean.lookup(SEGMENT_WRITE_KEY) == "second"
    assert store.get(COMMERCE_CLIENT_SECRET) is None


def test_service_name_separates_stores(keyring_clean: SecretService) -> None:
    other = SecretStore("segment-desktop-staging")
    try:
        other.set(SEGMENT_WRITE_KEY, "staging-key")
        assert SecretStore().get(SEGMENT_WRITE_KEY) is None
        assert keyring_clean.lookup(SEGMENT_WRITE_KEY, "segment-desktop-staging") == "staging-key"
    finally:
        other.delete(SEGMENT_WRITE_KEY)


def test_check_names_the_backend(keyring_clean: SecretService) -> None:
    assert SecretStore().check() == "keyring.backends.SecretService.Keyring"


def test_values_read_or_stored_are_registered_for_log_redaction(
    keyring_clean: SecretService,
) -> None:
    import uuid

    import keyring

    stored_elsewhere = f"wk_read_{uuid.uuid4().hex}"
    keyring.set_password("segment-desktop", SEGMENT_WRITE_KEY, stored_elsewhere)  # the app
    assert redact_text(stored_elsewhere) == stored_elsewhere  # this process never saw it
    SecretStore().get(SEGMENT_WRITE_KEY)  # reading it registers it
    assert redact_text(f"k={stored_elsewhere}") == f"k={REDACTED}"
    stored_here = f"wk_stored_{uuid.uuid4().hex}"
    SecretStore().set(SEGMENT_WRITE_KEY, stored_here)  # storing it does too
    assert redact_text(stored_here) == REDACTED


def test_unknown_names_and_empty_values_are_rejected(keyring_clean: SecretService) -> None:
    store = SecretStore()
    for call in (store.get, store.delete, lambda n: store.set(n, "x")):
        with pytest.raises(ValueError, match="Unknown secret name 'password'"):
            call("password")
    with pytest.raises(ValueError, match="non-empty"):
        store.set(SEGMENT_WRITE_KEY, "")
    assert keyring_clean.lookup("password") is None


# -- the environment -------------------------------------------------------------------------


def test_environment_wins_and_needs_no_keyring(
    restore_keyring: SecretService, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SEGMENT_WRITE_KEY", "from-env")
    monkeypatch.setenv("COMMERCE_WEBHOOK_SECRET", "hook-from-env")
    keyring.set_keyring(keyring.backends.fail.Keyring())
    store = SecretStore()
    assert store.get(SEGMENT_WRITE_KEY) == "from-env"
    assert store.get(WEBHOOK_SECRET) == "hook-from-env"
    assert store.source(SEGMENT_WRITE_KEY) == "environment"
    assert redact_text("from-env") == REDACTED
    with pytest.raises(SecretStoreError):
        store.get(COMMERCE_CLIENT_SECRET)  # not in the environment: the keyring is asked


def test_environment_can_be_ignored(
    keyring_clean: SecretService, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SEGMENT_WRITE_KEY", "from-env")
    SecretStore().set(SEGMENT_WRITE_KEY, "from-keyring")
    assert SecretStore(use_environment=False).get(SEGMENT_WRITE_KEY) == "from-keyring"
    assert SecretStore().get(SEGMENT_WRITE_KEY) == "from-env"


# -- no usable keyring -----------------------------------------------------------------------


@pytest.mark.parametrize("backend", [keyring.backends.fail.Keyring, keyring.backends.null.Keyring])
def test_no_keyring_gives_an_actionable_error(
    restore_keyring: SecretService, backend: type[KeyringBackend]
) -> None:
    keyring.set_keyring(backend())
    store = SecretStore()
    for call in (
        lambda: store.get(SEGMENT_WRITE_KEY),
        lambda: store.set(SEGMENT_WRITE_KEY, VALUES[SEGMENT_WRITE_KEY]),
        lambda: store.delete(SEGMENT_WRITE_KEY),
        store.check,
    ):
        with pytest.raises(SecretStoreError) as err:
            call()
        message = str(err.value)
        assert "No usable system keyring" in message
        assert_actionable(message)
        assert VALUES[SEGMENT_WRITE_KEY] not in message
        assert "keyrings.alt" not in message  # keyring's own advice is not passed on
    keyring.set_keyring(restore_keyring.backend)
    assert restore_keyring.lookup(SEGMENT_WRITE_KEY) is None


def test_plaintext_file_backend_is_refused(restore_keyring: SecretService) -> None:
    plaintext = PlaintextLike()
    keyring.set_keyring(plaintext)
    with pytest.raises(SecretStoreError) as err:
        SecretStore().set(SEGMENT_WRITE_KEY, VALUES[SEGMENT_WRITE_KEY])
    assert "plain file" in str(err.value)
    assert "keyrings.alt.file.PlaintextLike" in str(err.value)
    assert_actionable(str(err.value))
    assert plaintext.calls == []  # nothing reached it


def test_chainer_skips_file_backends_and_uses_the_secret_service(
    restore_keyring: SecretService, monkeypatch: pytest.MonkeyPatch
) -> None:
    plaintext = PlaintextLike()
    chainer = keyring.backends.chainer.ChainerBackend
    monkeypatch.setattr(chainer, "backends", [plaintext, restore_keyring.backend])
    keyring.set_keyring(chainer())
    SecretStore().set(SEGMENT_WRITE_KEY, "via-chainer")
    assert restore_keyring.lookup(SEGMENT_WRITE_KEY) == "via-chainer"
    assert plaintext.calls == []
    monkeypatch.setattr(chainer, "backends", [plaintext])
    with pytest.raises(SecretStoreError, match="No usable system keyring"):
        SecretStore().get(SEGMENT_WRITE_KEY)


def test_a_backend_error_quoting_the_value_is_not_repeated(
    restore_keyring: SecretService,
) -> None:
    keyring.set_keyring(LeakyBackend())
    with pytest.raises(SecretStoreError) as err:
        SecretStore().set(SEGMENT_WRITE_KEY, VALUES[SEGMENT_WRITE_KEY])
    message = str(err.value)
    assert VALUES[SEGMENT_WRITE_KEY] not in message
    assert REDACTED in message
    assert err.value.__cause__ is None and err.value.__suppress_context__


@pytest.mark.parametrize(
    "address", ["unix:path=/nonexistent/segment-desktop-bus", None], ids=["dead-bus", "no-bus"]
)
def test_unreachable_dbus_gives_an_actionable_error(
    keyring_clean: SecretService, monkeypatch: pytest.MonkeyPatch, address: str | None
) -> None:
    if address is None:
        monkeypatch.delenv("DBUS_SESSION_BUS_ADDRESS")
    else:
        monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", address)
    with pytest.raises(SecretStoreError) as err:
        SecretStore().set(WEBHOOK_SECRET, VALUES[WEBHOOK_SECRET])
    message = str(err.value)
    assert "not reachable" in message
    assert_actionable(message)
    assert VALUES[WEBHOOK_SECRET] not in message


def test_locked_keyring_gives_an_actionable_error(
    tmp_path: Path, restore_keyring: SecretService, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A second, private Secret Service whose login collection we lock (no prompt can unlock it
    here, as on a desktop where the user dismisses the prompt)."""
    (tmp_path / "keyring").mkdir()
    locked = start_secret_service(tmp_path / "keyring")
    try:
        monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", locked.bus_address)
        keyring.set_keyring(locked.backend)
        SecretStore().set(SEGMENT_WRITE_KEY, "stored-before-lock")
        subprocess.run(
            [
                "dbus-send", "--session", "--print-reply", "--dest=org.freedesktop.secrets",
                "/org/freedesktop/secrets", "org.freedesktop.Secret.Service.Lock",
                "array:objpath:/org/freedesktop/secrets/collection/login",
            ],
            env=locked.env, check=True, capture_output=True, timeout=10,
        )  # fmt: skip
        for call in (
            lambda: SecretStore().get(SEGMENT_WRITE_KEY),
            lambda: SecretStore().set(SEGMENT_WRITE_KEY, "new-value"),
        ):
            with pytest.raises(SecretStoreError) as err:
                call()
            message = str(err.value)
            assert "keyring is locked" in message
            assert "Unlock it" in message
            assert "SEGMENT_WRITE_KEY" in message
            assert "stored-before-lock" not in message and "new-value" not in message
    finally:
        stop_secret_service(locked)


# -- helpers ---------------------------------------------------------------------------------


def test_new_webhook_secret_is_long_random_and_url_safe() -> None:
    values = {new_webhook_secret() for _ in range(50)}
    assert len(values) == 50
    for value in values:
        assert len(value) >= 43
        assert re.fullmatch(r"[A-Za-z0-9_-]+", value)
        assert redact_text(value) == REDACTED


def test_fingerprint_is_a_short_stable_hash_not_the_value() -> None:
    secret = new_webhook_secret()
    fingerprint = secret_fingerprint(secret)
    assert fingerprint == secret_fingerprint(secret)
    assert re.fullmatch(r"[0-9a-f]{16}", fingerprint)
    assert fingerprint != secret_fingerprint(new_webhook_secret())
    assert fingerprint not in secret
