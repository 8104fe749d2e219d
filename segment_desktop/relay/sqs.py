"""A relay worker on an Amazon SQS queue: receive Commerce's CloudEvents, render, send, delete.

Any number of workers, on any number of machines, share one queue. Each loops:

1. **Receive** up to 10 messages (a long poll). While it works on them a keeper thread extends
   their visibility timeout, so a slow Segment never lets another worker take them meanwhile.
2. **Render** each with the webhook relay's renderer (``rendering.EventRenderer``, the
   preview's code path) after :mod:`segment_desktop.core.cloudevent` has put it in the
   webhook's shape: the same template serves both deliveries and gives the same ``messageId``.
3. **Send** their calls to Segment in as few batches as its limits allow.
4. **Delete** a message only once Segment took its calls, or once what could not be sent is
   safe in this machine's outbox (the parked store ``relay parked`` and ``relay replay`` read).

So a worker killed at any moment loses nothing: a message it had not deleted comes back when
its visibility timeout ends, another worker sends its calls again with the same ``messageId``,
and Segment drops the copy.

What goes to the local outbox instead of Segment, and then off the queue:

* a message that is not a Commerce CloudEvent, or comes from an integration this setup did not
  register: parked with the reason (``relay parked``), never deleted silently;
* a template that fails for the event: kept with the event for ``relay replay``, as the webhook
  relay keeps it; the calls of the event's other templates are sent;
* calls Segment refuses for their content (400/413, after splitting the batch down to one
  message): the outbox's sender tries them alone and parks what Segment refuses.

When Segment is unreachable or failing (5xx, 429, network, or a 401/403/404 that a fixed
setting cures) the messages stay on the queue, hidden for a backoff that grows with each
failure, and the worker pauses. A message that keeps failing goes where the queue's redrive
policy sends it (its dead-letter queue, by SQS itself, after ``maxReceiveCount`` receives); on
a queue without one, after :data:`PARK_AFTER_RECEIVES` receives it is handed to the local
outbox, whose sender keeps trying it with the same messageIds.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from segment_desktop.core.cloudevent import QueuedEvent, parse_cloudevent_text
from segment_desktop.core.errors import CallRejectedError, EventError
from segment_desktop.relay.metrics import Metrics
from segment_desktop.relay.outbox import Outbox
from segment_desktop.relay.records import EventRecord, NewCall, TemplateFailure
from segment_desktop.relay.rendering import EventRenderer
from segment_desktop.relay.sender import SPLITTABLE, BatchSender
from segment_desktop.relay.sqs_queue import Message, Queue, QueueInfo, QueueUnavailable

log = logging.getLogger(__name__)

#: On a queue without a dead-letter queue, a message failing this many receives goes to the
#: local outbox (whose sender keeps trying) rather than circling forever.
PARK_AFTER_RECEIVES = 5
#: The template key a parked message that is not a usable event is filed under.
MESSAGE_KEY = "(queue message)"
BACKOFF_FIRST = 2.0
BACKOFF_CAP = 300.0
#: Batch budget: Segment's 500 KB per batch as its own libraries count it, minus the envelope.
BATCH_BYTES = 475_000 - 2_000


@dataclass
class _Work:
    """A message whose calls are to be sent."""

    message: Message
    event: QueuedEvent
    calls: list[NewCall]

    @property
    def size(self) -> int:
        return sum(len(c.encoded().encode("utf-8")) + 1 for c in self.calls)


@dataclass
class WorkerStats:
    """What ``/metrics`` and ``relay status`` show of a worker."""

    visible: int | None = None
    in_flight: int | None = None
    oldest_age: float = 0.0
    """Seconds since the oldest message of the last non-empty receive was put on the queue
    (0 after an empty receive): a stand-in for CloudWatch's ApproximateAgeOfOldestMessage."""
    depth_at: float = 0.0
    last_receive_at: float = 0.0
    extra: dict[str, int] = field(default_factory=dict)


class _Keeper:
    """Extends the visibility timeout of the messages a worker holds, until it lets them go."""

    def __init__(self, queue: Queue, visibility: int) -> None:
        self._queue = queue
        self.visibility = max(2, visibility)
        self._held: dict[str, Message] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sqs-visibility", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def hold(self, messages: Sequence[Message]) -> None:
        with self._lock:
            self._held.update((m.message_id, m) for m in messages)

    def release(self, messages: Sequence[Message]) -> None:
        with self._lock:
            for m in messages:
                self._held.pop(m.message_id, None)

    def _run(self) -> None:
        # A third of the timeout: two extensions can fail before another worker may take them.
        while not self._stop.wait(self.visibility / 3):
            with self._lock:
                held = list(self._held.values())
            if not held:
                continue
            try:
                self._queue.hide(held, self.visibility)
            except QueueUnavailable as err:
                log.warning("Could not extend the visibility of %d message(s): %s", len(held), err)


class Worker:
    """Consumes one queue until :meth:`stop`; :meth:`run` blocks."""

    def __init__(
        self,
        queue: Queue,
        info: QueueInfo,
        renderer: EventRenderer,
        client: BatchSender,
        outbox: Outbox,
        metrics: Metrics,
        *,
        integration_ids: frozenset[str] = frozenset(),
        wait_seconds: int = 20,
        park_after: int = PARK_AFTER_RECEIVES,
        backoff_first: float = BACKOFF_FIRST,
        backoff_cap: float = BACKOFF_CAP,
        on_handed_over: Callable[[], None] | None = None,
        stats: WorkerStats | None = None,
    ) -> None:
        """``integration_ids``: the Commerce integrations whose events are ours (empty: any);
        ``on_handed_over``: called after calls were put in the outbox (wakes its sender);
        ``stats``: shared by the workers of one process."""
        self.queue = queue
        self.info = info
        self.renderer = renderer
        self.client = client
        self.outbox = outbox
        self.metrics = metrics
        self.integration_ids = integration_ids
        self.wait_seconds = wait_seconds
        self.park_after = park_after
        self.backoff_first = backoff_first
        self.backoff_cap = backoff_cap
        self.on_handed_over = on_handed_over
        self.stats = stats if stats is not None else WorkerStats()
        self.keeper = _Keeper(queue, info.visibility_timeout)
        self._stopping = threading.Event()
        self._failures = 0
        self._paused_until = 0.0

    # -- running ------------------------------------------------------------------------------

    def stop(self) -> None:
        """Finish the messages in hand, then return from :meth:`run`."""
        self._stopping.set()

    @property
    def stopping(self) -> bool:
        return self._stopping.is_set()

    def run(self) -> None:
        self.keeper.start()
        try:
            while not self._stopping.is_set():
                pause = self._paused_until - time.time()
                if pause > 0:
                    self._stopping.wait(pause)
                    continue
                try:
                    self.step()
                except QueueUnavailable as err:
                    log.warning("%s; trying again", err)
                    self._pause()
                except Exception:  # the outbox unwritable, a bug: nothing was deleted
                    log.exception("Handling SQS messages failed; they return to the queue")
                    self._pause()
        finally:
            self.keeper.stop()

    def step(self) -> int:
        """Receive once and handle what came; returns how many messages."""
        messages = self.queue.receive(self.wait_seconds, self.keeper.visibility)
        now = time.time()
        self.stats.last_receive_at = now
        self.stats.oldest_age = max(0.0, now - min(m.sent_at for m in messages)) if messages else 0
        if not messages:
            return 0
        self.keeper.hold(messages)
        try:
            self.handle(messages)
        finally:
            self.keeper.release(messages)
        return len(messages)

    # -- one batch of messages ----------------------------------------------------------------

    def handle(self, messages: Sequence[Message]) -> None:
        done: list[Message] = []
        work: list[_Work] = []
        failed: list[_Work | Message] = []
        parked: list[EventRecord] = []
        for message in messages:
            try:
                item = self._prepare(message, parked)
            except Exception as exc:  # a bug or an engine crash: keep the message for a retry
                log.exception("Could not render SQS message %s", message.message_id)
                if self._last_try(message):
                    reason = f"Rendering failed unexpectedly ({type(exc).__name__}: {exc})."
                    parked.append(_park_message(message, reason))
                    done.append(message)
                else:
                    self._failures += 1
                    self._pause()
                    failed.append(message)
                continue
            if item is None:
                done.append(message)
            else:
                work.append(item)
        handed: list[_Work] = []
        for group in _groups(work):
            self._send(group, done, handed, failed)
        self._keep_failed(failed, handed, done)
        # Handed-over calls are filed under the message too: the event's own id may be taken
        # by its template errors (kept under it for `relay replay`, which needs the event's id).
        records = parked + [
            EventRecord(
                f"{w.event.event.id}/sqs/{w.message.message_id}",
                w.event.event.triggered_by,
                {},
                w.calls,
            )
            for w in handed
        ]
        if records:
            self.outbox.record(records)  # raises: nothing is deleted, the messages come back
            if handed and self.on_handed_over is not None:
                self.on_handed_over()
        if done:
            missed = self.queue.delete(done)
            if missed:
                log.warning("SQS did not delete %d message(s); they will come back", len(missed))

    def _prepare(self, message: Message, parked: list[EventRecord]) -> _Work | None:
        """The message's calls to send, or None when nothing is to be sent (done with it)."""
        try:
            queued = parse_cloudevent_text(message.body, message.receive_count)
        except EventError as err:
            parked.append(_park_message(message, str(err)))
            self.metrics.add("invalid")
            log.error("Parked SQS message %s: %s", message.message_id, err)
            return None
        if self.integration_ids and queued.integration_id not in self.integration_ids:
            reason = (
                f"This {queued.event.triggered_by} event comes from the Commerce integration "
                f"{queued.integration_id or '(none named)'}, not from one Segment Desktop "
                "registered for this queue; it was not sent. Point that integration at another "
                "queue, or register again if it should be ours."
            )
            parked.append(_park_message(message, reason, queued.event.triggered_by))
            self.metrics.add("invalid")
            log.error("Parked SQS message %s: %s", message.message_id, reason)
            return None
        event = queued.event
        self.metrics.add("received")
        keys = self.renderer.keys_for(event.triggered_by)
        if not keys:
            self.metrics.add("ignored")
            return None
        rendered = self.renderer.render(event, keys)
        self.metrics.add("rendered", len(rendered.calls))
        if rendered.failures:
            self.metrics.add("template_errors", len(rendered.failures))
            log.warning(
                "Template error for %s %s: %s (kept; fix the template, then `relay replay`)",
                event.triggered_by,
                event.id,
                ", ".join(f.template_key for f in rendered.failures),
            )
            parked.append(
                EventRecord(event.id, event.triggered_by, event.body, (), rendered.failures)
            )
        if not rendered.calls:
            return None
        return _Work(message, queued, list(rendered.calls))

    def _send(
        self,
        group: list[_Work],
        done: list[Message],
        handed: list[_Work],
        failed: list[_Work | Message],
    ) -> None:
        texts = [call.encoded() for item in group for call in item.calls]
        try:
            outcome = self.client.send_encoded_batch(texts)
            status, code = str(outcome.status), getattr(outcome, "status_code", None)
            reason = str(getattr(outcome, "reason", "") or "")
            retry_after = getattr(outcome, "retry_after", None)
        except CallRejectedError as err:
            status, code, reason, retry_after = "rejected", 413, str(err), None
        except Exception as exc:  # an unexpected library error: keep the messages
            log.exception("Sending a batch to Segment failed unexpectedly")
            status, code, reason, retry_after = "failed", None, type(exc).__name__, None
        if status == "sent":
            self.metrics.add("sent", len(texts))
            self._failures = 0
            done.extend(item.message for item in group)
            return
        if status == "rejected" and code in SPLITTABLE:
            if len(group) > 1:
                half = len(group) // 2
                self._send(group[:half], done, handed, failed)
                self._send(group[half:], done, handed, failed)
                return
            # One message's calls refused for their content: the outbox's sender sends them
            # one batch at a time, splitting, and parks what Segment refuses, with its reason.
            log.warning("Segment refused the calls of SQS message %s: %s",
                        group[0].message.message_id, reason)  # fmt: skip
            handed.extend(group)
            done.extend(item.message for item in group)
            return
        self.metrics.add("retried", len(texts))
        self._failures += 1
        log.warning(
            "Segment did not take %d call(s) (%s); the messages stay on the queue",
            len(texts),
            reason or "no answer",
        )
        self._pause(retry_after)
        failed.extend(group)

    def _keep_failed(
        self, failed: list[_Work | Message], handed: list[_Work], done: list[Message]
    ) -> None:
        """Leave failed messages on the queue for a backoff, or hand over those that keep
        failing on a queue without a dead-letter queue."""
        again: list[Message] = []
        for item in failed:
            message = item.message if isinstance(item, _Work) else item
            if self._last_try(message) and isinstance(item, _Work):
                log.warning(
                    "SQS message %s failed %d times; its calls go to the local outbox",
                    message.message_id,
                    message.receive_count,
                )
                handed.append(item)
                done.append(message)
                continue
            if (
                self.info.max_receives is not None
                and message.receive_count >= self.info.max_receives
            ):
                log.warning(
                    "SQS message %s failed on its last receive (%d); the queue moves it to its "
                    "dead-letter queue %s",
                    message.message_id,
                    message.receive_count,
                    self.info.dead_letter_arn,
                )
            again.append(message)
        if again:
            delay = max(0, int(self._paused_until - time.time()))
            try:
                self.queue.hide(again, delay)
            except QueueUnavailable as err:  # they come back when their timeout ends anyway
                log.warning("Could not set the retry delay of %d message(s): %s", len(again), err)

    def _last_try(self, message: Message) -> bool:
        """A queue without a dead-letter queue, and the message failed often enough."""
        return self.info.max_receives is None and message.receive_count >= self.park_after

    def _pause(self, retry_after: float | None = None) -> None:
        failures = max(1, self._failures)
        exponential = min(self.backoff_cap, self.backoff_first * 2 ** (failures - 1))
        delay = random.uniform(exponential / 2, exponential)  # jitter, not crypto
        if retry_after is not None:
            delay = max(delay, min(float(retry_after), self.backoff_cap))
        self._paused_until = max(self._paused_until, time.time() + delay)

    # -- the queue's depth --------------------------------------------------------------------

    def refresh_depth(self) -> None:
        """Read the queue's approximate depth (for ``/metrics`` and ``relay status``)."""
        depth = self.queue.depth()
        self.stats.visible, self.stats.in_flight = depth.visible, depth.in_flight
        self.stats.depth_at = time.time()


def _park_message(message: Message, reason: str, trigger: str = "(not an event)") -> EventRecord:
    """An outbox record keeping a message that is not a usable event, with the reason.

    Filed under the queue's message id; its body is the message as received, which ``relay
    replay`` cannot render, so it stays parked (with this reason) until the user deals with it.
    """
    body = {"sqs_message_id": message.message_id, "sqs_message_body": message.body}
    error = {"code": "UnusableMessage", "message": reason, "line": None, "column": None}
    failure = TemplateFailure(MESSAGE_KEY, error)
    return EventRecord(f"sqs:{message.message_id}", trigger, body, (), (failure,))


def _groups(work: Sequence[_Work]) -> list[list[_Work]]:
    """Messages in batches within Segment's byte budget; a message's calls stay together."""
    groups: list[list[_Work]] = []
    current: list[_Work] = []
    used = 0
    for item in work:
        size = item.size
        if current and used + size > BATCH_BYTES:
            groups.append(current)
            current, used = [], 0
        current.append(item)
        used += size
    if current:
        groups.append(current)
    return groups
