"""A Segment tracking plan: JSON Schema (draft-07) rules that each call must meet.

Two published shapes are read:

* the plan file Segment's ``typewriter`` tool keeps (``plan.json``, the Config API's tracking
  plan): ``{"display_name", "rules": {"events": [{"name", "rules": <schema>}], "identify":
  <schema>, "group": <schema>}}``;
* the Public API's rule list: ``{"rules": [{"type": "TRACK" | "IDENTIFY" | "GROUP" | "PAGE" |
  "SCREEN" | "COMMON", "key": <event name>, "jsonSchema": <schema>}]}`` (also inside ``data``).

Each schema describes the whole call (its ``properties``, ``traits`` and ``context``), as
Protocols applies it. A ``COMMON`` rule applies to every call. The imported plan is kept as
``tracking-plan.json`` beside the settings file.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jsonschema import Draft7Validator
from jsonschema.exceptions import SchemaError

from segment_desktop.core.config import config_directory
from segment_desktop.core.config_file import atomic_write
from segment_desktop.core.errors import TrackingPlanError
from segment_desktop.core.jsontypes import json_type_name
from segment_desktop.core.spec import Issue

PLAN_FILE_NAME = "tracking-plan.json"
_KINDS = ("identify", "group", "page", "screen")


@dataclass
class TrackingPlan:
    """The rules of one plan, compiled. :meth:`check` gives a call's violations."""

    name: str = ""
    track: dict[str, Draft7Validator] = field(default_factory=dict)
    other: dict[str, Draft7Validator] = field(default_factory=dict)
    """``identify``, ``group``, ``page``, ``screen`` → the rule for that kind of call."""
    common: list[Draft7Validator] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.track) + len(self.other) + len(self.common)

    def describe(self) -> str:
        """``Shop plan (12 rules)``."""
        count = len(self)
        return f"{self.name} ({count} rule{'s' if count != 1 else ''})"

    def check(self, call: Any) -> list[Issue]:
        """The plan's violations in one call, each with the JSON path of the offending value."""
        if not isinstance(call, dict):
            return []
        kind = call.get("type")
        validators = list(self.common)
        label = str(kind)
        issues: list[Issue] = []
        if kind == "track":
            event = call.get("event")
            label = f'"{event}"'
            rule = self.track.get(event) if isinstance(event, str) else None
            if rule is None:
                if self.track:
                    issues.append(
                        Issue(
                            "warning",
                            "event",
                            f"Tracking plan: {label} is not in the plan {self.name!r} "
                            "(Protocols reports it as an unplanned event).",
                        )
                    )
            else:
                validators.append(rule)
        elif isinstance(kind, str) and kind in self.other:
            validators.append(self.other[kind])
        for validator in validators:
            for error in sorted(validator.iter_errors(call), key=lambda e: list(e.absolute_path)):
                issues.append(
                    Issue(
                        "error", json_path(error.absolute_path), f"Tracking plan: {error.message}"
                    )
                )
        return issues


def json_path(parts: Iterable[Any]) -> str:
    """``properties.products[0].price`` for a path of keys and indexes; ``$`` for the root."""
    text = ""
    for part in parts:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text or "$"


def parse_plan(data: Any, source: str) -> TrackingPlan:
    """A plan from either published shape; :class:`TrackingPlanError` naming ``source`` and the
    rule when a part is missing or a rule is not a draft-07 JSON Schema."""
    if isinstance(data, dict) and isinstance(data.get("data"), dict) and "rules" not in data:
        data = data["data"]
    if not isinstance(data, dict) or "rules" not in data:
        raise TrackingPlanError(
            f'{source} is not a Segment tracking plan: expected an object with "rules" (a '
            "typewriter plan.json or the Public API's list of rules), found "
            f"{json_type_name(data) if not isinstance(data, dict) else 'no rules'}."
        )
    name = str(data.get("display_name") or data.get("name") or Path(source).stem)
    plan = TrackingPlan(name=name)
    rules = data["rules"]
    if isinstance(rules, dict):
        events = rules.get("events", [])
        if not isinstance(events, list):
            raise TrackingPlanError(f"{source}: rules.events must be an array.")
        for index, rule in enumerate(events):
            where = f"rules.events[{index}]"
            if not isinstance(rule, dict) or not isinstance(rule.get("name"), str):
                raise TrackingPlanError(f'{source}: {where} needs a "name" (the event\'s name).')
            plan.track[rule["name"]] = _validator(rule.get("rules", {}), source, f"{where}.rules")
        for kind in ("identify", "group"):
            if rules.get(kind):
                plan.other[kind] = _validator(rules[kind], source, f"rules.{kind}")
        if rules.get("global"):
            plan.common.append(_validator(rules["global"], source, "rules.global"))
    elif isinstance(rules, list):
        for index, rule in enumerate(rules):
            where = f"rules[{index}]"
            if not isinstance(rule, dict):
                raise TrackingPlanError(f"{source}: {where} must be an object.")
            schema = rule.get("jsonSchema", rule.get("json_schema"))
            if schema is None:
                raise TrackingPlanError(f'{source}: {where} has no "jsonSchema".')
            kind = str(rule.get("type", "")).lower()
            validator = _validator(schema, source, f"{where}.jsonSchema")
            if kind == "track":
                if not isinstance(rule.get("key"), str):
                    raise TrackingPlanError(
                        f'{source}: {where} is a TRACK rule without a "key" (the event\'s name).'
                    )
                plan.track[rule["key"]] = validator
            elif kind in _KINDS:
                plan.other[kind] = validator
            elif kind == "common":
                plan.common.append(validator)
            else:
                raise TrackingPlanError(
                    f"{source}: {where} has type {rule.get('type')!r}; expected TRACK, IDENTIFY, "
                    "GROUP, PAGE, SCREEN or COMMON."
                )
    else:
        raise TrackingPlanError(f'{source}: "rules" must be an object or an array.')
    return plan


def _validator(schema: Any, source: str, where: str) -> Draft7Validator:
    if not isinstance(schema, dict | bool):
        raise TrackingPlanError(
            f"{source}: {where} is {json_type_name(schema)}, not a JSON Schema (an object)."
        )
    try:
        Draft7Validator.check_schema(schema)
    except SchemaError as err:
        at = json_path(err.absolute_path)
        inside = f" at {where}.{at}" if at != "$" else f" at {where}"
        raise TrackingPlanError(
            f"{source} is not a valid tracking plan: the rule{inside} is not a draft-07 JSON "
            f"Schema ({err.message})."
        ) from None
    return Draft7Validator(schema, format_checker=Draft7Validator.FORMAT_CHECKER)


def read_plan(path: Path) -> TrackingPlan:
    """The plan in ``path``, checked; :class:`TrackingPlanError` naming the file otherwise."""
    return parse_plan(_load_json(Path(path)), str(path))


def _load_json(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        reason = getattr(err, "strerror", None) or str(err)
        raise TrackingPlanError(f"Cannot read the tracking plan {path}: {reason}.") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        raise TrackingPlanError(
            f"The tracking plan {path} is not valid JSON: {err.msg} at line {err.lineno}, "
            f"column {err.colno}."
        ) from None


def plan_path(config_dir: Path | None = None) -> Path:
    return config_directory(config_dir) / PLAN_FILE_NAME


def import_plan(source: Path, config_dir: Path | None = None) -> TrackingPlan:
    """Check the plan in ``source`` and keep a copy beside the settings (nothing is written
    when it does not check)."""
    source = Path(source)
    plan = read_plan(source)
    target = plan_path(config_dir)
    try:
        target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        atomic_write(target, source.read_bytes())
    except OSError as err:
        raise TrackingPlanError(
            f"Could not keep the tracking plan in {target}: {err.strerror or err}."
        ) from None
    return plan


def saved_plan(config_dir: Path | None = None) -> TrackingPlan | None:
    """The imported plan, or ``None`` when none was imported."""
    path = plan_path(config_dir)
    if not path.exists():
        return None
    return read_plan(path)


def remove_plan(config_dir: Path | None = None) -> None:
    plan_path(config_dir).unlink(missing_ok=True)
