"""Checking settings: building a :class:`Config` from untrusted JSON, and what makes values
impossible (unknown templates, events a template cannot track, values over their size limit).

Every problem is collected with its path in the file (``tracking.order_completed.event``), so
that one message lists them all.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import fields
from typing import Any

from segment_desktop.core import config as model
from segment_desktop.core.config import (
    DEFAULT_SEGMENT_HOST,
    DEFAULT_SEGMENT_PATH,
    DELIVERY_KINDS,
    MAX_INTEGRATIONS,
    MAX_TEMPLATE_CHARS,
    MAX_TEXT_CHARS,
    CommerceSettings,
    Config,
    DeliverySettings,
    SegmentSettings,
    TrackingChoice,
    default_tracking,
)
from segment_desktop.core.events import BY_KEY, TEMPLATES
from segment_desktop.core.jsontypes import json_type_name


def problems_of(config: Config) -> list[str]:
    """Semantic problems: unknown templates, events a template cannot track, bad values."""
    problems: list[str] = []
    if config.schema_version != model.SCHEMA_VERSION:
        problems.append(
            f"schema_version is {config.schema_version}, expected {model.SCHEMA_VERSION}"
        )
    for key, choice in config.tracking.items():
        spec = BY_KEY.get(key)
        if spec is None:
            problems.append(f"tracking.{key}: unknown template (known: {_template_keys()})")
        elif choice.event not in spec.choices:
            problems.append(
                f"tracking.{key}.event: {spec.name} cannot track {choice.event!r}; "
                f"choose one of {', '.join(spec.choices)}"
            )
    for key in config.template_overrides:
        if key not in BY_KEY:
            problems.append(
                f"template_overrides.{key}: unknown template (known: {_template_keys()})"
            )
    if config.segment.path and not config.segment.path.startswith("/"):
        problems.append(f"segment.path must start with '/', got {config.segment.path!r}")
    problems += _too_long(config)
    if config.delivery.kind not in DELIVERY_KINDS:
        problems.append(
            f"delivery.kind is {config.delivery.kind!r}; choose one of {', '.join(DELIVERY_KINDS)}"
        )
    for name, fingerprint in (
        ("webhook_secret_fingerprint", config.webhook_secret_fingerprint),
        ("delivery.sqs_secret_fingerprint", config.delivery.sqs_secret_fingerprint),
    ):
        if fingerprint and not all(c in "0123456789abcdef" for c in fingerprint):
            problems.append(f"{name} must be lowercase hexadecimal")
    return problems


def _too_long(config: Config) -> list[str]:
    """Values over their size limit (:data:`MAX_TEMPLATE_CHARS`, :data:`MAX_TEXT_CHARS`)."""
    texts = {
        "commerce.client_id": config.commerce.client_id,
        "commerce.base_url": config.commerce.base_url,
        "segment.host": config.segment.host,
        "segment.path": config.segment.path,
        "relay_url": config.relay_url,
        "webhook_secret_fingerprint": config.webhook_secret_fingerprint,
    }
    texts.update({f"integration_ids.{k[:60]}": v for k, v in config.integration_ids.items()})
    limits = dict.fromkeys(texts, MAX_TEXT_CHARS)
    for key, text in config.template_overrides.items():
        texts[f"template_overrides.{key}"] = text
        limits[f"template_overrides.{key}"] = MAX_TEMPLATE_CHARS
    problems = [
        f"{path} is {len(text):,} characters long; the limit is {limits[path]:,}"
        for path, text in texts.items()
        if len(text) > limits[path]
    ]
    if len(config.integration_ids) > MAX_INTEGRATIONS:
        problems.append(
            f"integration_ids holds {len(config.integration_ids):,} entries; "
            f"the limit is {MAX_INTEGRATIONS}"
        )
    return problems


def _template_keys() -> str:
    return ", ".join(t.key for t in TEMPLATES)


class SettingsReader:
    """Builds a Config from untrusted JSON, collecting every problem with its path."""

    def __init__(self) -> None:
        self.problems: list[str] = []

    def _object(self, value: object, path: str, allowed: set[str]) -> dict[str, Any]:
        if not isinstance(value, dict):
            self.problems.append(f"{path} must be an object, not {json_type_name(value)}")
            return {}
        for key in value:
            if key not in allowed:
                self.problems.append(
                    f"{path}.{key}: unknown setting" if path else f"{key}: unknown setting"
                )
        return value

    def _str(self, obj: Mapping[str, Any], key: str, path: str, default: str) -> str:
        value = obj.get(key, default)
        if not isinstance(value, str):
            self.problems.append(f"{path}{key} must be a string, not {json_type_name(value)}")
            return default
        return value

    def _bool(self, obj: Mapping[str, Any], key: str, path: str, default: bool) -> bool:
        value = obj.get(key, default)
        if not isinstance(value, bool):
            self.problems.append(f"{path}{key} must be true or false, not {json_type_name(value)}")
            return default
        return value

    def _str_map(self, obj: Mapping[str, Any], key: str) -> dict[str, str]:
        value = obj.get(key, {})
        if not isinstance(value, dict):
            self.problems.append(f"{key} must be an object, not {json_type_name(value)}")
            return {}
        result: dict[str, str] = {}
        for name, item in value.items():
            if isinstance(item, str):
                result[name] = item
            else:
                self.problems.append(f"{key}.{name} must be a string, not {json_type_name(item)}")
        return result

    def config(self, data: Mapping[str, Any]) -> Config:
        top = self._object(data, "", {f.name for f in fields(Config)} | {"kind", model.EXTRAS_KEY})
        version = top.get("schema_version", model.SCHEMA_VERSION)
        if not isinstance(version, int) or isinstance(version, bool):
            self.problems.append(
                f"schema_version must be a whole number, not {json_type_name(version)}"
            )
            version = model.SCHEMA_VERSION
        commerce = self._object(top.get("commerce", {}), "commerce", {"client_id", "base_url"})
        segment = self._object(top.get("segment", {}), "segment", {"host", "path"})
        delivery = self._object(
            top.get("delivery", {}), "delivery", {f.name for f in fields(DeliverySettings)}
        )
        return Config(
            schema_version=version,
            commerce=CommerceSettings(
                client_id=self._str(commerce, "client_id", "commerce.", ""),
                base_url=self._str(commerce, "base_url", "commerce.", ""),
            ),
            segment=SegmentSettings(
                host=self._str(segment, "host", "segment.", DEFAULT_SEGMENT_HOST),
                path=self._str(segment, "path", "segment.", DEFAULT_SEGMENT_PATH),
            ),
            tracking=self._tracking(top.get("tracking", {})),
            template_overrides=self._str_map(top, "template_overrides"),
            integration_ids=self._str_map(top, "integration_ids"),
            relay_url=self._str(top, "relay_url", "", ""),
            sandbox=self._bool(top, "sandbox", "", False),
            webhook_secret_fingerprint=self._str(top, "webhook_secret_fingerprint", "", ""),
            delivery=DeliverySettings(
                **{
                    f.name: self._str(delivery, f.name, "delivery.", f.default)
                    for f in fields(DeliverySettings)
                    if isinstance(f.default, str)
                }
            ),
        )

    def _tracking(self, value: object) -> dict[str, TrackingChoice]:
        tracking = default_tracking()
        raw = self._object(value, "tracking", set(BY_KEY))
        for key, item in raw.items():
            path = f"tracking.{key}"
            choice = self._object(item, path, {"enabled", "event"})
            if key not in tracking or not choice:
                continue
            default = tracking[key]
            tracking[key] = TrackingChoice(
                enabled=self._bool(choice, "enabled", f"{path}.", default.enabled),
                event=self._str(choice, "event", f"{path}.", default.event),
            )
        return tracking
