"""The client-credentials token as an ``httpx.Auth``: fetched, refreshed, renewed on a 401."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Generator
from dataclasses import dataclass, field

import httpx

from segment_desktop.commerce.error_mapping import error_for_response
from segment_desktop.commerce.json_values import number
from segment_desktop.commerce.urls import SERVICE
from segment_desktop.core.errors import ServiceError
from segment_desktop.http_util import DEFAULT_TIMEOUT, host_label

log = logging.getLogger(__name__)

#: Refresh a token this many seconds before it expires (less for very short-lived tokens).
REFRESH_MARGIN = 60.0


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


@dataclass
class _Token:
    value: str = field(repr=False)
    expires_at: float
    refresh_at: float
    info: TokenInfo


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
        user_agent: str = "",
    ) -> None:
        self._token_url = token_url
        self._user_agent = user_agent
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

        A request made here, not by the client, carries neither the client's timeout nor its
        headers unless we give them: without a timeout a silent server would hang the sign-in
        for ever, and without the ``User-Agent`` the store's logs could not tell us apart.
        """
        headers = {"Accept": "application/json"}
        if self._user_agent:
            headers["User-Agent"] = self._user_agent
        return httpx.Request(
            "POST",
            self._token_url,
            data={
                "grant_type": "client_credentials",
                "client_id": self._client_id,
                "client_secret": self._client_secret,
            },
            headers=headers,
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
            body = body["data"]  # wrapped or flat: docs/API_FACTS.md, "Not settled"
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
        expires_in = number(body.get("expires_in"))
        expires_at = now + expires_in if expires_in is not None else number(body.get("expires"))
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
