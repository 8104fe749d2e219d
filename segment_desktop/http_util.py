"""Helpers shared by the Commerce and Segment clients: URL rules, backoff, network errors.

Kept free of any one service's vocabulary: each client passes its ``service`` name ("Commerce",
"Segment") so messages say who could not be reached.
"""

from __future__ import annotations

import ipaddress
import random
import socket
import ssl
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import httpx

from segment_desktop.core.errors import InvalidURLError, NetworkError

LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain"})

#: ``httpx.Timeout`` the clients use unless told otherwise: fail fast on connect, allow slow reads.
DEFAULT_TIMEOUT = httpx.Timeout(15.0, connect=5.0)


#: Told before each retry: the number of the attempt about to start (2 for the first retry)
#: and the seconds waited since the first one started, so a person waiting can see progress.
AttemptListener = Callable[[int, float], None]


@dataclass(frozen=True)
class RetryPolicy:
    """How long a client keeps trying before it reports a failure."""

    max_retries: int = 3
    #: No retry starts that could not end (one more ``timeout.read``) within this many
    #: seconds of the first attempt; ``None``: no limit.
    deadline: float | None = None
    #: Retry a host name that does not resolve or a connection refused: right for a service
    #: that restarts, wrong for a person testing an address they may have mistyped.
    retry_unreachable: bool = True
    timeout: httpx.Timeout = field(default_factory=lambda: DEFAULT_TIMEOUT)

    def may_retry(self, error: BaseException, waited: float, delay: float) -> bool:
        """Whether to try again after ``error``, ``waited`` seconds in, after ``delay`` more."""
        if not self.retry_unreachable and is_unreachable(error):
            return False
        if self.deadline is None:
            return True
        per_try = self.timeout.read if self.timeout.read is not None else 0.0
        return waited + delay + per_try <= self.deadline


#: A person watches the connection test: give up within about 20 seconds, and say at once
#: when the host is unknown or refuses.
INTERACTIVE = RetryPolicy(
    max_retries=2,
    deadline=20.0,
    retry_unreachable=False,
    timeout=httpx.Timeout(8.0, connect=5.0),
)


def is_unreachable(error: BaseException) -> bool:
    """A host name that does not resolve, or a connection refused (no retry changes that
    soon). ``error`` is an httpx error, or our ``NetworkError`` raised from one."""
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
