"""Picking up template and tracking changes saved by the desktop app, without a restart.

Whatever the settings file holds (damaged, nested past reason, from a newer version), the
watcher keeps the templates it has, keeps watching, and reports the problem in ``/healthz``
until a good file is saved.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from segment_desktop.core.config import Config, ConfigStore
from segment_desktop.core.errors import ConfigError
from segment_desktop.relay.health import SETTINGS, HealthReports

log = logging.getLogger(__name__)

POLL_SECONDS = 2.0


class SettingsWatcher:
    """Polls the settings file's modification time; on a change, loads it and calls
    ``apply`` with the new settings."""

    def __init__(
        self,
        store: ConfigStore,
        apply: Callable[[Config], None],
        reports: HealthReports,
        poll_seconds: float = POLL_SECONDS,
    ) -> None:
        self._store = store
        self._apply = apply
        self._reports = reports
        self._poll = poll_seconds
        self._stop = threading.Event()
        self._mtime = self._stamp()
        self._thread = threading.Thread(target=self._run, name="relay-settings", daemon=True)

    def _stamp(self) -> tuple[float, int] | None:
        try:
            info = self._store.path.stat()
        except OSError:
            return None
        return info.st_mtime, info.st_size

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def is_alive(self) -> bool:
        return self._thread.is_alive()

    def _run(self) -> None:
        while not self._stop.wait(self._poll):
            stamp = self._stamp()
            if stamp == self._mtime:
                continue
            self._mtime = stamp
            self.check()

    def check(self) -> None:
        """Load the settings and apply them, or report why not (never raises)."""
        try:
            config = self._store.load()
            self._apply(config)
        except ConfigError as err:
            log.warning("Kept the previous templates: %s", err)
            self._reports.report(SETTINGS, f"the settings file does not load: {err}")
            return
        except Exception as err:  # a bug must not end the watching for good
            log.exception("Kept the previous templates: the settings could not be applied")
            self._reports.report(SETTINGS, f"the settings could not be applied: {err!r}")
            return
        self._reports.clear(SETTINGS)
        log.info("Settings changed: templates and tracked events reloaded")
