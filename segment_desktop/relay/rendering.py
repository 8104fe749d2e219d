"""An event → the Segment calls of every template configured for it, with the preview's renderer.

The relay calls :meth:`segment_desktop.core.render.Renderer.render_event`, the same code path
as the live preview, so what a user previews is what the relay sends. One failing template does
not hold back the others: the calls that rendered are queued, the failure is kept with the event
for ``replay``. A rendered call that Segment would refuse or silently drop (see
:mod:`segment_desktop.core.spec`) counts as a failure of its template too: sending it would lose
it without a trace.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from segment_desktop.core.envelope import MAX_BODY_BYTES, CommerceEvent, parse_event_text
from segment_desktop.core.errors import EventError, TemplateError, TemplateTimeout
from segment_desktop.core.jsontext import compact_json
from segment_desktop.core.spec import check_call
from segment_desktop.relay.breaker import SUSPENDED, TimeoutBreaker
from segment_desktop.relay.records import EncodedCall, NewCall, TemplateFailure

if TYPE_CHECKING:
    from segment_desktop.core.engine import Limits
    from segment_desktop.core.render import PreparedEvent, Renderer
    from segment_desktop.core.templates import TemplateSet


@dataclass(frozen=True)
class Rendered:
    """What rendering an event gave: calls to queue and templates that failed."""

    template_keys: tuple[str, ...]
    calls: list[NewCall] = field(default_factory=list)
    failures: list[TemplateFailure] = field(default_factory=list)

    def stored(self, event: CommerceEvent, body: dict[str, Any] | None) -> RenderedBody:
        """What the outbox keeps of it; ``body``: the template input, kept for ``replay``."""
        calls = tuple(EncodedCall.of(call) for call in self.calls)
        return RenderedBody(event.id, event.triggered_by, calls, tuple(self.failures), body)


@dataclass(frozen=True)
class TemplateConfig:
    """The part of the settings rendering needs: which events each template tracks, and texts."""

    chosen: Mapping[str, str]
    """Enabled template key → the Commerce event it tracks."""
    overrides: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_config(cls, config: Any) -> TemplateConfig:
        """From a :class:`segment_desktop.core.config.Config`."""
        return cls(dict(config.chosen_events()), dict(config.template_overrides))

    def keys_for(self, trigger: str) -> tuple[str, ...]:
        """Enabled templates that track ``trigger``."""
        from segment_desktop.core.events import templates_for_event

        chosen = dict(self.chosen)
        return tuple(t.key for t in templates_for_event(trigger, chosen) if t.key in chosen)


_KEYS_CACHED = 256


@dataclass(frozen=True)
class _Settings:
    """What one render uses, swapped whole by :meth:`EventRenderer.update`."""

    templates: TemplateConfig
    template_set: TemplateSet
    texts: tuple[str, ...]
    """The enabled templates' texts (what the raw-JSON way parses a body for)."""
    keys: dict[str, tuple[str, ...]] = field(default_factory=dict)
    """Event name → :meth:`TemplateConfig.keys_for`, filled as events arrive: the answer only
    changes with the settings, which are swapped whole."""

    def keys_for(self, trigger: str) -> tuple[str, ...]:
        keys = self.keys.get(trigger)
        if keys is None:
            keys = self.templates.keys_for(trigger)
            if len(self.keys) < _KEYS_CACHED:  # bounded: a signed sender names the events
                self.keys[trigger] = keys
        return keys

    @classmethod
    def of(cls, templates: TemplateConfig) -> _Settings:
        from segment_desktop.core.templates import TemplateSet

        template_set = TemplateSet(dict(templates.overrides))
        texts = []
        for key in templates.chosen:
            try:
                texts.append(template_set.text(key))
            except KeyError:
                continue  # an unknown key: rendering it reports the error
        return cls(templates, template_set, tuple(texts))


class EventRenderer:
    """Renders events with the current template set. Thread-safe; ``update`` swaps settings."""

    def __init__(self, templates: TemplateConfig, renderer: Renderer | None = None) -> None:
        from segment_desktop.core.render import Renderer

        self._lock = threading.Lock()
        # Held through a whole update, listeners included: two updates at once reach the
        # listeners in the order they were applied here.
        self._updating = threading.Lock()
        self.renderer = renderer or Renderer(limits=relay_limits())
        self.breaker = TimeoutBreaker()
        self._settings = _Settings.of(templates)
        """Read without a lock: each render takes one snapshot, an update replaces it whole."""
        self._listeners: list[Callable[[TemplateConfig], None]] = []

    @property
    def engine(self) -> str:
        return str(self.renderer.engine_name)

    @property
    def templates(self) -> TemplateConfig:
        return self._settings.templates

    def update(self, templates: TemplateConfig) -> None:
        """Use new settings (a template fixed, an event switched on) from now on.

        Listeners (the relay's render processes) hear of it before this returns, so whatever
        is rendered after it, here or there, uses the new settings.
        """
        settings = _Settings.of(templates)
        with self._updating:
            with self._lock:
                self._settings = settings
                listeners = list(self._listeners)
            for listener in listeners:
                listener(templates)

    def on_update(self, listener: Callable[[TemplateConfig], None]) -> None:
        """Call ``listener(templates)`` on every :meth:`update`."""
        with self._lock:
            self._listeners.append(listener)

    def warm_up(self) -> None:
        """Compile the enabled templates before any event."""
        for text in self._settings.texts:
            try:
                self.renderer.compile(text)
            except TemplateError:
                continue  # reported when an event renders it

    def keys_for(self, trigger: str) -> tuple[str, ...]:
        return self._settings.keys_for(trigger)

    def render(self, event: CommerceEvent, keys: Sequence[str] | None = None) -> Rendered:
        """Render ``keys`` (default: every template configured for the event)."""
        settings = self._settings
        if keys is None:
            keys = settings.keys_for(event.triggered_by)
        return self._render(settings.template_set, event, keys)

    def render_json(self, body: bytes) -> Ignored | RenderedBody | None:
        """:func:`render_body` without parsing ``body`` into Python, when the engine can.

        The engine parses the body itself, skipping what no enabled template reads (jlens: a
        50-line order in a third of the time). None when it cannot (jsonata-python) or when the
        body is not a plain Commerce event: :func:`render_body` then takes the usual way, which
        words the error. When a template fails, the body is parsed the usual way too, only to
        keep it for ``replay`` (the templates are not rendered again).
        """
        if not self.renderer.engine.parses_json or len(body) > MAX_BODY_BYTES:
            return None
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            return None
        settings = self._settings
        prepared = self.renderer.prepare_json(text, settings.texts)
        if prepared is None:
            return None
        event = prepared.event
        keys = settings.keys_for(event.triggered_by)
        if not keys:
            return Ignored(event.id)
        rendered = self._render(settings.template_set, event, keys, prepared)
        kept: dict[str, Any] | None = None
        if rendered.failures:  # rare: keep the whole body for `replay`, parsed the usual way
            try:
                kept = parse_event_text(body).body
            except EventError:
                return None  # the usual way refuses it: let it say why
        return rendered.stored(event, kept)

    def _render(
        self,
        template_set: TemplateSet,
        event: CommerceEvent,
        keys: Sequence[str],
        prepared: PreparedEvent | None = None,
    ) -> Rendered:
        # Only the requested keys, each tracking this event (a replay may ask for a template
        # whose event the user changed since: it is rendered for the event it failed on).
        chosen = {key: event.triggered_by for key in keys}
        out = Rendered(template_keys=tuple(keys))
        templates = {key: _text(template_set, key) for key in chosen}
        for key, text in templates.items():
            if text is not None and self.breaker.suspended(text):
                del chosen[key]
                error = {"code": SUSPENDED, "message": self.breaker.message()}
                out.failures.append(TemplateFailure(key, error))
        rendering = self.renderer.render_event(event, template_set, chosen, prepared=prepared)
        for key, err in rendering.errors.items():
            out.failures.append(TemplateFailure(key, err.as_dict()))
        self._record(templates, chosen, rendering.errors)
        for result in rendering.results:
            # Encoded once: the text is what the outbox stores and Segment gets, and its length
            # is the size the check needs.
            texts = [compact_json(call) for call in result.calls]
            problem = unsendable(result.calls, [len(t.encode("utf-8")) for t in texts])
            if problem is not None:
                out.failures.append(TemplateFailure(result.template_key, problem))
                continue
            out.calls.extend(
                NewCall(result.template_key, call, text)
                for call, text in zip(result.calls, texts, strict=True)
            )
        return out

    def _record(
        self,
        texts: Mapping[str, str | None],
        rendered: Mapping[str, str],
        errors: Mapping[str, Any],
    ) -> None:
        """Tell the breaker how each rendered template ended."""
        for key in rendered:
            text = texts.get(key)
            if text is None:
                continue
            if isinstance(errors.get(key), TemplateTimeout):
                self.breaker.timed_out(text)
            else:
                self.breaker.finished(text)


def _text(template_set: TemplateSet, key: str) -> str | None:
    try:
        return template_set.text(key)
    except KeyError:
        return None  # an unknown key: rendering it reports the error


def relay_limits() -> Limits:
    """The relay's budget per render: 2 s, not the preview's 0.5 s.

    Nobody waits at a keyboard, and a spurious timeout parks an event until someone replays it:
    a large order on jsonata-python takes a good part of the preview's budget on an idle
    machine, and the relay's machine is busy by definition. Commerce waits 10 s for the answer.
    """
    from segment_desktop.core.engine import Limits

    return Limits(timeout_s=2.0)


def unsendable(
    calls: Sequence[dict[str, Any]], sizes: Sequence[int] | None = None
) -> dict[str, Any] | None:
    """A failure record when a call would be refused or silently dropped by Segment.

    ``sizes``: each call's encoded size, when the caller has it.
    """
    for index, call in enumerate(calls):
        size = sizes[index] if sizes is not None else None
        errors = [i for i in check_call(call, size=size, warnings=False) if i.level == "error"]
        if errors:
            detail = "; ".join(f"{i.path}: {i.message}" if i.path else i.message for i in errors)
            where = f"call {index + 1} of {len(calls)}" if len(calls) > 1 else "the call"
            return {
                "code": "InvalidCall",
                "message": f"Segment would refuse or drop {where}: {detail}",
                "line": None,
                "column": None,
            }
    return None


# --------------------------------------------------------------------------- one webhook body


@dataclass(frozen=True)
class Refused:
    """The body is not a Commerce event: ``message`` is the ``EventError``'s."""

    message: str


@dataclass(frozen=True)
class Ignored:
    """No enabled template tracks the event."""

    event_id: str


@dataclass(frozen=True)
class RenderedBody:
    """The event rendered: what the outbox stores of it."""

    event_id: str
    triggered_by: str
    calls: tuple[EncodedCall, ...] = ()
    failures: tuple[TemplateFailure, ...] = ()
    body: dict[str, Any] | None = None
    """The template input, only when a template failed (kept for ``relay replay``)."""


Outcome = Refused | Ignored | RenderedBody


def render_body(renderer: EventRenderer, body: bytes) -> Outcome:
    """Parse ``body``, pick its templates, render them and check the calls (CPU work only).

    Duplicates are rendered too: the commit finds them (nothing of them is stored). Asking the
    outbox first would cost a query, and its locking, on every delivery to spare a render on
    the rare retry, which costs more than it saves (see bench/README.md).
    """
    fast = renderer.render_json(body)
    if fast is not None:
        return fast
    try:
        event = parse_event_text(body)
    except EventError as err:
        return Refused(str(err))
    keys = renderer.keys_for(event.triggered_by)
    if not keys:
        return Ignored(event.id)
    rendered = renderer.render(event, keys)
    return rendered.stored(event, event.body if rendered.failures else None)
