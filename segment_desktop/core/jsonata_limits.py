"""Size limits jsonata-python lacks, installed into it once per process.

Its timebox looks at the clock between evaluation steps, but one step can take more memory than
the machine has: a range ``[1..10000000]``, ``$pad("", 1e9)``, a string or an array doubled a
few dozen times, or a loop of large strings. These steps are capped at the evaluating thread's
:class:`Limits` (jlens has such caps built in), and fail with the error jlens gives (``U1001``).
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import Any

from segment_desktop.core.engine import EngineError, Limits

LIMITS = threading.local()
"""The :class:`Limits` of the evaluation running on this thread (jsonata-python)."""


def _array_too_long(limit: int) -> EngineError:
    return EngineError("U1001", f"An array would exceed the size limit of {limit:,} items.")


def _string_too_long(limit: int) -> EngineError:
    return EngineError("U1001", f"A string would exceed the size limit of {limit:,} characters.")


def _built(bound: Limits, size: int) -> None:
    """Count ``size`` characters more built by this evaluation; raise past the budget."""
    total = getattr(LIMITS, "built", 0) + size
    LIMITS.built = total
    if total > bound.max_text_built:
        raise EngineError(
            "U1001",
            f"The template builds more than {bound.max_text_built:,} characters of text.",
        )


def install_size_limits() -> None:
    """Cap what jsonata-python builds at the evaluating thread's limits: ranges and
    ``$append`` at ``max_array_length`` items, ``&``, ``$pad`` and ``$join`` at
    ``max_string_length`` characters (checked before building where the size is known)."""
    from jsonata import functions
    from jsonata import jsonata as jsonata_module

    cls, fns = jsonata_module.Jsonata, functions.Functions
    if getattr(cls.evaluate_range_expression, "_segment_desktop", False):
        return
    original_range, original_concat = cls.evaluate_range_expression, cls.evaluate_string_concat
    original_pad, original_join, original_append = fns.pad, fns.join, fns.append

    def limits() -> Limits | None:
        return getattr(LIMITS, "value", None)

    def bounded_range(self: Any, lhs: Any, rhs: Any) -> Any:
        bound = limits()
        numbers = all(isinstance(v, int) and not isinstance(v, bool) for v in (lhs, rhs))
        if bound is not None and numbers and rhs - lhs + 1 > bound.max_array_length:
            raise _array_too_long(bound.max_array_length)
        return original_range(self, lhs, rhs)

    def bounded_concat(self: Any, lhs: Any, rhs: Any) -> str:
        result: str = original_concat(self, lhs, rhs)
        bound = limits()
        if bound is not None:
            if len(result) > bound.max_string_length:
                raise _string_too_long(bound.max_string_length)
            _built(bound, len(result))
        return result

    @functools.wraps(original_pad)
    def bounded_pad(string: Any, width: Any, char: Any) -> Any:
        bound = limits()
        if bound is not None and isinstance(width, int | float):
            if abs(width) > bound.max_string_length:
                raise _string_too_long(bound.max_string_length)
            _built(bound, int(abs(width)))
        return original_pad(string, width, char)

    @functools.wraps(original_join)
    def bounded_join(strs: Any, separator: Any) -> Any:
        bound = limits()
        if bound is not None and isinstance(strs, list):
            size = sum(len(s) for s in strs if isinstance(s, str))
            size += len(separator) * len(strs) if isinstance(separator, str) else 0
            if size > bound.max_string_length:
                raise _string_too_long(bound.max_string_length)
            _built(bound, size)
        return original_join(strs, separator)

    @functools.wraps(original_append)
    def bounded_append(arg1: Any, arg2: Any) -> Any:
        result = original_append(arg1, arg2)
        bound = limits()
        if bound is not None and isinstance(result, list) and len(result) > bound.max_array_length:
            raise _array_too_long(bound.max_array_length)
        return result

    bounded_range._segment_desktop = True  # type: ignore[attr-defined]
    cls.evaluate_range_expression = bounded_range
    cls.evaluate_string_concat = bounded_concat
    bounded: dict[str, Callable[..., Any]] = {
        "pad": bounded_pad,
        "join": bounded_join,
        "append": bounded_append,
    }
    for name, function in bounded.items():
        setattr(fns, name, staticmethod(function))  # what the evaluator calls by name
        cls.static_frame.lookup(name).method = function  # what a template's $name calls
