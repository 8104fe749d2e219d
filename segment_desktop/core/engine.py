"""JSONata engines behind one small interface: jsonata-python (always there) and jlens (optional).

The renderer only sees :class:`Engine` and :class:`Program`. Each adapter neutralises what its
engine gets wrong, so both give the same answers and the same kind of errors:

jsonata-python 0.7.1
  * ``$now()``/``$millis()`` read the *thread's most recently built* expression;
    ``$map``/``$reduce`` call back through it too. We point ``Jsonata.CURRENT`` at the
    evaluated expression first.
  * Its time/depth limits are bound to the expression when built and never reset (and the depth
    counter leaks on every error). We install a fresh :class:`~jsonata.timebox.Timebox` in a
    per-evaluation frame, so limits hold on the 1,000th render of a cached template and between
    threads.
  * Building a range (``[1..10000000]``) is a loop the timebox never sees: ranges are capped at
    ``Limits.max_array_length`` items, as jlens caps arrays. Strings built by ``&``, ``$pad``
    and ``$join``, and arrays by ``$append``, are capped the same way (``max_string_length``,
    ``max_array_length``): one step of a doubling loop can take more memory than the machine
    has long before the timebox looks again.
  * Dozens of failures arrive as bare ``ValueError``/``IndexError``/``RecursionError``…: all become
    :class:`EngineError` with a code.
jlens 0.25
  * Only ``evaluate_json`` releases the GIL and tells ``null`` from undefined: we always use it.
  * Its timeout is in seconds; it cannot be cancelled from outside, so every call carries bounds,
    a cap on string and result sizes included (its own default lets a string reach 256 MB).
  * Exceptions raised in our bound functions come out raw; a lone surrogate raises
    ``UnicodeEncodeError``: everything is caught and mapped.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

log = logging.getLogger(__name__)

#: What an engine returns for a JSONata *undefined* result (as opposed to ``null`` → ``None``).
UNDEFINED: Any = type("Undefined", (), {"__repr__": lambda self: "UNDEFINED"})()
#: What an engine returns when the result is a function. Inside objects and arrays, functions
#: become what ``JSON.stringify`` makes of them (left out of objects, ``null`` in arrays).
FUNCTION: Any = type("Function", (), {"__repr__": lambda self: "FUNCTION"})()

ENGINE_ENV = "SEGMENT_DESKTOP_ENGINE"
JSONATA_PYTHON = "jsonata-python"
JLENS = "jlens"

#: A function a template may call, ``$name(...)``. Raise :class:`HelperError` for bad arguments.
#: A helper may carry a ``jsonata`` attribute: the same function written in JSONata, which an
#: engine may bind instead (for jlens, calling back into Python costs more than the work itself).
Helper = Callable[..., Any]


class HelperError(Exception):
    """Raised by a bound helper function: a message for the template's author."""


@dataclass
class EngineError(Exception):
    """An engine failure in one shape for both engines. ``position`` is a 0-based offset."""

    code: str
    message: str
    position: int | None = None

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"


@dataclass(frozen=True)
class Limits:
    """Bounds for one evaluation."""

    timeout_s: float = 0.5
    max_depth: int = 400
    max_array_length: int = 1_000_000
    max_string_length: int = 4 * 1024 * 1024
    """Characters (jsonata-python) or UTF-8 bytes (jlens) of any one string."""
    max_result_size: int = 16 * 1024 * 1024
    """Bytes of the result as JSON (jlens; jsonata-python's results are bounded by the above)."""
    max_text_built: int = 32 * 1024 * 1024
    """Characters of all the strings one evaluation builds with ``&``, ``$pad`` and ``$join``
    (jsonata-python, where a loop of large strings would otherwise fill memory between two
    looks at the clock)."""


class Program(Protocol):
    """A compiled template."""

    def evaluate(self, data: Any, limits: Limits) -> Any:
        """Evaluate against input made by :meth:`Engine.prepare`; ``UNDEFINED`` for no result."""


class Engine(Protocol):
    name: str
    parses_json: bool
    """Whether :meth:`prepare_json` can work (else it always answers None)."""

    def compile(self, text: str, helpers: dict[str, Helper]) -> Program:
        """Parse ``text``; raises :class:`EngineError` with the position of a syntax error."""

    def prepare(self, data: Any, programs: Sequence[Program] | None = None) -> Any:
        """The parsed input in the engine's own form, made once for any number of evaluations.

        With ``programs``, the result may keep only what they read (it is then good for them
        alone); without, it is good for any program. Safe to share between threads.
        """

    def prepare_json(
        self, text: str, programs: Sequence[Program], probe: str, leave_out: frozenset[str]
    ) -> tuple[Any, Any] | None:
        """:meth:`prepare` straight from JSON text, for ``programs``, with ``probe``'s value.

        ``probe`` is a JSONata expression evaluated against the same input (what the caller
        needs to know of it besides the programs' results). None when this engine cannot, when
        the programs read any top-level field in ``leave_out`` or the input whole, or when the
        text is not plain JSON: the caller then parses the text itself.
        """


def available_engines() -> list[str]:
    names = [JSONATA_PYTHON]
    if importlib.util.find_spec("jlens") is not None:
        names.append(JLENS)
    return names


def engine_name(name: str | None = None) -> str:
    """The engine :func:`create_engine` would make: by name, else ``$SEGMENT_DESKTOP_ENGINE``,
    else jlens when installed. Raises ValueError for an unknown or missing engine."""
    choice = (name or os.environ.get(ENGINE_ENV, "")).strip().lower()
    if choice in ("", "auto"):
        return JLENS if JLENS in available_engines() else JSONATA_PYTHON
    if choice == JLENS and JLENS not in available_engines():
        raise ValueError(
            "The jlens engine is not installed: pip install 'segment-desktop[fast]', "
            f"or set {ENGINE_ENV}=jsonata-python."
        )
    if choice not in (JLENS, JSONATA_PYTHON):
        raise ValueError(
            f"Unknown template engine {choice!r}; use {JSONATA_PYTHON!r} or {JLENS!r}."
        )
    return choice


def create_engine(name: str | None = None) -> Engine:
    """The engine by name, else ``$SEGMENT_DESKTOP_ENGINE``, else jlens when installed."""
    return JlensEngine() if engine_name(name) == JLENS else JsonataPythonEngine()


# --------------------------------------------------------------------------- jsonata-python


def _error_from_exception(err: BaseException) -> EngineError:
    """Map an engine or Python exception to an :class:`EngineError`."""
    if isinstance(err, EngineError):
        return err
    if isinstance(err, HelperError):
        return EngineError("SD101", str(err))
    code = getattr(err, "error", None) or getattr(err, "code", None)
    if isinstance(code, str) and code:
        position = getattr(err, "location", None)
        if position is None:
            position = getattr(err, "position", None)
        message = str(err)
        if message.startswith(f"{code}:"):
            message = message[len(code) + 1 :].strip()
        if code == "D3137" and message.startswith("$amount"):
            code = "SD101"  # our helper's own error, written in JSONata for jlens
        cause = err.__cause__ or err.__context__
        if isinstance(cause, HelperError):
            return EngineError("SD101", str(cause))
        if code in _EVAL_CODES and cause is not None:
            return _eval_error(code, message, _error_from_exception(cause))
        return EngineError(
            code,
            message,
            _token_start(position, getattr(err, "token", None) or getattr(err, "current", None)),
        )
    if isinstance(err, RecursionError):
        return EngineError(
            "D1011", "Stack overflow: the template recurses too deeply (endless recursion?)."
        )
    if isinstance(err, MemoryError):
        return EngineError("SD102", "The template needs more memory than allowed.")
    if isinstance(err, UnicodeError):
        return EngineError("SD103", f"The template contains text that is not valid Unicode: {err}")
    kind = type(err).__name__
    detail = str(err) or kind
    return EngineError("SD100", f"The template engine failed ({kind}): {detail}")


#: jsonata-python's errors for ``$eval``, raised without what went wrong inside.
_EVAL_CODES = {"D3120", "D3121"}
#: A loop or runaway inside ``$eval`` is a timeout like any other (as jlens reports it).
_RUNAWAY_CODES = {"D1011", "D1012", "U1001"}


def _eval_error(code: str, message: str, inner: EngineError) -> EngineError:
    """An error inside ``$eval`` with its cause: the cause itself for a runaway, else the
    outer message (naming the function as jlens does) followed by the inner one."""
    if inner.code in _RUNAWAY_CODES:
        return EngineError(inner.code, inner.message)
    outer = message.replace("Object eval: None", "function eval").rstrip(": ")
    return EngineError(code, f"{outer}: {inner.message}")


def _token_start(position: object, token: object) -> int | None:
    """Both engines report the offset just *past* the offending token; we point at its start."""
    if not isinstance(position, int) or isinstance(position, bool) or position <= 0:
        return None
    if isinstance(token, str) and token != "(end)" and 0 < len(token) <= position:
        return position - len(token)
    return position if isinstance(token, str) else position - 1


class _JsonataPythonProgram:
    def __init__(self, expr: Any) -> None:
        self._expr = expr

    def evaluate(self, data: Any, limits: Limits) -> Any:
        from jsonata import jsonata as jsonata_module
        from jsonata import timebox, utils

        from segment_desktop.core.jsonata_limits import LIMITS

        expr = self._expr
        frame = expr.create_frame(expr.environment)
        # Its depth counter creeps by one per function call (about one per order line), so a depth
        # budget would refuse large orders; endless recursion ends in RecursionError instead.
        timebox.Timebox(frame, int(limits.timeout_s * 1000), None)
        LIMITS.value = limits
        LIMITS.built = 0
        try:
            jsonata_module.Jsonata.CURRENT.jsonata = expr
            result = expr.evaluate(data, frame)
        except EngineError:
            raise
        except Exception as err:
            raise _error_from_exception(err) from None
        if result is None:
            return UNDEFINED
        return _json_value(utils.Utils.convert_nulls(result), expr)


def _json_value(value: Any, expr: Any) -> Any:
    """jsonata-python's result with its function values as JSON has them (see ``FUNCTION``)."""
    if expr.is_function_like(value):
        return FUNCTION
    if isinstance(value, dict):
        return {k: _json_value(v, expr) for k, v in value.items() if not expr.is_function_like(v)}
    if isinstance(value, list):
        return [None if expr.is_function_like(v) else _json_value(v, expr) for v in value]
    return value


def _timeout(limits: Limits) -> EngineError:
    return EngineError(
        "D1012",
        f"Evaluation timeout after {int(limits.timeout_s * 1000)} milliseconds. "
        "Check for an infinite loop or endless recursion.",
    )


class JsonataPythonEngine:
    """The pure-Python baseline engine."""

    name = JSONATA_PYTHON
    parses_json = False

    def __init__(self) -> None:
        # Importing jsonata raises the interpreter's recursion limit (to 10,000); do it up front
        # rather than in the middle of some later evaluation.
        from segment_desktop.core.jsonata_limits import install_size_limits

        install_size_limits()

    def compile(self, text: str, helpers: dict[str, Helper]) -> Program:
        from jsonata import jsonata as jsonata_module

        try:
            # jsonata-python's tokenizer reads past the end of a template that ends in a comment
            # (IndexError); a trailing newline leaves every other position where it was.
            expr = jsonata_module.Jsonata(text + "\n")
        except Exception as err:
            raise _error_from_exception(err) from None
        expr.set_output_convert_nulls(False)
        expr.set_validate_input(False)  # our input is parsed JSON already
        for name, fn in helpers.items():
            expr.register_lambda(name, _python_helper(fn))
        return _JsonataPythonProgram(expr)

    def prepare(self, data: Any, programs: Sequence[Program] | None = None) -> Any:
        return data  # it evaluates the parsed JSON itself

    def prepare_json(
        self, text: str, programs: Sequence[Program], probe: str, leave_out: frozenset[str]
    ) -> tuple[Any, Any] | None:
        return None  # it needs the parsed JSON: parsing it is the caller's


def _python_helper(fn: Helper) -> Helper:
    """jsonata-python hands helpers its own null marker and list types: give them plain JSON."""
    from jsonata import utils

    def call(*args: Any) -> Any:
        plain = [utils.Utils.convert_nulls(a) if a is not None else None for a in args]
        return fn(*plain)

    return call


# --------------------------------------------------------------------------- jlens


#: What a wrapped template returns for undefined and for a function: ``evaluate_document`` gives
#: ``None`` for all three and null. No template makes these strings by accident.
_UNDEFINED_MARK = "\u0000segment-desktop:undefined\u0000"
_FUNCTION_MARK = "\u0000segment-desktop:function\u0000"


class _JlensProgram:
    def __init__(self, expr: Any, offset: int, length: int) -> None:
        self.expr = expr
        self._offset = offset
        self._length = length

    def evaluate(self, data: Any, limits: Limits) -> Any:
        try:
            out = self.expr.evaluate_document(
                data,
                None,
                timeout=limits.timeout_s,
                max_depth=limits.max_depth,
                max_array_length=limits.max_array_length,
                max_string_length=limits.max_string_length,
                max_result_size=limits.max_result_size,
            )
        except Exception as err:
            raise _shifted(_error_from_exception(err), self._offset, self._length) from None
        if out == _UNDEFINED_MARK:
            return UNDEFINED
        if out == _FUNCTION_MARK:
            return FUNCTION
        return out


def _shifted(err: EngineError, offset: int, length: int) -> EngineError:
    """Positions in the wrapped text → positions in the user's template."""
    if err.position is None or not offset or err.code.startswith("S0"):
        return err
    position = err.position - offset
    err.position = position if 0 <= position <= length else None
    return err


#: Sets of templates whose union of reads :class:`JlensEngine` keeps (the relay has one).
_READS_CACHE_SIZE = 32


class JlensEngine:
    """The optional Rust engine (``pip install 'segment-desktop[fast]'``).

    Input is parsed once into a ``jlens.Document`` (:meth:`prepare`) and evaluated with
    ``evaluate_document``, which releases the GIL like ``evaluate_json``. Parsing for the
    programs at hand skips the fields they never read: ``evaluate_json`` parses the whole input
    as soon as a Python function is registered, which is costly for a large order.
    """

    name = JLENS
    parses_json = True

    def __init__(self) -> None:
        self._failure_logged = False
        self._probes: dict[str, Any] = {}
        # union_reads costs as much as parsing a small order: once per set of programs.
        self._reads: OrderedDict[tuple[Any, ...], Any] = OrderedDict()
        self._reads_lock = threading.Lock()

    def compile(self, text: str, helpers: dict[str, Helper]) -> Program:
        import jlens

        native = {
            name: source
            for name, fn in helpers.items()
            if isinstance(source := getattr(fn, "jsonata", None), str)
        }
        # Native helpers are bound by a one-line prelude; the result is wrapped so that undefined
        # can be told from null. The template is parsed alone first, so a syntax error is
        # reported exactly where the user made it.
        prelude = "".join(f"${name} := {source}; " for name, source in native.items())
        head = f"({prelude}$__sdResult := ("
        tail = (
            f"\n); $not($exists($__sdResult)) ? {json.dumps(_UNDEFINED_MARK)} "
            f': $type($__sdResult) = "function" ? {json.dumps(_FUNCTION_MARK)} : $__sdResult)'
        )
        try:
            jlens.Expression(text)
            expr = jlens.Expression(f"{head}{text}{tail}")
            for name, fn in helpers.items():
                if name not in native:
                    expr.register_function(name, _jlens_helper(fn))
        except Exception as err:
            raise _shifted(_error_from_exception(err), len(head), len(text)) from None
        return _JlensProgram(expr, len(head), len(text))

    def _union_read(self, exprs: Sequence[Any]) -> Any:
        """The ``"input"`` part of the union of ``exprs``' reads (``{}``: nothing is read)."""
        import jlens

        key = tuple(exprs)
        with self._reads_lock:
            read = self._reads.get(key)
            if read is not None:
                self._reads.move_to_end(key)
                return read
        read = jlens.union_reads([e.reads() for e in exprs]).get("input", {}) if exprs else {}
        with self._reads_lock:
            self._reads[key] = read
            while len(self._reads) > _READS_CACHE_SIZE:
                self._reads.popitem(last=False)
        return read

    def prepare_json(
        self, text: str, programs: Sequence[Program], probe: str, leave_out: frozenset[str]
    ) -> tuple[Any, Any] | None:
        """Parses ``text`` in Rust, skipping what neither the programs nor the probe read.

        For a webhook body this replaces parsing it into Python, cutting it to the programs'
        reads and converting that: less work, and most of it without the GIL.
        """
        import jlens

        exprs = [p.expr for p in programs if isinstance(p, _JlensProgram)]
        if len(exprs) != len(programs):
            return None
        try:
            probe_expr = self._probes.get(probe)
            if probe_expr is None:
                probe_expr = self._probes.setdefault(probe, jlens.Expression(probe))
            read = self._union_read([*exprs, probe_expr])
            if not isinstance(read, dict) or not leave_out.isdisjoint(read):
                return None
            document = jlens.Document.from_json(text, read)
            return document, probe_expr.evaluate_document(document)
        except ValueError:  # not plain JSON (a BOM, a lone surrogate, …): the caller's way
            return None
        except Exception:  # a jlens failure of its own: the caller's way works all the same
            if not self._failure_logged:
                self._failure_logged = True
                log.warning("jlens could not read an event; parsing it in Python", exc_info=True)
            return None

    def prepare(self, data: Any, programs: Sequence[Program] | None = None) -> Any:
        import jlens

        try:
            if programs is None:
                return jlens.Document(data)
            read = self._union_read([p.expr for p in programs if isinstance(p, _JlensProgram)])
            # Cutting the parsed event down in Python, then converting only that, costs a
            # fraction of serialising it for Document.from_json.
            return jlens.Document(_only_read(data, read))
        except Exception as err:
            raise EngineError("SD104", f"The event cannot be read by jlens: {err}") from None


def _only_read(value: Any, read: Any) -> Any:
    """``value`` without the fields a ``reads()`` tree leaves out (``True``: all of it)."""
    if read is True or not isinstance(read, dict):
        return value
    if isinstance(value, dict):
        return {key: _only_read(value[key], sub) for key, sub in read.items() if key in value}
    if isinstance(value, list):
        return [_only_read(item, read) for item in value]
    return value


def _jlens_helper(fn: Helper) -> Helper:
    def call(*args: Any) -> Any:
        try:
            return fn(*args)
        except HelperError as err:
            # jlens passes exceptions through raw; keep ours recognisable.
            raise EngineError("SD101", str(err)) from None

    return call
