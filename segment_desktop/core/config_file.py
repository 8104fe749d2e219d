"""The settings file on disk: read with bounds, decoded strictly, written atomically.

A settings file, or a file offered for import, is untrusted input: only a regular file of at
most :data:`MAX_SETTINGS_BYTES` is read (never a device, a pipe or a folder), and what is not
plain JSON, with ordinary numbers and a bounded nesting, is a :class:`ConfigError` naming the
file, never a raw ``RecursionError`` or ``ValueError``.
"""

from __future__ import annotations

import contextlib
import json
import os
import stat
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from segment_desktop.core.errors import ConfigError
from segment_desktop.core.jsontext import loads
from segment_desktop.core.jsontypes import json_type_name

#: Seven templates at their limit fit with room to spare.
MAX_SETTINGS_BYTES = 4 * 1024 * 1024
#: A save's temporary file older than this was left by a crash (a save takes milliseconds).
STALE_TEMP_SECONDS = 600

_FIX = "Fix it, import settings from an export, or reset the settings."


def read_settings_bytes(path: Path, what: str) -> bytes | None:
    """The bytes of ``path`` (``what`` names it in messages), or None when it does not exist.

    Raises :class:`ConfigError` for a folder, a device or pipe, a file over
    :data:`MAX_SETTINGS_BYTES`, or one that cannot be read.
    """
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except FileNotFoundError:
        return None
    except IsADirectoryError:
        raise ConfigError(f"The {what} {path} is a folder, not a file.") from None
    except OSError as exc:
        raise ConfigError(
            f"Could not read the {what} {path}: {exc.strerror or exc}. Check its permissions."
        ) from None
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):
        os.close(fd)
        if stat.S_ISDIR(info.st_mode):
            raise ConfigError(f"The {what} {path} is a folder, not a file.")
        raise ConfigError(
            f"The {what} {path} is not a regular file (a device or a pipe); choose a settings file."
        )
    with os.fdopen(fd, "rb") as handle:
        try:
            data = handle.read(MAX_SETTINGS_BYTES + 1)
        except OSError as exc:
            raise ConfigError(f"Could not read the {what} {path}: {exc.strerror or exc}.") from None
    if len(data) > MAX_SETTINGS_BYTES:
        raise ConfigError(
            f"The {what} {path} is larger than {MAX_SETTINGS_BYTES // (1024 * 1024)} MB; "
            "a Segment Desktop settings file is far smaller. Choose the right file."
        )
    return data


def decode_settings(raw: bytes, source: str) -> dict[str, Any]:
    """The JSON object in a settings file's bytes, or a ConfigError naming ``source``."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"The settings file {source} is damaged: it is not UTF-8 text (byte {exc.start}). "
            + _FIX
        ) from None
    try:
        data = loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(
            f"The settings file {source} is damaged: it is not valid JSON ({exc.msg} at line "
            f"{exc.lineno}, column {exc.colno}). " + _FIX
        ) from None
    except ValueError as exc:  # NaN, nesting too deep, an integer of thousands of digits
        raise ConfigError(f"The settings file {source} is damaged: {exc}. " + _FIX) from None
    if not isinstance(data, dict):
        raise ConfigError(
            f"The settings file {source} is damaged: it holds {json_type_name(data)} instead "
            "of an object. " + _FIX
        )
    return data


def _fsync_directory(directory: Path) -> None:
    """Make a rename in ``directory`` durable (not possible, nor needed, on Windows)."""
    if os.name == "nt":  # pragma: no cover
        return
    fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` so that a crash leaves the old or the new file, never a mix.

    Temporary file in the same folder (same filesystem, so the rename is atomic) → fsync →
    ``os.replace`` → fsync of the folder. On failure the temporary file is removed and the
    original is untouched. Raises ``OSError``.
    """
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    _fsync_directory(path.parent)


def rename_durably(source: Path, target: Path) -> None:
    """``os.replace`` then fsync of the folder. Raises ``OSError``."""
    os.replace(source, target)
    _fsync_directory(target.parent)


def encode_settings(data: Mapping[str, Any]) -> bytes:
    """A settings file's bytes: indented JSON, non-ASCII characters as themselves."""
    return (json.dumps(data, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def remove_stale_temp_files(directory: Path, name: str) -> None:
    """Remove temporary files a crashed :func:`atomic_write` of ``directory / name`` left
    (only old ones: another process may be saving right now)."""
    cutoff = time.time() - STALE_TEMP_SECONDS
    for tmp in directory.glob(f".{name}.*.tmp"):
        with contextlib.suppress(OSError):
            if tmp.stat().st_mtime < cutoff:
                tmp.unlink()
