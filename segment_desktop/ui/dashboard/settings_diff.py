"""What importing settings would change, worded for the confirmation (no Qt). The comparison
itself is :func:`segment_desktop.core.config_changes.setting_changes`; this names the settings
as the screens do."""

from __future__ import annotations

from typing import Any

from segment_desktop.core.config import Config
from segment_desktop.core.config_changes import SettingChange, setting_changes

#: Setting path → how to name it. Paths not listed are named by their keys.
NAMES = {
    "commerce.base_url": "Commerce store URL",
    "commerce.client_id": "Commerce client ID",
    "segment.host": "Segment host",
    "segment.path": "Segment path",
    "relay_url": "Relay URL",
    "sandbox": "Sandbox mode",
    "delivery.kind": "How Commerce delivers",
    "delivery.sqs_queue_url": "SQS queue URL",
    "delivery.sqs_region": "SQS region",
    "delivery.sqs_access_key_id": "SQS access key ID",
}


def _name(path: str) -> str:
    if path in NAMES:
        return NAMES[path]
    parts = path.split(".")
    if parts[0] == "tracking" and len(parts) == 3:
        return f"Tracking of {parts[1]} ({parts[2]})"
    if parts[0] == "template_overrides":
        return f"Template {'.'.join(parts[1:])}"
    if parts[0] == "integration_ids":
        return f"Remembered integration {'.'.join(parts[1:])!r}"
    return path


def _shown(value: Any) -> str:
    if value is None or value == "":
        return "(none)"
    if isinstance(value, bool):
        return "on" if value else "off"
    return str(value)


def _line(change: SettingChange) -> str:
    name = _name(change.path)
    if change.path.startswith("template_overrides."):
        if change.before is not None and change.after is not None:
            return f"{name}: edited"
        return f"{name}: added" if change.after is not None else f"{name}: back to the default"
    line = f"{name}: {_shown(change.before)} → {_shown(change.after)}"
    return f"{line}   (where your customer data goes)" if change.destination else line


def settings_diff(old: Config, new: Config) -> list[str]:
    """One line per changed setting, the destinations of customer data first."""
    return [
        _line(change) for change in setting_changes(old, new) if change.path != "schema_version"
    ]
