"""Our error tree. Every message is written for the user: what went wrong and what to do.

No message ever contains a secret (client secret, write key, webhook secret).

    SegmentDesktopError
    ├── ConfigError                 settings file unreadable, corrupt or from a newer version
    ├── SecretStoreError            no usable OS keyring (no Secret Service, locked collection)
    ├── EventError                  a body that is not a Commerce webhook event, unreadable file
    ├── TemplateError               a template that does not compile or fails at run time
    │   └── TemplateTimeout         a template that runs too long or recurses too deep
    ├── TestCaseError               a saved template test case that cannot be read or written
    ├── TrackingPlanError           a tracking plan that is not JSON or holds an invalid schema
    ├── OverrideError               a ``--set PATH=VALUE`` whose path or value is unusable
    ├── ServiceError                talking to Commerce or Segment failed
    │   ├── InvalidURLError         a URL we refuse (plain http to a non-loopback host, bad shape)
    │   ├── NetworkError            DNS, refused connection, TLS, timeout: nothing usable came back
    │   └── HTTPStatusError         the service answered with an error status
    │       ├── AuthenticationError    401 / wrong credentials
    │       ├── PermissionDeniedError  403
    │       ├── NotFoundError          404
    │       ├── ConflictError          409
    │       ├── ValidationError        400 / 422 with the server's detail
    │       │   └── EventLimitError    more than 5 events in one integration
    │       ├── RateLimitedError       429 (carries retry_after)
    │       └── ServerError            5xx
    └── CallRejectedError           a Segment call refused before sending (too large, invalid)
"""

from __future__ import annotations


class SegmentDesktopError(Exception):
    """Base of every error we raise on purpose. ``str(err)`` is a message for the user."""


class ConfigError(SegmentDesktopError):
    """The configuration could not be read, parsed or written."""


class SecretStoreError(SegmentDesktopError):
    """The OS keyring is missing, locked or refused the operation."""


class EventError(SegmentDesktopError):
    """The input is not a Commerce webhook event we can use."""


class TemplateError(SegmentDesktopError):
    """A template failed to compile or to run.

    ``line`` and ``column`` are 1-based and point into the template text, or are ``None``
    when the engine gave no usable position.
    """

    def __init__(
        self,
        code: str,
        message: str,
        line: int | None = None,
        column: int | None = None,
        position: int | None = None,
    ) -> None:
        where = f" at line {line}, column {column}" if line is not None else ""
        super().__init__(f"{code}: {message}{where}")
        self.code = code
        self.message = message
        self.line = line
        self.column = column
        self.position = position

    def as_dict(self) -> dict[str, object]:
        return {
            "code": self.code,
            "message": self.message,
            "line": self.line,
            "column": self.column,
        }


class TemplateTimeout(TemplateError):
    """The template ran past its time or depth budget (an endless loop or recursion)."""


class ServiceError(SegmentDesktopError):
    """Talking to Commerce or Segment failed."""

    def __init__(self, message: str, *, service: str = "") -> None:
        super().__init__(message)
        self.service = service


class InvalidURLError(ServiceError):
    """A URL we refuse to use, with the reason."""


class NetworkError(ServiceError):
    """No usable answer: DNS failure, connection refused, TLS problem or timeout."""

    retryable = True


class HTTPStatusError(ServiceError):
    """The service answered with an error status. ``detail`` is the server's own words."""

    retryable = False

    def __init__(
        self,
        message: str,
        *,
        status_code: int,
        service: str = "",
        detail: str = "",
        field: str | None = None,
    ) -> None:
        super().__init__(message, service=service)
        self.status_code = status_code
        self.detail = detail
        self.field = field


class AuthenticationError(HTTPStatusError):
    """Credentials were refused (401, or 400 on the token endpoint)."""


class PermissionDeniedError(HTTPStatusError):
    """The credentials are valid but may not do this (403)."""


class NotFoundError(HTTPStatusError):
    """The resource or path does not exist (404)."""


class ConflictError(HTTPStatusError):
    """A write conflicted with another one (409)."""


class ValidationError(HTTPStatusError):
    """The service refused the request's content (400, 422)."""


class EventLimitError(ValidationError):
    """Commerce allows at most 5 events per integration."""


class RateLimitedError(HTTPStatusError):
    """Too many requests (429). ``retry_after`` is in seconds when the service said."""

    retryable = True

    def __init__(self, message: str, *, retry_after: float | None = None, **kw: object) -> None:
        super().__init__(message, **kw)  # type: ignore[arg-type]
        self.retry_after = retry_after


class ServerError(HTTPStatusError):
    """The service failed on its side (5xx)."""

    retryable = True


class CallRejectedError(SegmentDesktopError):
    """A Segment call we will not send as it is (too large, invalid), with the reason."""


class TestCaseError(SegmentDesktopError):
    """A template test case file is unreadable, not JSON, or not shaped like a case.

    ``path`` names the file, so a CI log points at what to fix.
    """

    __test__ = False  # a name pytest would otherwise try to collect

    def __init__(self, message: str, path: str = "") -> None:
        super().__init__(message)
        self.path = path


class TrackingPlanError(SegmentDesktopError):
    """A tracking plan that cannot be read, or whose rules are not valid JSON Schemas."""


class OverrideError(SegmentDesktopError):
    """An override of a webhook body (``PATH=VALUE``) names a missing path or a bad value."""
