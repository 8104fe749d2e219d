"""Typed, versioned settings (never a secret), saved atomically as JSON.

The file is ``<directory>/config.json`` where the directory is the one given to
:class:`ConfigStore`, else ``$SEGMENT_DESKTOP_CONFIG_DIR``, else the platform's config folder.

Safety rules:

* **No secrets here, by design.** Secrets live in the OS keyring (:mod:`.secrets`); ``Config``
  has no field for one (a test checks the field names), so neither the file nor an export can
  hold one. ``webhook_secret_fingerprint`` is a short hash that tells secrets apart, not a secret.
* **Atomic saves.** A save writes a temporary file in the same folder, fsyncs it, renames it over
  ``config.json`` and fsyncs the folder: after a crash the file is the old one or the new one.
* **A damaged file is never overwritten silently.** Loading it raises :class:`ConfigError`
  naming the file and the problem, and :meth:`ConfigStore.save` refuses to replace it until the
  user chooses :meth:`ConfigStore.reset`, which moves it aside to ``config.json.corrupt-<time>``.
  A file written by a newer version is treated the same way (update the app, or reset).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import platformdirs

from segment_desktop import APP_NAME
from segment_desktop.core.config_file import (
    atomic_write,
    decode_settings,
    encode_settings,
    read_settings_bytes,
    remove_stale_temp_files,
    rename_durably,
)
from segment_desktop.core.errors import ConfigError
from segment_desktop.core.events import TEMPLATES

CONFIG_DIR_ENV = "SEGMENT_DESKTOP_CONFIG_DIR"
CONFIG_FILE_NAME = "config.json"
#: The settings format this version writes. Bump it and add a ``MIGRATIONS`` entry together.
SCHEMA_VERSION = 2
#: Marks an export file, so that importing some other JSON file gives a clear error.
EXPORT_KIND = "segment-desktop-settings"
#: An export's section for data kept beside the settings (template test cases …), by name.
EXTRAS_KEY = "extras"

DEFAULT_SEGMENT_HOST = "https://api.segment.io"
DEFAULT_SEGMENT_PATH = "/v1/batch"

#: ``MIGRATIONS[n]`` turns a settings dict of schema version ``n`` into version ``n + 1``.
#: Each receives and returns the plain JSON dict (with ``schema_version`` already ``n``).
MIGRATIONS: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {}

#: Longest template text a setting may hold (a real one is a few KB).
MAX_TEMPLATE_CHARS = 256 * 1024
#: Longest value of any other text setting (URLs, ids, paths).
MAX_TEXT_CHARS = 2048
#: Most integration ids remembered (Commerce allows 100 integrations per store).
MAX_INTEGRATIONS = 100
#: How Commerce may deliver events: webhooks to the relay URL, or messages on an SQS queue.
DELIVERY_KINDS = ("webhook", "aws_sqs")


def _add_delivery(data: dict[str, Any]) -> dict[str, Any]:
    """Version 1 → 2: the delivery choice; every version-1 setup used webhooks."""
    data.setdefault("delivery", {"kind": "webhook"})
    return data


MIGRATIONS[1] = _add_delivery


# --------------------------------------------------------------------------------------------
# The settings
# --------------------------------------------------------------------------------------------


@dataclass
class CommerceSettings:
    """Where the Commerce store is and which API client to use (its secret is in the keyring)."""

    client_id: str = ""
    base_url: str = ""


@dataclass
class SegmentSettings:
    """Where Segment calls go (the write key is in the keyring)."""

    host: str = DEFAULT_SEGMENT_HOST
    path: str = DEFAULT_SEGMENT_PATH


@dataclass
class DeliverySettings:
    """Where Commerce delivers events: ``webhook`` (to ``Config.relay_url``) or ``aws_sqs``.

    For a queue: its URL, region and the access key id Commerce writes with (its secret access
    key is in the keyring, like every secret); relay workers read the same queue.
    """

    kind: str = "webhook"
    sqs_queue_url: str = ""
    sqs_region: str = ""
    sqs_access_key_id: str = ""
    #: ``secrets.secret_fingerprint`` of the secret access key last registered with Commerce.
    sqs_secret_fingerprint: str = ""


@dataclass
class TrackingChoice:
    """Whether a template is on, and which Commerce event it tracks."""

    enabled: bool
    event: str


def default_tracking() -> dict[str, TrackingChoice]:
    """Every template with its default on/off state and default event (from ``events.py``)."""
    return {t.key: TrackingChoice(t.enabled_by_default, t.default_event) for t in TEMPLATES}


@dataclass
class Config:
    """Everything Segment Desktop remembers between runs, except secrets."""

    schema_version: int = SCHEMA_VERSION
    commerce: CommerceSettings = field(default_factory=CommerceSettings)
    segment: SegmentSettings = field(default_factory=SegmentSettings)
    #: Template key → choice; always holds every template (missing ones get their defaults).
    tracking: dict[str, TrackingChoice] = field(default_factory=default_tracking)
    #: Template key → the user's template text, for templates that differ from the default.
    template_overrides: dict[str, str] = field(default_factory=dict)
    #: Our integration name → its Commerce id, so registration recognises what it created.
    integration_ids: dict[str, str] = field(default_factory=dict)
    relay_url: str = ""
    sandbox: bool = False
    #: ``secrets.secret_fingerprint`` of the webhook secret last registered with Commerce.
    webhook_secret_fingerprint: str = ""
    delivery: DeliverySettings = field(default_factory=DeliverySettings)

    @classmethod
    def default(cls) -> Config:
        """Fresh settings: every template at its default, nothing connected yet."""
        return cls()

    def chosen_events(self) -> dict[str, str]:
        """Enabled template key → the Commerce event it tracks, in the templates' order."""
        return {
            t.key: self.tracking[t.key].event
            for t in TEMPLATES
            if t.key in self.tracking and self.tracking[t.key].enabled
        }

    def validate(self) -> None:
        """Raise :class:`ConfigError` when a value is impossible (e.g. an event a template
        cannot track). Types are checked when the settings are read from a file."""
        from segment_desktop.core.config_reader import problems_of

        problems = problems_of(self)
        if problems:
            raise ConfigError("Invalid settings: " + "; ".join(problems) + ".")

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape of the file: plain dicts, lists, strings, numbers and booleans."""
        return {
            "schema_version": self.schema_version,
            "commerce": {
                "client_id": self.commerce.client_id,
                "base_url": self.commerce.base_url,
            },
            "segment": {"host": self.segment.host, "path": self.segment.path},
            "tracking": {
                key: {"enabled": choice.enabled, "event": choice.event}
                for key, choice in self.tracking.items()
            },
            "template_overrides": dict(self.template_overrides),
            "integration_ids": dict(self.integration_ids),
            "relay_url": self.relay_url,
            "sandbox": self.sandbox,
            "webhook_secret_fingerprint": self.webhook_secret_fingerprint,
            "delivery": {
                "kind": self.delivery.kind,
                "sqs_queue_url": self.delivery.sqs_queue_url,
                "sqs_region": self.delivery.sqs_region,
                "sqs_access_key_id": self.delivery.sqs_access_key_id,
                "sqs_secret_fingerprint": self.delivery.sqs_secret_fingerprint,
            },
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Config:
        """Settings from their JSON shape (already migrated to :data:`SCHEMA_VERSION`).

        Raises :class:`ConfigError` listing every problem found, each with its path in the
        file (``tracking.order_completed.event``). Templates missing from ``tracking`` get their
        defaults, so a file written before a template existed still loads.
        """
        from segment_desktop.core.config_reader import SettingsReader, problems_of

        reader = SettingsReader()
        config = reader.config(data)
        problems = reader.problems + (problems_of(config) if not reader.problems else [])
        if problems:
            raise ConfigError("; ".join(problems))
        return config


# --------------------------------------------------------------------------------------------
# Versions
# --------------------------------------------------------------------------------------------


def migrate(data: dict[str, Any], *, source: str) -> dict[str, Any]:
    """Bring a settings dict up to :data:`SCHEMA_VERSION` through :data:`MIGRATIONS`.

    ``source`` names the file in messages. A newer version raises :class:`ConfigError`.
    """
    version = data.get("schema_version")
    if not isinstance(version, int) or isinstance(version, bool):
        raise ConfigError(
            f"The settings file {source} has no valid schema_version, so it is not a Segment "
            "Desktop settings file or it is damaged. Fix it, import settings from an export, or "
            "reset the settings."
        )
    if version > SCHEMA_VERSION:
        raise ConfigError(
            f"The settings file {source} was written by a newer version of Segment Desktop "
            f"(settings version {version}; this version understands up to {SCHEMA_VERSION}). "
            "Update Segment Desktop to use it, or reset the settings."
        )
    while version < SCHEMA_VERSION:
        step = MIGRATIONS.get(version)
        if step is None:
            raise ConfigError(
                f"The settings file {source} has settings version {version}, which this version "
                f"of Segment Desktop cannot upgrade. Reset the settings and set them up again."
            )
        data = step(dict(data))
        version += 1
        data["schema_version"] = version
    return data


# --------------------------------------------------------------------------------------------
# The store
# --------------------------------------------------------------------------------------------


def config_directory(directory: Path | None = None) -> Path:
    """``directory``, else ``$SEGMENT_DESKTOP_CONFIG_DIR``, else the platform's config folder."""
    if directory is not None:
        return Path(directory)
    from_env = os.environ.get(CONFIG_DIR_ENV)
    if from_env:
        return Path(from_env)
    return Path(platformdirs.user_config_dir(APP_NAME, appauthor=False))


def _parse(raw: bytes, source: str) -> Config:
    """Settings from a file's bytes, or a ConfigError naming ``source`` and the problem."""
    data = migrate(decode_settings(raw, source), source=source)
    try:
        return Config.from_dict(data)
    except ConfigError as exc:
        raise ConfigError(
            f"The settings file {source} has invalid settings: {exc}. Fix it, import settings "
            "from an export, or reset the settings."
        ) from None


class ConfigStore:
    """Loads and saves :class:`Config` in ``directory / "config.json"``; exports and imports."""

    def __init__(self, directory: Path | None = None) -> None:
        self.directory = config_directory(directory)

    @property
    def path(self) -> Path:
        """The settings file."""
        return self.directory / CONFIG_FILE_NAME

    def load(self) -> Config:
        """The saved settings, or the defaults when nothing was saved yet.

        Raises :class:`ConfigError` when the file cannot be read, is damaged, or comes from a
        newer version; the file is left as it is.
        """
        raw = read_settings_bytes(self.path, "settings file")
        if raw is None:
            return Config.default()
        return _parse(raw, str(self.path))

    def save(self, config: Config) -> None:
        """Write ``config`` atomically.

        Refuses (:class:`ConfigError`) to replace a file that does not load (damaged, or from a
        newer version): the user must :meth:`reset` first, so nothing is lost silently.
        """
        config.validate()
        self._refuse_if_unloadable()
        data = encode_settings(config.to_dict())
        try:
            self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
            atomic_write(self.path, data)
        except OSError as exc:
            raise ConfigError(
                f"Could not save the settings to {self.path}: {exc.strerror or exc}. Check that "
                "the folder is writable and the disk is not full; the previous settings are "
                "unchanged."
            ) from None
        remove_stale_temp_files(self.directory, CONFIG_FILE_NAME)

    def reset(self) -> Path | None:
        """Start again from the defaults: move the current file aside, keeping it.

        A file that does not load goes to ``config.json.corrupt-<UTC time>``, a good one to
        ``config.json.bak-<UTC time>``. Returns where it went (``None`` when there was no file).
        The next :meth:`load` returns the defaults.
        """
        if not self.path.exists():
            return None
        try:
            self.load()
            tag = "bak"
        except ConfigError:
            tag = "corrupt"
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        target = self.path.with_name(f"{CONFIG_FILE_NAME}.{tag}-{stamp}")
        counter = 1
        while target.exists():
            target = self.path.with_name(f"{CONFIG_FILE_NAME}.{tag}-{stamp}-{counter}")
            counter += 1
        try:
            rename_durably(self.path, target)
        except OSError as exc:
            raise ConfigError(
                f"Could not move the settings file {self.path} aside to {target.name}: "
                f"{exc.strerror or exc}. Check the folder's permissions."
            ) from None
        return target

    def export_to(
        self, path: Path, config: Config, extras: Mapping[str, Any] | None = None
    ) -> None:
        """Write ``config`` to a file the user chose, marked as a settings export.

        ``extras`` (JSON data by name, e.g. ``template_tests``) travels beside the settings; see
        :meth:`import_extras`. Holds no secret: :class:`Config` has none. Written atomically,
        like the settings file.
        """
        config.validate()
        path = Path(path)
        extra = {EXTRAS_KEY: dict(extras)} if extras else {}
        data = encode_settings({"kind": EXPORT_KIND, **config.to_dict(), **extra})
        try:
            atomic_write(path, data)
        except OSError as exc:
            raise ConfigError(
                f"Could not export the settings to {path}: {exc.strerror or exc}. Choose a "
                "folder you can write to."
            ) from None

    def import_from(self, path: Path) -> Config:
        """Read settings exported by :meth:`export_to` (a plain ``config.json`` works too).

        Only reads: save the result to make it current. To replace a damaged settings file:
        ``config = store.import_from(p); store.reset(); store.save(config)``.
        """
        path = Path(path)
        raw = read_settings_bytes(path, "file to import")
        if raw is None:
            raise ConfigError(f"The file to import, {path}, does not exist.")
        data = decode_settings(raw, str(path))
        if data.get("kind", EXPORT_KIND) != EXPORT_KIND:
            raise ConfigError(
                f"{path} is not a Segment Desktop settings export (its kind is "
                f"{str(data.get('kind'))[:60]!r}). Choose a file made by Export settings."
            )
        return _parse(raw, str(path))

    def import_extras(self, path: Path) -> dict[str, Any]:
        """The ``extras`` an export carries (empty when it has none); check the file with
        :meth:`import_from` first."""
        raw = read_settings_bytes(Path(path), "file to import")
        extras = decode_settings(raw, str(path)).get(EXTRAS_KEY) if raw is not None else None
        return extras if isinstance(extras, dict) else {}

    # -- internals ---------------------------------------------------------------------------

    def _refuse_if_unloadable(self) -> None:
        try:
            self.load()
        except ConfigError as exc:
            raise ConfigError(
                f"Not saving, so as not to overwrite a settings file that does not load: {exc} "
                "Resetting moves the old file aside (nothing is deleted)."
            ) from None
