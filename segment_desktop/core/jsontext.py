"""JSON text, fast when it can be: indented for people, compact for the wire and the outbox.

The standard library indents in pure Python, on the preview's critical path; orjson (installed
with the ``fast`` extra) does the same, and encodes compactly, many times faster. Both write
valid JSON with the same layout; they may spell a small float differently (``1e-05`` /
``0.00001``). Whatever orjson refuses (an integer beyond 64 bits, a lone surrogate, a non-string
key) goes the standard way. One process uses one of them for everything, so a size measured
with :func:`compact_json` is the size sent.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import Any


def pretty_json_stdlib(value: Any) -> str:
    """Two-space indented JSON, non-ASCII characters as themselves."""
    return json.dumps(value, indent=2, ensure_ascii=False)


def compact_json_stdlib(value: Any) -> str:
    """JSON without spaces, non-ASCII characters as themselves."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _orjson_dumps(indent: bool, fallback: Callable[[Any], str]) -> Callable[[Any], str] | None:
    """orjson's encoder (two-space indented or compact), handing what it refuses to
    ``fallback``; ``None`` without orjson."""
    try:
        import orjson
    except ImportError:
        return None
    dumps, error = orjson.dumps, orjson.JSONEncodeError
    option = orjson.OPT_INDENT_2 if indent else None

    def encode(value: Any) -> str:
        try:
            return dumps(value, option=option).decode("utf-8")
        except error:  # an integer beyond 64 bits, a non-string key…: the standard way can
            return fallback(value)

    return encode


def _orjson_loads() -> Callable[[str | bytes], Any] | None:
    try:
        from orjson import loads
    except ImportError:
        return None
    return loads


#: The fastest available implementation of :func:`pretty_json_stdlib`.
pretty_json: Callable[[Any], str] = _orjson_dumps(True, pretty_json_stdlib) or pretty_json_stdlib
#: The fastest available implementation of :func:`compact_json_stdlib`.
compact_json: Callable[[Any], str] = (
    _orjson_dumps(False, compact_json_stdlib) or compact_json_stdlib
)
#: orjson's parser when installed (a ``ValueError`` for what it refuses), else ``None``: the
#: caller then parses the standard way, which is also what words JSON errors for people.
fast_loads: Callable[[str | bytes], Any] | None = _orjson_loads()


#: What :func:`fast_parse` returns for text it leaves to the standard library.
NOT_PARSED: Any = object()


def fast_parse(text: str | bytes) -> Any:
    """``text`` parsed by orjson (the `fast` extra, faster than the standard library on a
    large order), or :data:`NOT_PARSED` without it or for what it refuses (a byte-order mark, NaN, a
    lone surrogate, bad JSON): the caller then parses the standard way, which also words the
    errors. orjson reads an integer beyond 64 bits as a float, which is what JSONata (and
    JavaScript) make of it anyway."""
    if fast_loads is None:
        return NOT_PARSED
    try:
        return fast_loads(text)
    except ValueError:
        return NOT_PARSED


def standard_loads(text: str | bytes) -> Any:
    """The standard library's parser, held to JSON itself: ``NaN``, ``Infinity`` and
    ``-Infinity`` (which it accepts, and which no JSON encoder downstream can write) raise
    ``json.JSONDecodeError`` as bad JSON does; nesting too deep for the parser, or an integer
    of thousands of digits, raise ``ValueError`` with a message for people."""
    source = text.decode("utf-8-sig") if isinstance(text, bytes) else text

    def refuse(name: str) -> Any:
        position = max(0, source.find(name))
        raise json.JSONDecodeError(f"{name} is not a JSON number", source, position)

    try:
        return json.loads(source, parse_constant=refuse)
    except RecursionError:
        raise ValueError("it nests objects or arrays too deeply to be read") from None
    except json.JSONDecodeError:
        raise
    except ValueError:  # the interpreter's cap on converting digits to an integer
        raise ValueError(
            f"it holds a number of more than {sys.get_int_max_str_digits():,} digits"
        ) from None


def loads(text: str | bytes) -> Any:
    """Parse JSON: :func:`fast_parse`, else :func:`standard_loads` (which it raises from)."""
    value = fast_parse(text)
    return standard_loads(text) if value is NOT_PARSED else value
