"""What Finish shows and does: the registration plan, then registering and storing secrets."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from segment_desktop.core.config import Config
from segment_desktop.core.flow import Draft
from segment_desktop.core.secrets import (
    COMMERCE_CLIENT_SECRET,
    SEGMENT_WRITE_KEY,
    SQS_SECRET_ACCESS_KEY,
    WEBHOOK_SECRET,
)

if TYPE_CHECKING:
    from segment_desktop.commerce import CommerceClient
    from segment_desktop.registration import Plan
    from segment_desktop.services.stores import SecretsLike


@dataclass(frozen=True)
class PlanSummary:
    """What Finish will do at Commerce, in words, plus the plan object to apply."""

    lines: list[str]
    plan: Plan


def _secrets(draft: Draft, webhook_secret: str) -> dict[str, str]:
    """The secrets registration writes into the integrations, by name."""
    return {WEBHOOK_SECRET: webhook_secret, SQS_SECRET_ACCESS_KEY: draft.sqs_secret}


def plan(client: CommerceClient, draft: Draft, webhook_secret: str) -> PlanSummary:
    """What registering ``draft`` would change at Commerce (reads the integrations)."""
    from segment_desktop import registration

    the_plan = registration.plan(
        draft.config, _secrets(draft, webhook_secret), client.list_integrations()
    )
    return PlanSummary(lines=the_plan.summary().splitlines(), plan=the_plan)


def register(
    client: CommerceClient,
    draft: Draft,
    secrets: SecretsLike,
    webhook_secret: str,
    should_stop: Callable[[], bool] | None = None,
) -> Config:
    """Finish: register at Commerce (``registration.register``, which stores the webhook
    secret before its first write), then store the typed secrets; returns the settings to save.

    The write key, the client secret and an SQS queue's secret access key reach the keyring
    only after Commerce accepted every change, and nothing is saved here (the caller saves the
    returned settings). An integration
    created before a failure is recognised by its name the next time, so retrying never
    duplicates it. ``should_stop`` lets the user stop between two writes.
    """
    from segment_desktop import registration

    the_plan = registration.plan(
        draft.config, _secrets(draft, webhook_secret), client.list_integrations()
    )
    result = registration.register(
        the_plan, client, secrets, webhook_secret, should_stop=should_stop
    )
    secrets.set(SEGMENT_WRITE_KEY, draft.write_key)
    if draft.config.delivery.kind == "aws_sqs" and draft.sqs_secret:
        secrets.set(SQS_SECRET_ACCESS_KEY, draft.sqs_secret)
    secrets.set(COMMERCE_CLIENT_SECRET, draft.client_secret)
    return result.config
