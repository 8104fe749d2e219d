"""Helpers shared by the Commerce and Segment clients: URL rules, retries, network errors.

Kept free of any one service's vocabulary: each client passes its ``service`` name ("Commerce",
"Segment") so messages say who could not be reached.
"""

from __future__ import annotations

import ipaddress
import logging
import random
import socket
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Generic, TypeVar

import httpx

from segment_desktop.core.errors import InvalidURLError, NetworkError

log = logging.getLogger(__name__)

F = TypeVar("F")
R = TypeVar("R")

LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain"})

#: ``httpx.Timeout`` the clients use unless told otherwise: fail fast on connect, allow slow reads.
DEFAULT_TIMEOUT = httpx.Timeout(15.0, connect=5.0)


#: Told before each retry: the number of the try about to start (2 for the first retry) and
#: the seconds waited since the first one started, so a person waiting can see progress.
AttemptListener = Callable[[int, float], None]


@dataclass(frozen=True)
class Patience:
    """How long a person watching a connection test is kept waiting: a few tries with short
    timeouts, no retry that would start after ``deadline`` seconds (so, with ``timeout``, the
    test gives up within about 20 seconds), and none for a host that does not resolve or
    refuses the connection (no retry changes that soon, and it is likely a typo)."""

    max_attempts: int = 3
    deadline: float = 12.0
    retry_unreachable: bool = False
    timeout: httpx.Timeout = field(default_factory=lambda: httpx.Timeout(8.0, connect=5.0))


INTERACTIVE = Patience()


def is_unreachable(error: BaseException) -> bool:
    """A host name that does not resolve, or a connection refused (an httpx error)."""
    return any(isinstance(e, socket.gaierror | ConnectionRefusedError) for e in _root_causes(error))


def is_loopback(host: str) -> bool:
    """Whether ``host`` (a name or an IP literal, brackets allowed) is this machine."""
    host = host.strip("[]").lower()
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def parse_http_url(url: str, *, service: str, what: str) -> httpx.URL:
    """``url`` parsed and checked: http(s) with a host; plain http only for loopback hosts.

    ``what`` names the setting in messages ("Commerce API URL"). Raises ``InvalidURLError``.
    """
    text = url.strip()
    if not text:
        raise InvalidURLError(
            f"The {what} is empty. Enter a URL starting with https://.", service=service
        )
    if "://" not in text:
        text = "https://" + text  # "euwest.api.elasticpath.com" is what people paste
    try:
        parsed = httpx.URL(text)
    except httpx.InvalidURL as err:
        raise InvalidURLError(
            f"The {what} {url.strip()!r} is not a valid URL ({err}).", service=service
        ) from None
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise InvalidURLError(
            f"The {what} {url.strip()!r} is not an http(s) address with a host name.",
            service=service,
        )
    if parsed.scheme == "http" and not is_loopback(parsed.host):
        raise InvalidURLError(
            f"The {what} must use https:// (plain http:// would send credentials unencrypted); "
            f"only this computer (127.0.0.1, localhost) may use http://. "
            f"Try https://{parsed.netloc.decode('ascii')}{parsed.path.rstrip('/')}.",
            service=service,
        )
    if parsed.userinfo:
        raise InvalidURLError(
            f"The {what} must not contain a user name or password.", service=service
        )
    return parsed


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or an HTTP date).

    ``None`` when the header is absent or unreadable; never negative.
    """
    if value is None:
        return None
    value = value.strip()
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            moment = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        seconds = (moment - (now or datetime.now(UTC))).total_seconds()
    if seconds != seconds or seconds in (float("inf"), float("-inf")):  # NaN, infinities
        return None
    return max(0.0, seconds)


def backoff_delay(
    attempt: int,
    *,
    base: float,
    cap: float,
    retry_after: float | None = None,
    jitter: Callable[[], float] = random.random,
) -> float:
    """Seconds to wait before retry number ``attempt`` (1 for the first retry).

    Capped exponential backoff with "full jitter" (a random share of ``base * 2**(attempt-1)``,
    at most ``cap``) so that many clients do not retry in step. A server's ``Retry-After``
    wins when it asks for longer; it is still capped so a bogus header cannot stall us.
    """
    exponential: float = min(cap, base * (2.0 ** max(0, attempt - 1)))
    delay = exponential * (0.5 + 0.5 * jitter())
    if retry_after is not None:
        delay = max(delay, min(retry_after, max(cap, 0.0)))
    return max(0.0, delay)


@dataclass(frozen=True)
class Retry(Generic[F]):
    """One try's answer when the request may be tried again: why it failed, and for how long
    the server asked us to wait. ``failure`` is what the caller reports when retries run out."""

    failure: F
    reason: str
    retry_after: float | None = None
    #: The host does not resolve or refused the connection (see :func:`is_unreachable`).
    unreachable: bool = False


@dataclass(frozen=True)
class RetryPolicy:
    """How many tries, how long between them, and how much of a server's wait to accept.

    ``max_retry_after`` is ``None`` to wait at most ``cap`` whatever the server asks; a number
    to wait all the server asks up to that many seconds, and to stop retrying beyond it (the
    caller then keeps the work for later instead of blocking).
    """

    max_attempts: int
    base: float
    cap: float
    sleep: Callable[[float], None]
    max_retry_after: float | None = None
    #: No retry starts later than this many seconds after the first try (``None``: no limit).
    deadline: float | None = None
    retry_unreachable: bool = True
    on_retry: AttemptListener | None = None
    clock: Callable[[], float] = time.monotonic


def with_retries(once: Callable[[int], R], policy: RetryPolicy, *, service: str) -> R:
    """Call ``once(attempt)`` (1, 2, …) until it returns a result, or its last ``Retry``.

    ``once`` decides what may be repeated (it returns a ``Retry``) and raises or returns
    whatever may not; this loop owns only the counting, the waiting and the log line, so both
    clients back off the same way.
    """
    attempt = 0
    started = policy.clock()
    while True:
        attempt += 1
        outcome = once(attempt)
        if not isinstance(outcome, Retry):
            return outcome
        wait = outcome.retry_after
        too_long = (
            policy.max_retry_after is not None
            and wait is not None
            and wait > policy.max_retry_after
        )
        hopeless = outcome.unreachable and not policy.retry_unreachable
        if too_long or hopeless or attempt >= policy.max_attempts:
            return outcome
        delay = backoff_delay(attempt, base=policy.base, cap=policy.cap, retry_after=wait)
        if policy.max_retry_after is not None and wait is not None:
            delay = max(delay, wait)
        waited = policy.clock() - started
        if policy.deadline is not None and waited + delay > policy.deadline:
            return outcome
        if policy.on_retry is not None:
            policy.on_retry(attempt + 1, waited + delay)
        log.info("%s request failed (%s); retry %d in %.2f s", service, outcome.reason, attempt,
                 delay)  # fmt: skip
        policy.sleep(delay)


def network_error(err: httpx.TransportError, *, service: str, host: str) -> NetworkError:
    """Our ``NetworkError`` for an httpx transport failure, saying what went wrong and where."""
    reason = _root_causes(err)
    if isinstance(err, httpx.TimeoutException):
        if isinstance(err, httpx.ConnectTimeout):
            what = f"timed out connecting to {host}"
        elif isinstance(err, httpx.PoolTimeout):
            what = f"had too many requests in flight to {host}"
        else:
            what = f"{host} did not answer in time"
        hint = "Check your network connection, firewall or proxy, and try again."
    elif isinstance(err, httpx.ProxyError):
        what = f"the proxy refused to connect to {host}"
        hint = "Check the proxy settings (HTTPS_PROXY / NO_PROXY)."
    elif any(isinstance(e, socket.gaierror) for e in reason):
        what = f"the host name {host} could not be found (DNS)"
        hint = "Check the address for typos and that this computer is online."
    elif any(isinstance(e, ConnectionRefusedError) for e in reason):
        what = f"{host} refused the connection"
        hint = "Check the address and port, and that the service is running."
    elif any(isinstance(e, ssl.SSLError) for e in reason) or "SSL" in str(err):
        what = f"a secure (TLS) connection to {host} failed"
        hint = (
            "Check the address (https:// to a server that speaks https), the system clock, "
            "and whether a proxy or antivirus intercepts TLS."
        )
    elif isinstance(err, httpx.RemoteProtocolError | httpx.ReadError | httpx.WriteError):
        what = f"the connection to {host} broke off before a complete answer"
        hint = "Try again; if it persists, check any proxy between you and the service."
    else:
        what = f"could not talk to {host} ({type(err).__name__})"
        hint = "Check your network connection and try again."
    detail = str(err).strip()
    suffix = f" [{detail}]" if detail and len(detail) < 200 else ""
    message = f"{service}: {what}. {hint}{suffix}"
    return NetworkError(message[0].upper() + message[1:], service=service)


def _root_causes(err: BaseException) -> list[BaseException]:
    chain: list[BaseException] = []
    current: BaseException | None = err
    while current is not None and current not in chain and len(chain) < 10:
        chain.append(current)
        current = current.__cause__ or current.__context__
    return chain


def host_label(url: httpx.URL) -> str:
    """``host`` or ``host:port`` for messages."""
    return url.netloc.decode("ascii", errors="replace")


def short_body(response: httpx.Response, limit: int = 300) -> str:
    """The start of a response body as text, for a message (never a request body)."""
    try:
        text = response.text
    except (httpx.ResponseNotRead, UnicodeDecodeError):
        return ""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
