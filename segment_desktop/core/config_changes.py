"""What replacing the settings would change, in words: for confirming an import.

An imported file can point Segment calls, or the Commerce connection, somewhere else without
anything on screen saying so; the application lists these changes first and asks.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from segment_desktop.core.config import Config

#: Settings that decide where customer data goes, or which store is read.
DESTINATIONS = frozenset(
    {
        "segment.host",
        "segment.path",
        "commerce.base_url",
        "relay_url",
        "delivery.kind",
        "delivery.sqs_queue_url",
    }
)


@dataclass(frozen=True)
class SettingChange:
    path: str
    """Where in the settings, e.g. ``segment.host`` or ``template_overrides.order_paid``."""
    before: Any
    after: Any
    """``None`` when the setting is not there (on that side)."""

    @property
    def destination(self) -> bool:
        """Whether this change sends data elsewhere (ask before applying it)."""
        return self.path in DESTINATIONS


def setting_changes(current: Config, replacement: Config) -> list[SettingChange]:
    """Every setting that differs between ``current`` and ``replacement``, destinations first,
    then in the settings' own order."""
    before, after = _leaves(current.to_dict()), _leaves(replacement.to_dict())
    paths = list(dict.fromkeys([*before, *after]))
    changes = [
        SettingChange(path, before.get(path), after.get(path))
        for path in paths
        if before.get(path) != after.get(path)
    ]
    return sorted(changes, key=lambda change: not change.destination)


def _leaves(data: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    leaves: dict[str, Any] = {}
    for key, value in data.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict):
            leaves.update(_leaves(value, f"{path}."))
        else:
            leaves[path] = value
    return leaves
