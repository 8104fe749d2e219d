"""Which Commerce integrations must exist for the chosen templates, and getting there.

:func:`plan` compares what the settings need with what the store has and lists the writes;
:func:`apply` performs them. Planning is pure (no network), so the app can show the plan first.

The rules:

* **What must exist.** The enabled templates' events, split by group (orders, customers: never
  mixed in one integration), at most 5 events per integration (Commerce's limit), in as few
  integrations as possible. Names are fixed and ours: ``Segment Desktop — orders``,
  ``Segment Desktop — orders (2)`` (only if ever needed), ``Segment Desktop — customers``.
  Each is enabled, with a description, and delivers as the settings choose
  (``Config.delivery``): a ``webhook`` to the relay URL with the webhook secret, or
  ``aws_sqs`` to a queue (its URL, region, access key id and secret access key), which relay
  workers consume. Switching between the two updates the same integrations.
* **What is ours.** An integration whose id the settings remember (``integration_ids``) or
  whose name starts with ``Segment Desktop — ``. Anything else is foreign and never touched.
* **Idempotent.** An integration that already matches is left alone, and an update sends only
  the attributes that differ (Commerce's PUT is partial). Running twice changes nothing.
* **Turning things off disables, never deletes.** An integration of ours that is no longer
  needed is disabled (``enabled: false``): Commerce keeps its delivery logs (the only record
  of what was sent), turning the events back on re-enables it instead of creating another, and
  nothing the user may have looked at disappears. Deleting is left to the user (Commerce
  Manager, or ``CommerceClient.delete_integration``). An already disabled one is left alone.
* **The secret.** Commerce may not echo ``configuration.secret_key`` back (unconfirmed). When
  it does, we compare it. When it does not, we compare the fingerprint of the secret last
  registered (``Config.webhook_secret_fingerprint``) with the current one: equal means nothing
  to send; different, or unknown (no fingerprint yet), sends the configuration once, after
  which the fingerprint is recorded and later runs are quiet. The same holds for a queue's
  secret access key (``DeliverySettings.sqs_secret_fingerprint``).
"""

from __future__ import annotations

import contextlib
import copy
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from segment_desktop.core.config import Config
from segment_desktop.core.delivery import Target, delivery_target, may_be
from segment_desktop.core.errors import SegmentDesktopError
from segment_desktop.core.events import ALL_EVENTS, TEMPLATES, Group, TemplateSpec
from segment_desktop.core.secrets import WEBHOOK_SECRET, secret_fingerprint
from segment_desktop.http_util import is_loopback, parse_http_url

log = logging.getLogger(__name__)

PREFIX = "Segment Desktop — "
EVENT_LIMIT = 5
GROUP_LABELS: dict[Group, str] = {Group.ORDERS: "orders", Group.CUSTOMERS: "customers"}
DESCRIPTIONS: dict[Group, str] = {
    Group.ORDERS: "Sends order events to the Segment Desktop relay, which forwards them to "
    "Segment. Managed by Segment Desktop: edits here are undone when it registers again.",
    Group.CUSTOMERS: "Sends customer events to the Segment Desktop relay, which forwards them "
    "to Segment. Managed by Segment Desktop: edits here are undone when it registers again.",
}

Kind = Literal["create", "update", "disable"]


class IntegrationWriter(Protocol):
    """What :func:`apply` needs of :class:`segment_desktop.commerce.CommerceClient`."""

    def create_integration(self, attributes: Mapping[str, Any]) -> dict[str, Any]: ...

    def update_integration(
        self, integration_id: str, attributes: Mapping[str, Any]
    ) -> dict[str, Any]: ...


class ConfigSaver(Protocol):
    def save(self, config: Config) -> None: ...


# --------------------------------------------------------------------------------------------
# What must exist
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Desired:
    """One integration the settings need."""

    name: str
    group: Group
    observes: tuple[str, ...]

    def attributes(self, target: Target) -> dict[str, Any]:
        return {
            "name": self.name,
            "description": DESCRIPTIONS[self.group],
            "integration_type": target.integration_type,
            "enabled": True,
            "observes": list(self.observes),
            "configuration": target.configuration(),
        }


def integration_name(group: Group, index: int = 0) -> str:
    """Our name for the ``index``-th (0-based) integration of ``group``."""
    base = PREFIX + GROUP_LABELS[group]
    return base if index == 0 else f"{base} ({index + 1})"


def desired_integrations(
    chosen: Mapping[str, str], templates: Sequence[TemplateSpec] = TEMPLATES
) -> list[Desired]:
    """The integrations needed for ``chosen`` (enabled template key → event), orders first."""
    by_group: dict[Group, list[str]] = {group: [] for group in GROUP_LABELS}
    for spec in templates:
        event = chosen.get(spec.key)
        if event is not None and event not in by_group[spec.group]:
            by_group[spec.group].append(event)
    order = {event: i for i, event in enumerate(ALL_EVENTS)}
    desired: list[Desired] = []
    for group, events in by_group.items():
        events.sort(key=lambda e: (order.get(e, len(order)), e))
        for index in range(0, len(events), EVENT_LIMIT):
            chunk = tuple(events[index : index + EVENT_LIMIT])
            desired.append(Desired(integration_name(group, index // EVENT_LIMIT), group, chunk))
    return desired


def is_ours(integration: Mapping[str, Any], remembered_ids: Sequence[str]) -> bool:
    return integration.get("id") in remembered_ids or str(integration.get("name", "")).startswith(
        PREFIX
    )


# --------------------------------------------------------------------------------------------
# The plan
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Action:
    """One write to Commerce."""

    kind: Kind
    name: str
    integration_id: str | None
    attributes: dict[str, Any] = field(repr=False)
    """Exactly what is sent (may hold the webhook secret: never log or show it)."""
    changes: tuple[str, ...] = ()
    """For an update: what differs, in words (``events``, ``relay URL``, ``webhook secret``…)."""
    observes: tuple[str, ...] = ()

    def describe(self) -> str:
        events = ", ".join(self.observes)
        if self.kind == "create":
            return f"Create “{self.name}” observing {events}."
        if self.kind == "update":
            return f"Update “{self.name}”: {', '.join(self.changes)} (observing {events})."
        return f"Disable “{self.name}”: its events are no longer tracked."


@dataclass
class Plan:
    """What registering would do. ``summary()`` says it in words."""

    config: Config = field(repr=False)
    actions: list[Action]
    desired: list[Desired]
    unchanged: list[str]
    """Names of our integrations that already match."""
    ids: dict[str, str]
    """Our names → ids known from the store (before any write)."""
    foreign: int
    """How many integrations are not ours (left untouched)."""
    forgotten: list[str]
    """Remembered names whose integration no longer exists in the store."""
    secret_fingerprint: str
    warnings: list[str] = field(default_factory=list)
    delivery: str = ""
    """``webhook`` or ``aws_sqs`` (empty when nothing is tracked)."""

    @property
    def changes_nothing(self) -> bool:
        return not self.actions

    def count(self, kind: Kind) -> int:
        return sum(1 for a in self.actions if a.kind == kind)

    def summary(self) -> str:
        """Several lines: a headline, one line per write, then what stays as it is."""
        lines: list[str] = []
        if self.changes_nothing:
            if self.unchanged:
                n = len(self.unchanged)
                verb = "matches" if n == 1 else "match"
                lines.append(f"Nothing to change: {_integrations(n)} already {verb}.")
            else:
                lines.append(
                    "Nothing to change: no events are tracked and none of ours is enabled."
                )
        else:
            kinds: tuple[Kind, ...] = ("create", "update", "disable")
            counts = [f"{kind} {self.count(kind)}" for kind in kinds if self.count(kind)]
            noun = "integration" if len(self.actions) == 1 else "integrations"
            lines.append("Will " + ", ".join(counts) + f" {noun} at Commerce:")
            lines += ["  " + action.describe() for action in self.actions]
            if self.unchanged:
                lines.append(f"Already up to date: {', '.join(f'“{n}”' for n in self.unchanged)}.")
        if self.foreign:
            lines.append(
                f"Leaves {_integrations(self.foreign)} not made by Segment Desktop untouched."
            )
        lines += [f"Warning: {w}" for w in self.warnings]
        return "\n".join(lines)


def _integrations(n: int) -> str:
    return f"{n} integration" + ("" if n == 1 else "s")


def plan(
    config: Config,
    webhook_secret: str | Mapping[str, str] | None,
    existing: Sequence[Mapping[str, Any]],
) -> Plan:
    """The writes that make the store's integrations match ``config``.

    ``webhook_secret`` is the webhook secret itself, or a mapping of secret names
    (``WEBHOOK_SECRET``, and ``SQS_SECRET_ACCESS_KEY`` for a queue delivery); ``existing`` is
    ``CommerceClient.list_integrations()``. Raises ``ConfigError`` when events are tracked but
    the delivery lacks a setting or a secret (see :func:`delivery_target`), and
    ``InvalidURLError`` for a relay URL Commerce must not use.
    """
    desired = desired_integrations(config.chosen_events())
    warnings: list[str] = []
    target: Target | None = None
    if desired:
        target = delivery_target(config, webhook_secret)
        if target.integration_type == "webhook":
            warnings += _relay_warnings(target.url, config.commerce.base_url)
    fingerprint = secret_fingerprint(target.secret) if target is not None else ""

    remembered = dict(config.integration_ids)
    by_id = {str(i.get("id")): i for i in existing if i.get("id")}
    ours = [i for i in existing if is_ours(i, list(remembered.values()))]
    claimed: set[str] = set()
    actions: list[Action] = []
    unchanged: list[str] = []
    ids: dict[str, str] = {}

    for want in desired:
        assert target is not None  # there is something to deliver
        match = _find(want.name, remembered, by_id, ours, claimed)
        attributes = want.attributes(target)
        if match is None:
            actions.append(Action("create", want.name, None, attributes, (), want.observes))
            continue
        match_id = str(match["id"])
        claimed.add(match_id)
        ids[want.name] = match_id
        update, changes = _difference(
            match, attributes, target, fingerprint, target.registered_fingerprint(config)
        )
        if update:
            actions.append(Action("update", want.name, match_id, update, changes, want.observes))
        else:
            unchanged.append(want.name)

    for integration in ours:
        integration_id = str(integration["id"])
        if integration_id in claimed:
            continue
        name = _remembered_name(integration_id, remembered) or str(integration.get("name", ""))
        ids[name] = integration_id
        if integration.get("enabled") is not False:
            observes = tuple(str(e) for e in integration.get("observes") or ())
            actions.append(
                Action("disable", name, integration_id, {"enabled": False}, ("enabled",), observes)
            )

    forgotten = [name for name, i in remembered.items() if i not in by_id]
    foreign = sum(1 for i in existing if not is_ours(i, list(remembered.values())))
    return Plan(
        config=config,
        actions=actions,
        desired=desired,
        unchanged=unchanged,
        ids=ids,
        foreign=foreign,
        forgotten=forgotten,
        secret_fingerprint=fingerprint,
        warnings=warnings,
        delivery=target.integration_type if target is not None else "",
    )


def _find(
    name: str,
    remembered: Mapping[str, str],
    by_id: Mapping[str, Mapping[str, Any]],
    ours: Sequence[Mapping[str, Any]],
    claimed: set[str],
) -> Mapping[str, Any] | None:
    """Our integration for ``name``: the remembered id first, else the first one so named."""
    remembered_id = remembered.get(name)
    if remembered_id is not None and remembered_id in by_id and remembered_id not in claimed:
        return by_id[remembered_id]
    for integration in ours:
        if integration.get("name") == name and str(integration["id"]) not in claimed:
            return integration
    return None


def _remembered_name(integration_id: str, remembered: Mapping[str, str]) -> str | None:
    return next((name for name, i in remembered.items() if i == integration_id), None)


def _difference(
    have: Mapping[str, Any],
    want: Mapping[str, Any],
    target: Target,
    fingerprint: str,
    registered_fingerprint: str,
) -> tuple[dict[str, Any], tuple[str, ...]]:
    """The attributes to send (only those that differ) and what they are, in words."""
    update: dict[str, Any] = {}
    words: list[str] = []
    for key, label in (
        ("name", "name"),
        ("description", "description"),
        ("integration_type", "type"),
        ("enabled", "enable"),
    ):
        if have.get(key) != want[key]:
            update[key] = want[key]
            words.append(label)
    if sorted(have.get("observes") or []) != sorted(want["observes"]):
        update["observes"] = want["observes"]
        words.append("events")
    configuration = have.get("configuration")
    configuration = configuration if isinstance(configuration, dict) else {}
    wanted = want["configuration"]
    differs = [
        label for key, label in target.compared if not may_be(configuration.get(key), wanted[key])
    ]
    echoed = configuration.get(target.secret_field)
    if echoed is not None and not may_be(echoed, target.secret):
        secret_differs = True
    elif echoed == target.secret:
        secret_differs = False
    else:  # not echoed, or masked: trust the fingerprint of what we registered last, if known
        secret_differs = registered_fingerprint != fingerprint
    if "integration_type" in update:  # another delivery: its configuration is all new
        secret_differs = True
    if secret_differs:
        differs.append(target.secret_label)
    if differs:
        # the configuration object is replaced as a whole: always send every key
        update["configuration"] = dict(wanted)
        words += differs
    return update, tuple(words)


def _relay_warnings(relay_url: str, commerce_url: str) -> list[str]:
    parsed = parse_http_url(relay_url, service="Commerce", what="relay URL")
    commerce_host = ""
    with contextlib.suppress(SegmentDesktopError):  # a bad Commerce URL is reported elsewhere
        commerce_host = parse_http_url(
            commerce_url, service="Commerce", what="Commerce API URL"
        ).host
    if is_loopback(parsed.host) and commerce_host and not is_loopback(commerce_host):
        return [
            f"the relay URL {relay_url} points at this computer, which Commerce's servers cannot "
            "reach; use the relay's public https:// address (a server or a tunnel)."
        ]
    return []


# --------------------------------------------------------------------------------------------
# Applying
# --------------------------------------------------------------------------------------------


@dataclass
class ApplyResult:
    """What :func:`apply` did."""

    applied: list[tuple[Action, str]]
    """Each write done, with the integration's id."""
    integration_ids: dict[str, str]
    """Our names → ids after applying (what ``Config.integration_ids`` now holds)."""
    config: Config = field(repr=False)
    """A copy of the plan's settings with ``integration_ids`` (and, when everything was applied,
    ``webhook_secret_fingerprint``) updated."""

    def summary(self) -> str:
        if not self.applied:
            return "Nothing was changed at Commerce."
        done = {"create": "Created", "update": "Updated", "disable": "Disabled"}
        return "\n".join(f"{done[a.kind]} “{a.name}” ({i})." for a, i in self.applied)


Persist = ConfigSaver | Callable[[Config], None] | None


class RegistrationStopped(SegmentDesktopError):
    """The user stopped registering between two writes (the ones done are remembered)."""


def apply(
    plan: Plan,
    client: IntegrationWriter,
    persist: Persist = None,
    should_stop: Callable[[], bool] | None = None,
) -> ApplyResult:
    """Perform ``plan``'s writes in order and remember the ids.

    ``persist`` (a ``ConfigStore`` or a callable taking the updated ``Config``) is called once
    at the end, also when a write failed, so an integration created before the failure is
    remembered. The failure is then raised (one of our errors, from the client); the fingerprint
    of the secret is recorded only when every write succeeded. ``should_stop`` is asked before
    each write (never during one): a stop raises ``RegistrationStopped``.
    """
    ids = dict(plan.ids)
    applied: list[tuple[Action, str]] = []
    failure: SegmentDesktopError | None = None
    for action in plan.actions:
        if should_stop is not None and should_stop():
            done = f"after {len(applied)} of {len(plan.actions)}" if applied else "before any"
            failure = RegistrationStopped(f"Stopped as you asked, {done} changes at Commerce.")
            break
        try:
            if action.kind == "create":
                created = client.create_integration(action.attributes)
                integration_id = str(created["id"])
            else:
                assert action.integration_id is not None
                client.update_integration(action.integration_id, action.attributes)
                integration_id = action.integration_id
        except SegmentDesktopError as err:
            failure = err
            log.warning("Registration stopped at %s of %s: %s", action.kind, action.name, err)
            break
        ids[action.name] = integration_id
        applied.append((action, integration_id))
        log.info("Registration: %s %s (%s)", action.kind, action.name, integration_id)

    config = copy.deepcopy(plan.config)
    config.integration_ids = ids
    if failure is None and plan.desired:
        if plan.delivery == "aws_sqs":
            config.delivery.sqs_secret_fingerprint = plan.secret_fingerprint
        else:
            config.webhook_secret_fingerprint = plan.secret_fingerprint
    result = ApplyResult(applied=applied, integration_ids=ids, config=config)
    if persist is not None:
        if callable(persist):
            persist(config)
        else:
            persist.save(config)
    if failure is not None:
        raise failure
    return result


class SecretKeeper(Protocol):
    """What :func:`register` needs of a secret store (``SecretStore`` or an in-memory one)."""

    def get(self, name: str) -> str | None: ...
    def set(self, name: str, value: str) -> None: ...


def register(
    plan: Plan,
    client: IntegrationWriter,
    secrets: SecretKeeper,
    webhook_secret: str,
    persist: Persist = None,
    should_stop: Callable[[], bool] | None = None,
) -> ApplyResult:
    """The one registration sequence, for the app's Finish and ``segment-desktop register``.

    ``webhook_secret`` (what ``plan`` was made with) is stored before the first write: Commerce
    may accept some writes and refuse a later one, and an integration that carries the secret
    must find a relay that knows it. One the store already returns is not written again.
    """
    webhook = plan.desired and plan.delivery == "webhook" and webhook_secret
    if webhook and secrets.get(WEBHOOK_SECRET) != webhook_secret:
        secrets.set(WEBHOOK_SECRET, webhook_secret)
    return apply(plan, client, persist, should_stop)
