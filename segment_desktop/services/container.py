""":class:`Services`: the stores, clients and optional sandbox, wired once for the whole app.

Windows receive it through their constructors. Its methods are thin: each wires the stores to
one function of a sibling module (see the package docstring), where the logic lives.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from segment_desktop.core.config import Config, ConfigStore
from segment_desktop.core.errors import ConfigError, ServiceError
from segment_desktop.core.flow import Draft
from segment_desktop.core.secrets import (
    COMMERCE_CLIENT_SECRET,
    SEGMENT_WRITE_KEY,
    WEBHOOK_SECRET,
    SecretStore,
    new_webhook_secret,
)
from segment_desktop.services import connections, integrations, local_relay, queue, setup, stores
from segment_desktop.services.connections import CommerceConnection, SegmentCheck
from segment_desktop.services.local_relay import RelayStatus
from segment_desktop.services.setup import PlanSummary
from segment_desktop.services.stores import SecretsLike

if TYPE_CHECKING:
    import httpx

    from segment_desktop.commerce import CommerceClient, Page
    from segment_desktop.core.render import Renderer
    from segment_desktop.http_util import AttemptListener
    from segment_desktop.relay.server import RelayServer
    from segment_desktop.sandbox.runner import Sandbox
    from segment_desktop.segment import SegmentClient


class Services:
    """Stores, clients and the optional sandbox the GUI needs. See the module docstring.

    Tests pass their own stores or a sandbox; the defaults are the real ones.
    """

    def __init__(
        self,
        *,
        config_store: ConfigStore | None = None,
        secrets: SecretsLike | None = None,
        sandbox: Sandbox | None = None,
        commerce_timeout: httpx.Timeout | None = None,
    ) -> None:
        self.config_store = config_store or ConfigStore()
        self.secrets: SecretsLike = secrets or SecretStore()
        self.sandbox = sandbox
        #: ``None``: the clients' default (``http_util.DEFAULT_TIMEOUT``).
        self.commerce_timeout = commerce_timeout
        self._owns_sandbox = False
        self.relay: RelayServer | None = None
        self._relay_port: int | None = None
        self._renderer: Renderer | None = None
        self._pending_secret: str | None = None
        self._studio_clients: list[CommerceClient | SegmentClient] = []

    def renderer(self) -> Renderer:
        """The one template renderer of this process (compiled templates are cached in it)."""
        if self._renderer is None:
            from segment_desktop.core.render import Renderer

            self._renderer = Renderer()
        return self._renderer

    # -- settings and secrets ------------------------------------------------------------------

    def load_config(self) -> Config:
        return self.config_store.load()

    def save(self, config: Config) -> None:
        self.config_store.save(config)

    def is_configured(self, config: Config) -> bool:
        """Setup has been finished once (Commerce is known and integrations were registered)."""
        delivery = config.delivery
        target = delivery.sqs_queue_url if delivery.kind == "aws_sqs" else config.relay_url
        return bool(config.commerce.base_url and config.commerce.client_id and target)

    def read_secret(self, name: str) -> str | None:
        return stores.read_secret(self.secrets, name)

    # -- sandbox and the local relay -----------------------------------------------------------

    def start_sandbox(self) -> Sandbox:
        """Start the Commerce and Segment emulators in this process (once), and switch to the
        sandbox's own stores (``stores.sandbox_stores``). A sandbox handed in by the caller
        keeps the stores given with it."""
        if self.sandbox is None:
            self.sandbox = local_relay.start_sandbox()
            self._owns_sandbox = True
            self.config_store, self.secrets = stores.sandbox_stores(self.config_store)
        return self.sandbox

    def sandbox_relay_url(self) -> str:
        """The webhook URL the in-process relay will listen on (its port is reserved now and
        the relay starts on it once setup has the secrets it needs)."""
        if self._relay_port is None:
            self._relay_port = local_relay.free_port()
        return local_relay.webhook_url(self._relay_port)

    def data_dir(self) -> Path:
        return stores.data_dir(sandbox=self.sandbox is not None)

    def start_relay(self, config: Config) -> str:
        """Start (or restart with new settings) the in-process relay on ``config.relay_url``.

        Only for sandbox mode and local testing: a real store needs a relay reachable from
        the internet (``segment-desktop relay``). Returns the webhook URL.
        """
        write_key = self.secrets.get(SEGMENT_WRITE_KEY) or ""
        secret = self.secrets.get(WEBHOOK_SECRET) or ""
        if self.relay is not None:
            self.relay.stop()
            self.relay = None
        self.relay = local_relay.start(config, write_key, secret, self.data_dir())
        return str(self.relay.webhook_url)

    def relay_status(self) -> RelayStatus | None:
        return local_relay.status(self.relay, self.data_dir())

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
        return connections.commerce_client(
            base_url, client_id, client_secret, self.commerce_timeout
        )

    def client_for(self, config: Config) -> CommerceClient:
        """A client for the saved settings, with the secret from the keyring."""
        secret = self.secrets.get(COMMERCE_CLIENT_SECRET) or ""
        return self.commerce_client(config.commerce.base_url, config.commerce.client_id, secret)

    def connect_commerce(
        self,
        base_url: str,
        client_id: str,
        client_secret: str,
        on_attempt: AttemptListener | None = None,
    ) -> CommerceConnection:
        """Sign in (``connections.sign_in``) with the interactive retry policy, telling
        ``on_attempt`` of each retry; on success store the secret in the keyring at once
        (``SecretStoreError`` when the keyring fails)."""
        with connections.interactive_client(
            base_url, client_id, client_secret, self.commerce_timeout, on_attempt
        ) as client:
            connection = connections.sign_in(client)
        self.secrets.set(COMMERCE_CLIENT_SECRET, client_secret)
        return connection

    def list_integrations(self, config: Config) -> list[dict[str, Any]]:
        with self.client_for(config) as client:
            return integrations.ours(client, config)

    def integration_logs(
        self, config: Config, integration_id: str, offset: int, limit: int
    ) -> Page:
        with self.client_for(config) as client:
            return integrations.logs(client, integration_id, offset, limit)

    def set_enabled(self, config: Config, integration_id: str, enabled: bool) -> dict[str, Any]:
        with self.client_for(config) as client:
            return integrations.set_enabled(client, integration_id, enabled)

    def delete_integration(self, config: Config, integration_id: str) -> Config:
        """Delete one of ours at Commerce and forget its id; returns the saved settings."""
        with self.client_for(config) as client:
            updated = integrations.delete(client, config, integration_id)
        self.save(updated)
        return updated

    def studio_clients(
        self, config: Config, draft: Draft | None = None
    ) -> tuple[CommerceClient | None, SegmentClient | None]:
        """Clients for the template studio ("recent from the store", "Send to Segment"), when
        the settings and the secrets have what they need; ``None`` for the missing ones. The
        secrets come from ``draft`` when given (the wizard: not in the keyring before Finish),
        else from the keyring."""
        commerce: CommerceClient | None = None
        secret = draft.client_secret if draft else self.read_secret(COMMERCE_CLIENT_SECRET)
        if config.commerce.base_url and config.commerce.client_id and secret:
            with contextlib.suppress(ServiceError):
                commerce = self.commerce_client(
                    config.commerce.base_url, config.commerce.client_id, secret
                )
        write_key = draft.write_key if draft else self.read_secret(SEGMENT_WRITE_KEY)
        segment = connections.segment_client(config, write_key)
        self._studio_clients.extend(c for c in (commerce, segment) if c is not None)
        return commerce, segment

    # -- Segment -------------------------------------------------------------------------------

    def check_segment(self, host: str, path: str, write_key: str) -> SegmentCheck:
        return connections.check_segment(host, path, write_key, sandbox=self.sandbox is not None)

    def send_test_event(self, host: str, path: str, write_key: str) -> str:
        return connections.send_test_event(host, path, write_key, sandbox=self.sandbox is not None)

    # -- delivery ------------------------------------------------------------------------------

    def check_queue(self, url: str, region: str, access_key_id: str, secret: str) -> str:
        """Check an SQS queue and its keys (``queue.check_queue``); ``ConfigError`` if not."""
        return queue.check_queue(url, region, access_key_id, secret)

    # -- registration --------------------------------------------------------------------------

    def _webhook_secret(self) -> str:
        """The stored webhook secret, or one new secret kept in memory until registering
        stores it (so the plan shown and the plan applied use the same one)."""
        stored = self.read_secret(WEBHOOK_SECRET)
        if stored:
            return stored
        if self._pending_secret is None:
            self._pending_secret = new_webhook_secret()
        return self._pending_secret

    def _draft_client(self, draft: Draft) -> CommerceClient:
        commerce = draft.config.commerce
        return self.commerce_client(commerce.base_url, commerce.client_id, draft.client_secret)

    def plan_registration(self, draft: Draft) -> PlanSummary:
        with self._draft_client(draft) as client:
            return setup.plan(client, draft, self._webhook_secret())

    def register(self, draft: Draft, should_stop: Callable[[], bool] | None = None) -> Config:
        """Register ``draft`` at Commerce and store its secrets (``setup.register``); returns
        the settings to save. ``should_stop`` is asked between writes."""
        with self._draft_client(draft) as client:
            secret = self._webhook_secret()
            config = setup.register(client, draft, self.secrets, secret, should_stop)
        self._pending_secret = None
        return config

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
