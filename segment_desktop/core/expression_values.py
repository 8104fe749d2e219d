"""The value of part of a template on an event: for values on hover and "Evaluate selection".

A piece of a template rarely stands alone: it reads variables bound above it and, inside
``items.{ … }``, the current item. :func:`selection_expression` rebuilds what it needs — the
bindings of the blocks around it, in order, and the context path in front — and says in a
sentence what it could not rebuild (a function's parameter or a ``#$i`` position exists only
while the template runs).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from segment_desktop.core import engine as engines
from segment_desktop.core.errors import TemplateError
from segment_desktop.core.jsonata_paths import format_path, scope_at
from segment_desktop.core.jsonata_reference import BY_NAME
from segment_desktop.core.jsonata_scan import CLOSE, OPEN, Brackets, code_mask
from segment_desktop.core.jsontypes import json_type_name
from segment_desktop.core.render import Renderer

__all__ = ["Evaluation", "evaluate", "selection_expression", "show_value"]

_BINDING = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)\s*:=")
_VARIABLE = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)(?![A-Za-z0-9_])(?!\s*\()")
#: Variables a piece binds itself: ``$x :=``, ``#$i`` / ``@$x``, and function parameters.
_BOUND_INSIDE = re.compile(
    r"\$([A-Za-z_][A-Za-z0-9_]*)\s*:=|[#@]\s*\$([A-Za-z_][A-Za-z0-9_]*)|function\s*\(([^)]*)\)"
)
#: Characters of a value's JSON shown on hover and in the panel.
SHOW_CHARS = 2000


@dataclass(frozen=True)
class Selection:
    """A piece of a template made ready to run alone."""

    expression: str
    #: What the value is for, or what could not be rebuilt; "" when nothing needs saying.
    note: str
    #: Variables it reads that only exist while the whole template runs.
    unknown: tuple[str, ...]


@dataclass(frozen=True)
class Evaluation:
    """A selection's value (``engine.UNDEFINED`` when it has none on this event)."""

    selection: Selection
    value: Any


def _statement_end(text: str, start: int, mask: list[bool]) -> int:
    """Where the binding whose value starts at ``start`` ends (its ``;`` or its block's end)."""
    depth = 0
    for i in range(start, len(text)):
        if not mask[i]:
            continue
        c = text[i]
        if c in OPEN:
            depth += 1
        elif c in CLOSE:
            if depth == 0:
                return i
            depth -= 1
        elif c == ";" and depth == 0:
            return i
    return len(text)


def selection_expression(text: str, start: int, end: int) -> Selection:
    """The expression that gives ``text[start:end]``'s value with what it reads bound."""
    mask = code_mask(text)
    piece = text[start:end].strip()
    if not piece:
        raise TemplateError(
            "SD300", "Select part of the template first (or put the cursor on a path)."
        )
    brackets = Brackets(text, mask)
    around = set(brackets.open_at(start)) | {-1}
    bindings: list[str] = []
    bound: set[str] = set()
    for m in _BINDING.finditer(text, 0, start):
        if not mask[m.start()]:
            continue
        stops = _statement_end(text, m.end(), mask)
        opened = brackets.open_at(m.start())
        block = opened[-1] if opened else -1
        if stops <= start and block in around:
            bindings.append(text[m.start() : stops].strip())
            bound.add(m.group(1))
    for m in _BOUND_INSIDE.finditer(piece):
        if m.group(3) is not None:
            bound.update(p.strip().lstrip("$") for p in m.group(3).split(","))
        else:
            bound.add(m.group(1) or m.group(2))
    unknown = []
    for m in _VARIABLE.finditer(piece):
        name = m.group(1)
        if name not in bound and name not in BY_NAME and name not in unknown:
            unknown.append(name)
    scope = scope_at(text, start, mask, brackets)
    note = ""
    body = piece
    first = piece.lstrip("(")
    relative = not first.startswith(("$", '"', "'", "{", "[")) and not first[:1].isdigit()
    if scope.context and relative:
        context = format_path(list(scope.context))
        body = f"{context}.({piece})"
        note = f"For each {context}, as the template reads it here."
    if unknown:
        names = ", ".join(f"${n}" for n in unknown)
        note = (
            f"{names} get{'s' if len(unknown) == 1 else ''} a value only while the whole template "
            "runs (a function's parameter or a position), so the selection cannot be worked out "
            "on its own. Select a larger part, including where it is bound."
        )
    joined = ";\n".join([*bindings, body])
    expression = f"(\n{joined}\n)" if bindings else body
    return Selection(expression, note, tuple(unknown))


def evaluate(renderer: Renderer, prepared: Any, selection: Selection) -> Evaluation:
    """Run a selection on an event already in the engine's form. Raises ``TemplateError``."""
    program = renderer.compile(selection.expression)
    try:
        value = program.evaluate(prepared, renderer.limits)
    except engines.EngineError as err:
        raise TemplateError(err.code, err.message) from None
    return Evaluation(selection, value)


def show_value(value: Any, limit: int = SHOW_CHARS) -> tuple[str, str]:
    """``(kind, text)`` for showing a value: its type and size, and its JSON (shortened)."""
    if value is engines.UNDEFINED:
        return "no value", "(undefined: nothing on this event)"
    if value is engines.FUNCTION:
        return "a function", "(a function: call it with its arguments)"
    kind = json_type_name(value)
    if isinstance(value, list):
        kind += f" of {len(value)} item{'s' if len(value) != 1 else ''}"
    elif isinstance(value, dict):
        kind += f" with {len(value)} field{'s' if len(value) != 1 else ''}"
    text = json.dumps(value, indent=2, ensure_ascii=False, default=str)
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return kind, text
