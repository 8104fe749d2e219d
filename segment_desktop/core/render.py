"""The renderer: one code path for the live preview, the command line and the relay.

``Renderer.render(text, event)`` compiles the template (cached by text), evaluates it against the
event with a time and depth budget, checks the output's shape and finishes each call
(:mod:`~segment_desktop.core.messages`). It returns the calls or raises :class:`TemplateError`
with a code, a message and, when the engine knows it, the line and column.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from segment_desktop.core import engine as engines
from segment_desktop.core.envelope import (
    ENVELOPE_PROBE,
    NOT_FOR_TEMPLATES,
    CommerceEvent,
    event_from_probe,
)
from segment_desktop.core.errors import TemplateError, TemplateTimeout
from segment_desktop.core.events import templates_for_event
from segment_desktop.core.jsontypes import json_type_name
from segment_desktop.core.messages import finish_calls
from segment_desktop.core.money import to_number
from segment_desktop.core.templates import TemplateSet

_TIMEOUT_CODES = {"D1011", "D1012", "U1001"}
_CACHE_SIZE = 64


@dataclass(frozen=True)
class RenderResult:
    """What one template made of one event."""

    calls: list[dict[str, Any]]
    elapsed_ms: float
    engine: str
    template_key: str = ""

    @property
    def skipped(self) -> bool:
        """The template chose to send nothing for this event."""
        return not self.calls


@dataclass(frozen=True)
class PreparedEvent:
    """An event in the engine's own form (:meth:`Renderer.prepare`), reusable across renders."""

    event: CommerceEvent
    data: Any
    engine: str
    templates: frozenset[str] | None = None
    """The template texts it was cut down for; ``None``: it serves any template."""


@dataclass(frozen=True)
class EventRendering:
    """Every configured template's result for one event (the relay's unit of work)."""

    event: CommerceEvent
    results: list[RenderResult] = field(default_factory=list)
    errors: dict[str, TemplateError] = field(default_factory=dict)

    @property
    def calls(self) -> list[dict[str, Any]]:
        return [call for result in self.results for call in result.calls]


# --------------------------------------------------------------------------- helpers for templates


def helper_amount(money: Any = None, currency: Any = None) -> Any:
    """``$amount(m)`` for a Commerce money object, ``$amount(minor, "JPY")`` for a bare integer."""
    if money is None:
        return None
    if isinstance(money, dict):
        minor = money.get("amount")
        currency = currency if isinstance(currency, str) else money.get("currency")
    else:
        minor = money
    if minor is None:
        return None
    if isinstance(minor, bool) or not isinstance(minor, (int, float, Decimal)):
        raise engines.HelperError(
            f"$amount expects a Commerce money object or a number of minor units, got {minor!r}."
        )
    if not isinstance(currency, str) or not currency.strip():
        raise engines.HelperError(
            '$amount needs a currency: pass a money object with "currency", '
            'or $amount(minorUnits, "GBP").'
        )
    try:
        return to_number(minor if isinstance(minor, (int, float)) else float(minor), currency)
    except ValueError as err:
        raise engines.HelperError(f"$amount: {err}.") from None


def helper_anonymous_id(email: Any = None) -> Any:
    """``$anonymousId(email)``: a stable id for a guest, the same for the same address."""
    if not isinstance(email, str) or not email.strip():
        return None
    digest = hashlib.sha256(email.strip().lower().encode("utf-8")).hexdigest()
    return f"anon-{digest[:32]}"


def _exponents_literal() -> str:
    from segment_desktop.core.money import _EXPONENTS

    return json.dumps(_EXPONENTS, separators=(",", ":"))


# The same as helper_amount, in JSONata. Dividing two exact integers is correctly rounded, exactly
# like float(Decimal): the result is the same number, and the differential tests hold us to it.
helper_amount.jsonata = (  # type: ignore[attr-defined]
    f"($exponents := {_exponents_literal()}; "
    "function($m, $c){("
    '$minor := $type($m) = "object" ? $m.amount : $m; '
    '$code := $type($c) = "string" ? $c : $m.currency; '
    "$exists($minor) ? ("
    '$type($minor) != "number" ? $error("$amount expects a Commerce money object or a number '
    'of minor units.") : '
    '$minor != $floor($minor) ? $error("$amount: minor units must be a whole number.") : '
    '$not($type($code) = "string") or $trim($code) = "" ? $error("$amount needs a currency: '
    'pass a money object with \\"currency\\", or $amount(minorUnits, \\"GBP\\").") : '
    "($e := $lookup($exponents, $uppercase($trim($code))); "
    "$minor / $power(10, $exists($e) ? $e : 2))"
    "))})"
)

HELPERS: dict[str, engines.Helper] = {
    "amount": helper_amount,
    "anonymousId": helper_anonymous_id,
}


# --------------------------------------------------------------------------- the renderer


class Renderer:
    """Thread-safe; keep one per process (compiled templates are cached by text)."""

    def __init__(
        self,
        engine: str | engines.Engine | None = None,
        limits: engines.Limits | None = None,
    ) -> None:
        self.engine: engines.Engine = (
            engine if not isinstance(engine, str | None) else engines.create_engine(engine)
        )
        self.limits = limits or engines.Limits()
        self._cache: OrderedDict[str, engines.Program | engines.EngineError] = OrderedDict()
        # The programs of a whole set of texts (the relay asks for the same set on every
        # event); cleared with the text cache's evictions, so both agree on what compiles.
        self._sets: dict[tuple[str, ...], list[engines.Program]] = {}
        self._lock = threading.Lock()

    @property
    def engine_name(self) -> str:
        return self.engine.name

    def compile(self, text: str) -> engines.Program:
        """The compiled template, from the cache when this exact text was compiled before."""
        with self._lock:
            cached = self._cache.get(text)
            if cached is not None:
                self._cache.move_to_end(text)
        if cached is None:
            try:
                cached = self.engine.compile(text, HELPERS)
            except engines.EngineError as err:
                cached = err
            with self._lock:
                self._cache[text] = cached
                while len(self._cache) > _CACHE_SIZE:
                    self._cache.popitem(last=False)
                    self._sets.clear()
        if isinstance(cached, engines.EngineError):
            raise _template_error(cached, text)
        return cached

    def prepare(
        self,
        event: CommerceEvent,
        *,
        texts: Sequence[str] | None = None,
    ) -> PreparedEvent:
        """The event in the engine's own form, made once for several renders.

        The preview keeps one per sample (any template text); the relay makes one per event for
        the templates configured for it (``texts``: only what they read is kept). Templates that
        do not compile are left out; rendering them reports their error.
        """
        if event.envelope_only:
            raise ValueError("An envelope-only event cannot be prepared: it is not the input.")
        programs = None if texts is None else self._compiled(texts)
        try:
            data = self.engine.prepare(event.body, programs)
        except engines.EngineError as err:
            raise TemplateError(err.code, err.message) from None
        cut_for = frozenset(texts) if texts is not None else None
        return PreparedEvent(event, data, self.engine.name, cut_for)

    def prepare_json(self, text: str, texts: Sequence[str]) -> PreparedEvent | None:
        """The event and its prepared input straight from a webhook body, for ``texts``.

        For an engine that parses JSON itself (jlens), this skips parsing the body into Python.
        None when the engine cannot, or when the body is anything but a plain Commerce event
        (not JSON, no ``payload`` object, …): then :func:`parse_event_text` it, and
        :meth:`prepare`. The event is ``envelope_only``.
        """
        got = self.engine.prepare_json(
            text, self._compiled(texts), ENVELOPE_PROBE, NOT_FOR_TEMPLATES
        )
        if got is None:
            return None
        data, found = got
        event = event_from_probe(found)
        if event is None:
            return None
        return PreparedEvent(event, data, self.engine.name, frozenset(texts))

    def _compiled(self, texts: Sequence[str]) -> list[engines.Program]:
        """The programs of ``texts``, leaving out those that do not compile (rendering them
        reports their error)."""
        key = tuple(texts)
        programs = self._sets.get(key)
        if programs is not None:
            return programs
        programs = []
        for text in texts:
            try:
                programs.append(self.compile(text))
            except TemplateError:
                continue
        with self._lock:
            if len(self._sets) >= _CACHE_SIZE:
                self._sets.clear()
            self._sets[key] = programs
        return programs

    def render(
        self,
        text: str,
        event: CommerceEvent,
        *,
        template_key: str = "template",
        now: datetime | None = None,
        prepared: PreparedEvent | None = None,
    ) -> RenderResult:
        """Render one template for one event.

        ``prepared`` (from :meth:`prepare`, for this event) saves preparing the event again.
        """
        started = time.perf_counter()
        program = self.compile(text)
        if prepared is None:
            prepared = self.prepare(event, texts=[text])
        elif (
            prepared.event is not event
            or prepared.engine != self.engine.name
            or (prepared.templates is not None and text not in prepared.templates)
        ):
            raise ValueError("The prepared event was made for another event, engine or template.")
        try:
            output = program.evaluate(prepared.data, self.limits)
        except engines.EngineError as err:
            raise _template_error(err, text) from None
        raw_calls = _calls_from_output(output)
        calls = finish_calls(raw_calls, event, template_key, now)
        elapsed = (time.perf_counter() - started) * 1000
        return RenderResult(calls, elapsed, self.engine.name, template_key)

    def render_event(
        self,
        event: CommerceEvent,
        templates: TemplateSet,
        chosen: dict[str, str],
        now: datetime | None = None,
        prepared: PreparedEvent | None = None,
    ) -> EventRendering:
        """Render every template configured for the event; one failure does not stop the others.

        ``chosen`` maps each *enabled* template key to its Commerce event. ``prepared`` (for
        this event and these templates) saves preparing it.
        """
        specs = [t for t in templates_for_event(event.triggered_by, chosen) if t.key in chosen]
        rendering = EventRendering(event)
        texts = {spec.key: templates.text(spec.key) for spec in specs}
        if not texts:
            return rendering
        if prepared is None:
            try:
                prepared = self.prepare(event, texts=list(texts.values()))
            except TemplateError as err:
                rendering.errors.update({key: err for key in texts})
                return rendering
        for key, text in texts.items():
            try:
                result = self.render(text, event, template_key=key, now=now, prepared=prepared)
            except TemplateError as err:
                rendering.errors[key] = err
            else:
                rendering.results.append(result)
        return rendering


def _calls_from_output(output: Any) -> list[dict[str, Any]]:
    if output is engines.UNDEFINED:
        return []
    if isinstance(output, dict):
        return [output]
    if isinstance(output, list):
        bad = [i for i, item in enumerate(output) if not isinstance(item, dict)]
        if bad:
            raise TemplateError(
                "SD201",
                f"Item {bad[0] + 1} of the template's array is {_kind(output[bad[0]])}, "
                "not a Segment call object.",
            )
        return list(output)
    raise TemplateError(
        "SD200",
        f"The template produced {_kind(output)}; it must produce a Segment call (an object), "
        "an array of calls, or nothing (to skip the event).",
    )


def _kind(value: Any) -> str:
    if value is engines.FUNCTION:
        return "a function (to use it, call it with its arguments in parentheses)"
    if isinstance(value, int | float) and not isinstance(value, bool):
        return f"the number {value!r}"
    return json_type_name(value)


def line_column(text: str, position: int) -> tuple[int, int]:
    """1-based line and column of a 0-based character offset."""
    position = max(0, min(position, len(text)))
    line = text.count("\n", 0, position) + 1
    column = position - (text.rfind("\n", 0, position) + 1) + 1
    return line, column


def _template_error(err: engines.EngineError, text: str) -> TemplateError:
    line = column = None
    if err.position is not None:
        line, column = line_column(text, err.position)
    cls = TemplateTimeout if err.code in _TIMEOUT_CODES else TemplateError
    return cls(err.code, err.message, line, column, err.position)
