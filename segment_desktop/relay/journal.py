"""The relay's recent deliveries in memory: each webhook, the calls rendered from it, and what
Segment answered for each call.

The outbox forgets a call once Segment has it and keeps a webhook's body only while a template
error needs it, so what a delivery looked like end to end is known only while it happens. The
desktop app's delivery log shows it from here. It keeps nothing until someone asks it to
(:meth:`Journal.keep`: the desktop app's dashboard does), so a relay on a server pays nothing
for it; then only the last :data:`CAPACITY` deliveries, at most :data:`MAX_BYTES` of webhook
bodies, and only in this process's memory: nothing of the customer data reaches a file.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

#: Deliveries kept once asked to (the oldest are forgotten first).
CAPACITY = 500
#: Webhook bodies kept, in bytes, at most (large orders are megabytes each).
MAX_BYTES = 32 * 1024 * 1024


class _Call(Protocol):
    """A stored call as the outbox has it (``NewCall`` or ``EncodedCall``)."""

    @property
    def template_key(self) -> str: ...
    @property
    def message_id(self) -> str: ...
    def encoded(self) -> str: ...


class _Failure(Protocol):
    @property
    def template_key(self) -> str: ...
    @property
    def error(self) -> dict[str, Any]: ...


class _SentCall(Protocol):
    """A call the sender delivered (an ``OutboxCall``)."""

    @property
    def event_id(self) -> str: ...
    @property
    def template_key(self) -> str: ...
    @property
    def message_id(self) -> str: ...
    @property
    def call_json(self) -> str: ...


@dataclass(frozen=True)
class JournalCall:
    """One rendered call and Segment's answer to it (``None`` while it waits to be sent)."""

    template_key: str
    message_id: str
    text: str
    answer: str | None


@dataclass(frozen=True)
class JournalEntry:
    """One webhook the relay accepted, as it went."""

    event_id: str
    triggered_by: str
    received_at: float
    body: bytes
    outcome: str
    """The relay's answer to Commerce: ``queued``, ``template_error``, ``ignored``."""
    calls: tuple[JournalCall, ...]
    template_errors: tuple[tuple[str, str], ...]
    """(template key, error text) for each template that failed."""

    @property
    def result(self) -> str:
        """One word for the whole delivery: ``failed`` (a template error or a call Segment
        refused), ``waiting`` (a call not yet answered), ``delivered`` or ``ignored``."""
        if self.template_errors or any(_refused(c.answer) for c in self.calls):
            return "failed"
        if any(c.answer != SENT for c in self.calls):
            return "waiting"
        return "ignored" if not self.calls else "delivered"


#: The answer recorded for a call Segment accepted.
SENT = "accepted"
#: How the answer of a call to be sent again starts.
RETRYING = "Will retry: "


def _refused(answer: str | None) -> bool:
    return answer is not None and answer != SENT and not answer.startswith(RETRYING)


def error_text(error: dict[str, Any]) -> str:
    """A template failure's error in one line (code, message, where)."""
    text = str(error.get("message") or error.get("code") or "template error")
    if error.get("code") and error.get("message"):
        text = f"{error['code']}: {error['message']}"
    if error.get("line") is not None:
        text += f" (line {error['line']}, column {error.get('column')})"
    return text


class Journal:
    """Thread-safe, bounded record of recent deliveries. See the module docstring."""

    def __init__(
        self, capacity: int = 0, clock: Callable[[], float] = time.time, max_bytes: int = MAX_BYTES
    ) -> None:
        """``capacity`` 0: keep nothing until :meth:`keep` is called."""
        self.capacity = capacity
        self.max_bytes = max_bytes
        self._clock = clock
        self._lock = threading.Lock()
        self._entries: OrderedDict[str, JournalEntry] = OrderedDict()
        self._answers: dict[str, str] = {}
        self._event_of: dict[str, str] = {}
        self._bytes = 0

    def keep(self, capacity: int = CAPACITY) -> None:
        """Start keeping (or keep a different number of) deliveries."""
        self.capacity = capacity

    def webhook(
        self,
        event_id: str,
        triggered_by: str,
        body: bytes,
        outcome: str,
        calls: Sequence[_Call] = (),
        failures: Sequence[_Failure] = (),
    ) -> None:
        """Note an accepted webhook (called once its answer to Commerce is known)."""
        if not self.capacity:
            return
        entry = JournalEntry(
            event_id,
            triggered_by,
            self._clock(),
            bytes(body),
            outcome,
            tuple(JournalCall(c.template_key, c.message_id, c.encoded(), None) for c in calls),
            tuple((f.template_key, error_text(f.error)) for f in failures),
        )
        with self._lock:
            self._forget(event_id)
            self._entries[event_id] = entry
            self._bytes += len(entry.body)
            for call in entry.calls:
                self._event_of[call.message_id] = event_id
            while self._entries and (
                len(self._entries) > self.capacity or self._bytes > self.max_bytes
            ):
                self._forget(next(iter(self._entries)))

    def _forget(self, event_id: str) -> None:
        old = self._entries.pop(event_id, None)
        if old is None:
            return
        self._bytes -= len(old.body)
        for call in old.calls:
            self._event_of.pop(call.message_id, None)
            self._answers.pop(call.message_id, None)

    def answered(self, calls: Sequence[_SentCall], answer: str) -> None:
        """Segment answered for these calls (:data:`SENT`, or why it refused or failed).

        A call the entry does not list yet (rendered by ``relay replay`` after a template fix)
        joins its event's entry, and that template's error leaves it.
        """
        if not self.capacity:
            return
        with self._lock:
            for call in calls:
                entry = self._entries.get(call.event_id)
                if entry is None:
                    continue
                self._answers[call.message_id] = answer
                if call.message_id in self._event_of:
                    continue
                self._event_of[call.message_id] = call.event_id
                self._entries[call.event_id] = JournalEntry(
                    entry.event_id,
                    entry.triggered_by,
                    entry.received_at,
                    entry.body,
                    entry.outcome,
                    (
                        *entry.calls,
                        JournalCall(call.template_key, call.message_id, call.call_json, None),
                    ),
                    tuple(e for e in entry.template_errors if e[0] != call.template_key),
                )

    def recent(self) -> list[JournalEntry]:
        """The deliveries kept, newest first, each call with its latest answer."""
        with self._lock:
            entries = list(self._entries.values())
            answers = dict(self._answers)
        entries.reverse()
        return [
            JournalEntry(
                e.event_id,
                e.triggered_by,
                e.received_at,
                e.body,
                e.outcome,
                tuple(
                    JournalCall(c.template_key, c.message_id, c.text, answers.get(c.message_id))
                    for c in e.calls
                ),
                e.template_errors,
            )
            for e in entries
        ]
