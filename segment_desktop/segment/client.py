"""Client for Segment's tracking API: batches within the limits, retries, a connection check.

Nothing is dropped silently. :meth:`SegmentClient.send` answers with a
:class:`~segment_desktop.segment.reports.SendReport` that accounts for every call given: sent,
rejected by Segment (a 4xx other than 408/429: never retried, the reason kept), failed after
retries (408, 429, 5xx, network: the caller keeps these and tries later), or refused before
sending (a call over Segment's per-call limit).

Segment answers 200 to almost anything, including an unknown write key, so
:meth:`SegmentClient.check_connection` proves only what can be proved (the host answers, the path
behaves like Segment, the key has the usual shape) and says so.
"""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from types import TracebackType
from typing import Any

import httpx

from segment_desktop import __version__
from segment_desktop.core.errors import CallRejectedError, InvalidURLError, ServiceError
from segment_desktop.core.jsontext import compact_json
from segment_desktop.core.spec import MAX_CALL_BYTES, call_size
from segment_desktop.http_util import (
    DEFAULT_TIMEOUT,
    Retry,
    RetryPolicy,
    host_label,
    network_error,
    parse_http_url,
    parse_retry_after,
    short_body,
    with_retries,
)
from segment_desktop.segment.batches import BatchLimits, batch_ranges, oversize_reason, plan_batches
from segment_desktop.segment.reports import (
    NOT_PROOF,
    TEST_EVENT_NAME,
    BatchOutcome,
    Check,
    ConnectionReport,
    RefusedCall,
    SendReport,
)

log = logging.getLogger(__name__)

SERVICE = "Segment"
DEFAULT_HOST = "https://api.segment.io"
DEFAULT_PATH = "/v1/batch"
RETRYABLE_STATUSES = frozenset({408, 429})
LIBRARY = {"name": "segment-desktop", "version": __version__}
WRITE_KEY_SHAPE = re.compile(r"[A-Za-z0-9]{32}")

__all__ = ["NOT_PROOF", "TEST_EVENT_NAME", "SegmentClient", "connection_test_call", "iso_now"]


def _compact(value: object) -> bytes:
    return compact_json(value).encode("utf-8")


def segment_endpoint(host: str, path: str = DEFAULT_PATH) -> httpx.URL:
    """The batch URL for a host and path; https required except for this computer.

    A pasted full endpoint (``https://api.segment.io/v1/batch``) in ``host`` is accepted.
    Raises ``InvalidURLError``.
    """
    parsed = parse_http_url(host, service=SERVICE, what="Segment host")
    path = path.strip() or DEFAULT_PATH
    if not path.startswith("/"):
        raise InvalidURLError(
            f"The Segment path must start with '/', such as {DEFAULT_PATH}.", service=SERVICE
        )
    host_path = parsed.path.rstrip("/")
    if host_path and host_path != path.rstrip("/"):
        raise InvalidURLError(
            f"Enter only the Segment host, such as {DEFAULT_HOST} (without {host_path}); the "
            "path is a separate setting.",
            service=SERVICE,
        )
    return parsed.copy_with(path=path, query=None, fragment=None)


class SegmentClient:
    """Sends calls to Segment's batch endpoint. Use as a context manager, or ``close()``.

    ``sleep`` and ``jitter`` are injectable so tests (and the relay's shutdown) need not wait.
    """

    def __init__(
        self,
        host: str = DEFAULT_HOST,
        path: str = DEFAULT_PATH,
        write_key: str = "",
        *,
        timeout: httpx.Timeout = DEFAULT_TIMEOUT,
        max_attempts: int = 5,
        backoff_base: float = 0.5,
        backoff_cap: float = 30.0,
        max_retry_after: float = 60.0,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.url = segment_endpoint(host, path)
        self._write_key = write_key.strip()
        if not self._write_key:
            raise ServiceError(
                "No Segment write key is set. Copy it from your Segment source's settings "
                "(Settings › API Keys).",
                service=SERVICE,
            )
        self.max_attempts = max(1, max_attempts)
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self.max_retry_after = max_retry_after
        self._sleep = sleep
        self._http = httpx.Client(
            timeout=timeout,
            transport=transport,
            auth=httpx.BasicAuth(self._write_key, ""),
            headers={"User-Agent": f"segment-desktop/{__version__}"},
            follow_redirects=False,
        )

    def __repr__(self) -> str:
        return f"<SegmentClient {self.url}>"

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> SegmentClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- sending ------------------------------------------------------------------------------

    def _body(self, calls: Sequence[dict[str, Any]]) -> bytes:
        return _compact({"batch": list(calls), "sentAt": iso_now(), "writeKey": self._write_key})

    def _redact(self, text: str) -> str:
        return text.replace(self._write_key, "[write key]") if self._write_key else text

    def _post(self, body: bytes) -> httpx.Response:
        return self._http.post(self.url, content=body, headers={"Content-Type": "application/json"})

    def send_batch(self, calls: Sequence[dict[str, Any]]) -> BatchOutcome:
        """Send one batch (it must fit the limits: see :func:`plan_batches`), retrying 408,
        429 (after ``Retry-After``), 5xx and network errors with capped, jittered backoff."""
        calls = list(calls)
        self._check_fits([call_size(call) for call in calls], lambda i: calls[i])
        return self._send(lambda: self._body(calls), calls, len(calls))

    def send_encoded_batch(self, calls_json: Sequence[str]) -> BatchOutcome:
        """:meth:`send_batch` for calls already encoded as compact JSON objects.

        The relay's outbox keeps calls encoded: they go out as they are, not decoded and
        encoded again. The outcome's ``calls`` is empty; the caller knows which calls it sent.
        """
        encoded = [text.encode("utf-8") for text in calls_json]
        self._check_fits([len(data) for data in encoded], lambda i: json.loads(encoded[i]))
        joined = b'{"batch":[' + b",".join(encoded) + b"],"

        def body() -> bytes:  # sentAt is the time of each attempt
            return joined + _compact({"sentAt": iso_now(), "writeKey": self._write_key})[1:]

        return self._send(body, [], len(encoded))

    @staticmethod
    def _check_fits(sizes: list[int], call: Callable[[int], dict[str, Any]]) -> None:
        """Raise ``CallRejectedError`` unless the calls of these sizes make one sendable batch."""
        for index, size in enumerate(sizes):
            if size > MAX_CALL_BYTES:
                raise CallRejectedError(oversize_reason(call(index), size))
        if len(batch_ranges(sizes)) > 1:
            limits = BatchLimits()
            raise CallRejectedError(
                f"{len(sizes):,} calls do not fit one Segment batch (at most "
                f"{limits.calls:,} calls and {limits.bytes:,} bytes); use send()."
            )

    def _send(
        self, body: Callable[[], bytes], calls: list[dict[str, Any]], count: int
    ) -> BatchOutcome:
        def once(attempt: int) -> BatchOutcome | Retry[BatchOutcome]:
            try:
                response = self._post(body())
            except httpx.TransportError as err:
                reason = str(network_error(err, service=SERVICE, host=host_label(self.url)))
                return Retry(BatchOutcome("failed", calls, None, reason, attempt), reason)
            status_code = response.status_code
            if 200 <= status_code < 300:
                return BatchOutcome("sent", calls, status_code, "", attempt)
            reason = self._redact(f"{status_code} {short_body(response)}".strip())
            if not (status_code in RETRYABLE_STATUSES or status_code >= 500):
                log.warning("Segment rejected a batch of %d calls: %s", count, reason)
                return BatchOutcome("rejected", calls, status_code, reason, attempt)
            wait = parse_retry_after(response.headers.get("retry-after"))
            failed = BatchOutcome("failed", calls, status_code, reason, attempt, wait)
            return Retry(failed, reason, wait)

        policy = RetryPolicy(
            self.max_attempts,
            self.backoff_base,
            self.backoff_cap,
            self._sleep,
            max_retry_after=self.max_retry_after,
        )
        outcome = with_retries(once, policy, service=SERVICE)
        if not isinstance(outcome, Retry):
            return outcome
        failed = outcome.failure
        wait = failed.retry_after
        if wait is not None and wait > self.max_retry_after:
            reason = f"{failed.reason} (Segment asked to wait {wait:g} s)"
            failed = BatchOutcome(
                "failed", calls, failed.status_code, reason, failed.attempts, wait
            )
        log.warning("Segment batch not delivered after %d attempts: %s", failed.attempts,
                    failed.reason)  # fmt: skip
        return failed

    def send(self, calls: Iterable[dict[str, Any]]) -> SendReport:
        """Send any number of calls in as few batches as the limits allow.

        Calls over Segment's per-call limit are refused up front (listed in ``refused``) and the
        rest still go. When a batch cannot be delivered for now (retries exhausted), the batches
        after it are not tried (Segment is down or unreachable: they would fail the same way)
        and are reported as failed too, so the caller keeps every one of them.
        """
        report = SendReport()
        sendable: list[dict[str, Any]] = []
        for call in calls:
            size = call_size(call)
            if size > MAX_CALL_BYTES:
                report.refused.append(RefusedCall(call, oversize_reason(call, size)))
            else:
                sendable.append(call)
        batches = plan_batches(sendable)
        for index, batch in enumerate(batches):
            outcome = self.send_batch(batch)
            report.outcomes.append(outcome)
            if outcome.status == "failed":
                skipped = f"not tried: an earlier batch could not be delivered ({outcome.reason})"
                report.outcomes.extend(
                    BatchOutcome("failed", later, None, skipped, 0, outcome.retry_after)
                    for later in batches[index + 1 :]
                )
                break
        return report

    # -- checking -----------------------------------------------------------------------------

    def check_connection(self) -> ConnectionReport:
        """Prove what can be proved without sending data: see :class:`ConnectionReport`."""
        checks: list[Check] = []
        url = str(self.url)
        host = host_label(self.url)
        try:
            response = self._post(self._body([]))
        except httpx.TransportError as err:
            message = str(network_error(err, service=SERVICE, host=host))
            checks.append(Check("reach", "error", message))
            checks.append(self._key_check())
            return ConnectionReport(url, False, False, None, checks)
        checks.append(Check("reach", "ok", f"Reached {host}: DNS, TLS and any proxy work."))
        status = response.status_code
        like_segment = False
        if status == 200:
            try:
                body = response.json()
            except (ValueError, UnicodeDecodeError):
                body = None
            like_segment = isinstance(body, dict) and body.get("success") is True
            if like_segment:
                checks.append(Check("path", "ok", f"{self.url.path} answered like Segment."))
            else:
                checks.append(
                    Check(
                        "path",
                        "error",
                        f"{self.url.path} answered 200 but not like Segment (expected "
                        '{"success": true}). A proxy or captive portal may be in the way, or '
                        "the host or path is not Segment's.",
                    )
                )
        else:
            checks.append(Check("path", "error", self._path_problem(response)))
        checks.append(self._key_check())
        return ConnectionReport(url, True, like_segment, status, checks)

    def _path_problem(self, response: httpx.Response) -> str:
        status = response.status_code
        said = self._redact(short_body(response, 200))
        said = f' It said: "{said}".' if said else ""
        if status == 404:
            return (
                f"{self.url.path} does not exist on {host_label(self.url)} (404). Segment's "
                f"path is {DEFAULT_PATH}.{said}"
            )
        if status in (401, 403):
            return (
                f"Segment refused the write key ({status}). An EU workspace's key must go to "
                f"https://events.eu1.segmentapis.com, a US one to {DEFAULT_HOST}.{said}"
            )
        if status == 429 or status >= 500:
            return f"Segment is busy or failing ({status}); try again in a few minutes.{said}"
        if 300 <= status < 400:
            where = response.headers.get("location", "elsewhere")
            return f"{self.url} redirects to {where}; enter that address instead.{said}"
        return f"{self.url.path} answered {status}, not like Segment.{said}"

    def _key_check(self) -> Check:
        key = self._write_key
        if WRITE_KEY_SHAPE.fullmatch(key):
            return Check(
                "write_key", "ok", "The write key has the usual shape (32 letters and digits)."
            )
        return Check(
            "write_key",
            "warning",
            f"The write key is {len(key)} characters long; Segment write keys are usually 32 "
            "letters and digits. Check that you copied the whole key from the source's "
            "settings (not its source ID or a workspace token).",
        )

    def send_test_event(self, user_id: str = "segment-desktop-test") -> BatchOutcome:
        """Send one clearly named ``track`` call to look for in Segment's Debugger."""
        call = connection_test_call(user_id)
        return self.send_batch([call])


def connection_test_call(user_id: str = "segment-desktop-test") -> dict[str, Any]:
    """The connection-test ``track`` call, with its own messageId and the current time."""
    return {
        "type": "track",
        "event": TEST_EVENT_NAME,
        "userId": user_id,
        "messageId": f"segment-desktop-test-{uuid.uuid4()}",
        "timestamp": iso_now(),
        "properties": {
            "description": "Sent by Segment Desktop to check the connection. Safe to ignore.",
        },
        "context": {"library": dict(LIBRARY)},
    }


def iso_now() -> str:
    """The current UTC time as ISO-8601 with milliseconds and a ``Z``."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
