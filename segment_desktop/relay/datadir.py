"""The relay's data folder: private to the user, and a clear message when it cannot be used.

The outbox holds customer data (names, e-mail and postal addresses, phone numbers in order
bodies), so the folder is made ``0700`` and the outbox files ``0600``, also when an earlier
run or another tool left them more open.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import stat
from pathlib import Path

from segment_desktop.core.errors import ConfigError

log = logging.getLogger(__name__)

FOLDER_MODE = 0o700
FILE_MODE = 0o600
#: SQLite's companions of a WAL-mode database file.
COMPANION_SUFFIXES = ("", "-wal", "-shm")


def secure_dir(folder: Path) -> None:
    """Create ``folder`` (and its parents) and leave it readable by its owner only."""
    folder.mkdir(parents=True, exist_ok=True, mode=FOLDER_MODE)
    mode = stat.S_IMODE(folder.stat().st_mode)
    if mode & 0o077:
        os.chmod(folder, mode & ~0o077)
        log.info("Made the relay's data folder %s private to its owner", folder)


def secure_files(database: Path) -> None:
    """Create ``database`` as ``0600`` when missing; tighten it and its ``-wal``/``-shm``."""
    fd = os.open(database, os.O_RDWR | os.O_CREAT, FILE_MODE)
    os.close(fd)
    for suffix in COMPANION_SUFFIXES:
        path = database.with_name(database.name + suffix)
        try:
            mode = stat.S_IMODE(path.stat().st_mode)
        except FileNotFoundError:
            continue
        if mode & 0o077:
            os.chmod(path, FILE_MODE)


def outbox_unusable(database: Path, err: sqlite3.Error | OSError) -> ConfigError:
    """The error for an outbox that cannot be opened, naming the folder and the reason."""
    reason = err.strerror if isinstance(err, OSError) and err.strerror else str(err)
    return ConfigError(
        f"The relay cannot use its data folder {database.parent}: {reason}. Make the folder "
        "writable by this user (and the disk not full), or choose another one with "
        "--data-dir or $SEGMENT_DESKTOP_DATA_DIR."
    )
