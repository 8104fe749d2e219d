"""Logging: rotating file under the right folder, idempotent set-up, redaction by allow-list."""

from __future__ import annotations

import logging
import logging.handlers
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from segment_desktop.core import logs
from segment_desktop.core.logs import (
    LOG_FILE_NAME,
    REDACTED,
    redact,
    redact_text,
    register_secret,
    setup_logging,
    shutdown_logging,
)

SECRET = "wk_live_9f8e7d6c5b4a"
log = logging.getLogger("segment_desktop.tests.logs")


@pytest.fixture(autouse=True)
def clean_logging() -> Iterator[None]:
    root = logging.getLogger()
    level = root.level
    yield
    shutdown_logging()
    root.setLevel(level)


def our_handlers() -> list[logging.Handler]:
    return [h for h in logging.getLogger().handlers if isinstance(h, logs._AppFileHandler)]


def read_log(path: Path) -> str:
    for handler in our_handlers():
        handler.flush()
    return path.read_text(encoding="utf-8")


def test_log_file_goes_to_the_environment_folder() -> None:
    path = setup_logging()
    assert path == Path(os.environ["SEGMENT_DESKTOP_LOG_DIR"]) / LOG_FILE_NAME
    log.info("relay started on port %d", 8080)
    text = read_log(path)
    assert "INFO segment_desktop.tests.logs: relay started on port 8080" in text


def test_argument_wins_over_environment(tmp_path: Path) -> None:
    path = setup_logging(tmp_path / "chosen")
    assert path == tmp_path / "chosen" / LOG_FILE_NAME
    log.warning("hello")
    assert "hello" in read_log(path)
    assert not Path(os.environ["SEGMENT_DESKTOP_LOG_DIR"]).exists()


def test_setup_twice_adds_no_second_handler() -> None:
    first = setup_logging()
    second = setup_logging()
    assert first == second
    assert len(our_handlers()) == 1
    log.info("exactly once")
    assert read_log(first).count("exactly once") == 1


def test_level_filters_lower_records() -> None:
    path = setup_logging(level=logging.WARNING)
    log.info("too chatty")
    log.warning("worth keeping")
    text = read_log(path)
    assert "too chatty" not in text and "worth keeping" in text


def test_rotation_is_about_one_megabyte_times_five() -> None:
    path = setup_logging()
    (handler,) = our_handlers()
    assert isinstance(handler, logging.handlers.RotatingFileHandler)
    assert handler.maxBytes == 1_000_000
    assert handler.backupCount == 5
    chunk = "x" * 300_000
    for _ in range(30):  # ~9 MB: more than the six files can hold
        log.info(chunk)
    handler.flush()
    files = sorted(p.name for p in path.parent.iterdir())
    assert files == [LOG_FILE_NAME] + [f"{LOG_FILE_NAME}.{i}" for i in range(1, 6)]
    assert all(p.stat().st_size <= 1_000_000 + 400 for p in path.parent.iterdir())


def test_registered_secret_is_redacted_in_message_args_and_traceback() -> None:
    register_secret(SECRET)
    path = setup_logging()
    log.info("write key is %s", SECRET)
    log.info(f"embedded:{SECRET}:end")
    log.info("as a dict %r", {"write_key": SECRET})
    try:
        raise RuntimeError(f"rejected key {SECRET}")
    except RuntimeError:
        log.exception("sending failed")
    log.info("stack", stack_info=True, extra={"event_id": SECRET})
    text = read_log(path)
    assert SECRET not in text
    assert f"write key is {REDACTED}" in text
    assert f"embedded:{REDACTED}:end" in text
    assert f"RuntimeError: rejected key {REDACTED}" in text
    assert f"event_id={REDACTED}" in text


def test_only_allow_listed_extra_fields_are_kept() -> None:
    path = setup_logging()
    body = {"configuration": {"secret_key": "not-registered-but-private"}}
    log.info(
        "webhook received",
        extra={"event_id": "evt-1", "status_code": 202, "body": body, "headers": {"x": "y"}},
    )
    text = read_log(path)
    line = next(line for line in text.splitlines() if "webhook received" in line)
    assert line.endswith("[event_id=evt-1 status_code=202]")
    assert "not-registered-but-private" not in text
    assert "headers" not in text


def test_redact_drops_unknown_fields_on_the_record_itself() -> None:
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "token %s", (SECRET,), None)
    record.payload = {"a": 1}
    record.attempt = 3
    register_secret(SECRET)
    redact(record)
    assert record.getMessage() == f"token {REDACTED}"
    assert not hasattr(record, "payload")
    assert record.attempt == 3


def test_secret_returned_by_other_handlers_is_redacted_too(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The filter rewrites the record itself, so handlers after ours see the redacted text."""
    register_secret(SECRET)
    setup_logging()
    with caplog.at_level(logging.INFO):
        logging.getLogger().addHandler(caplog.handler)  # runs after ours
        log.info("key %s", SECRET)
    assert SECRET not in caplog.text


def test_broken_log_call_does_not_raise_and_is_still_logged() -> None:
    path = setup_logging()
    log.info("two args %s %s", "only one")
    text = read_log(path)
    assert "could not be formatted" in text
    assert "two args %s %s" in text


def test_longest_secret_wins_when_secrets_overlap() -> None:
    register_secret("zq-overlap")
    register_secret("zq-overlap-longer")
    assert redact_text("x zq-overlap-longer y zq-overlap") == f"x {REDACTED} y {REDACTED}"
    register_secret("")
    register_secret(None)
    assert redact_text("nothing here") == "nothing here"


def test_console_output_is_redacted_too(capsys: pytest.CaptureFixture[str]) -> None:
    register_secret(SECRET)
    setup_logging(console=True)
    log.warning("console %s", SECRET)
    err = capsys.readouterr().err
    assert f"console {REDACTED}" in err
    assert SECRET not in err


def test_unwritable_log_folder_gives_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    from segment_desktop.core.errors import ConfigError

    with pytest.raises(ConfigError, match="Cannot create the log folder"):
        setup_logging(blocker / "logs")


def test_secrets_in_the_environment_are_redacted_from_the_start(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from segment_desktop.core.secrets import ENVIRONMENT_VARIABLES

    assert set(logs.SECRET_ENVIRONMENT_VARIABLES) == set(ENVIRONMENT_VARIABLES.values())
    monkeypatch.setenv("COMMERCE_WEBHOOK_SECRET", "hook-secret-from-env")
    path = setup_logging()
    log.info("header was %s", "hook-secret-from-env")
    assert f"header was {REDACTED}" in read_log(path)
