"""The Commerce API calls Segment Desktop needs: token, integrations, delivery logs, recent data.

One ``httpx.Client`` with the store's base URL; the token is an ``httpx.Auth``
(:class:`~segment_desktop.commerce.token.CommerceTokenAuth`). Every failure leaves here as one of
our errors (``core/errors.py``). Rate limits (429, honouring ``Retry-After``), server errors
(5xx) and failed connections are retried with backoff; a request that may have reached the server
(a read timeout on a POST) is not repeated, so nothing is created twice. The client secret never
appears in a message, a log line or a ``repr``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import replace
from types import TracebackType
from typing import Any, Literal

import httpx

from segment_desktop import __version__
from segment_desktop.commerce.bodies import customer_bodies, order_bodies
from segment_desktop.commerce.error_mapping import error_for_response
from segment_desktop.commerce.json_values import as_object
from segment_desktop.commerce.pages import MAX_PAGE_LIMIT, Page, read_page
from segment_desktop.commerce.token import CommerceTokenAuth, TokenInfo
from segment_desktop.commerce.urls import (
    EU_WEST,
    SERVICE,
    TOKEN_PATH,
    integration_path,
    normalise_base_url,
    path_segment,
)
from segment_desktop.core.errors import (
    AuthenticationError,
    RateLimitedError,
    ServerError,
    ServiceError,
)
from segment_desktop.http_util import (
    DEFAULT_TIMEOUT,
    AttemptListener,
    Patience,
    Retry,
    RetryPolicy,
    host_label,
    is_unreachable,
    network_error,
    with_retries,
)

#: Requests that may be repeated after the server might already have seen them. A POST is
#: repeated only when it surely was not processed: refused connection, 429, 503.
USER_AGENT = f"segment-desktop/{__version__}"
IDEMPOTENT = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})


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
        patience: Patience | None = None,
        on_retry: AttemptListener | None = None,
    ) -> None:
        if patience is not None:  # a person is watching (a connection test)
            timeout, max_retries = patience.timeout, patience.max_attempts - 1
        self._patience = patience
        self._on_retry = on_retry
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
            self.base_url + TOKEN_PATH,
            self.client_id,
            client_secret,
            timeout=timeout,
            clock=clock,
            user_agent=USER_AGENT,
        )
        self._http = httpx.Client(
            base_url=self.base_url,
            timeout=timeout,
            transport=transport,
            headers={"User-Agent": USER_AGENT, "Accept": "application/json"},
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
        policy = RetryPolicy(self.max_retries + 1, self.backoff_base, self.backoff_cap, self._sleep)
        if self._patience is not None:
            policy = replace(
                policy,
                deadline=self._patience.deadline,
                retry_unreachable=self._patience.retry_unreachable,
                on_retry=self._on_retry,
            )

        def once(_attempt: int) -> httpx.Response | Retry[ServiceError]:
            return self._try(build(), auth)

        outcome = with_retries(once, policy, service=SERVICE)
        if isinstance(outcome, Retry):
            raise outcome.failure
        return outcome

    def _try(self, request: httpx.Request, auth: bool) -> httpx.Response | Retry[ServiceError]:
        """One try: the 2xx response, a ``Retry`` for what may be repeated, or our error."""
        # the token request is safe to repeat; other POSTs might have been processed
        may_repeat = request.method in IDEMPOTENT or not auth
        try:
            response = self._http.send(request, auth=self.auth if auth else None)
        except httpx.TransportError as err:
            # Never repeat a POST the server may have processed (it would create twice).
            safe = may_repeat or isinstance(err, httpx.ConnectError | httpx.ConnectTimeout)
            error: ServiceError = network_error(err, service=SERVICE, host=host_label(self._url))
            if not safe:
                raise error from None
            return Retry(error, type(error).__name__, unreachable=is_unreachable(err))
        except (RateLimitedError, ServerError) as err:  # from the token request
            return Retry(err, type(err).__name__, _retry_after(err))
        if response.status_code < 300:
            return response
        if response.status_code < 400:
            where = response.headers.get("location", "another address")
            raise ServiceError(
                f"Commerce redirected {request.method} {request.url.path} to {where}. Check "
                f"the API URL (it should be the region's API host, such as {EU_WEST}).",
                service=SERVICE,
            )
        error = error_for_response(response, token_request=not auth)
        retryable = isinstance(error, RateLimitedError) or (
            isinstance(error, ServerError)
            and (may_repeat or response.status_code == 503)  # 503: not processed
        )
        if not retryable:
            raise error
        return Retry(error, f"{response.status_code}", _retry_after(error))

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
        return read_page(self._call("GET", path, params=query), path, limit, offset)

    def _pages(self, path: str, page_size: int, max_items: int | None) -> Iterator[dict[str, Any]]:
        """Every item of a list, page after page.

        Ends when the server says there is no more, and also when a page brings nothing new:
        a server that ignores ``page[offset]`` and gives no total would otherwise repeat its
        first page for ever.
        """
        seen: set[str] = set()
        offset: int | None = 0
        count = 0
        while offset is not None:
            page = self._page(path, page_size, offset)
            new = [i for i in page.items if str(i.get("id")) not in seen]
            for item in new:
                if max_items is not None and count >= max_items:
                    return
                seen.add(str(item.get("id")))
                count += 1
                yield item
            offset = page.next_offset if new else None

    # -- token --------------------------------------------------------------------------------

    def authenticate(self) -> TokenInfo:
        """Sign in now (proves the URL and credentials); returns what the token allows."""
        response = self._send(self.auth.token_request, auth=False)
        return self.auth.accept(response)

    # -- integrations -------------------------------------------------------------------------

    def list_integrations(self) -> list[dict[str, Any]]:
        """Every integration of the store (webhooks and others), across pages.

        Missing one would make registration create a duplicate, so pages are followed until
        the server has no more (a store holds at most 100, so one page is the rule).
        """
        return list(self._pages("/v2/integrations", MAX_PAGE_LIMIT, None))

    def get_integration(self, integration_id: str) -> dict[str, Any]:
        data = self._data(self._call("GET", integration_path(integration_id)), "an integration")
        return as_object(data, "integration")

    def create_integration(self, attributes: Mapping[str, Any]) -> dict[str, Any]:
        """Create one; ``attributes`` are name, description, integration_type, enabled,
        observes, configuration. Returns the created integration (with its ``id``)."""
        body = {"data": {"type": "integration", **attributes}}
        data = self._data(self._call("POST", "/v2/integrations", body=body), "a new integration")
        return as_object(data, "integration")

    def update_integration(
        self, integration_id: str, attributes: Mapping[str, Any]
    ) -> dict[str, Any]:
        """Partial update: only the attributes given change (``{"enabled": False}`` disables)."""
        body = {"data": {"type": "integration", **attributes}}
        answer = self._call("PUT", integration_path(integration_id), body=body)
        return as_object(answer.get("data", {}), "integration")

    def delete_integration(self, integration_id: str) -> None:
        """Delete one; any 2xx, with a body or without, is done (docs/API_FACTS.md)."""
        self._call("DELETE", integration_path(integration_id))

    # -- delivery history -------------------------------------------------------------------------

    def integration_logs(self, integration_id: str, limit: int = 25, offset: int = 0) -> Page:
        """One integration's delivery logs, newest first."""
        return self._page(integration_path(integration_id) + "/logs", limit, offset)

    def all_logs(self, limit: int = 25, offset: int = 0) -> Page:
        """Delivery logs of every integration of the store, newest first."""
        return self._page("/v2/integrations/logs", limit, offset)

    def integration_jobs(self, integration_id: str, limit: int = 25, offset: int = 0) -> Page:
        """One integration's jobs (one per event delivered to it)."""
        return self._page(integration_path(integration_id) + "/jobs", limit, offset)

    def job_logs(self, integration_id: str, job_id: str, limit: int = 25, offset: int = 0) -> Page:
        """The delivery attempts of one job."""
        path = f"{integration_path(integration_id)}/jobs/{path_segment(job_id)}/logs"
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
            integration_path(integration_id) + "/logs"
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
        return order_bodies(self._page("/v2/orders", limit, 0, include="items"), event)

    def recent_customers(
        self, limit: int = 10, *, event: str = "customer.created"
    ) -> list[dict[str, Any]]:
        """The store's latest customers, each shaped like the body of an ``event`` webhook."""
        return customer_bodies(self._page("/v2/customers", limit, 0), event)

    def recent_events(
        self, kind: Literal["orders", "customers"], limit: int = 10, *, event: str | None = None
    ) -> list[dict[str, Any]]:
        """``recent_orders`` or ``recent_customers`` by name (for callers that hold a group)."""
        if kind == "orders":
            return self.recent_orders(limit, event=event or "order.paid")
        if kind == "customers":
            return self.recent_customers(limit, event=event or "customer.created")
        raise ValueError(f"kind must be 'orders' or 'customers', not {kind!r}")


def _retry_after(error: ServiceError) -> float | None:
    return error.retry_after if isinstance(error, RateLimitedError) else None
