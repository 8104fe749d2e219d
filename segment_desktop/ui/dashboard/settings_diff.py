"""What importing settings would change, in words (no Qt): shown before an import is applied,
because an imported file can point the relay or the Segment host somewhere else."""

from __future__ import annotations

from typing import Any

from segment_desktop.core.config import Config

#: Setting path → how to name it. Paths not listed are named by their keys.
NAMES = {
    ("commerce", "base_url"): "Commerce store URL",
    ("commerce", "client_id"): "Commerce client ID",
    ("segment", "host"): "Segment host",
    ("segment", "path"): "Segment path",
    ("relay_url",): "Relay URL",
    ("sandbox",): "Sandbox mode",
    ("delivery", "kind"): "How Commerce delivers",
    ("delivery", "sqs_queue_url"): "SQS queue URL",
    ("delivery", "sqs_region"): "SQS region",
    ("delivery", "sqs_access_key_id"): "SQS access key ID",
}
#: Settings that decide where customer data goes: flagged in the list.
DESTINATIONS = {
    ("segment", "host"),
    ("segment", "path"),
    ("relay_url",),
    ("delivery", "kind"),
    ("delivery", "sqs_queue_url"),
}


def _flatten(value: Any, path: tuple[str, ...] = ()) -> dict[tuple[str, ...], Any]:
    if isinstance(value, dict) and path[:1] != ("template_overrides",):
        flat: dict[tuple[str, ...], Any] = {}
        for key, inner in value.items():
            flat.update(_flatten(inner, (*path, str(key))))
        return flat
    if path[:1] == ("template_overrides",) and isinstance(value, dict):
        return {(*path, key): text for key, text in value.items()}
    return {path: value}


def _name(path: tuple[str, ...]) -> str:
    if path in NAMES:
        return NAMES[path]
    if path[0] == "tracking" and len(path) == 3:
        return f"Tracking of {path[1]} ({path[2]})"
    if path[0] == "template_overrides":
        return f"Template {path[1]}"
    if path[0] == "integration_ids":
        return f"Remembered integration {path[1]!r}"
    return ".".join(path)


def _shown(value: Any) -> str:
    if value is None or value == "":
        return "(none)"
    if isinstance(value, bool):
        return "on" if value else "off"
    return str(value)


def settings_diff(old: Config, new: Config) -> list[str]:
    """One line per changed setting, the destinations of customer data first."""
    before, after = _flatten(old.to_dict()), _flatten(new.to_dict())
    lines: list[tuple[int, str]] = []
    for path in sorted(set(before) | set(after)):
        if path == ("schema_version",) or before.get(path) == after.get(path):
            continue
        name = _name(path)
        if path[0] == "template_overrides":
            change = (
                "edited"
                if path in before and path in after
                else "added"
                if path in after
                else "back to the default"
            )
            lines.append((1, f"{name}: {change}"))
            continue
        line = f"{name}: {_shown(before.get(path))} → {_shown(after.get(path))}"
        if path in DESTINATIONS:
            lines.append((0, f"{line}   (where your customer data goes)"))
        else:
            lines.append((1, line))
    return [text for _, text in sorted(lines, key=lambda item: item[0])]
