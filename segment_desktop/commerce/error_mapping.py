"""Commerce's error answers turned into our errors, with a message a user can act on."""

from __future__ import annotations

from typing import Any

import httpx

from segment_desktop.commerce.urls import SERVICE
from segment_desktop.core.errors import (
    AuthenticationError,
    ConflictError,
    EventLimitError,
    HTTPStatusError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitedError,
    ServerError,
    ServiceError,
    ValidationError,
)
from segment_desktop.http_util import parse_retry_after, short_body


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
