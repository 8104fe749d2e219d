"""Our integrations at Commerce: listing them (never others'), their logs, enable and delete."""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

from segment_desktop.core.config import Config

if TYPE_CHECKING:
    from segment_desktop.commerce import CommerceClient, Page


def ours(client: CommerceClient, config: Config) -> list[dict[str, Any]]:
    """Our integrations at Commerce (by remembered id or our name prefix), never others'."""
    from segment_desktop import registration

    remembered = list(config.integration_ids.values())
    return [i for i in client.list_integrations() if registration.is_ours(i, remembered)]


def logs(client: CommerceClient, integration_id: str, offset: int, limit: int) -> Page:
    return client.integration_logs(integration_id, limit=limit, offset=offset)


def set_enabled(client: CommerceClient, integration_id: str, enabled: bool) -> dict[str, Any]:
    return client.update_integration(integration_id, {"enabled": enabled})


def delete(client: CommerceClient, config: Config, integration_id: str) -> Config:
    """Delete one of ours at Commerce; returns the settings without its id (to be saved)."""
    client.delete_integration(integration_id)
    updated = copy.deepcopy(config)
    updated.integration_ids = {
        name: i for name, i in config.integration_ids.items() if i != integration_id
    }
    return updated
