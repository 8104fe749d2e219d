"""What the outbox stores and gives back: plain records, no SQL.

The intake and the render processes build :class:`EventRecord` s of :class:`NewCall` or
:class:`EncodedCall`; the sender gets :class:`OutboxCall` s; ``relay status``, ``relay parked``
and the desktop app read :class:`OutboxStats` and :class:`ParkedItem` s.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from segment_desktop.core.jsontext import compact_json


@dataclass(frozen=True)
class NewCall:
    """A finished call to store for an event."""

    template_key: str
    call: dict[str, Any]
    text: str = ""
    """The call as compact JSON, when the renderer encoded it already."""

    @property
    def message_id(self) -> str:
        return str(self.call.get("messageId", ""))

    def encoded(self) -> str:
        """The call as stored (compact JSON)."""
        return self.text or compact_json(self.call)


@dataclass(frozen=True)
class EncodedCall:
    """A finished call already in its stored form: a render process encodes what it rendered,
    so the relay's main process neither decodes nor re-encodes it."""

    template_key: str
    message_id: str
    text: str
    """The call as compact JSON (what :meth:`NewCall.encoded` gives)."""

    @classmethod
    def of(cls, call: NewCall) -> EncodedCall:
        return cls(call.template_key, call.message_id, call.encoded())

    def encoded(self) -> str:
        return self.text


#: A call to store, decoded or already encoded.
StoredCall = NewCall | EncodedCall


@dataclass(frozen=True)
class TemplateFailure:
    """A template that failed for an event; ``error`` is shown by ``relay parked``."""

    template_key: str
    error: dict[str, Any]


@dataclass(frozen=True)
class EventRecord:
    """What the outbox keeps of one accepted event, calls and failures included."""

    event_id: str
    triggered_by: str
    body: dict[str, Any]
    """The template input; stored only with ``failures`` (for replay), else unused."""
    calls: Sequence[StoredCall] = ()
    failures: Sequence[TemplateFailure] = ()


@dataclass(frozen=True)
class OutboxCall:
    """A stored call, as the sender sees it."""

    id: int
    event_id: str
    template_key: str
    message_id: str
    call_json: str
    """The call as stored: compact JSON, sent as it is."""
    size: int
    attempts: int
    created_at: float

    @cached_property
    def call(self) -> dict[str, Any]:
        call: dict[str, Any] = json.loads(self.call_json)
        return call


@dataclass(frozen=True)
class OutboxStats:
    """Counts over the outbox, for ``relay status``, ``/metrics`` and the GUI."""

    events: int
    pending: int
    due: int
    parked: int
    template_errors: int
    oldest_pending_age: float
    """Seconds since the oldest pending call was stored; 0 when none is pending."""


@dataclass(frozen=True)
class ParkedItem:
    """Something that will not be sent without the user: a refused call or a template error."""

    kind: str
    """``"rejected"`` (Segment refused the call) or ``"template_error"``."""
    event_id: str
    triggered_by: str
    template_key: str
    reason: str
    at: float
    call_id: int | None = None


@dataclass(frozen=True)
class PendingTemplateError:
    """An event with failed templates, ready to be rendered again."""

    event_id: str
    triggered_by: str
    body: dict[str, Any]
    template_keys: tuple[str, ...]
