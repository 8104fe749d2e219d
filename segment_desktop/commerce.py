"""Client for the Elastic Path Commerce API: token, integrations (webhooks), logs, recent data.

One ``httpx.Client`` with the store's base URL; the client-credentials token is an
``httpx.Auth`` (:class:`CommerceTokenAuth`) that fetches it, refreshes it shortly before it
expires and, on a 401, signs in again once and repeats the request.

Every failure leaves here as one of our errors (``core/errors.py``) with a message a user can act
on. Rate limits (429, honouring ``Retry-After``), server errors (5xx) and failed connections are
retried with backoff; a request that may have reached the server (a read timeout on a POST) is
not repeated, so nothing is created twice. The client secret never appears in a message, a log
line or a ``repr``.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Generator, Iterator, Mapping
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Literal

import httpx

from segment_desktop import __version__
from segment_desktop.core.errors import (
    AuthenticationError,
    ConflictError,
    EventLimitError,
    HTTPStatusError,
    InvalidURLError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitedError,
    ServerError,
    ServiceError,
    ValidationError,
)
from segment_desktop.http_util import (
    DEFAULT_TIMEOUT,
    AttemptListener,
    RetryPolicy,
    backoff_delay,
    host_label,
    network_error,
    parse_http_url,
    parse_retry_after,
    short_body,
)

log = logging.getLogger(__name__)

SERVICE = "Commerce"
TOKEN_PATH = "/oauth/access_token"
#: Refresh a token this many seconds before it expires (less for very short-lived tokens).
REFRESH_MARGIN = 60.0
MAX_PAGE_LIMIT = 100
EU_WEST = "https://euwest.api.elasticpath.com"
DEPRECATED_HOSTS = {"api.moltin.com": EU_WEST}
#: Requests that may be repeated after the server might already have seen them. A POST is
#: repeated only when it surely was not processed: refused connection, 429, 503.
IDEMPOTENT = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})


# --------------------------------------------------------------------------------------------
# Base URL
# --------------------------------------------------------------------------------------------


def normalise_base_url(url: str) -> tuple[str, str | None]:
    """The API base URL to use for what a user typed, plus a note when we changed its meaning.

    Accepts a trailing slash, a pasted ``/v2`` or ``/oauth/access_token``, a bare host name, a
    Commerce Manager address (``https://euwest.cm.elasticpath.com`` → the region's API host)
    and the deprecated ``api.moltin.com`` (kept, with a note suggesting EU West's own host).
    Plain ``http://`` is refused except for this computer. Raises ``InvalidURLError``.
    """
    parsed = parse_http_url(url, service=SERVICE, what="Commerce API URL")
    host = parsed.host.lower()
    note: str | None = None
    path = parsed.path.rstrip("/")
    for marker in ("/v2", "/oauth"):  # an API address pasted whole: keep what precedes it
        cut = (path + "/").find(marker + "/")
        if cut >= 0:
            if path[cut:] not in ("/v2", TOKEN_PATH, "/oauth"):
                note = f"Ignored {path[cut:]}: the API URL is the part before {marker}."
            path = path[:cut]
    if ".cm.elasticpath.com" in host or host.endswith(".cm.moltin.com"):
        region = host.split(".", 1)[0]
        api_host = f"{region}.api.elasticpath.com"
        note = (
            f"{host} is the Commerce Manager (the web console); using its API host "
            f"{api_host} instead."
        )
        host, path = api_host, ""
    elif host in DEPRECATED_HOSTS:
        note = (
            f"{host} is the deprecated address of the EU West region; it still works, but "
            f"{DEPRECATED_HOSTS[host]} is the current one."
        )
    if parsed.query or parsed.fragment:
        note = (note + " " if note else "") + "Ignored the part after '?' or '#'."
    port = f":{parsed.port}" if parsed.port else ""
    shown = f"[{host}]" if ":" in host else host  # an IPv6 literal
    return f"{parsed.scheme}://{shown}{port}{path}", note


# --------------------------------------------------------------------------------------------
# Results
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TokenInfo:
    """What we know about the current token (never the token itself)."""

    token_type: str
    expires_at: float
    """Epoch seconds."""
    identifier: str
    """``client_credentials`` (may manage integrations) or ``implicit`` (read-only)."""

    @property
    def can_manage_integrations(self) -> bool:
        return self.identifier in ("client_credentials", "")


@dataclass(frozen=True)
class Page:
    """One page of a list: its items and where it sits in the whole."""

    items: list[dict[str, Any]]
    limit: int
    offset: int
    total: int | None
    """Total number of items across pages, when the server said."""
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)
    """The whole answer (``included``, ``links``…)."""

    @property
    def next_offset(self) -> int | None:
        """Offset of the next page, or ``None`` when this is the last one."""
        if not self.items:
            return None
        following = self.offset + len(self.items)
        if self.total is not None:
            return following if following < self.total else None
        return following if len(self.items) >= self.limit else None


@dataclass
class _Token:
    value: str = field(repr=False)
    expires_at: float
    refresh_at: float
    info: TokenInfo


# --------------------------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------------------------


def _first_error(response: httpx.Response) -> tuple[str, str, str | None]:
    """(title, detail, source) from a Commerce error body; empty strings when there is none."""
    try:
        body = response.json()
    except (ValueError, UnicodeDecodeError):
        return "", short_body(response, 200), None
    errors = body.get("errors") if isinstance(body, dict) else None
    if isinstance(errors, list) and errors and isinstance(errors[0], dict):
        first = errors[0]
        source = first.get("source")
        if isinstance(source, dict):  # JSON:API style {"pointer": "/data/name"}
            source = source.get("pointer") or source.get("parameter")
        return (
            str(first.get("title") or ""),
            str(first.get("detail") or ""),
            str(source) if source else None,
        )
    if isinstance(body, dict) and isinstance(body.get("message"), str):
        return "", body["message"], None
    return "", "", None


def _server_words(title: str, detail: str) -> str:
    parts = [p.strip().rstrip(".") for p in (title, detail) if p and p.strip()]
    if len(parts) == 2 and parts[0].lower() in parts[1].lower():
        parts = parts[1:]
    return ": ".join(parts)


def error_for_response(response: httpx.Response, *, token_request: bool = False) -> ServiceError:
    """Our error for a Commerce error answer (any status ≥ 400), message written for a user."""
    status = response.status_code
    title, detail, source = _first_error(response)
    words = _server_words(title, detail)
    said = f' Commerce said: "{words}".' if words else ""
    what = f"{response.request.method} {response.request.url.path}"
    common: dict[str, Any] = {"status_code": status, "service": SERVICE, "detail": words}
    if token_request and status in (400, 401):
        field_name = "client_id" if "client_id" in words.lower() else "client_secret"
        return AuthenticationError(
            "Commerce refused the client ID and client secret. Check both in Commerce Manager "
            "(System › Application Keys): the secret is shown only once, when the key is "
            f"created, so create a new key if you no longer have it.{said}",
            field=field_name,
            **common,
        )
    if status == 401:
        return AuthenticationError(
            "Commerce refused the access token even after signing in again. Check that the "
            f"application key still exists in Commerce Manager.{said}",
            field="client_secret",
            **common,
        )
    if status == 403:
        return PermissionDeniedError(
            f"Commerce refused {what}: managing integrations needs a client-credentials token "
            "(a client ID with its client secret); an implicit token is read-only. Use an "
            f"application key with a secret.{said}",
            **common,
        )
    if status == 404:
        return NotFoundError(
            f"Commerce has nothing at {what} (404). If this is an integration, it may have "
            f"been deleted in Commerce Manager; otherwise check the API URL.{said}",
            **common,
        )
    if status == 409:
        return ConflictError(
            f"Commerce reported a conflicting change for {what} (409): someone else changed it "
            f"at the same time. Try again.{said}",
            **common,
        )
    if status in (400, 422):
        if "event limit" in words.lower():
            return EventLimitError(
                "Commerce allows at most 5 events per integration and refused more "
                f"({what}).{said}",
                field="observes",
                **common,
            )
        where = f" (field {source})" if source else ""
        return ValidationError(
            f"Commerce refused the request {what}{where}.{said or ' It gave no reason.'}",
            field=source,
            **common,
        )
    if status == 429:
        retry_after = parse_retry_after(response.headers.get("retry-after"))
        wait = f" It asked to wait {retry_after:g} s." if retry_after is not None else ""
        return RateLimitedError(
            f"Commerce is rate limiting requests (429).{wait} Wait a moment and try again.{said}",
            retry_after=retry_after,
            **common,
        )
    if status >= 500:
        return ServerError(
            f"Commerce failed on its side ({status}) for {what}. This is usually temporary: "
            f"try again in a few minutes.{said}",
            **common,
        )
    return HTTPStatusError(
        f"Commerce answered {status} to {what}.{said or ' ' + short_body(response)}".rstrip(),
        **common,
    )


# --------------------------------------------------------------------------------------------
# Token
# --------------------------------------------------------------------------------------------


class CommerceTokenAuth(httpx.Auth):
    """Client-credentials token as an httpx auth flow.

    Fetches a token before the first request, refreshes it ``REFRESH_MARGIN`` seconds before it
    expires, and when a request still gets a 401 (token revoked, clock skew) signs in again once
    and repeats it. Thread-safe: one token is shared by every request of a client.
    """

    requires_response_body = True

    def __init__(
        self,
        token_url: str,
        client_id: str,
        client_secret: str,
        *,
        timeout: httpx.Timeout = DEFAULT_TIMEOUT,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._token_url = token_url
        self._timeout = timeout
        self._client_id = client_id
        self._client_secret = client_secret
        self._clock = clock
        self._lock = threading.Lock()
        self._token: _Token | None = None

    def __repr__(self) -> str:
        return f"<CommerceTokenAuth client_id={self._client_id!r}>"

    @property
    def info(self) -> TokenInfo | None:
        with self._lock:
            return self._token.info if self._token else None

    def token_request(self) -> httpx.Request:
        """The form-encoded token request (no ``/v2``), with the client's timeouts.

        A request made here, not by the client, carries no timeout unless we give it one:
        without it a silent server would hang the sign-in for ever.
        """
        return httpx.Request(
            "POST",
            self._token_url,
            data={
                "grant_type": "client_credentials",
                "client_id": self._client_id,
                "client_secret": self._client_secret,
            },
            headers={"Accept": "application/json"},
            extensions={"timeout": self._timeout.as_dict()},
        )

    def accept(self, response: httpx.Response) -> TokenInfo:
        """Store the token from a token response; raise our error for anything else."""
        if response.status_code >= 400:
            raise error_for_response(response, token_request=True)
        try:
            body = response.json()
        except (ValueError, UnicodeDecodeError):
            raise ServiceError(
                "Commerce's token endpoint answered with something that is not JSON. Check the "
                f"API URL points at Commerce ({host_label(response.request.url)}).",
                service=SERVICE,
            ) from None
        if isinstance(body, dict) and isinstance(body.get("data"), dict):
            body = body["data"]  # some deployments wrap the token in "data"
        value = body.get("access_token") if isinstance(body, dict) else None
        if not isinstance(value, str) or not value:
            raise ServiceError(
                "Commerce's token endpoint answered without an access token. Check the API URL "
                f"points at Commerce ({host_label(response.request.url)}).",
                service=SERVICE,
            )
        now = self._clock()
        # expires_in is relative, so immune to a skewed clock on either side; the absolute
        # expires (server clock) is the fallback
        expires_in = _number(body.get("expires_in"))
        expires_at = now + expires_in if expires_in is not None else _number(body.get("expires"))
        if expires_at is None:
            expires_at = now + 3600.0
        lifetime = max(0.0, expires_at - now)
        refresh_at = expires_at - min(REFRESH_MARGIN, lifetime / 2)
        info = TokenInfo(
            token_type=str(body.get("token_type") or "Bearer"),
            expires_at=expires_at,
            identifier=str(body.get("identifier") or ""),
        )
        with self._lock:
            self._token = _Token(
                value=value, expires_at=expires_at, refresh_at=refresh_at, info=info
            )
        return info

    def invalidate(self) -> None:
        with self._lock:
            self._token = None

    def _current(self) -> str | None:
        with self._lock:
            token = self._token
        if token is None or self._clock() >= token.refresh_at:
            return None
        return token.value

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        value = self._current()
        if value is None:
            self.accept((yield self.token_request()))
            value = self._current() or self._token_value()
        request.headers["Authorization"] = f"Bearer {value}"
        response = yield request
        if response.status_code == 401:
            log.info("Commerce refused the token; signing in again once")
            self.invalidate()
            self.accept((yield self.token_request()))
            request.headers["Authorization"] = f"Bearer {self._token_value()}"
            yield request

    def _token_value(self) -> str:
        with self._lock:
            if self._token is None:  # pragma: no cover - accept() always sets it
                raise ServiceError("Commerce gave no token.", service=SERVICE)
            return self._token.value


def _number(value: object) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


# --------------------------------------------------------------------------------------------
# Client
# --------------------------------------------------------------------------------------------


class CommerceClient:
    """The Commerce API calls Segment Desktop needs. Use as a context manager, or ``close()``."""

    def __init__(
        self,
        base_url: str,
        client_id: str,
        client_secret: str,
        *,
        timeout: httpx.Timeout = DEFAULT_TIMEOUT,
        max_retries: int = 3,
        backoff_base: float = 0.5,
        backoff_cap: float = 20.0,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
        policy: RetryPolicy | None = None,
        on_attempt: AttemptListener | None = None,
    ) -> None:
        if policy is not None:
            max_retries, timeout = policy.max_retries, policy.timeout
        self.policy = policy or RetryPolicy(max_retries=max_retries, timeout=timeout)
        self._on_attempt = on_attempt
        if not client_id.strip():
            raise AuthenticationError(
                "No Commerce client ID is set. Copy it from Commerce Manager (System › "
                "Application Keys).",
                status_code=0,
                service=SERVICE,
                field="client_id",
            )
        if not client_secret:
            raise AuthenticationError(
                "No Commerce client secret is set. Copy it from Commerce Manager (System › "
                "Application Keys) when you create the key.",
                status_code=0,
                service=SERVICE,
                field="client_secret",
            )
        self.base_url, self.note = normalise_base_url(base_url)
        self.client_id = client_id.strip()
        self.max_retries = max(0, max_retries)
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self._sleep = sleep
        self._url = httpx.URL(self.base_url)
        self.auth = CommerceTokenAuth(
            self.base_url + TOKEN_PATH, self.client_id, client_secret, timeout=timeout, clock=clock
        )
        self._http = httpx.Client(
            base_url=self.base_url,
            timeout=timeout,
            transport=transport,
            headers={"User-Agent": f"segment-desktop/{__version__}", "Accept": "application/json"},
            follow_redirects=False,
        )

    def __repr__(self) -> str:
        return f"<CommerceClient {self.base_url} client_id={self.client_id!r}>"

    # -- lifecycle --------------------------------------------------------------------------

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> CommerceClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- plumbing ---------------------------------------------------------------------------

    def _send(self, build: Callable[[], httpx.Request], *, auth: bool = True) -> httpx.Response:
        """Send with retries; returns a 2xx response or raises our error."""
        attempt = 0
        started = time.monotonic()
        while True:
            request = build()
            # the token request is safe to repeat; other POSTs might have been processed
            may_repeat = request.method in IDEMPOTENT or not auth
            cause: BaseException | None = None
            try:
                response = self._http.send(request, auth=self.auth if auth else None)
            except httpx.TransportError as err:
                cause = err
                # Never repeat a POST the server may have processed (it would create twice).
                safe = may_repeat or isinstance(err, httpx.ConnectError | httpx.ConnectTimeout)
                error: ServiceError = network_error(
                    err, service=SERVICE, host=host_label(self._url)
                )
                if not safe or attempt >= self.max_retries:
                    raise error from None
                retry_after = None
            except (RateLimitedError, ServerError) as err:  # from the token request
                if attempt >= self.max_retries:
                    raise
                error = err
                retry_after = err.retry_after if isinstance(err, RateLimitedError) else None
            else:
                if response.status_code < 300:
                    return response
                if response.status_code < 400:
                    where = response.headers.get("location", "another address")
                    raise ServiceError(
                        f"Commerce redirected {request.method} {request.url.path} to {where}. "
                        "Check the API URL (it should be the region's API host, such as "
                        f"{EU_WEST}).",
                        service=SERVICE,
                    )
                error = error_for_response(response, token_request=not auth)
                retryable = isinstance(error, RateLimitedError) or (
                    isinstance(error, ServerError)
                    and (may_repeat or response.status_code == 503)  # 503: not processed
                )
                if not retryable or attempt >= self.max_retries:
                    raise error
                retry_after = error.retry_after if isinstance(error, RateLimitedError) else None
            attempt += 1
            delay = backoff_delay(
                attempt, base=self.backoff_base, cap=self.backoff_cap, retry_after=retry_after
            )
            waited = time.monotonic() - started
            if not self.policy.may_retry(cause or error, waited, delay):
                raise error
            if self._on_attempt is not None:
                self._on_attempt(attempt + 1, waited + delay)
            log.info("Commerce request failed (%s); retry %d in %.2f s", type(error).__name__,
                     attempt, delay)  # fmt: skip
            self._sleep(delay)

    def _json(self, response: httpx.Response) -> dict[str, Any]:
        try:
            body = response.json()
        except (ValueError, UnicodeDecodeError):
            raise ServiceError(
                f"Commerce answered {response.request.method} {response.request.url.path} with "
                "something that is not JSON. Check the API URL points at Commerce, or try again.",
                service=SERVICE,
            ) from None
        if not isinstance(body, dict):
            raise ServiceError(
                f"Commerce answered {response.request.url.path} with an unexpected body.",
                service=SERVICE,
            )
        return body

    def _call(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str | int] | None = None,
        body: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        def build() -> httpx.Request:
            return self._http.build_request(method, path, params=params, json=body)

        response = self._send(build)
        if response.status_code == 204 or not response.content:
            return {}
        return self._json(response)

    def _data(self, body: dict[str, Any], what: str) -> Any:
        if "data" not in body:
            raise ServiceError(
                f"Commerce's answer for {what} has no 'data'. Check the API URL points at "
                "Commerce.",
                service=SERVICE,
            )
        return body["data"]

    def _page(self, path: str, limit: int, offset: int, **params: str) -> Page:
        limit = max(1, min(limit, MAX_PAGE_LIMIT))
        offset = max(0, offset)
        query: dict[str, str | int] = {"page[limit]": limit, "page[offset]": offset, **params}
        body = self._call("GET", path, params=query)
        items = self._data(body, path)
        if not isinstance(items, list):
            raise ServiceError(f"Commerce's answer for {path} is not a list.", service=SERVICE)
        total = _number(_dig(body, "meta", "results", "total"))
        page = Page(
            items=[i for i in items if isinstance(i, dict)],
            limit=limit,
            offset=offset,
            total=int(total) if total is not None else None,
            raw=body,
        )
        return page

    def _pages(self, path: str, page_size: int, max_items: int | None) -> Iterator[dict[str, Any]]:
        offset: int | None = 0
        seen = 0
        while offset is not None:
            page = self._page(path, page_size, offset)
            for item in page.items:
                if max_items is not None and seen >= max_items:
                    return
                seen += 1
                yield item
            offset = page.next_offset

    # -- token --------------------------------------------------------------------------------

    def authenticate(self) -> TokenInfo:
        """Sign in now (proves the URL and credentials); returns what the token allows."""
        response = self._send(self.auth.token_request, auth=False)
        return self.auth.accept(response)

    # -- integrations -------------------------------------------------------------------------

    def list_integrations(self) -> list[dict[str, Any]]:
        """Every integration of the store (webhooks and others), across pages.

        Missing one would make registration create a duplicate, so pages are followed until
        the server has no more (a store holds at most 100, so one page is the rule). A server
        that ignores paging and repeats itself is detected: a page with nothing new ends it.
        """
        found: dict[str, dict[str, Any]] = {}
        offset: int | None = 0
        while offset is not None:
            page = self._page("/v2/integrations", MAX_PAGE_LIMIT, offset)
            new = [i for i in page.items if str(i.get("id")) not in found]
            for integration in new:
                found[str(integration.get("id"))] = integration
            offset = page.next_offset if new else None
        return list(found.values())

    def get_integration(self, integration_id: str) -> dict[str, Any]:
        data = self._data(self._call("GET", _integration_path(integration_id)), "an integration")
        return _as_object(data, "integration")

    def create_integration(self, attributes: Mapping[str, Any]) -> dict[str, Any]:
        """Create one; ``attributes`` are name, description, integration_type, enabled,
        observes, configuration. Returns the created integration (with its ``id``)."""
        body = {"data": {"type": "integration", **attributes}}
        data = self._data(self._call("POST", "/v2/integrations", body=body), "a new integration")
        return _as_object(data, "integration")

    def update_integration(
        self, integration_id: str, attributes: Mapping[str, Any]
    ) -> dict[str, Any]:
        """Partial update: only the attributes given change (``{"enabled": False}`` disables)."""
        body = {"data": {"type": "integration", **attributes}}
        answer = self._call("PUT", _integration_path(integration_id), body=body)
        return _as_object(answer.get("data", {}), "integration")

    def delete_integration(self, integration_id: str) -> None:
        """Delete one (Commerce answers 200 with a small body, or 204)."""
        self._call("DELETE", _integration_path(integration_id))

    # -- delivery history -------------------------------------------------------------------------

    def integration_logs(self, integration_id: str, limit: int = 25, offset: int = 0) -> Page:
        """One integration's delivery logs, newest first."""
        return self._page(_integration_path(integration_id) + "/logs", limit, offset)

    def all_logs(self, limit: int = 25, offset: int = 0) -> Page:
        """Delivery logs of every integration of the store, newest first."""
        return self._page("/v2/integrations/logs", limit, offset)

    def integration_jobs(self, integration_id: str, limit: int = 25, offset: int = 0) -> Page:
        """One integration's jobs (one per event delivered to it)."""
        return self._page(_integration_path(integration_id) + "/jobs", limit, offset)

    def job_logs(self, integration_id: str, job_id: str, limit: int = 25, offset: int = 0) -> Page:
        """The delivery attempts of one job."""
        path = f"{_integration_path(integration_id)}/jobs/{_segment(job_id)}/logs"
        return self._page(path, limit, offset)

    def iter_logs(
        self,
        integration_id: str | None = None,
        *,
        page_size: int = 100,
        max_items: int | None = None,
    ) -> Iterator[dict[str, Any]]:
        """Every log (of one integration, or of all), page after page, newest first."""
        path = (
            _integration_path(integration_id) + "/logs"
            if integration_id is not None
            else "/v2/integrations/logs"
        )
        return self._pages(path, page_size, max_items)

    # -- recent data, as webhook bodies ---------------------------------------------------------

    def recent_orders(self, limit: int = 10, *, event: str = "order.paid") -> list[dict[str, Any]]:
        """The store's latest orders, each shaped like the body of an ``event`` webhook.

        So a template can be previewed on the user's own data: ``payload`` holds the order and
        its items, ``resources`` the same as a JSON string, ``id`` is ``recent-<order id>``.
        """
        page = self._page("/v2/orders", limit, 0, include="items")
        included = _dig(page.raw, "included", "items")
        all_items = [i for i in included or [] if isinstance(i, dict)]
        by_id = {str(item.get("id")): item for item in all_items}
        bodies = []
        for order in page.items:
            refs = _dig(order, "relationships", "items", "data") or []
            wanted = [str(r.get("id")) for r in refs if isinstance(r, dict)]
            items = [by_id[i] for i in wanted if i in by_id]
            bodies.append(
                _webhook_body(event, order, {"data": order, "included": {"items": items}})
            )
        return bodies

    def recent_customers(
        self, limit: int = 10, *, event: str = "customer.created"
    ) -> list[dict[str, Any]]:
        """The store's latest customers, each shaped like the body of an ``event`` webhook."""
        page = self._page("/v2/customers", limit, 0)
        return [_webhook_body(event, c, {"data": c}) for c in page.items]

    def recent_events(
        self, kind: Literal["orders", "customers"], limit: int = 10, *, event: str | None = None
    ) -> list[dict[str, Any]]:
        """``recent_orders`` or ``recent_customers`` by name (for callers that hold a group)."""
        if kind == "orders":
            return self.recent_orders(limit, event=event or "order.paid")
        if kind == "customers":
            return self.recent_customers(limit, event=event or "customer.created")
        raise ValueError(f"kind must be 'orders' or 'customers', not {kind!r}")


def _webhook_body(event: str, resource: dict[str, Any], payload: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": f"recent-{resource.get('id', '')}",
        "triggered_by": event,
        "attempt": 1,
        "payload": payload,
        "resources": json.dumps(payload, ensure_ascii=False),
    }


def _dig(value: object, *keys: str) -> Any:
    """``value[k1][k2]…``, or ``None`` as soon as a level is missing or not an object."""
    for key in keys:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value


def _segment(value: str) -> str:
    """One path segment; refuses ids that would change the path."""
    if not value or "/" in value or value in (".", "..") or "?" in value or "#" in value:
        raise InvalidURLError(f"{value!r} is not a valid Commerce id.", service=SERVICE)
    return value


def _integration_path(integration_id: str) -> str:
    return f"/v2/integrations/{_segment(integration_id)}"


def _as_object(value: object, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ServiceError(f"Commerce's answer for the {what} is not an object.", service=SERVICE)
    return value
