"""The Integrations API's rules: required attributes, types, the 5-event limit, configurations.

Shared by create (every required attribute) and partial update (only what was sent; ``data.type``
is required on both). A configuration is checked against the integration's type: the one sent, or
on an update that sends only ``configuration``, the one the integration has. What each type needs
is listed in docs/API_FACTS.md.
"""

from __future__ import annotations

import copy
import re
from datetime import UTC, datetime
from typing import Any

from segment_desktop.sandbox.problems import ApiProblem, invalid

#: Commerce's limits per integration and per store (docs/API_FACTS.md, "Integrations").
EVENT_LIMIT = 5
INTEGRATION_LIMIT = 100
INTEGRATION_TYPES = ("webhook", "aws_sqs", "stomp")
EVENT_NAME = re.compile(r"^[a-z][a-z_-]*\.[a-z][a-z_-]*$")
REQUIRED = ("type", "name", "integration_type", "observes", "configuration")
#: The string settings each delivery type requires in ``configuration``.
CONFIGURATION_REQUIRED: dict[str, tuple[str, ...]] = {
    "webhook": ("url",),
    "aws_sqs": ("url", "aws_access_key_id", "aws_secret_access_key", "region"),
    "stomp": ("url",),
}
#: Optional settings that must be strings when present.
CONFIGURATION_STRINGS: dict[str, tuple[str, ...]] = {
    "webhook": ("secret_key",),
    "aws_sqs": (),
    "stomp": ("username", "password", "destination"),
}
EVENT_LIMIT_DETAIL = f"You have reached the integration event limit of {EVENT_LIMIT}"


def now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def data_of(body: object) -> dict[str, Any]:
    """The ``data`` object of a request body; a 422 when the body is not wrapped in one."""
    if not isinstance(body, dict) or not isinstance(body.get("data"), dict):
        raise invalid("data", 'The request body must be a JSON object {"data": {...}}.')
    data: dict[str, Any] = body["data"]
    return data


def for_create(data: dict[str, Any]) -> dict[str, Any]:
    """A new integration's attributes: every required one present, defaults filled in.

    ``enabled`` defaults to false, as in Commerce: an integration created without it never fires.
    """
    for name in REQUIRED:
        if name not in data:
            raise invalid(f"data.{name}", f"The data.{name} field is required.")
    attributes = validated(data)
    check_configuration(attributes["integration_type"], attributes["configuration"])
    attributes.setdefault("description", "")
    attributes.setdefault("enabled", False)
    return attributes


def validated(data: dict[str, Any]) -> dict[str, Any]:
    """The writable attributes present in ``data``, checked; raises ``ApiProblem`` (422).

    The configuration is only checked to be an object here: what it must hold depends on the
    integration's type, which an update may leave out (see :func:`check_configuration`).
    """
    if "type" not in data:
        raise invalid("data.type", 'The data.type field is required: "integration".')
    if data["type"] != "integration":
        raise invalid("data.type", 'The data.type field must be "integration".')
    out: dict[str, Any] = {}
    if "name" in data:
        if not isinstance(data["name"], str) or not data["name"].strip():
            raise invalid("data.name", "The data.name field must be a non-empty string.")
        out["name"] = data["name"]
    if "description" in data:
        if not isinstance(data["description"], str):
            raise invalid("data.description", "The data.description field must be a string.")
        out["description"] = data["description"]
    if "enabled" in data:
        if not isinstance(data["enabled"], bool):
            raise invalid("data.enabled", "The data.enabled field must be true or false.")
        out["enabled"] = data["enabled"]
    if "integration_type" in data:
        if data["integration_type"] not in INTEGRATION_TYPES:
            choices = ", ".join(INTEGRATION_TYPES)
            raise invalid(
                "data.integration_type", f"The data.integration_type must be one of: {choices}."
            )
        out["integration_type"] = data["integration_type"]
    if "observes" in data:
        observes = data["observes"]
        if not isinstance(observes, list) or not observes:
            raise invalid("data.observes", "The data.observes field must be a list of events.")
        for name in observes:
            if not isinstance(name, str) or not EVENT_NAME.match(name):
                raise invalid("data.observes", f"{name!r} is not an observable event.")
        if len(observes) > EVENT_LIMIT:
            raise ApiProblem(422, "Unprocessable Entity", EVENT_LIMIT_DETAIL)
        out["observes"] = list(observes)
    if "configuration" in data:
        configuration = data["configuration"]
        if not isinstance(configuration, dict):
            raise invalid("data.configuration", "The data.configuration field must be an object.")
        out["configuration"] = copy.deepcopy(configuration)
    return out


def check_configuration(integration_type: str, configuration: dict[str, Any]) -> None:
    """Raise the 422 Commerce answers when ``configuration`` does not fit ``integration_type``."""
    for name in CONFIGURATION_REQUIRED[integration_type]:
        value = configuration.get(name)
        if not isinstance(value, str) or not value.strip():
            raise invalid(
                f"data.configuration.{name}",
                f"The data.configuration.{name} field is required when integration_type is "
                f"{integration_type}.",
            )
    for name in CONFIGURATION_STRINGS[integration_type]:
        if name in configuration and not isinstance(configuration[name], str):
            raise invalid(
                f"data.configuration.{name}",
                f"The data.configuration.{name} field must be a string.",
            )
    url = configuration["url"]
    schemes = {"webhook": r"https?", "aws_sqs": r"https?", "stomp": r"stomp(\+ssl)?|ssl|tcp"}
    if not re.match(rf"^({schemes[integration_type]})://[^\s/]+", url):
        raise invalid(
            "data.configuration.url",
            f"The data.configuration.url {url!r} is not an address to deliver to when "
            f"integration_type is {integration_type}.",
        )
