"""Paths in a JSONata template, read from its text: what a chain like ``$order.meta.`` points
at in the input, which variables the template binds, and what the context value is at a spot.

Arrays do not change a path's shape in JSONata (``items.name`` is every item's name), so paths
here are tuples of field names: indexes and predicates are dropped. A path is *absolute*
(from the template's input) once its variables are resolved.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from segment_desktop.core.jsonata_scan import Brackets, code_mask

__all__ = [
    "Chain",
    "Scope",
    "chain_before",
    "format_path",
    "is_plain_name",
    "relative_path",
]

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_WORD = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")
_BINDING = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)\s*:=\s*")
_POSITION = re.compile(r"[#@]\s*\$([A-Za-z_][A-Za-z0-9_]*)")
_HIGHER_ORDER = re.compile(
    r"\$(?:map|filter|each|sift|single|reduce|sort)\(\s*(?P<arg>[^,()]*?)\s*,\s*"
    r"function\s*\(\s*\$(?P<param>[A-Za-z_][A-Za-z0-9_]*)"
)


def is_plain_name(name: str) -> bool:
    """Whether ``name`` can be written bare in a path (else it needs backticks)."""
    return bool(_NAME.match(name))


def format_path(parts: tuple[str | int, ...] | list[str | int]) -> str:
    """A JSONata path: ``payload.included.items[0].name``, backticks where a name needs them."""
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
            continue
        name = part if is_plain_name(part) else "`" + part.replace("`", "") + "`"
        out += f".{name}" if out else name
    return out


def relative_path(parts: tuple[str | int, ...], context: tuple[str, ...]) -> str:
    """``parts`` as written where the context value is at ``context`` (an absolute path): the
    part below it when ``parts`` lies inside the context, else the full path."""
    names = [p for p in parts if isinstance(p, str)]
    if not context or tuple(names[: len(context)]) != context or len(names) == len(context):
        return format_path(parts)
    seen = 0
    for i, part in enumerate(parts):
        if isinstance(part, str):
            seen += 1
            if seen == len(context):
                rest = list(parts[i + 1 :])
                while rest and isinstance(rest[0], int):
                    rest.pop(0)  # every item of the context is iterated anyway
                return format_path(rest)
    return format_path(parts)


@dataclass(frozen=True)
class Chain:
    """A path as written: ``root`` is a variable's name (``$order``), ``"$"`` for the context,
    ``"$$"`` for the input, or ``None`` for a bare name (relative to the context)."""

    root: str | None
    steps: tuple[str, ...]
    start: int
    end: int


def _skip_back_spaces(text: str, i: int) -> int:
    while i > 0 and text[i - 1] in " \t":
        i -= 1
    return i


def _skip_back_brackets(text: str, i: int, mask: list[bool]) -> int:
    """Back over ``[...]`` groups (predicates, indexes) and ``#$i`` / ``@$x`` markers."""
    while i > 0:
        if text[i - 1] == "]" and mask[i - 1]:
            depth = 0
            j = i - 1
            while j >= 0:
                if mask[j] and text[j] == "]":
                    depth += 1
                elif mask[j] and text[j] == "[":
                    depth -= 1
                    if depth == 0:
                        break
                j -= 1
            if j < 0:
                return i
            i = j
            continue
        marker = None
        for m in _POSITION.finditer(text, max(0, i - 40), i):
            if m.end() == i:
                marker = m
        if marker is None:
            return i
        i = marker.start()
    return i


def chain_before(text: str, end: int, mask: list[bool] | None = None) -> Chain | None:
    """The path that ends at ``end`` (exclusive), or ``None`` when none ends there."""
    mask = mask if mask is not None else code_mask(text)
    steps: list[str] = []
    i = end
    while True:
        i = _skip_back_brackets(text, i, mask)
        if i > 0 and text[i - 1] == "`":
            j = text.rfind("`", 0, i - 1)
            if j < 0:
                return None
            steps.insert(0, text[j + 1 : i - 1])
            i = j
        else:
            j = i
            while j > 0 and text[j - 1] in _WORD and mask[j - 1]:
                j -= 1
            name = text[j:i]
            if j > 0 and text[j - 1] == "$" and mask[j - 1]:
                root = "$$" if (not name and j > 1 and text[j - 2] == "$") else "$"
                start = j - 2 if root == "$$" else j - 1
                return Chain(name or root, tuple(steps), start, end)
            if not name or name[0].isdigit():
                return None
            steps.insert(0, name)
            i = j
        k = _skip_back_spaces(text, i)
        if k > 0 and text[k - 1] == "." and mask[k - 1] and not (k > 1 and text[k - 2] == "."):
            i = _skip_back_spaces(text, k - 1)
            continue
        return Chain(None, tuple(steps), i, end)


def _chain_at(text: str, start: int, mask: list[bool]) -> tuple[Chain | None, int]:
    """The path that starts at ``start`` and the offset after it, if it is all there is
    before ``;``, ``)``, ``}``, ``,`` or the end."""
    i = start
    n = len(text)
    depth = 0
    while i < n:
        c = text[i]
        if not mask[i] and c != "`":
            i += 1
            continue
        if c == "`":
            close = text.find("`", i + 1)
            i = n if close < 0 else close + 1
            continue
        if c == "[":
            depth += 1
        elif c == "]":
            depth -= 1
        elif depth == 0 and not (c in _WORD or c in "$.#@ \t"):
            break
        i += 1
    end = i
    while end > start and text[end - 1] in " \t":
        end -= 1
    rest = text[i:].lstrip()
    if not rest or rest[0] in ";)},\n":
        chain = chain_before(text, end, mask)
        if chain is not None and chain.start == start:
            return chain, end
    return None, end


@dataclass(frozen=True)
class Scope:
    """What the template's text says at one spot: the variables bound above it (each with its
    absolute path, or ``None`` when it is not a plain path) and the context value's path."""

    variables: dict[str, tuple[str, ...] | None]
    context: tuple[str, ...]

    def resolve(self, chain: Chain) -> tuple[str, ...] | None:
        """The absolute path of ``chain`` here, ``None`` when it cannot be known."""
        if chain.root is None or chain.root == "$":
            return self.context + chain.steps
        if chain.root == "$$":
            return chain.steps
        base = self.variables.get(chain.root)
        return None if base is None else base + chain.steps


def scope_at(
    text: str,
    position: int,
    mask: list[bool] | None = None,
    brackets: Brackets | None = None,
) -> Scope:
    """The variables bound before ``position`` and the context value's path there."""
    mask = mask if mask is not None else code_mask(text)
    brackets = brackets if brackets is not None else Brackets(text, mask)
    variables: dict[str, tuple[str, ...] | None] = {}
    bound: list[tuple[int, str, int]] = []  # (offset, name, value start)
    for m in _BINDING.finditer(text, 0, position):
        if mask[m.start()]:
            bound.append((m.start(), m.group(1), m.end()))
    for m in _HIGHER_ORDER.finditer(text, 0, position):
        if mask[m.start()]:
            bound.append((m.start(), m.group("param"), m.start("arg")))
    for m in _POSITION.finditer(text, 0, position):
        if mask[m.start()]:
            variables.setdefault(m.group(1), None)  # a number: the position
    for offset, name, value_at in sorted(bound):
        chain, _ = _chain_at(text, value_at, mask)
        partial = Scope(variables, _context(text, offset, mask, brackets, variables))
        variables[name] = None if chain is None else partial.resolve(chain)
    return Scope(dict(variables), _context(text, position, mask, brackets, variables))


def _context(
    text: str,
    position: int,
    mask: list[bool],
    brackets: Brackets,
    variables: dict[str, tuple[str, ...] | None],
) -> tuple[str, ...]:
    """The context value's path at ``position``: set by the innermost ``path.{``, ``path.(``,
    ``path.[`` or ``path[`` (a predicate) around it."""
    for opener in reversed(brackets.open_at(position)):
        k = _skip_back_spaces(text, opener)
        if k > 0 and text[k - 1] == "." and mask[k - 1]:
            chain = chain_before(text, _skip_back_spaces(text, k - 1), mask)
        elif (
            text[opener] == "["
            and k == opener
            and k > 0
            and text[k - 1] not in "([{,:;=?&|+-*/<>!~ \t\n"
        ):
            chain = chain_before(text, k, mask)
        else:
            continue
        if chain is None:
            return ()
        outer = Scope(variables, _context(text, chain.start, mask, brackets, variables))
        return outer.resolve(chain) or ()
    return ()
