"""Completion for the template editor: what may come at the cursor, from the sample events.

* after a ``.``: the fields at that path in the samples (``$order.`` follows the variable);
* after a ``$``: the JSONata functions, our helpers and the variables the template binds;
* on a bare name: the fields of the context value there (inside ``items.{ … }``, an item's).

:class:`FieldIndex` is built once per sample (off the GUI thread: a 500-item order has tens of
thousands of values); :func:`complete` then answers from it in well under a millisecond.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from segment_desktop.core.jsonata_paths import Scope, chain_before, is_plain_name, scope_at
from segment_desktop.core.jsonata_reference import FUNCTIONS
from segment_desktop.core.jsonata_scan import code_mask
from segment_desktop.core.jsontypes import json_type_name

__all__ = [
    "Candidate",
    "CompletionRequest",
    "FieldIndex",
    "FieldInfo",
    "analyze",
    "complete",
    "describe_value",
]

_WORD = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")
#: Longest example value shown beside a field.
_EXAMPLE_CHARS = 40


def describe_value(value: Any, limit: int = _EXAMPLE_CHARS) -> str:
    """A short description: ``"Blue shirt"`` (string), ``{12 fields}``, ``[500 items]``."""
    if isinstance(value, dict):
        return f"{{{len(value)} field{'s' if len(value) != 1 else ''}}}"
    if isinstance(value, list):
        return f"[{len(value)} item{'s' if len(value) != 1 else ''}]"
    if isinstance(value, str):
        text = value if len(value) <= limit else value[: limit - 1] + "…"
        return f'"{text}"'
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


@dataclass
class FieldInfo:
    """One field at a path: its JSON types and an example value."""

    name: str
    types: set[str] = field(default_factory=set)
    example: str = ""
    #: Found in the current sample (not only in the event's other samples).
    in_current: bool = False

    @property
    def detail(self) -> str:
        kinds = " or ".join(sorted(self.types))
        origin = "" if self.in_current else " · other samples only"
        return f"{kinds}, e.g. {self.example}{origin}" if self.example else f"{kinds}{origin}"


class FieldIndex:
    """Every path of some JSON documents (arrays collapsed) → the fields found there."""

    def __init__(self, documents: Sequence[Any] = ()) -> None:
        self._fields: dict[tuple[str, ...], dict[str, FieldInfo]] = {}
        for i, document in enumerate(documents):
            self._walk(document, (), current=i == 0)

    def _walk(self, value: Any, path: tuple[str, ...], *, current: bool) -> None:
        # Iterative: a deep document must not hit the recursion limit.
        stack: list[tuple[Any, tuple[str, ...]]] = [(value, path)]
        while stack:
            value, path = stack.pop()
            if isinstance(value, list):
                stack.extend((item, path) for item in reversed(value))
                continue
            if not isinstance(value, dict):
                continue
            here = self._fields.setdefault(path, {})
            for name, child in value.items():
                info = here.get(name)
                if info is None:
                    info = here[name] = FieldInfo(name)
                kind = json_type_name(child)
                info.types.add(kind)
                if current:
                    info.in_current = True
                if not info.example or (current and not info.in_current):
                    info.example = describe_value(child)
                if isinstance(child, dict | list):
                    stack.append((child, (*path, name)))

    def fields(self, path: tuple[str, ...]) -> list[FieldInfo]:
        """The fields at ``path``: the current sample's first, in document order."""
        found = list(self._fields.get(path, {}).values())
        return sorted(found, key=lambda f: not f.in_current)

    def has(self, path: tuple[str, ...]) -> bool:
        return path in self._fields


@dataclass(frozen=True)
class CompletionRequest:
    """What is being completed: ``kind`` is ``"field"`` or ``"dollar"``; ``prefix`` is what was
    typed of the name (it starts at ``start``); ``path`` is where fields are looked up (``None``
    when the path cannot be known, e.g. after a function call)."""

    kind: str
    prefix: str
    start: int
    path: tuple[str, ...] | None
    scope: Scope


@dataclass(frozen=True)
class Candidate:
    """One entry of the completion list."""

    label: str
    insert: str
    detail: str
    kind: str  # "field", "function", "helper" or "variable"


def analyze(text: str, position: int, *, explicit: bool = False) -> CompletionRequest | None:
    """What may be completed at ``position``; ``None`` inside a string or a comment, or when
    nothing is being typed there (unless ``explicit``: the user asked, Ctrl+Space)."""
    mask = code_mask(text)
    if 0 < position <= len(text) and not mask[position - 1] and text[position - 1] != "`":
        return None
    start = position
    while start > 0 and text[start - 1] in _WORD:
        start -= 1
    prefix = text[start:position]
    before = text[start - 1] if start > 0 else ""
    if before == "$":
        if start > 1 and text[start - 2] == "$":
            return None  # $$: the input itself
        return CompletionRequest("dollar", prefix, start - 1, None, scope_at(text, start, mask))
    if prefix[:1].isdigit():
        return None
    if before == "." and not (start > 1 and text[start - 2] == "."):
        scope = scope_at(text, start - 1, mask)
        chain = chain_before(text, start - 1, mask)
        path = scope.resolve(chain) if chain is not None else None
        return CompletionRequest("field", prefix, start, path, scope)
    if not prefix and not explicit:
        return None
    scope = scope_at(text, start, mask)
    return CompletionRequest("field", prefix, start, scope.context, scope)


def _matches(name: str, prefix: str) -> int | None:
    """Rank of ``name`` for what was typed: 0 starts with it, 1 contains it, None neither."""
    low, want = name.lower(), prefix.lower()
    if low.startswith(want):
        return 0
    if want in low:
        return 1
    return None


def complete(request: CompletionRequest, index: FieldIndex, limit: int = 200) -> list[Candidate]:
    """The candidates for ``request``, best first."""
    ranked: list[tuple[int, int, Candidate]] = []
    for order, candidate in enumerate(_all_candidates(request, index)):
        name = candidate.label.lstrip("$").split("(")[0]
        rank = _matches(name, request.prefix)
        if rank is not None:
            ranked.append((rank, order, candidate))
    ranked.sort(key=lambda item: (item[0], item[1]))
    return [candidate for _, _, candidate in ranked[:limit]]


def _all_candidates(request: CompletionRequest, index: FieldIndex) -> Iterable[Candidate]:
    if request.kind == "dollar":
        for name, path in request.scope.variables.items():
            where = "bound in this template"
            if path is not None:
                fields = ", ".join(f.name for f in index.fields(path)[:4])
                where = f"= {'.'.join(path) or '$$'}" + (f" ({fields}, …)" if fields else "")
            yield Candidate(f"${name}", f"${name}", where, "variable")
        for function in FUNCTIONS:
            yield Candidate(
                function.signature,
                function.insert_text,
                function.description,
                "helper" if function.ours else "function",
            )
        return
    if request.path is None:
        return
    for info in index.fields(request.path):
        insert = info.name if is_plain_name(info.name) else f"`{info.name}`"
        yield Candidate(info.name, insert, info.detail, "field")
