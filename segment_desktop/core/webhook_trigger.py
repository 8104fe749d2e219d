"""Building a Commerce webhook body to send on purpose: a sample or a real event, with overrides.

An override is ``PATH=VALUE``: ``PATH`` is a dotted path into the body with ``[n]`` for array
items (``payload.included.items[0].quantity``), ``VALUE`` is JSON (``3``, ``true``,
``'"JPY"'``). The whole path must exist already, so that a typo is reported instead of adding a
field no template reads. Each built body gets a fresh ``id`` (the relay de-duplicates on it)
unless an override sets one, and its deprecated ``resources`` copy follows ``payload``.
"""

from __future__ import annotations

import copy
import json
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from segment_desktop.core.errors import EventError, OverrideError
from segment_desktop.core.jsontypes import json_type_name
from segment_desktop.core.samples import get_sample, list_samples

_STEP = re.compile(r"([^.\[\]]+)|\[(\d+)\]")
_PATH = re.compile(r"[^.\[\]=]+(?:\.[^.\[\]]+|\[\d+\])*")


@dataclass(frozen=True)
class Override:
    """One parsed ``PATH=VALUE``."""

    path: str
    steps: tuple[str | int, ...]
    value: Any


def parse_override(text: str) -> Override:
    """``PATH=VALUE`` parsed; :class:`OverrideError` saying what is wrong with it."""
    path, equals, raw = text.partition("=")
    path = path.strip()
    if not equals or not path:
        raise OverrideError(
            f"The override {text!r} is not PATH=VALUE, e.g. "
            "payload.data.meta.display_price.with_tax.currency='\"JPY\"'."
        )
    if not _PATH.fullmatch(path):
        raise OverrideError(
            f"The override path {path!r} is not a dotted path such as payload.data.status or "
            "payload.included.items[0].quantity."
        )
    steps: list[str | int] = [
        m.group(1) if m.group(1) is not None else int(m.group(2)) for m in _STEP.finditer(path)
    ]
    try:
        value = json.loads(raw)
    except json.JSONDecodeError:
        raise OverrideError(
            f"The value of {path} is not JSON: {raw!r}. Strings need double quotes inside the "
            f"shell's quotes, e.g. {path}='\"{raw}\"'."
        ) from None
    return Override(path, tuple(steps), value)


def apply_override(body: dict[str, Any], override: Override) -> None:
    """Set ``override.value`` at its path in ``body``; the path must exist."""
    target: Any = body
    walked = ""
    for index, step in enumerate(override.steps):
        last = index == len(override.steps) - 1
        here = f"{walked}[{step}]" if isinstance(step, int) else f"{walked}.{step}".lstrip(".")
        if isinstance(step, int):
            if not isinstance(target, list):
                raise OverrideError(
                    f"The override path {override.path} does not exist: {walked or 'the body'} "
                    f"is {json_type_name(target)}, not an array."
                )
            if step >= len(target):
                raise OverrideError(
                    f"The override path {override.path} does not exist: {walked} has "
                    f"{len(target)} items (0 to {len(target) - 1})."
                )
        else:
            if not isinstance(target, dict):
                raise OverrideError(
                    f"The override path {override.path} does not exist: {walked or 'the body'} "
                    f"is {json_type_name(target)}, not an object."
                )
            if step not in target:
                keys = ", ".join(sorted(target)) or "no fields"
                raise OverrideError(
                    f"The override path {override.path} does not exist: "
                    f"{walked or 'the body'} has no {step!r} (it has {keys})."
                )
        if last:
            target[step] = copy.deepcopy(override.value)
        else:
            target = target[step]
        walked = here


def sample_body(event: str, sample: str | None = None) -> dict[str, Any]:
    """A built-in sample's body for ``event`` (its main sample unless ``sample`` names one)."""
    if sample is None:
        found = list_samples(event)
        if not found:
            raise EventError(
                f"There is no built-in sample for {event!r}. Name one with --sample, or use "
                "the store's latest event."
            )
        chosen = found[0]
    else:
        chosen = get_sample(sample)
        if chosen.event != event:
            raise EventError(
                f"The sample {sample!r} belongs to {chosen.event}, not {event}. Samples of "
                f"{event}: {', '.join(s.name for s in list_samples(event)) or 'none'}."
            )
    body: dict[str, Any] = json.loads(chosen.text())
    return body


def build_body(
    event: str,
    base: dict[str, Any],
    overrides: Sequence[str] = (),
    *,
    event_id: str | None = None,
) -> dict[str, Any]:
    """The webhook body to send: ``base`` for ``event`` with a fresh id and the overrides.

    Every override is checked before the body is returned (nothing is sent half-changed).
    """
    parsed = [parse_override(text) for text in overrides]
    body = copy.deepcopy(base)
    body["id"] = event_id or f"trigger-{uuid.uuid4()}"
    body["triggered_by"] = event
    body["attempt"] = 1
    for override in parsed:
        apply_override(body, override)
    if isinstance(body.get("resources"), str) and isinstance(body.get("payload"), dict):
        body["resources"] = json.dumps(body["payload"], ensure_ascii=False)
    return body
