"""Application start: which window opens, damaged settings, and the uncaught-error dialog."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator

import httpx
import keyring
import keyring.backends.fail
import pytest
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from segment_desktop.core.config import CommerceSettings, Config, ConfigStore, config_directory
from segment_desktop.core.errors import NetworkError
from segment_desktop.core.secrets import SecretStore
from segment_desktop.services import MemorySecrets, Services
from segment_desktop.ui.app import (
    AppShell,
    application,
    install_excepthook,
    make_services,
    user_message,
)
from segment_desktop.ui.main_window import MainWindow
from segment_desktop.ui.wizard import SetupWizard
from tests.fixtures.dialogs import ScriptedDialogs
from tests.fixtures.secret_service import SecretService

pytestmark = [
    pytest.mark.gui,
    # The offscreen platform cannot raise windows or propagate a dialog's size hints.
    pytest.mark.qt_log_ignore(r"This plugin does not support (raise|propagateSizeHints)\(\)"),
]


@pytest.fixture
def shell(keyring_clean: SecretService) -> Iterator[AppShell]:
    services = Services(config_store=ConfigStore(), secrets=SecretStore(use_environment=False))
    made = AppShell(services, dialogs=ScriptedDialogs(otherwise=True))
    yield made
    made.close()


def test_first_start_opens_the_wizard(qtbot: QtBot, shell: AppShell) -> None:
    shown = shell.start()
    assert isinstance(shown, SetupWizard)
    assert shown.isVisible()
    # Qt appends the display name: "Setup — Segment Desktop", not "Segment Desktop — Setup — …"
    assert shown.windowTitle() == "Setup"
    assert not shown.windowIcon().isNull()
    assert shell.main_window is None


def test_configured_start_opens_the_main_window(
    qtbot: QtBot, shell: AppShell, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = Config.default()
    config.commerce = CommerceSettings(client_id="id", base_url="https://127.0.0.1:9")
    config.relay_url = "https://relay.example.com/webhooks/commerce"
    shell.services.save(config)
    shown = shell.start()
    assert isinstance(shown, MainWindow)
    assert shown.windowTitle() == "Segment Desktop"
    qtbot.waitUntil(lambda: shown.isVisible())
    qtbot.wait(20)  # let a deferred placement run
    screen = shown.screen()
    assert screen is not None and screen.availableGeometry().contains(shown.frameGeometry())
    assert "relay.example.com" in shown.header.text()
    with qtbot.waitSignal(shown.rerunSetupRequested):
        shown.rerun_action.trigger()
    assert isinstance(shell.wizard, SetupWizard)
    assert shell.wizard.flow.config.relay_url == config.relay_url, "setup resumes saved values"
    assert shell.wizard.parent() is shown


def test_damaged_settings_offer_a_reset(qtbot: QtBot, shell: AppShell) -> None:
    path = config_directory() / "config.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("{not json")
    dialogs = shell.dialogs
    assert isinstance(dialogs, ScriptedDialogs)
    dialogs.answers = [True]
    assert shell.start() is None
    question = dialogs.asked[0]
    assert "config.json" in question.text
    assert question.action == "Reset settings" and question.safe == "Quit"
    assert isinstance(shell.wizard, SetupWizard)
    assert not path.exists(), "the damaged file was moved aside"
    assert list(path.parent.glob("config.json.corrupt-*"))


def test_uncaught_errors_are_logged_and_shown_without_a_traceback(
    qtbot: QtBot, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(sys, "excepthook", sys.excepthook)
    dialogs = ScriptedDialogs()
    hook = install_excepthook(lambda: None, dialogs)
    assert sys.excepthook is hook
    try:
        raise ValueError("bad value")
    except ValueError as err:
        caught = err
    with caplog.at_level(logging.ERROR, logger="segment_desktop.ui.app"):
        hook(ValueError, caught, caught.__traceback__)
        hook(KeyError, KeyError("second"), None)
    assert len(dialogs.asked) == 1, "one notice at a time"
    notice = dialogs.asked[0]
    assert notice.kind == "error"
    assert "ValueError: bad value" in notice.text
    assert "Traceback" not in notice.text
    assert "Traceback" in caplog.text and "second" in caplog.text
    dialogs.dismiss[0]()
    hook(KeyError, KeyError("third"), None)
    assert len(dialogs.asked) == 2, "the next error is shown once the first was dismissed"


def test_user_message_for_our_errors_is_their_text() -> None:
    error = NetworkError("Commerce: 127.0.0.1 refused the connection. Check the address.")
    assert user_message(error) == str(error)
    assert "log file" in user_message(RuntimeError("boom"))


def test_application_reuses_the_running_qapplication(qapp: QApplication) -> None:
    assert application() is qapp
    assert qapp.applicationName() == "Segment Desktop"


def test_sandbox_mode_runs_without_a_keyring(monkeypatch: pytest.MonkeyPatch) -> None:
    previous = keyring.get_keyring()
    keyring.set_keyring(keyring.backends.fail.Keyring())
    try:
        services = make_services(sandbox=True)
    finally:
        keyring.set_keyring(previous)
    try:
        assert isinstance(services.secrets, MemorySecrets), "demo secrets stay in memory"
        assert services.sandbox is not None
        assert services.config_store.directory == config_directory() / "sandbox"
        assert not services.is_configured(services.load_config())
        with httpx.Client() as client:
            assert client.get(services.sandbox.commerce_url + "/v2/integrations").status_code == 401
    finally:
        services.close()
    assert services.sandbox is None, "the sandbox this object started is stopped"


def test_the_app_icon_comes_in_every_packaged_size(qapp: object) -> None:
    from segment_desktop.ui.widgets.icon import SIZES, app_icon

    icon = app_icon()
    assert {size.width() for size in icon.availableSizes()} >= set(SIZES)
    assert not icon.pixmap(48, 48).isNull()
