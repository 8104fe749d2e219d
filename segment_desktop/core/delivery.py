"""Where Commerce delivers the events: a webhook to the relay, or an Amazon SQS queue.

:func:`delivery_target` reads the choice from the settings (``Config.delivery``) and the
secrets, and names what is missing; registration then writes it into each integration's
``configuration`` (Commerce's ``webhook`` and ``aws_sqs`` integration types, as its
Integrations API describes them: a webhook's ``url`` and ``secret_key``; a queue's ``url``,
``aws_access_key_id``, ``aws_secret_access_key`` and ``region``, all required).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from segment_desktop.core.config import Config
from segment_desktop.core.errors import ConfigError
from segment_desktop.core.secrets import SQS_SECRET_ACCESS_KEY, WEBHOOK_SECRET


@dataclass(frozen=True)
class Target:
    """Where Commerce delivers: a webhook to the relay, or an SQS queue."""

    integration_type: Literal["webhook", "aws_sqs"]
    url: str
    """The relay URL, or the queue URL."""
    secret: str = field(repr=False)
    """The webhook secret, or the queue's secret access key."""
    region: str = ""
    access_key_id: str = ""

    def configuration(self) -> dict[str, str]:
        if self.integration_type == "webhook":
            return {"url": self.url, "secret_key": self.secret}
        return {
            "url": self.url,
            "aws_access_key_id": self.access_key_id,
            "aws_secret_access_key": self.secret,
            "region": self.region,
        }

    @property
    def compared(self) -> tuple[tuple[str, str], ...]:
        """The configuration keys compared with Commerce's (besides the secret), named."""
        if self.integration_type == "webhook":
            return (("url", "relay URL"),)
        return (("url", "queue URL"), ("region", "region"), ("aws_access_key_id", "access key id"))

    @property
    def secret_field(self) -> str:
        return "secret_key" if self.integration_type == "webhook" else "aws_secret_access_key"

    @property
    def secret_label(self) -> str:
        return "webhook secret" if self.integration_type == "webhook" else "secret access key"

    def registered_fingerprint(self, config: Config) -> str:
        """The fingerprint of this kind of secret as last registered."""
        if self.integration_type == "webhook":
            return config.webhook_secret_fingerprint
        return config.delivery.sqs_secret_fingerprint


def _secret_from(secrets: str | Mapping[str, str] | None, name: str = WEBHOOK_SECRET) -> str:
    if isinstance(secrets, str):
        return secrets if name == WEBHOOK_SECRET else ""
    if secrets is None:
        return ""
    return secrets.get(name) or ""


def queue_region(queue_url: str, region: str = "") -> str:
    """``region``, else the one in a standard queue URL
    (``https://sqs.<region>.amazonaws.com/<account>/<name>``), else empty."""
    if region.strip():
        return region.strip()
    host = queue_url.split("//", 1)[-1].split("/", 1)[0]
    parts = host.split(".")
    return parts[1] if len(parts) >= 4 and parts[0] == "sqs" else ""


def delivery_target(config: Config, secrets: str | Mapping[str, str] | None) -> Target:
    """Where the settings send Commerce's events. Raises ``ConfigError`` naming what is missing.

    What a delivery page needs: for ``aws_sqs`` the queue URL, region (or a standard queue URL
    that names it), access key id in ``config.delivery`` and the secret access key in
    ``secrets`` under ``SQS_SECRET_ACCESS_KEY``; for a webhook ``config.relay_url`` and the
    webhook secret.
    """
    delivery = config.delivery
    if delivery.kind != "aws_sqs":
        relay_url = config.relay_url.strip()
        if not relay_url:
            raise ConfigError(
                "No relay URL is set, so Commerce would not know where to send events. Enter "
                "the public https:// address of your relay, then register again."
            )
        secret = _secret_from(secrets)
        if not secret:
            raise ConfigError(
                "No webhook secret is available. Run the setup again (it creates one) or set "
                "COMMERCE_WEBHOOK_SECRET, then register again."
            )
        return Target("webhook", relay_url, secret)
    url = delivery.sqs_queue_url.strip()
    region = queue_region(url, delivery.sqs_region)
    missing = [
        label
        for label, value in (
            ("the queue URL", url),
            ("the queue's region", region),
            ("the access key id", delivery.sqs_access_key_id.strip()),
            ("the secret access key", _secret_from(secrets, SQS_SECRET_ACCESS_KEY)),
        )
        if not value
    ]
    if missing:
        raise ConfigError(
            f"Commerce needs {', '.join(missing)} to put events on your SQS queue. Enter "
            "them in the delivery settings (an IAM user allowed sqs:SendMessage on the queue), "
            "then register again."
        )
    if not url.startswith(("https://", "http://127.0.0.1", "http://localhost")):
        raise ConfigError(
            f"The queue URL {url!r} is not an https:// SQS queue URL; copy it from the SQS "
            "console (https://sqs.<region>.amazonaws.com/<account>/<queue>)."
        )
    return Target(
        "aws_sqs",
        url,
        _secret_from(secrets, SQS_SECRET_ACCESS_KEY),
        region,
        delivery.sqs_access_key_id.strip(),
    )


def with_queue(config: Config, url: str, region: str = "", access_key_id: str = "") -> Config:
    """A copy of ``config`` delivering to the SQS queue at ``url`` (the other settings of the
    queue kept unless given); what ``register --sqs-queue-url`` and a delivery page save."""
    import copy

    changed = copy.deepcopy(config)
    delivery = changed.delivery
    if url.strip() != delivery.sqs_queue_url:
        delivery.sqs_secret_fingerprint = ""  # another queue: its key is registered afresh
    delivery.kind = "aws_sqs"
    delivery.sqs_queue_url = url.strip()
    delivery.sqs_region = region.strip() or delivery.sqs_region
    delivery.sqs_access_key_id = access_key_id.strip() or delivery.sqs_access_key_id
    return changed


def may_be(echoed: object, value: str) -> bool:
    """Whether a setting Commerce answered with can be ``value``: equal, or masked as
    Commerce masks an ``aws_sqs`` integration's keys (asterisks, then the last characters,
    ``"****************JIMB"``: see docs/API_FACTS.md) with the same ending."""
    if echoed == value:
        return True
    if isinstance(echoed, str) and echoed.startswith("*"):
        return value.endswith(echoed.lstrip("*"))
    return False
