"""The main window after setup: a live dashboard of the pipeline (overview, deliveries), the
integrations at Commerce, and in sandbox mode the tools to fire sample events."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QTimer, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QLabel, QMainWindow, QVBoxLayout, QWidget

from segment_desktop.core.config import Config
from segment_desktop.core.events import BY_KEY
from segment_desktop.services import Services
from segment_desktop.ui.dashboard.pipeline import PipelineHeader
from segment_desktop.ui.dashboard.snapshot import queue_url
from segment_desktop.ui.tasks import TaskRunner
from segment_desktop.ui.widgets.dialogs import Dialogs, QtDialogs
from segment_desktop.ui.widgets.first_paint import after_first_paint

if TYPE_CHECKING:
    from PySide6.QtGui import QCloseEvent  # its type is built when a close event comes

    from segment_desktop.ui.dashboard.snapshot import Snapshot
    from segment_desktop.ui.widgets.sandbox_panel import FireReport

STATUS_TASK = "main.status"
FIRE_TASK = "main.fire"
IMPORT_TASK = "main.import"
OPEN_TASK = "main.open-event"
#: After the window is first shown, before the first reads start (a frame or so).
FIRST_READ_DELAY_MS = 50


def describe(config: Config) -> str:
    """One line: where events come from and where they go (the pipeline's addresses)."""
    mode = "Sandbox mode: everything runs on this computer. " if config.sandbox else ""
    queue = queue_url(config)
    middle = f"queue {queue}" if queue else f"relay {config.relay_url}"
    return (
        f"{mode}Commerce store {config.commerce.base_url} → {middle} → "
        f"Segment {config.segment.host}{config.segment.path}"
    )


def tracked(config: Config) -> str:
    """What is tracked, for the header's tooltip."""
    names = ", ".join(
        f"{BY_KEY[key].name} ({event})" for key, event in config.chosen_events().items()
    )
    return f"Commerce client {config.commerce.client_id}. Tracking: {names or 'nothing'}"


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
        self.resize(1100, 760)
        self.setMinimumSize(760, 560)
        self._fired: FireReport | None = None
        self._last_webhook: float | None = None
        self._built = False

        # First the header, drawn at once; the tabs follow right after the first paint
        # (:meth:`_build`), so the window is on screen before the charts and tables load.
        # Nothing before that names the ``Qt`` namespace: PySide builds all its enums on
        # first use, which takes longer than drawing the window (see :meth:`_start`).
        central = QWidget(self)
        self._layout = QVBoxLayout(central)
        self.pipeline = PipelineHeader(central)
        self.header = QLabel(central)
        self.header.setWordWrap(True)
        self.header.setEnabled(False)  # muted: the pipeline above says the same in colour
        self._layout.addWidget(self.pipeline)
        self._layout.addWidget(self.header)
        self._layout.addStretch(1)
        self.setCentralWidget(central)
        self._build_menus()
        self._show_config(config)
        after_first_paint(self, self._start)

    def _build(self) -> None:
        """The tabs: overview, deliveries, integrations, sandbox."""
        if self._built:
            return
        from PySide6.QtWidgets import QPushButton, QTabWidget

        from segment_desktop.ui.dashboard.dashboard import Dashboard
        from segment_desktop.ui.widgets.integrations import IntegrationsPanel
        from segment_desktop.ui.widgets.sandbox_panel import SandboxPanel

        self._built = True
        self.tabs = QTabWidget(self)
        self.tabs.setDocumentMode(True)
        self.dashboard = Dashboard(
            self.services,
            self.tasks,
            lambda: self.config,
            self.pipeline,
            self.tabs,
            dialogs=self.dialogs,
        )
        self.relay_panel = self.dashboard.relay_numbers
        self.integrations = IntegrationsPanel(
            self.services,
            self.tasks,
            lambda: self.config,
            self.tabs,
            self.dashboard.log.known_events,
            dialogs=self.dialogs,
        )
        self.integrations.configChanged.connect(self.set_config)
        self.integrations.listed.connect(self.dashboard.commerce_listed)
        self.integrations.listFailed.connect(self.dashboard.commerce_failed)
        self.sandbox_panel = SandboxPanel(self.tabs)
        self.sandbox_panel.fireRequested.connect(self.fire_sample)
        self._logs_stale = False
        self.tabs.currentChanged.connect(self._tab_shown)
        self.tabs.addTab(self.dashboard, "O&verview")
        self.tabs.addTab(self.dashboard.log, "&Deliveries")
        self.tabs.addTab(self.integrations, "&Integrations")
        self.sandbox_tab = self.tabs.addTab(self.sandbox_panel, "Sand&box")
        self._layout.takeAt(self._layout.count() - 1)  # the stretch held the tabs' place
        self._layout.addWidget(self.tabs, 1)

        self.open_fired = QPushButton("Open in studio", self)
        self.open_fired.setToolTip("Open the template that failed, with the fired event.")
        self.open_fired.clicked.connect(self._open_fired)
        self.open_fired.hide()
        self.statusBar().addPermanentWidget(self.open_fired)
        self.dashboard.openInStudio.connect(self.open_studio_on)
        self.dashboard.message.connect(lambda text: self.statusBar().showMessage(text, 8000))
        self.dashboard.refreshed.connect(self._snapshot_shown)
        self._show_config(self.config)

    # -- menus -------------------------------------------------------------------------------

    def _build_menus(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        self.export_action = QAction("&Export settings…", self)
        self.export_action.triggered.connect(self.export_settings)
        self.import_action = QAction("&Import settings…", self)
        self.import_action.triggered.connect(self.import_settings)
        quit_action = QAction("&Quit", self)
        # setShortcuts: every binding the platform has for the key (the singular form's
        # overloads would also make PySide build the Qt namespace, see __init__).
        quit_action.setShortcuts(QKeySequence.StandardKey.Quit)
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
        self.refresh_action.setShortcuts(QKeySequence.StandardKey.Refresh)
        self.refresh_action.triggered.connect(self.refresh)
        setup_menu.addActions([self.rerun_action, self.studio_action, self.refresh_action])
        self.trigger_action = QAction("&Trigger a webhook…", self)
        self.trigger_action.triggered.connect(self.open_trigger)
        setup_menu.addAction(self.trigger_action)
        self.toolbar = toolbar = self.addToolBar("Actions")
        toolbar.setObjectName("actions")
        toolbar.setMovable(False)
        toolbar.addActions([self.rerun_action, self.studio_action, self.refresh_action])
        toolbar.addSeparator()
        toolbar.addActions([self.export_action, self.import_action])

    # -- state -------------------------------------------------------------------------------

    def set_config(self, config: Config) -> None:
        """Show ``config`` (after setup ran again, an import, or an action)."""
        self._show_config(config)
        if self._built:
            self.refresh()

    def _show_config(self, config: Config) -> None:
        self.config = config
        self.header.setText(describe(config))
        self.header.setToolTip(tracked(config))
        if self._built:
            self.tabs.setTabVisible(self.sandbox_tab, self.services.sandbox is not None)

    def _start(self) -> None:
        if self._built or not self.isVisible():  # built already, or closed (the app quits)
            return
        from PySide6.QtCore import Qt

        # Named only after the first paint (see __init__): the actions have no icons, so the
        # toolbar looks the same either way, and nobody selects the header's text before it.
        self.toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        self.header.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self._build()
        # The first reads start a moment later: their imports (the HTTP client, the relay's
        # metrics) in a worker thread would otherwise compete with drawing the tabs.
        QTimer.singleShot(FIRST_READ_DELAY_MS, self._first_read)

    def _first_read(self) -> None:
        if self.isVisible():
            self.refresh()

    def refresh(self) -> None:
        """Read the integrations (and the selected one's delivery log) and the relay again."""
        self._build()
        self.integrations.refresh()
        if not self.dashboard.timer.isActive():
            self.dashboard.start()
        else:
            self.dashboard.refresh()

    def _snapshot_shown(self, snapshot: Snapshot) -> None:
        self._follow_fired(snapshot)
        if snapshot.last_webhook != self._last_webhook:
            # A delivery arrived: Commerce has logged it, so its delivery log has news. Read
            # only while the log is on screen (else when it is shown): each read is a request
            # to Commerce and a table laid out again, and with events flowing it is every
            # second.
            self._last_webhook = snapshot.last_webhook
            self._logs_stale = True
            if self.integrations.isVisible():
                self._reload_logs()
        if self.sandbox_panel.isVisible():
            self._read_received()

    def _tab_shown(self, _index: int) -> None:
        """Catch up on what a tab skipped while hidden."""
        shown = self.tabs.currentWidget()
        if shown is self.integrations and self._logs_stale:
            self._reload_logs()
        elif shown is self.sandbox_panel:
            self._read_received()

    def _reload_logs(self) -> None:
        self._logs_stale = False
        if self.integrations.log_offset == 0:  # a user paging back stays where they are
            self.integrations.load_logs(0)

    def _read_received(self) -> None:
        """What the sandbox Segment received, for the Sandbox tab (only while it is shown:
        the list is copied whole from the emulator)."""
        sandbox = self.services.sandbox
        if sandbox is None or self.tasks.is_busy(STATUS_TASK):
            return
        self.tasks.submit(
            STATUS_TASK,
            lambda _t: list(sandbox.segment.received_calls()),
            on_result=self.sandbox_panel.show_calls,
        )

    # -- firing a sample (sandbox mode) ------------------------------------------------------

    def fire_sample(self, event: str) -> None:
        sandbox = self.services.sandbox
        if sandbox is None:
            return
        self.sandbox_panel.fire_button.setEnabled(False)
        self.open_fired.hide()
        self.statusBar().showMessage(f"Firing {event} in the sandbox store…")

        def fired(results: object) -> None:
            from segment_desktop.ui.widgets.sandbox_panel import describe_fire

            self.sandbox_panel.fire_button.setEnabled(True)
            handles = results if isinstance(results, list) else []
            self._fired = describe_fire(event, handles)
            self.statusBar().showMessage(self._fired.text)
            self.open_fired.setVisible(bool(self._fired.template_error))
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

    def _follow_fired(self, snapshot: Snapshot) -> None:
        """Once Segment answered for the fired event's calls, say so (the end of the way)."""
        fired = self._fired
        if fired is not None and fired.template_error and snapshot.local:
            waiting = {item.event_id for item in snapshot.parked}
            if fired.event_id not in waiting:  # replayed or discarded since
                self.open_fired.hide()
                self._fired = None
                return
        if fired is None or not fired.queued:
            return
        entry = next((e for e in snapshot.deliveries if e.event_id == fired.event_id), None)
        if entry is None or entry.result == "waiting":
            return
        if entry.result == "delivered":
            n = len(entry.calls)
            ending = f" Segment accepted {'the call' if n == 1 else f'all {n} calls'}."
        else:
            refused = next((c.answer for c in entry.calls if c.answer), "")
            ending = f" Segment refused it: {refused} (see What needs me)."
        self.statusBar().showMessage(fired.text + ending)
        self._fired = None

    def _open_fired(self) -> None:
        fired = self._fired
        if fired is not None and fired.template_error:
            self.dashboard.open_event(fired.event_id, fired.template_error)

    # -- settings ----------------------------------------------------------------------------

    def export_settings(self) -> None:
        from PySide6.QtWidgets import QFileDialog

        path, _ = QFileDialog.getSaveFileName(
            self, "Export settings", "segment-desktop-settings.json", "JSON (*.json)"
        )
        if path:
            self.export_to(Path(path))

    def export_to(self, path: Path) -> None:
        from segment_desktop.core.template_tests import extras_for_export

        try:
            store = self.services.config_store
            store.export_to(path, self.config, extras_for_export(store.directory))
        except Exception as err:
            self.dialogs.warn(self, "Export settings", str(err))
            return
        self.statusBar().showMessage(f"Settings exported to {path} (no secrets).", 8000)

    def import_settings(self) -> None:
        from PySide6.QtWidgets import QFileDialog

        path, _ = QFileDialog.getOpenFileName(self, "Import settings", "", "JSON (*.json)")
        if path:
            self.import_from(Path(path))

    def import_from(self, path: Path) -> None:
        """Read ``path`` off the GUI thread, then show what it changes and ask."""
        store = self.services.config_store
        self.statusBar().showMessage(f"Reading {path}…")
        self.tasks.submit(
            IMPORT_TASK,
            lambda _t: (store.import_from(path), store.import_extras(path)),
            on_result=lambda read: self._confirm_import(path, *read),
            on_error=lambda err: self.statusBar().showMessage(f"Import settings: {err}", 15000),
        )

    def _confirm_import(self, path: Path, imported: Config, extras: Mapping[str, Any]) -> None:
        from segment_desktop.ui.dashboard.settings_diff import settings_diff

        changes = settings_diff(self.config, imported)
        self.statusBar().clearMessage()
        self.dialogs.ask_later(
            self,
            "Import settings?",
            "Importing replaces your settings. These change:\n\n" + "\n".join(changes)
            if changes
            else "The file holds the settings you have now.",
            "Import",
            safe="Cancel",
            answered=lambda yes: self._apply_import(path, imported, extras) if yes else None,
        )

    def _apply_import(self, path: Path, imported: Config, extras: Mapping[str, Any]) -> None:
        from segment_desktop.core.template_tests import restore_from_export

        try:
            self.services.save(imported)
            restore_from_export(extras, str(path), self.services.config_store.directory)
        except Exception as err:
            self.dialogs.warn(self, "Import settings", str(err))
            return
        self.set_config(imported)
        self.statusBar().showMessage(
            "Settings imported. Commerce still has the integrations as they were: "
            "re-register to apply them there.",
            15000,
        )
        if self.services.relay is not None:
            self.services.relay.update_templates(imported)
        self.integrations.reregister_button.click()

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

    # -- the template studio -----------------------------------------------------------------

    def open_studio(self) -> Any:
        from segment_desktop.ui.studio import StudioDialog
        from segment_desktop.ui.wizard.templates import make_studio

        studio = make_studio(self.services, self.tasks, copy.deepcopy(self.config))
        dialog = StudioDialog(studio, self)
        studio.saved.connect(lambda _key: self._studio_saved())
        self.studio_dialog = dialog
        dialog.show()
        return studio

    def open_studio_on(self, template_key: str, event: Any) -> None:
        """The studio on ``template_key`` with ``event`` (a parked or logged one) as sample."""
        studio = self.open_studio()
        if studio is None:
            return
        if template_key:
            studio.select_template(template_key)
        studio.samples.use_event(event, f"{event.triggered_by} event {event.id} from the relay")

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
        if self._built:
            self.dashboard.stop()
        super().closeEvent(event)
