"""Splitting calls into Segment batches: the one place that decides what goes together.

Segment's limits are the figures in :mod:`segment_desktop.core.spec` (docs/API_FACTS.md gives
their source). The Segment client plans batches of call objects here, and the relay's sender
plans batches of stored, already encoded calls with the same function.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from segment_desktop.core.spec import MAX_BATCH_BYTES, MAX_BATCH_CALLS, MAX_CALL_BYTES, call_size

#: Room kept in each batch for ``{"batch":[…],"sentAt":"…","writeKey":"…"}`` around the calls.
ENVELOPE_RESERVE = 512


@dataclass(frozen=True)
class BatchLimits:
    """The most one batch may hold: calls, and bytes of the whole request body."""

    calls: int = MAX_BATCH_CALLS
    bytes: int = MAX_BATCH_BYTES

    @property
    def budget(self) -> int:
        """Bytes left for the calls and the commas between them."""
        return self.bytes - ENVELOPE_RESERVE


SEGMENT_LIMITS = BatchLimits()


def batch_ranges(sizes: Sequence[int], limits: BatchLimits = SEGMENT_LIMITS) -> list[range]:
    """Consecutive index ranges of ``sizes`` (bytes of each encoded call), as few as fit.

    Each range holds at most ``limits.calls`` calls whose sizes, with a comma between each two,
    fit ``limits.budget``. A call over Segment's per-call limit goes in a range of its own, so
    that its refusal touches nothing else.
    """
    ranges: list[range] = []
    start, used = 0, 0
    for index, size in enumerate(sizes):
        alone = size > MAX_CALL_BYTES
        cost = size + (1 if index > start else 0)  # the comma between calls
        full = index - start >= limits.calls or used + cost > limits.budget
        if index > start and (alone or full or sizes[index - 1] > MAX_CALL_BYTES):
            ranges.append(range(start, index))
            start, used, cost = index, 0, size
        used += cost
    if start < len(sizes):
        ranges.append(range(start, len(sizes)))
    return ranges


def plan_batches(
    calls: Sequence[dict[str, Any]], limits: BatchLimits = SEGMENT_LIMITS
) -> list[list[dict[str, Any]]]:
    """Split ``calls``, in order, into as few batches as fit: see :func:`batch_ranges`."""
    ranges = batch_ranges([call_size(call) for call in calls], limits)
    return [list(calls[r.start : r.stop]) for r in ranges]


def describe_call(call: dict[str, Any]) -> str:
    message_id = call.get("messageId")
    return f"messageId {message_id!r}" if message_id else "a call without messageId"


def oversize_reason(call: dict[str, Any], size: int | None = None) -> str:
    size = call_size(call) if size is None else size
    return (
        f"The Segment call with {describe_call(call)} is {size:,} bytes; Segment accepts at "
        f"most {MAX_CALL_BYTES:,} bytes per call. Shorten it (fewer properties or products) in "
        "its template."
    )
