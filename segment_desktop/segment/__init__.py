"""Client for Segment's tracking API (HTTP, ``/v1/batch``).

Modules:

``client``
    :class:`SegmentClient`: sends calls in batches with retries, checks a connection, sends a
    test event.
``batches``
    :func:`plan_batches` / :func:`batch_ranges`: the one place that splits calls into batches
    within Segment's size limits (shared with the relay's sender).
``reports``
    what sending and checking answer: :class:`SendReport`, :class:`BatchOutcome`,
    :class:`ConnectionReport`.
"""

from segment_desktop.segment.batches import (
    ENVELOPE_RESERVE,
    SEGMENT_LIMITS,
    BatchLimits,
    batch_ranges,
    oversize_reason,
    plan_batches,
)
from segment_desktop.segment.client import (
    DEFAULT_HOST,
    DEFAULT_PATH,
    LIBRARY,
    SERVICE,
    SegmentClient,
    connection_test_call,
    iso_now,
    segment_endpoint,
)
from segment_desktop.segment.reports import (
    NOT_PROOF,
    TEST_EVENT_NAME,
    BatchOutcome,
    Check,
    ConnectionReport,
    RefusedCall,
    SendReport,
)

__all__ = [
    "DEFAULT_HOST",
    "DEFAULT_PATH",
    "ENVELOPE_RESERVE",
    "LIBRARY",
    "NOT_PROOF",
    "SEGMENT_LIMITS",
    "SERVICE",
    "TEST_EVENT_NAME",
    "BatchLimits",
    "BatchOutcome",
    "Check",
    "ConnectionReport",
    "RefusedCall",
    "SegmentClient",
    "SendReport",
    "batch_ranges",
    "connection_test_call",
    "iso_now",
    "oversize_reason",
    "plan_batches",
    "segment_endpoint",
]
