"""Earlier versions of each template: every save keeps the text it replaces.

One JSON file per template in the ``template-history`` folder beside the settings file
(``template-history/order_completed.json``), newest version first, at most
:data:`MAX_VERSIONS` per template (the oldest go first). Each version records when it was
replaced, by which OS user and its size, so that a user can tell versions apart without opening
them. Restoring a version saves it like any edit, so the text it replaces is kept in turn.
"""

from __future__ import annotations

import difflib
import getpass
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from segment_desktop.core.config import config_directory
from segment_desktop.core.config_file import atomic_write
from segment_desktop.core.errors import ConfigError
from segment_desktop.core.events import template as find_template

HISTORY_DIR_NAME = "template-history"
MAX_VERSIONS = 100
_FORMAT = 1


@dataclass(frozen=True)
class Version:
    """One earlier text of a template. ``number`` grows with each save and is never reused."""

    number: int
    saved_at: datetime
    author: str
    text: str

    @property
    def size(self) -> int:
        """Bytes of the text in UTF-8."""
        return len(self.text.encode("utf-8"))

    def label(self) -> str:
        """``#12  2026-12-01 23:40 UTC  alice  1,204 bytes`` for a list."""
        when = self.saved_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
        return f"#{self.number}  {when}  {self.author}  {self.size:,} bytes"

    def to_dict(self) -> dict[str, Any]:
        return {
            "number": self.number,
            "saved_at": self.saved_at.astimezone(UTC).isoformat(timespec="seconds"),
            "author": self.author,
            "size": self.size,
            "text": self.text,
        }


def os_user() -> str:
    """The OS user name, or ``unknown`` where the platform cannot tell."""
    try:
        return getpass.getuser()
    except (OSError, KeyError, ImportError):
        return "unknown"


def history_directory(config_dir: Path | None = None) -> Path:
    return config_directory(config_dir) / HISTORY_DIR_NAME


class TemplateHistory:
    """The version files of one folder. Thread-safe enough for one app: each call reads and
    writes a whole file atomically."""

    def __init__(self, directory: Path, limit: int = MAX_VERSIONS) -> None:
        self.directory = Path(directory)
        self.limit = limit

    def _path(self, key: str) -> Path:
        return self.directory / f"{find_template(key).key}.json"

    def versions(self, key: str) -> list[Version]:
        """The template's earlier versions, newest first."""
        path = self._path(key)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return []
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
            raise ConfigError(
                f"The template history {path} cannot be read ({err}). Move it aside to start "
                "a new history; the templates themselves are not affected."
            ) from None
        try:
            return [
                Version(
                    int(item["number"]),
                    datetime.fromisoformat(item["saved_at"]),
                    str(item["author"]),
                    str(item["text"]),
                )
                for item in data["versions"]
            ]
        except (KeyError, TypeError, ValueError) as err:
            raise ConfigError(
                f"The template history {path} is damaged ({err!r}). Move it aside to start a "
                "new history; the templates themselves are not affected."
            ) from None

    def record(
        self,
        key: str,
        previous_text: str,
        *,
        author: str | None = None,
        now: datetime | None = None,
    ) -> Version | None:
        """Keep ``previous_text``, the text a save is about to replace.

        Nothing is kept when it equals the newest version already kept (saving twice without an
        edit adds nothing). Returns the new version, or ``None``.
        """
        versions = self.versions(key)
        if versions and versions[0].text == previous_text:
            return None
        number = (versions[0].number + 1) if versions else 1
        version = Version(
            number,
            (now or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0),
            author or os_user(),
            previous_text,
        )
        kept = [version, *versions][: self.limit]
        path = self._path(key)
        payload: dict[str, Any] = {"format": _FORMAT, "template": find_template(key).name}
        payload["versions"] = [v.to_dict() for v in kept]
        data = json.dumps(payload, indent=2, ensure_ascii=False) + "\n"
        try:
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            atomic_write(path, data.encode("utf-8"))
        except OSError as err:
            raise ConfigError(
                f"Could not keep the previous version in {path}: {err.strerror or err}. The "
                "template was not saved; check that the folder is writable."
            ) from None
        return version

    def get(self, key: str, number: int) -> Version:
        for version in self.versions(key):
            if version.number == number:
                return version
        raise KeyError(f"Version {number} of {find_template(key).name} is not in its history.")


def diff(old: str, new: str, old_label: str = "version", new_label: str = "current") -> str:
    """A unified diff of two template texts (empty when they are equal)."""
    lines = difflib.unified_diff(
        old.splitlines(keepends=True),
        new.splitlines(keepends=True),
        fromfile=old_label,
        tofile=new_label,
    )
    return "".join(line if line.endswith("\n") else line + "\n" for line in lines)
