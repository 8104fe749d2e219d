"""Logging to a rotating file, through a redactor.

Two rules keep secrets out of the log, whoever writes the log call:

* **Known secrets are blanked.** Every secret the app reads or stores is registered here
  (``SecretStore.get``/``set`` call :func:`register_secret`); any occurrence of one in a record's
  message, arguments, exception text or stack is replaced with ``[redacted]``.
* **Structured fields are allow-listed.** Only the ``extra={...}`` fields named in
  :data:`ALLOWED_FIELDS` survive; anything else a caller attaches (a whole request body, a
  configuration dict) is dropped before a handler sees it.

The redaction runs as a filter on our handlers, which :func:`setup_logging` puts first on the
root logger: it covers records from every logger (httpx, ours …) that propagate to the root, and
the other root handlers see the redacted record. A library logger with its own handlers and
``propagate = False`` (uvicorn's default logging config) is outside its reach: let such loggers
propagate (e.g. ``uvicorn.Config(log_config=None)``).
"""

from __future__ import annotations

import logging
import logging.handlers
import os
import sys
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import TextIO

import platformdirs

from segment_desktop import APP_NAME

LOG_FILE_NAME = "segment-desktop.log"
LOG_DIR_ENV = "SEGMENT_DESKTOP_LOG_DIR"
MAX_BYTES = 1_000_000
BACKUP_COUNT = 5
REDACTED = "[redacted]"

#: ``extra`` fields a log record may carry. Everything else is removed by :func:`redact`.
ALLOWED_FIELDS: frozenset[str] = frozenset(
    {
        "attempt",
        "batch_size",
        "count",
        "elapsed_ms",
        "engine",
        "event",
        "event_id",
        "integration_id",
        "message_id",
        "retry_after",
        "service",
        "status_code",
        "template",
    }
)

#: Environment variables that may carry a secret (see ``secrets.ENVIRONMENT_VARIABLES``);
#: :func:`setup_logging` registers their values, whoever reads them later.
SECRET_ENVIRONMENT_VARIABLES: tuple[str, ...] = (
    "COMMERCE_CLIENT_SECRET",
    "SEGMENT_WRITE_KEY",
    "COMMERCE_WEBHOOK_SECRET",
    "AWS_SECRET_ACCESS_KEY",
)

# Attributes every LogRecord has (plus the ones the stdlib formatters add). Anything beyond
# these came from ``extra`` and must pass the allow-list.
_STANDARD_ATTRS: frozenset[str] = frozenset(
    logging.LogRecord("", 0, "", 0, "", None, None).__dict__
) | {"message", "asctime", "taskName"}

_secrets: set[str] = set()
_secrets_lock = threading.Lock()
_setup_lock = threading.Lock()


def register_secret(value: str | None) -> None:
    """Remember ``value`` so that it never appears in a log record. Empty values are ignored."""
    if value:
        with _secrets_lock:
            _secrets.add(value)


def redact_text(text: str) -> str:
    """``text`` with every registered secret replaced by ``[redacted]``."""
    with _secrets_lock:
        known = sorted(_secrets, key=len, reverse=True)  # longest first: no partial leftovers
    for secret in known:
        if secret in text:
            text = text.replace(secret, REDACTED)
    return text


def _redact_value(value: object) -> object:
    if value is None or isinstance(value, bool | int | float):
        return value
    return redact_text(value if isinstance(value, str) else repr(value))


def redact(record: logging.LogRecord) -> logging.LogRecord:
    """Redact ``record`` in place and return it.

    The message is formatted now (``msg % args``) and the secrets blanked in the result, so no
    later handler can re-insert an argument. Exception and stack text are rendered and blanked
    the same way. ``extra`` fields outside :data:`ALLOWED_FIELDS` are deleted.
    """
    if getattr(record, "_segment_redacted", False):
        return record
    try:
        message = record.getMessage()
    except Exception as exc:  # a broken log call must not break the caller
        message = f"[log message could not be formatted: {type(exc).__name__}] {record.msg!s}"
    record.msg = redact_text(message)
    record.args = None
    if record.exc_info and not record.exc_text:
        record.exc_text = logging.Formatter().formatException(record.exc_info)
    if record.exc_text:
        record.exc_text = redact_text(record.exc_text)
        record.exc_info = None  # the text above is what gets printed; drop the live objects
    if record.stack_info:
        record.stack_info = redact_text(record.stack_info)
    for name in [n for n in record.__dict__ if n not in _STANDARD_ATTRS]:
        if name in ALLOWED_FIELDS:
            setattr(record, name, _redact_value(record.__dict__[name]))
        elif not name.startswith("_segment"):
            delattr(record, name)
    setattr(record, "_segment_redacted", True)  # noqa: B010 (LogRecord has no such slot)
    return record


class RedactingFilter(logging.Filter):
    """A handler filter that passes every record through :func:`redact`."""

    def filter(self, record: logging.LogRecord) -> bool:
        redact(record)
        return True


class FieldsFormatter(logging.Formatter):
    """The usual line, followed by the allow-listed ``extra`` fields as ``key=value``."""

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        fields = sorted(n for n in ALLOWED_FIELDS if n in record.__dict__)
        if not fields:
            return line
        extras = " ".join(f"{n}={record.__dict__[n]}" for n in fields)
        first, newline, rest = line.partition("\n")
        return f"{first} [{extras}]{newline}{rest}"


_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class _AppFileHandler(logging.handlers.RotatingFileHandler):
    """Marks the handler :func:`setup_logging` installed, so a second call can find it."""


class _AppConsoleHandler(logging.StreamHandler[TextIO]):
    """Marks the console handler :func:`setup_logging` installed."""


def log_directory(log_dir: Path | None = None) -> Path:
    """Where logs go: ``log_dir``, else ``$SEGMENT_DESKTOP_LOG_DIR``, else the platform's."""
    if log_dir is not None:
        return Path(log_dir)
    from_env = os.environ.get(LOG_DIR_ENV)
    if from_env:
        return Path(from_env)
    return Path(platformdirs.user_log_dir(APP_NAME, appauthor=False))


def _our_handlers(logger: logging.Logger) -> Iterable[logging.Handler]:
    return [h for h in logger.handlers if isinstance(h, _AppFileHandler | _AppConsoleHandler)]


def setup_logging(
    log_dir: Path | None = None, level: int = logging.INFO, *, console: bool = False
) -> Path:
    """Send log records to a rotating file (about 1 MB × 5) through the redactor.

    Returns the log file's path. Idempotent: calling again replaces the handlers this function
    installed earlier instead of adding more. ``console=True`` also writes (redacted) lines to
    stderr, for the headless relay.
    """
    directory = log_directory(log_dir)
    try:
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    except OSError as exc:
        from segment_desktop.core.errors import ConfigError

        raise ConfigError(
            f"Cannot create the log folder {directory}: {exc.strerror or exc}. "
            f"Check its permissions, or choose another folder with ${LOG_DIR_ENV}."
        ) from exc
    for variable in SECRET_ENVIRONMENT_VARIABLES:
        register_secret(os.environ.get(variable))
    path = directory / LOG_FILE_NAME
    formatter = FieldsFormatter(_FORMAT)
    root = logging.getLogger()
    with _setup_lock:
        for old in _our_handlers(root):
            root.removeHandler(old)
            old.close()
        file_handler = _AppFileHandler(
            path, maxBytes=MAX_BYTES, backupCount=BACKUP_COUNT, encoding="utf-8", delay=True
        )
        handlers: list[logging.Handler] = [file_handler]
        if console:
            handlers.append(_AppConsoleHandler(sys.stderr))
        for handler in handlers:
            handler.addFilter(RedactingFilter())
            handler.setFormatter(formatter)
            handler.setLevel(level)
        # Ours go first: the filter rewrites the record itself, so every root handler after
        # ours (added by a library, a test harness …) only ever sees the redacted record.
        root.handlers = [*handlers, *root.handlers]
        root.setLevel(min(level, root.level) if root.level != logging.NOTSET else level)
    return path


def shutdown_logging() -> None:
    """Remove and close the handlers :func:`setup_logging` installed."""
    root = logging.getLogger()
    with _setup_lock:
        for handler in _our_handlers(root):
            root.removeHandler(handler)
            handler.close()
