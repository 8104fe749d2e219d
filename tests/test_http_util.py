"""The shared HTTP helpers: Retry-After, backoff, loopback rules; and no secret in any log."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest

from segment_desktop.commerce import CommerceClient
from segment_desktop.core.errors import AuthenticationError, RateLimitedError
from segment_desktop.http_util import (
    Retry,
    RetryPolicy,
    backoff_delay,
    is_loopback,
    parse_retry_after,
    with_retries,
)
from segment_desktop.sandbox.runner import Sandbox
from segment_desktop.segment import SegmentClient

NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        ("120", 120.0),
        (" 1.5 ", 1.5),
        ("-3", 0.0),
        (format_datetime(NOW + timedelta(seconds=30), usegmt=True), 30.0),
        (format_datetime(NOW - timedelta(seconds=30), usegmt=True), 0.0),
        ("soon", None),
        ("", None),
        (None, None),
        ("nan", None),
    ],
)
def test_retry_after_in_seconds_or_as_a_date(header: str | None, seconds: float | None) -> None:
    assert parse_retry_after(header, now=NOW) == seconds


def test_with_retries_tries_until_a_result_or_the_last_attempt() -> None:
    sleeps: list[float] = []
    answers: list[str | Retry[str]] = [Retry("busy", "503"), Retry("busy", "503"), "done"]
    policy = RetryPolicy(max_attempts=3, base=0.1, cap=1.0, sleep=sleeps.append)
    assert with_retries(lambda attempt: answers[attempt - 1], policy, service="Test") == "done"
    assert len(sleeps) == 2 and all(0.05 <= s <= 1.0 for s in sleeps)

    failing = RetryPolicy(max_attempts=2, base=0.1, cap=1.0, sleep=sleeps.append)
    last = with_retries(lambda attempt: Retry(f"failure {attempt}", "500"), failing, service="T")
    assert isinstance(last, Retry) and last.failure == "failure 2"


def test_with_retries_waits_all_a_server_asks_up_to_a_bound_then_gives_up() -> None:
    sleeps: list[float] = []
    bounded = RetryPolicy(3, 0.1, 1.0, sleeps.append, max_retry_after=60.0)
    answers: list[str | Retry[str]] = [Retry("slow down", "429", retry_after=5.0), "done"]
    assert with_retries(lambda n: answers[n - 1], bounded, service="Segment") == "done"
    assert sleeps == [5.0]  # beyond the backoff cap: the server's wait wins
    too_long = with_retries(
        lambda n: Retry("later", "429", retry_after=600.0), bounded, service="S"
    )
    assert isinstance(too_long, Retry) and sleeps == [5.0]  # no wait: given back at once

    capped: list[float] = []
    unbounded = RetryPolicy(2, 0.1, 1.0, capped.append)
    answers = [Retry("slow down", "429", retry_after=5.0), "done"]
    assert with_retries(lambda n: answers[n - 1], unbounded, service="Commerce") == "done"
    assert capped == [1.0]  # without a bound the wait is capped


def test_backoff_grows_is_jittered_and_capped() -> None:
    low = [backoff_delay(n, base=1.0, cap=8.0, jitter=lambda: 0.0) for n in range(1, 7)]
    high = [backoff_delay(n, base=1.0, cap=8.0, jitter=lambda: 1.0) for n in range(1, 7)]
    assert high == [1.0, 2.0, 4.0, 8.0, 8.0, 8.0]
    assert low == [h / 2 for h in high]


def test_retry_after_wins_when_longer_but_stays_capped() -> None:
    assert backoff_delay(1, base=0.1, cap=30.0, retry_after=5.0, jitter=lambda: 0.0) == 5.0
    assert backoff_delay(1, base=0.1, cap=30.0, retry_after=999.0, jitter=lambda: 0.0) == 30.0


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.8.9.10", True),
        ("localhost", True),
        ("::1", True),
        ("[::1]", True),
        ("10.0.0.1", False),
        ("api.segment.io", False),
        ("localhost.example.com", False),
    ],
)
def test_loopback_hosts(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


def test_commerce_429_with_an_http_date_retry_after() -> None:
    later = format_datetime(datetime.now(UTC) + timedelta(seconds=40), usegmt=True)

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/oauth/access_token":
            return httpx.Response(200, json={"access_token": "t", "expires_in": 3600})
        return httpx.Response(429, headers={"Retry-After": later}, json={"errors": []})

    with (
        CommerceClient(
            "https://x.example", "id", "sec", transport=httpx.MockTransport(handler), max_retries=0
        ) as client,
        pytest.raises(RateLimitedError) as caught,
    ):
        client.list_integrations()
    assert caught.value.retry_after is not None and 35 <= caught.value.retry_after <= 40


def test_no_secret_or_token_reaches_a_log(
    sandbox: Sandbox, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    with CommerceClient(
        sandbox.commerce_url, sandbox.client_id, sandbox.client_secret, backoff_base=0.0
    ) as client:
        sandbox.commerce.faults.server_error(prefix="/v2/", count=1)
        client.list_integrations()
        sandbox.commerce.revoke_tokens()
        client.list_integrations()
        token = client.auth._token_value()
    wrong = "wrong-secret-for-the-log-test-77"
    with (
        CommerceClient(sandbox.commerce_url, sandbox.client_id, wrong) as client,
        pytest.raises(AuthenticationError),
    ):
        client.authenticate()
    with SegmentClient(sandbox.segment_url, write_key=sandbox.write_key) as segment:
        sandbox.segment.faults.server_error(prefix="/v1", count=1)
        segment.backoff_base = 0.0
        assert segment.send_batch([{"type": "track", "userId": "u", "event": "E"}]).ok
    text = caplog.text
    assert caplog.records  # the retries and requests were logged at all
    for secret in (sandbox.client_secret, token, wrong, sandbox.write_key):
        assert secret not in text
