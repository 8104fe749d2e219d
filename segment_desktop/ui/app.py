"""``segment-desktop``: the main window when configured, the setup wizard otherwise.

``run(sandbox)`` creates (or reuses) the ``QApplication``, builds the windows through
:class:`AppShell` and runs the event loop. ``--sandbox`` starts the Commerce and Segment
emulators in this process, with their own settings folder and keyring entries so trying the
sandbox never touches a real configuration; the relay starts when setup finishes.
Tests build an :class:`AppShell` directly and never run the event loop.
"""

from __future__ import annotations

import logging
import os
import sys
import traceback
from collections.abc import Callable
from types import TracebackType
from typing import TYPE_CHECKING

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QWidget

from segment_desktop import __version__
from segment_desktop.core.config import Config
from segment_desktop.core.errors import ConfigError, SegmentDesktopError
from segment_desktop.services import Services
from segment_desktop.ui.tasks import TaskRunner
from segment_desktop.ui.widgets.dialogs import Dialogs, QtDialogs
from segment_desktop.ui.widgets.geometry import keep_inside_screen
from segment_desktop.ui.widgets.icon import app_icon

if TYPE_CHECKING:
    # Each imported when first shown: a new user's first window is the wizard, a
    # configured user's the main window.
    from segment_desktop.ui.main_window import MainWindow
    from segment_desktop.ui.wizard import SetupWizard

log = logging.getLogger(__name__)

#: The name people see: window titles and the desktop entry.
DISPLAY_NAME = "Segment Desktop"


def user_message(error: BaseException) -> str:
    """What to tell a user about an error we did not handle: never a traceback."""
    if isinstance(error, SegmentDesktopError):
        return str(error)
    return (
        f"Something unexpected went wrong ({type(error).__name__}: {str(error)[:300]}). "
        "Segment Desktop wrote the details to its log file; your settings are unchanged. "
        "If it happens again, please report it with that log."
    )


ExceptHook = Callable[[type[BaseException], BaseException, TracebackType | None], None]


def install_excepthook(parent: Callable[[], QWidget | None], dialogs: Dialogs) -> ExceptHook:
    """Log every uncaught exception with its traceback and show a readable notice instead.

    Returns the hook (also installed as ``sys.excepthook``). One notice at a time: errors that
    arrive while one is shown are only logged.
    """
    showing: list[bool] = []

    def hook(kind: type[BaseException], error: BaseException, tb: TracebackType | None) -> None:
        if issubclass(kind, KeyboardInterrupt):
            QApplication.quit()
            return
        log.error(
            "Uncaught %s: %s\n%s",
            kind.__name__,
            error,
            "".join(traceback.format_exception(kind, error, tb)),
        )
        if showing or QApplication.instance() is None:
            return
        showing.append(True)
        dialogs.notify_error(parent(), DISPLAY_NAME, user_message(error), closed=showing.clear)

    sys.excepthook = hook
    return hook


def make_services(sandbox: bool) -> Services:
    """Real stores; in sandbox mode the emulators started, with stores of their own."""
    services = Services()
    if sandbox:
        services.start_sandbox()
    return services


#: How long quitting waits for background work to notice it was cancelled. A request stuck on
#: a silent host is not waited for: the process exits without it.
QUIT_WAIT_MS = 300


class AppShell:
    """The application's windows and their hand-offs: wizard → main window → wizard again."""

    def __init__(
        self, services: Services, *, sandbox: bool = False, dialogs: Dialogs | None = None
    ) -> None:
        self.services = services
        self.sandbox = sandbox
        self.dialogs: Dialogs = dialogs or QtDialogs()
        #: Every background task ended when the shell closed (``None``: not closed yet).
        self.finished: bool | None = None
        self.tasks = TaskRunner()
        self.wizard: SetupWizard | None = None
        self.main_window: MainWindow | None = None

    def current_window(self) -> QWidget | None:
        return self.wizard if self.wizard is not None else self.main_window

    def start(self) -> QWidget | None:
        """Show the main window when configured, the wizard otherwise; returns what it showed
        (``None``: the settings are damaged, and the user is asked what to do)."""
        try:
            config = self.services.load_config()
        except ConfigError as err:
            self._damaged(err)
            return None
        if self.services.is_configured(config) and not self.sandbox:
            return self.show_main(config)
        return self.show_wizard(config)

    def _damaged(self, error: ConfigError) -> None:
        def chosen(reset: bool) -> None:
            if reset:
                self.services.config_store.reset()
                self.show_wizard(Config.default())
            else:
                QApplication.quit()

        self.dialogs.ask_later(
            None,
            "Settings damaged",
            f"{error}\n\nReset moves the damaged file aside and starts the setup again.",
            "Reset settings",
            safe="Quit",
            answered=chosen,
        )

    def show_wizard(self, config: Config | None = None) -> SetupWizard:
        from segment_desktop.ui.wizard import SetupWizard

        parent = self.main_window
        wizard = SetupWizard(
            self.services, tasks=self.tasks, config=config, dialogs=self.dialogs, parent=parent
        )
        wizard.setWindowIcon(app_icon())
        if self.sandbox and self.services.sandbox is not None:
            sandbox = self.services.sandbox
            wizard.flow.use_sandbox(
                commerce_url=sandbox.commerce_url,
                client_id=sandbox.client_id,
                client_secret=sandbox.client_secret,
                segment_url=sandbox.segment_url,
                write_key=sandbox.write_key,
                relay_url=self.services.sandbox_relay_url(),
            )
        wizard.configured.connect(self._configured)
        wizard.rejected.connect(self._wizard_closed)
        self.wizard = wizard
        wizard.show()
        wizard.raise_()
        wizard.activateWindow()
        return wizard

    def _configured(self, config: Config) -> None:
        self.wizard = None
        if self.main_window is not None:
            self.main_window.set_config(config)
        else:
            self.show_main(config)

    def _wizard_closed(self) -> None:
        self.wizard = None
        if self.main_window is None:
            QApplication.quit()  # first run cancelled: nothing to show

    def show_main(self, config: Config) -> MainWindow:
        from segment_desktop.ui.main_window import MainWindow

        window = MainWindow(self.services, config, tasks=self.tasks, dialogs=self.dialogs)
        window.setWindowIcon(app_icon())
        window.rerunSetupRequested.connect(lambda: self.show_wizard())
        self.main_window = window
        window.show()
        keep_inside_screen(window)
        # Again once the window manager has framed it (the frame's size is known only then).
        QTimer.singleShot(0, window, lambda: keep_inside_screen(window))
        return window

    def close(self) -> bool:
        """Close the windows without asking, cancel background work, stop what the services
        started (sandbox, relay). Returns whether every background task ended within
        :data:`QUIT_WAIT_MS` (one stuck on a silent host is not waited for)."""
        if self.wizard is not None:
            self.wizard.done(0)
        if self.main_window is not None:
            self.main_window.close()
        self.finished = self.tasks.shutdown(QUIT_WAIT_MS)
        self.services.close()
        return self.finished


def application() -> QApplication:
    """The running QApplication, or a new one named for this app."""
    existing = QApplication.instance()
    app = existing if isinstance(existing, QApplication) else QApplication(sys.argv[:1])
    app.setApplicationName(DISPLAY_NAME)
    app.setApplicationDisplayName(DISPLAY_NAME)
    app.setApplicationVersion(__version__)
    app.setOrganizationName("segment-desktop")
    app.setDesktopFileName("segment-desktop")
    app.setWindowIcon(app_icon())
    return app


def run(sandbox: bool) -> int:
    """Start the GUI (with the in-process emulators when ``sandbox``); returns the exit code."""
    from segment_desktop.core.logs import setup_logging

    setup_logging()
    app = application()
    dialogs = QtDialogs()
    try:
        services = make_services(sandbox)
    except SegmentDesktopError as err:
        dialogs.warn(None, DISPLAY_NAME, str(err))
        return 1
    shell = AppShell(services, sandbox=sandbox, dialogs=dialogs)
    install_excepthook(shell.current_window, dialogs)
    app.aboutToQuit.connect(shell.close)
    QTimer.singleShot(0, shell.start)
    code = int(app.exec())
    if shell.finished is False:
        # A cancelled request is still waiting on the network; its answer would be dropped
        # anyway, and waiting for it would leave a process without a window.
        log.info("Exiting without waiting for a cancelled network request.")
        logging.shutdown()
        os._exit(code)
    return code
