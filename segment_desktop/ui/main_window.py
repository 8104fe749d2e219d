"""The main window after setup: integrations and their deliveries, relay status, sandbox tools."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence
from PySide6.QtWidgets import (
    QFileDialog,
    QLabel,
    QMainWindow,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from segment_desktop.core.config import Config
from segment_desktop.core.events import BY_KEY
from segment_desktop.core.template_tests import extras_for_export, restore_from_export
from segment_desktop.services import Services
from segment_desktop.ui.tasks import TaskRunner
from segment_desktop.ui.widgets.dialogs import Dialogs, QtDialogs
from segment_desktop.ui.widgets.integrations import IntegrationsPanel
from segment_desktop.ui.widgets.relay_status import RelayStatusPanel
from segment_desktop.ui.widgets.sandbox_panel import SandboxPanel

STATUS_TASK = "main.status"
FIRE_TASK = "main.fire"
POLL_MS = 1500


def describe(config: Config) -> str:
    """One paragraph: where events come from, where they go, what is tracked."""
    tracked = ", ".join(
        f"{BY_KEY[key].name} ({event})" for key, event in config.chosen_events().items()
    )
    mode = "Sandbox mode: everything runs on this computer.\n" if config.sandbox else ""
    return (
        f"{mode}Commerce store {config.commerce.base_url} (client {config.commerce.client_id}) "
        f"→ relay {config.relay_url} → Segment {config.segment.host}{config.segment.path}\n"
        f"Tracking: {tracked or 'nothing'}"
    )


class MainWindow(QMainWindow):
    """Status and actions for a configured installation.

    Signals:
        rerunSetupRequested(): the user chose Setup › Run setup again.
    """

    rerunSetupRequested = Signal()

    def __init__(
        self,
        services: Services,
        config: Config,
        *,
        tasks: TaskRunner | None = None,
        dialogs: Dialogs | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.services = services
        self.config = config
        self.dialogs: Dialogs = dialogs or QtDialogs()
        self.tasks = tasks or TaskRunner(self)
        self.setWindowTitle("Segment Desktop")
        self.resize(1000, 720)
        self.setMinimumSize(720, 520)

        central = QWidget(self)
        layout = QVBoxLayout(central)
        self.header = QLabel(central)
        self.header.setWordWrap(True)
        self.header.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.header)
        splitter = QSplitter(Qt.Orientation.Vertical, central)
        self.integrations = IntegrationsPanel(
            services, self.tasks, lambda: self.config, splitter, dialogs=self.dialogs
        )
        self.integrations.configChanged.connect(self.set_config)
        splitter.addWidget(self.integrations)
        self.relay_panel = RelayStatusPanel(splitter)
        splitter.addWidget(self.relay_panel)
        self.sandbox_panel = SandboxPanel(splitter)
        self.sandbox_panel.fireRequested.connect(self.fire_sample)
        splitter.addWidget(self.sandbox_panel)
        layout.addWidget(splitter, 1)
        self.setCentralWidget(central)
        self._build_menus()

        self.poll = QTimer(self)
        self.poll.setInterval(POLL_MS)
        self.poll.timeout.connect(self.refresh_status)
        self.set_config(config)

    # -- menus -------------------------------------------------------------------------------

    def _build_menus(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        self.export_action = QAction("&Export settings…", self)
        self.export_action.triggered.connect(self.export_settings)
        self.import_action = QAction("&Import settings…", self)
        self.import_action.triggered.connect(self.import_settings)
        quit_action = QAction("&Quit", self)
        quit_action.setShortcut(QKeySequence.StandardKey.Quit)
        quit_action.triggered.connect(self.close)
        file_menu.addActions([self.export_action, self.import_action])
        file_menu.addSeparator()
        file_menu.addAction(quit_action)
        setup_menu = self.menuBar().addMenu("&Setup")
        self.rerun_action = QAction("&Run setup again…", self)
        self.rerun_action.triggered.connect(self.rerunSetupRequested)
        self.studio_action = QAction("Open template &studio…", self)
        self.studio_action.triggered.connect(self.open_studio)
        self.refresh_action = QAction("Re&fresh", self)
        self.refresh_action.setShortcut(QKeySequence.StandardKey.Refresh)
        self.refresh_action.triggered.connect(self.refresh)
        setup_menu.addActions([self.rerun_action, self.studio_action, self.refresh_action])
        self.trigger_action = QAction("&Trigger a webhook…", self)
        self.trigger_action.triggered.connect(self.open_trigger)
        setup_menu.addAction(self.trigger_action)
        toolbar = self.addToolBar("Actions")
        toolbar.setObjectName("actions")
        toolbar.setMovable(False)
        toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        toolbar.addActions([self.rerun_action, self.studio_action])
        toolbar.addSeparator()
        toolbar.addActions([self.export_action, self.import_action])

    # -- state -------------------------------------------------------------------------------

    def set_config(self, config: Config) -> None:
        """Show ``config`` (after setup ran again, an import, or an action)."""
        self.config = config
        self.header.setText(describe(config))
        self.sandbox_panel.setVisible(self.services.sandbox is not None)
        self.refresh()

    def refresh(self) -> None:
        self.integrations.refresh()
        self.refresh_status()
        if not self.poll.isActive():
            self.poll.start()

    def refresh_status(self) -> None:
        """Relay counts and, in sandbox mode, the calls Segment received (off the GUI thread)."""
        if self.tasks.is_busy(STATUS_TASK):
            return
        self.tasks.submit(
            STATUS_TASK,
            lambda _t: (self.services.relay_status(), self._received_calls()),
            on_result=self._show_status,
            on_error=lambda err: self.relay_panel.summary.setText(f"Relay status: {err}"),
        )

    def _received_calls(self) -> list[dict[str, Any]]:
        sandbox = self.services.sandbox
        return list(sandbox.segment.received_calls()) if sandbox is not None else []

    def _show_status(self, result: tuple[Any, list[dict[str, Any]]]) -> None:
        status, calls = result
        self.relay_panel.show_status(status)
        if self.services.sandbox is not None:
            self.sandbox_panel.show_calls(calls)

    # -- actions -----------------------------------------------------------------------------

    def fire_sample(self, event: str) -> None:
        sandbox = self.services.sandbox
        if sandbox is None:
            return
        self.sandbox_panel.fire_button.setEnabled(False)
        self.statusBar().showMessage(f"Firing {event} in the sandbox store…")

        def fired(results: object) -> None:
            self.sandbox_panel.fire_button.setEnabled(True)
            handles = results if isinstance(results, list) else []
            ok = sum(1 for r in handles if getattr(r, "succeeded", False))
            self.statusBar().showMessage(
                f"{event} sent to {len(handles)} integration(s); {ok} accepted it."
                if handles
                else f"No enabled integration observes {event}.",
                8000,
            )
            self.refresh()

        def failed(error: BaseException) -> None:
            self.sandbox_panel.fire_button.setEnabled(True)
            self.statusBar().showMessage(f"Could not fire {event}: {error}", 8000)

        self.tasks.submit(
            FIRE_TASK,
            lambda _t: sandbox.commerce.fire(event, wait=True, timeout=15),
            on_result=fired,
            on_error=failed,
        )

    def export_settings(self) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self, "Export settings", "segment-desktop-settings.json", "JSON (*.json)"
        )
        if path:
            self.export_to(Path(path))

    def export_to(self, path: Path) -> None:
        try:
            store = self.services.config_store
            store.export_to(path, self.config, extras_for_export(store.directory))
        except Exception as err:
            self.dialogs.warn(self, "Export settings", str(err))
            return
        self.statusBar().showMessage(f"Settings exported to {path} (no secrets).", 8000)

    def import_settings(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Import settings", "", "JSON (*.json)")
        if path:
            self.import_from(Path(path))

    def import_from(self, path: Path) -> None:
        try:
            store = self.services.config_store
            config = store.import_from(path)
            self.services.save(config)
            restore_from_export(store.import_extras(path), str(path), store.directory)
        except Exception as err:
            self.dialogs.warn(self, "Import settings", str(err))
            return
        self.set_config(config)
        self.statusBar().showMessage(
            "Settings imported. Use Re-register to apply them at Commerce.", 10000
        )

    def open_trigger(self) -> None:
        """Send a Commerce webhook to the relay on purpose (``segment-desktop trigger``)."""
        from segment_desktop.core.secrets import WEBHOOK_SECRET
        from segment_desktop.ui.trigger_dialog import TriggerDialog

        commerce, _segment = self.services.studio_clients(self.config)
        dialog = TriggerDialog(
            self.tasks,
            relay_url=self.config.relay_url,
            secret=lambda: self.services.read_secret(WEBHOOK_SECRET),
            commerce=commerce,
            parent=self,
        )
        dialog.show()

    def open_studio(self) -> None:
        from segment_desktop.ui.studio import StudioDialog
        from segment_desktop.ui.wizard.templates import make_studio

        studio = make_studio(self.services, self.tasks, copy.deepcopy(self.config))
        dialog = StudioDialog(studio, self)
        studio.saved.connect(lambda _key: self._studio_saved())
        self.studio_dialog = dialog
        dialog.show()

    def _studio_saved(self) -> None:
        """The studio saved an override to the settings file: keep our copy (and the local
        relay's templates) in step."""
        try:
            fresh = self.services.load_config()
        except Exception as err:
            self.statusBar().showMessage(f"Could not reload the settings: {err}", 8000)
            return
        self.config.template_overrides = dict(fresh.template_overrides)
        if self.services.relay is not None:
            self.services.relay.update_templates(self.config)

    def closeEvent(self, event: QCloseEvent) -> None:
        self.poll.stop()
        super().closeEvent(event)
