"""The settings and secret stores the app uses, and sandbox mode's separate ones."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from segment_desktop.core.config import ConfigStore
from segment_desktop.core.errors import SecretStoreError
from segment_desktop.core.secrets import SecretStore

log = logging.getLogger(__name__)

DATA_DIR_ENV = "SEGMENT_DESKTOP_DATA_DIR"
#: The keyring service of sandbox mode's demo secrets (never the real one).
SANDBOX_SERVICE = "segment-desktop-sandbox"


class MemorySecrets:
    """Secrets kept in this process only: for sandbox mode on a machine without a keyring.

    Only ever holds the sandbox's demo credentials and a throwaway webhook secret, which open
    nothing but the local emulators; real secrets always go to the OS keyring.
    """

    def __init__(self) -> None:
        self._values: dict[str, str] = {}

    def get(self, name: str) -> str | None:
        return self._values.get(name)

    def set(self, name: str, value: str) -> None:
        self._values[name] = value

    def delete(self, name: str) -> None:
        self._values.pop(name, None)


SecretsLike = SecretStore | MemorySecrets


def read_secret(secrets: SecretsLike, name: str) -> str | None:
    """A secret, or ``None`` when none is stored or the keyring failed (the failure is logged;
    the page asks for the value again)."""
    try:
        return secrets.get(name)
    except SecretStoreError as err:
        log.warning("Could not read a secret: %s", err)
        return None


def sandbox_stores(config_store: ConfigStore) -> tuple[ConfigStore, SecretsLike]:
    """Sandbox mode's stores: a ``sandbox`` settings folder under the usual one, and the
    sandbox keyring service (memory when no keyring answers), so trying the sandbox never
    touches a real configuration."""
    sandbox_config = ConfigStore(config_store.directory / "sandbox")
    store = SecretStore(SANDBOX_SERVICE, use_environment=False)
    try:
        store.check()
    except SecretStoreError as err:
        log.warning("Sandbox mode keeps its demo secrets in memory: %s", err)
        return sandbox_config, MemorySecrets()
    return sandbox_config, store


def data_dir(sandbox: bool) -> Path:
    """Where the relay keeps its outbox (the sandbox's relay in a folder of its own)."""
    from_env = os.environ.get(DATA_DIR_ENV)
    if from_env:
        base = Path(from_env)
    else:
        from segment_desktop.relay.settings import default_data_dir

        base = default_data_dir()
    return base / "sandbox" if sandbox else base
