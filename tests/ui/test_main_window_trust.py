"""The main window's parts of templates you can trust: the Trigger dialog from the menu, and
template test cases travelling with exported settings."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from segment_desktop.core.samples import get_sample
from segment_desktop.core.template_tests import CaseStore, TestCase, cases_directory
from segment_desktop.services import Services
from segment_desktop.ui.main_window import MainWindow
from segment_desktop.ui.trigger_dialog import TriggerDialog
from segment_desktop.ui.widgets.integrations import ACTION_TASK
from tests.fixtures.dialogs import ScriptedDialogs
from tests.ui import test_main_window as main_window_tests
from tests.ui.test_main_window import WAIT_MS, _is

# The main window's own fixtures (a window on the Commerce emulator, with its services).
services = main_window_tests.services
window = main_window_tests.window

pytestmark = [
    pytest.mark.gui,
    pytest.mark.qt_log_ignore(r"This plugin does not support (raise|propagateSizeHints)\(\)"),
]


def test_the_setup_menu_opens_the_trigger_dialog(window: MainWindow) -> None:
    assert window.trigger_action.text() == "&Trigger a webhook…"
    window.trigger_action.trigger()
    dialog = window.findChild(TriggerDialog)
    assert dialog is not None and dialog.isVisible()
    assert dialog.url.text() == window.config.relay_url
    dialog.close()


def test_exported_settings_carry_the_test_cases(
    qtbot: QtBot,
    window: MainWindow,
    services: Services,
    tmp_path: Path,
) -> None:
    folder = cases_directory(services.config_store.directory)
    body = json.loads(get_sample("customer.created").text())
    CaseStore(folder).save(TestCase("kept", "customer_created", body, [{"type": "identify"}]))
    target = tmp_path / "export.json"
    window.export_to(target)
    assert json.loads(target.read_text())["extras"]["template_tests"][0]["name"] == "kept"
    shutil.rmtree(folder)
    dialogs = window.dialogs
    assert isinstance(dialogs, ScriptedDialogs)
    dialogs.answers = [True, False]  # import, then not yet re-register
    with qtbot.waitSignal(
        window.tasks.delivered, timeout=WAIT_MS, check_params_cb=_is(ACTION_TASK)
    ):
        window.import_from(target)
    (case,) = CaseStore(folder).cases()
    assert (case.name, case.template, case.event) == ("kept", "customer_created", body)
