"""The objects the GUI works with, wired once and handed to windows through their constructors.

:class:`Services` owns the settings store, the secret store, the optional in-process sandbox and
relay, and the blocking operations the wizard and the main window need (connect to Commerce,
check Segment, register, read delivery logs). Every blocking method is meant to run off the GUI
thread through :class:`~segment_desktop.ui.tasks.TaskRunner`; none touches a widget. Tests pass
their own stores or a sandbox; the defaults are the real ones.

This module imports no Qt, so it is cheap and its logic is testable anywhere. It also imports
no HTTP client or keyring at import time: the clients (httpx) and registration are imported by
the methods that use them, so the first window does not wait for them.
"""

from __future__ import annotations

import contextlib
import copy
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from segment_desktop.core.config import Config, ConfigStore
from segment_desktop.core.errors import (
    ConfigError,
    PermissionDeniedError,
    SecretStoreError,
    SegmentDesktopError,
    ServiceError,
)
from segment_desktop.core.flow import Draft
from segment_desktop.core.secrets import (
    COMMERCE_CLIENT_SECRET,
    SEGMENT_WRITE_KEY,
    WEBHOOK_SECRET,
    SecretStore,
    new_webhook_secret,
)

if TYPE_CHECKING:
    import httpx

    from segment_desktop.commerce import CommerceClient, Page
    from segment_desktop.sandbox.runner import Sandbox

log = logging.getLogger(__name__)

DATA_DIR_ENV = "SEGMENT_DESKTOP_DATA_DIR"
#: The keyring service of sandbox mode's demo secrets (never the real one).
SANDBOX_SERVICE = "segment-desktop-sandbox"

#: The user id of the event "Send test event" sends, easy to find in Segment's debugger.
TEST_USER_ID = "segment-desktop-test"


@dataclass(frozen=True)
class CommerceConnection:
    """A successful Commerce sign-in: the base URL as normalised, and a note if it changed."""

    base_url: str
    note: str | None


@dataclass(frozen=True)
class SegmentCheck:
    """The honest Segment connection test: did the host answer, and what that does not prove."""

    ok: bool
    summary: str


@dataclass(frozen=True)
class RelayStatus:
    """The local relay's outbox: counts, and what waits for the user (parked items)."""

    running: bool
    stats: Any
    parked: list[Any]
    url: str


@dataclass(frozen=True)
class PlanSummary:
    """What Finish will do at Commerce, in words, plus the plan object to apply."""

    lines: list[str]
    plan: Any


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


class Services:
    """Stores, clients and the optional sandbox the GUI needs. See the module docstring."""

    def __init__(
        self,
        *,
        config_store: ConfigStore | None = None,
        secrets: SecretStore | MemorySecrets | None = None,
        sandbox: Sandbox | None = None,
        commerce_timeout: httpx.Timeout | None = None,
        sandbox_factory: Callable[[], Sandbox] | None = None,
    ) -> None:
        self.config_store = config_store or ConfigStore()
        self.secrets: SecretStore | MemorySecrets = secrets or SecretStore()
        self.sandbox = sandbox
        #: ``None``: the clients' default (``http_util.DEFAULT_TIMEOUT``).
        self.commerce_timeout = commerce_timeout
        self._sandbox_factory = sandbox_factory
        self._owns_sandbox = False
        self.relay: Any = None
        self._relay_port: int | None = None
        self._renderer: Any = None
        self._pending_secret: str | None = None
        self._studio_clients: list[Any] = []

    def renderer(self) -> Any:
        """The one template renderer of this process (compiled templates are cached in it)."""
        if self._renderer is None:
            from segment_desktop.core.render import Renderer

            self._renderer = Renderer()
        return self._renderer

    # -- settings and secrets ------------------------------------------------------------------

    def load_config(self) -> Config:
        return self.config_store.load()

    def is_configured(self, config: Config) -> bool:
        """Setup has been finished once (Commerce is known and integrations were registered)."""
        return bool(config.commerce.base_url and config.commerce.client_id and config.relay_url)

    def read_secret(self, name: str) -> str | None:
        """A secret from the keyring, or ``None`` when none is stored or the keyring failed
        (the failure is logged; the page asks for the value again)."""
        try:
            return self.secrets.get(name)
        except SecretStoreError as err:
            log.warning("Could not read a secret: %s", err)
            return None

    # -- sandbox -------------------------------------------------------------------------------

    def start_sandbox(self) -> Sandbox:
        """Start the Commerce and Segment emulators in this process (once).

        Starting them also switches to separate stores (a ``sandbox`` settings folder, the
        ``segment-desktop-sandbox`` keyring service, or memory without a keyring), so trying
        the sandbox never touches a real configuration. A sandbox handed in by the caller
        (tests) keeps the stores given with it.
        """
        if self.sandbox is None:
            if self._sandbox_factory is not None:
                self.sandbox = self._sandbox_factory()
            else:
                from segment_desktop.sandbox.runner import Sandbox

                self.sandbox = Sandbox.start()
            self._owns_sandbox = True
            self._use_sandbox_stores()
        return self.sandbox

    def _use_sandbox_stores(self) -> None:
        self.config_store = ConfigStore(self.config_store.directory / "sandbox")
        store = SecretStore(SANDBOX_SERVICE, use_environment=False)
        try:
            store.check()
        except SecretStoreError as err:
            log.warning("Sandbox mode keeps its demo secrets in memory: %s", err)
            self.secrets = MemorySecrets()
        else:
            self.secrets = store

    def sandbox_relay_url(self) -> str:
        """The webhook URL the in-process relay will listen on (its port is reserved now and
        the relay starts on it once setup has the secrets it needs)."""
        import socket

        from segment_desktop.relay.app import WEBHOOK_PATH

        if self._relay_port is None:
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
                probe.bind(("127.0.0.1", 0))
                self._relay_port = int(probe.getsockname()[1])
        return f"http://127.0.0.1:{self._relay_port}{WEBHOOK_PATH}"

    def data_dir(self) -> Path:
        """Where the relay keeps its outbox (the sandbox's relay in a folder of its own)."""
        from_env = os.environ.get(DATA_DIR_ENV)
        if from_env:
            base = Path(from_env)
        else:
            from segment_desktop.relay.settings import default_data_dir

            base = default_data_dir()
        return base / "sandbox" if self.sandbox is not None else base

    def start_relay(self, config: Config) -> str:
        """Start (or restart with new settings) the in-process relay on the URL in ``config``.

        Only for sandbox mode and local testing: a real store needs a relay reachable from
        the internet (``segment-desktop relay``). Returns the webhook URL.
        """
        from segment_desktop.relay.server import RelayServer

        write_key = self.secrets.get(SEGMENT_WRITE_KEY) or ""
        secret = self.secrets.get(WEBHOOK_SECRET) or ""
        parts = urlsplit(config.relay_url)
        listen = f"{parts.hostname or '127.0.0.1'}:{parts.port or 0}"
        if self.relay is not None:
            self.relay.stop()
            self.relay = None
        self.relay = RelayServer.start(
            config, write_key, secret, self.data_dir(), listen, flush_seconds=1.0
        )
        return str(self.relay.webhook_url)

    def relay_status(self) -> RelayStatus | None:
        """Outbox counts and parked items of the relay on this computer, or ``None``."""
        from segment_desktop.relay.status import read_status

        status = read_status(self.data_dir())
        if self.relay is None and not status.exists:
            return None
        url = self.relay.url if self.relay is not None else ""
        return RelayStatus(
            running=self.relay is not None, stats=status.stats, parked=status.parked, url=url
        )

    def close(self) -> None:
        """Stop what this object started (the sandbox, the relay, the studio's clients)."""
        for client in self._studio_clients:
            with contextlib.suppress(Exception):
                client.close()
        self._studio_clients.clear()
        if self.relay is not None:
            with contextlib.suppress(Exception):
                self.relay.stop()
            self.relay = None
        if self.sandbox is not None and self._owns_sandbox:
            self.sandbox.stop()
            self.sandbox = None
            self._owns_sandbox = False

    # -- Commerce ------------------------------------------------------------------------------

    def commerce_client(self, base_url: str, client_id: str, client_secret: str) -> CommerceClient:
        from segment_desktop.commerce import CommerceClient
        from segment_desktop.http_util import DEFAULT_TIMEOUT

        timeout = self.commerce_timeout if self.commerce_timeout is not None else DEFAULT_TIMEOUT
        return CommerceClient(base_url, client_id, client_secret, timeout=timeout)

    def client_for(self, config: Config) -> CommerceClient:
        """A client for the saved settings, with the secret from the keyring."""
        secret = self.secrets.get(COMMERCE_CLIENT_SECRET) or ""
        return self.commerce_client(config.commerce.base_url, config.commerce.client_id, secret)

    def connect_commerce(
        self, base_url: str, client_id: str, client_secret: str
    ) -> CommerceConnection:
        """Obtain a real token; on success store the secret in the keyring at once.

        Raises ``InvalidURLError``/``NetworkError`` (the URL is at fault),
        ``AuthenticationError`` (``.field`` names the ID or the secret), ``PermissionDeniedError``
        for a key that may not manage integrations, ``SecretStoreError`` when the keyring fails.
        """
        with self.commerce_client(base_url, client_id, client_secret) as client:
            info = client.authenticate()
            if not info.can_manage_integrations:
                raise PermissionDeniedError(
                    "This key only gives a read-only (implicit) token; registering webhooks "
                    "needs a client-credentials key. Create one in Commerce Manager (System › "
                    "Application Keys).",
                    status_code=403,
                    service="Commerce",
                    field="client_secret",
                )
            connection = CommerceConnection(client.base_url, client.note)
        self.secrets.set(COMMERCE_CLIENT_SECRET, client_secret)
        return connection

    def list_integrations(self, config: Config) -> list[dict[str, Any]]:
        """Our integrations at Commerce (by remembered id or our name prefix), never others'."""
        from segment_desktop import registration

        with self.client_for(config) as client:
            every = client.list_integrations()
        remembered = list(config.integration_ids.values())
        return [i for i in every if registration.is_ours(i, remembered)]

    def integration_logs(
        self, config: Config, integration_id: str, offset: int, limit: int
    ) -> Page:
        with self.client_for(config) as client:
            return client.integration_logs(integration_id, limit=limit, offset=offset)

    def set_enabled(self, config: Config, integration_id: str, enabled: bool) -> dict[str, Any]:
        with self.client_for(config) as client:
            return client.update_integration(integration_id, {"enabled": enabled})

    def delete_integration(self, config: Config, integration_id: str) -> Config:
        """Delete one of ours at Commerce and forget its id; returns the settings to save."""
        with self.client_for(config) as client:
            client.delete_integration(integration_id)
        updated = copy.deepcopy(config)
        updated.integration_ids = {
            name: i for name, i in config.integration_ids.items() if i != integration_id
        }
        self.config_store.save(updated)
        return updated

    def studio_clients(self, config: Config) -> tuple[CommerceClient | None, Any]:
        """Clients for the template studio ("recent from the store", "Send to Segment"), when
        the settings and the keyring have what they need; ``None`` for the missing ones."""
        from segment_desktop.segment import SegmentClient

        commerce: CommerceClient | None = None
        segment: Any = None
        secret = self.read_secret(COMMERCE_CLIENT_SECRET)
        if config.commerce.base_url and config.commerce.client_id and secret:
            with contextlib.suppress(ServiceError):
                commerce = self.commerce_client(
                    config.commerce.base_url, config.commerce.client_id, secret
                )
        write_key = self.read_secret(SEGMENT_WRITE_KEY)
        if config.segment.host and write_key:
            with contextlib.suppress(ServiceError):
                segment = SegmentClient(config.segment.host, config.segment.path, write_key)
        self._studio_clients.extend(c for c in (commerce, segment) if c is not None)
        return commerce, segment

    # -- Segment -------------------------------------------------------------------------------

    def check_segment(self, host: str, path: str, write_key: str) -> SegmentCheck:
        """Prove the host answers at the path; say plainly that the key itself is unproven."""
        from segment_desktop.segment import SegmentClient

        with SegmentClient(host, path, write_key, max_attempts=2) as client:
            report = client.check_connection()
        return SegmentCheck(ok=report.ok, summary=report.summary)

    def send_test_event(self, host: str, path: str, write_key: str) -> str:
        """Send one clearly named track call; raise ``ServiceError`` with Segment's reason."""
        from segment_desktop.segment import TEST_EVENT_NAME, SegmentClient

        with SegmentClient(host, path, write_key, max_attempts=2) as client:
            outcome = client.send_test_event(TEST_USER_ID)
        if not outcome.ok:
            raise ServiceError(
                f"The test event was not accepted: {outcome.reason}", service="Segment"
            )
        return (
            f'Segment accepted a track call "{TEST_EVENT_NAME}" for user {TEST_USER_ID}. '
            "Look for it in your source's Debugger in Segment: if it is not there, the write "
            "key or the region is wrong."
        )

    # -- registration --------------------------------------------------------------------------

    def _webhook_secret(self) -> str:
        """The stored webhook secret, or one new secret kept in memory until Finish stores it
        (so the plan shown and the plan applied use the same one)."""
        stored = self.read_secret(WEBHOOK_SECRET)
        if stored:
            return stored
        if self._pending_secret is None:
            self._pending_secret = new_webhook_secret()
        return self._pending_secret

    def plan_registration(self, draft: Draft) -> PlanSummary:
        """What registering ``draft`` would change at Commerce (reads the integrations)."""
        from segment_desktop import registration

        with self.commerce_client(
            draft.config.commerce.base_url, draft.config.commerce.client_id, draft.client_secret
        ) as client:
            existing = client.list_integrations()
        plan = registration.plan(draft.config, self._webhook_secret(), existing)
        return PlanSummary(lines=plan.summary().splitlines(), plan=plan)

    def register(self, draft: Draft) -> Config:
        """Finish: register at Commerce, then store the secrets; returns the settings to save.

        Nothing is stored unless Commerce accepted every change: the write key and the webhook
        secret reach the keyring only after registration succeeded, and nothing is saved here
        (the caller saves the returned settings). An integration created before a failure is
        still recognised by its name the next time, so retrying never duplicates it.
        """
        from segment_desktop import registration

        secret = self._webhook_secret()
        with self.commerce_client(
            draft.config.commerce.base_url, draft.config.commerce.client_id, draft.client_secret
        ) as client:
            existing = client.list_integrations()
            plan = registration.plan(draft.config, secret, existing)
            result = registration.apply(plan, client)
        self.secrets.set(WEBHOOK_SECRET, secret)
        self._pending_secret = None
        self.secrets.set(SEGMENT_WRITE_KEY, draft.write_key)
        self.secrets.set(COMMERCE_CLIENT_SECRET, draft.client_secret)
        config: Config = result.config
        return config

    def save(self, config: Config) -> None:
        self.config_store.save(config)

    def reregister(self, config: Config) -> Config:
        """Run registration again with the saved settings and keyring secrets, then save."""
        client_secret = self.secrets.get(COMMERCE_CLIENT_SECRET)
        write_key = self.secrets.get(SEGMENT_WRITE_KEY)
        if not client_secret or not write_key:
            raise ConfigError(
                "The Commerce client secret or the Segment write key is missing from the "
                "keyring. Run the setup again to enter them."
            )
        result = self.register(Draft(config, client_secret, write_key))
        self.save(result)
        return result


__all__ = [
    "CommerceConnection",
    "PlanSummary",
    "SegmentCheck",
    "SegmentDesktopError",
    "Services",
]
