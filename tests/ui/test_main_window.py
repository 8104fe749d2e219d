"""The main window against the Commerce emulator: integrations, actions, delivery log paging,
export/import, and the sandbox tools."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QAbstractButton, QWidget
from pytestqt.qtbot import QtBot

from segment_desktop.commerce import CommerceClient
from segment_desktop.core.config import CommerceSettings, Config, SegmentSettings
from segment_desktop.core.flow import Draft
from segment_desktop.core.secrets import (
    COMMERCE_CLIENT_SECRET,
    SEGMENT_WRITE_KEY,
    WEBHOOK_SECRET,
    new_webhook_secret,
)
from segment_desktop.sandbox.runner import Sandbox
from segment_desktop.services import Services
from segment_desktop.ui.main_window import IMPORT_TASK, MainWindow
from segment_desktop.ui.widgets.integrations import ACTION_TASK, LIST_TASK, LOGS_TASK
from tests.fixtures.dialogs import ScriptedDialogs

pytestmark = [
    pytest.mark.gui,
    # Offscreen Qt says so whenever a window-modal dialog opens; nothing is wrong.
    pytest.mark.qt_log_ignore(r"This plugin does not support propagateSizeHints\(\)"),
]

WAIT_MS = 10_000


@pytest.fixture
def services(services: Services, sandbox: Sandbox) -> Services:
    """The GUI tests' services, with the Commerce secret in the keyring as after setup."""
    services.secrets.set(COMMERCE_CLIENT_SECRET, sandbox.client_secret)
    return services


def registered(sandbox: Sandbox, url: str) -> Config:
    """Settings with two integrations created directly at the emulator."""
    config = Config.default()
    config.commerce = CommerceSettings(client_id=sandbox.client_id, base_url=sandbox.commerce_url)
    config.relay_url = url
    config.sandbox = True
    with CommerceClient(sandbox.commerce_url, sandbox.client_id, sandbox.client_secret) as client:
        for name, observes in (
            ("Segment Desktop orders", ["order.created", "order.paid"]),
            ("Segment Desktop customers", ["customer.created"]),
        ):
            made = client.create_integration(
                {
                    "name": name,
                    "description": "test",
                    "integration_type": "webhook",
                    "enabled": True,
                    "observes": observes,
                    "configuration": {"url": url},
                }
            )
            config.integration_ids[name] = made["id"]
        client.create_integration(
            {
                "name": "Someone else's",
                "description": "not ours",
                "integration_type": "webhook",
                "enabled": True,
                "observes": ["order.paid"],
                "configuration": {"url": url},
            }
        )
    return config


def open_window(qtbot: QtBot, services: Services, config: Config) -> MainWindow:
    window = MainWindow(services, config, dialogs=ScriptedDialogs())
    qtbot.addWidget(window)
    with qtbot.waitSignal(window.tasks.delivered, timeout=WAIT_MS, check_params_cb=_is(LIST_TASK)):
        window.show()
    return window


def _is(key: str):  # type: ignore[no-untyped-def]
    return lambda k: k == key


def click(qtbot: QtBot, button: QAbstractButton) -> None:
    assert button.isEnabled(), f"{button.text()!r} is disabled"
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


@pytest.fixture
def window(qtbot: QtBot, services: Services, sandbox: Sandbox) -> Iterator[MainWindow]:
    config = registered(sandbox, sandbox.segment_url + "/nowhere")
    services.save(config)
    made = open_window(qtbot, services, config)
    yield made
    made.tasks.shutdown()


def test_lists_only_our_integrations_with_their_state(qtbot: QtBot, window: MainWindow) -> None:
    table = window.integrations.table
    names = sorted(table.cell_text(r, 0) for r in range(table.rowCount()))
    assert names == ["Segment Desktop customers", "Segment Desktop orders"]
    orders = next(r for r in range(table.rowCount()) if table.cell_text(r, 0).endswith("orders"))
    assert table.cell_text(orders, 1) == "yes"
    assert table.cell_text(orders, 2) == "order.created, order.paid"
    assert "Sandbox mode" in window.header.text()
    assert window.tabs.isTabVisible(window.sandbox_tab)
    assert window.dashboard.pipeline.commerce.hop.state == "ok"
    assert "2 integrations deliver events" in window.dashboard.pipeline.commerce.words.text()
    # No relay in this process: what the relay and Segment do is not seen from here.
    pipeline = window.dashboard.pipeline
    qtbot.waitUntil(lambda: window.dashboard.snapshot is not None)
    assert pipeline.relay.hop.state == "unknown"
    assert "runs elsewhere" in pipeline.relay.words.text()
    assert pipeline.segment.since.text() == "last success: not seen from here"
    assert pipeline.commerce.since.text() == "last success: not seen from here"


def test_disable_and_enable_change_commerce(
    qtbot: QtBot, window: MainWindow, sandbox: Sandbox
) -> None:
    panel = window.integrations
    panel.table.selectRow(0)
    chosen = panel.selected()
    assert chosen is not None
    assert not panel.enable_button.isEnabled()
    with qtbot.waitSignal(window.tasks.delivered, timeout=WAIT_MS, check_params_cb=_is(LIST_TASK)):
        click(qtbot, panel.disable_button)
    assert sandbox.commerce.get_integration(chosen["id"])["enabled"] is False
    assert panel.table.cell_text(0, 1) == "no"
    assert "disabled" in panel.message.text()
    with qtbot.waitSignal(window.tasks.delivered, timeout=WAIT_MS, check_params_cb=_is(LIST_TASK)):
        click(qtbot, panel.enable_button)
    assert sandbox.commerce.get_integration(chosen["id"])["enabled"] is True


def test_delete_asks_then_deletes_and_forgets_the_id(
    qtbot: QtBot,
    window: MainWindow,
    sandbox: Sandbox,
    services: Services,
) -> None:
    panel = window.integrations
    panel.table.selectRow(0)
    chosen = panel.selected()
    assert chosen is not None
    dialogs = window.dialogs
    assert isinstance(dialogs, ScriptedDialogs)
    dialogs.answers = [False, True]
    click(qtbot, panel.delete_button)
    assert not window.tasks.is_busy(ACTION_TASK)
    assert any(i["id"] == chosen["id"] for i in sandbox.commerce.integrations)
    assert dialogs.asked[0].action == "Delete" and dialogs.asked[0].safe == "Cancel"
    with qtbot.waitSignal(window.tasks.delivered, timeout=WAIT_MS, check_params_cb=_is(LIST_TASK)):
        click(qtbot, panel.delete_button)
    assert all(i["id"] != chosen["id"] for i in sandbox.commerce.integrations)
    assert chosen["id"] not in services.load_config().integration_ids.values()
    assert panel.table.rowCount() == 1


def test_delivery_log_pages(qtbot: QtBot, window: MainWindow, sandbox: Sandbox) -> None:
    panel = window.integrations
    orders_row = next(
        r for r in range(panel.table.rowCount()) if panel.table.cell_text(r, 0).endswith("orders")
    )
    for _ in range(8):  # each fails 3 times (a 404 from the Segment emulator): 24 logs
        sandbox.commerce.fire("order.paid", wait=True, timeout=10)
    panel.table.clearSelection()
    with qtbot.waitSignal(window.tasks.delivered, timeout=WAIT_MS, check_params_cb=_is(LOGS_TASK)):
        panel.table.selectRow(orders_row)
    assert panel.logs_table.rowCount() == 20
    assert panel.logs_table.cell_text(0, 2) == "failed"
    assert panel.logs_table.cell_text(0, 3) == "404"
    assert panel.page_label.text() == "1–20 of 24"
    assert not panel.newer_button.isEnabled()
    with qtbot.waitSignal(window.tasks.delivered, timeout=WAIT_MS, check_params_cb=_is(LOGS_TASK)):
        click(qtbot, panel.older_button)
    assert panel.logs_table.rowCount() == 4
    assert panel.page_label.text() == "21–24 of 24"
    assert not panel.older_button.isEnabled()
    with qtbot.waitSignal(window.tasks.delivered, timeout=WAIT_MS, check_params_cb=_is(LOGS_TASK)):
        click(qtbot, panel.newer_button)
    assert panel.logs_table.rowCount() == 20


def test_errors_are_readable_messages(
    qtbot: QtBot, window: MainWindow, sandbox: Sandbox, services: Services
) -> None:
    services.secrets.set(COMMERCE_CLIENT_SECRET, "no-longer-valid")
    with qtbot.waitSignal(window.tasks.delivered, timeout=WAIT_MS, check_params_cb=_is(LIST_TASK)):
        click(qtbot, window.integrations.refresh_button)
    text = window.integrations.message.text()
    assert "refused the client ID and client secret" in text
    assert "Traceback" not in text and "no-longer-valid" not in text


def test_import_shows_what_changes_then_offers_to_reregister(
    qtbot: QtBot, window: MainWindow, services: Services, tmp_path: Path
) -> None:
    target = tmp_path / "export.json"
    window.export_to(target)
    exported = json.loads(target.read_text())
    assert exported["commerce"]["client_id"] == window.config.commerce.client_id
    text = target.read_text()
    # Fingerprints tell secrets apart without holding them; no other key may even name a secret.
    assert "secret" not in re.sub(r'"\w+_secret_fingerprint"', "", text.lower())
    names = (COMMERCE_CLIENT_SECRET, SEGMENT_WRITE_KEY, WEBHOOK_SECRET)
    kept = [value for name in names if (value := services.read_secret(name))]
    assert kept and not [value for value in kept if value in text]
    exported["relay_url"] = "https://relay.example.com/webhooks/commerce"
    exported["segment"]["host"] = "https://collector.example.net"
    target.write_text(json.dumps(exported))
    before = services.load_config()
    dialogs = window.dialogs
    assert isinstance(dialogs, ScriptedDialogs)
    dialogs.answers = [False]
    with qtbot.waitSignal(
        window.tasks.delivered, timeout=WAIT_MS, check_params_cb=_is(IMPORT_TASK)
    ):
        window.import_from(target)
    asked = dialogs.asked[-1]
    assert asked.action == "Import" and asked.safe == "Cancel"
    assert "Segment host: https://api.segment.io → https://collector.example.net" in asked.text
    assert "Relay URL:" in asked.text and "relay.example.com" in asked.text
    assert services.load_config() == before  # nothing applied without a yes
    dialogs.answers = [True, False]  # import, then not yet re-register
    with qtbot.waitSignal(
        window.tasks.delivered, timeout=WAIT_MS, check_params_cb=_is(ACTION_TASK)
    ):  # applying offers Re-register at once, with its plan
        window.import_from(target)
    saved = services.load_config()
    assert saved.relay_url == "https://relay.example.com/webhooks/commerce"
    assert saved.segment.host == "https://collector.example.net"
    assert "relay.example.com" in window.header.text()
    plan = dialogs.asked[-1]
    assert plan.action == "Re-register" and "Will create" in plan.text


def test_import_of_an_unreadable_file_says_why(
    qtbot: QtBot, window: MainWindow, tmp_path: Path
) -> None:
    target = tmp_path / "broken.json"
    target.write_text("{not json")
    with qtbot.waitSignal(
        window.tasks.delivered, timeout=WAIT_MS, check_params_cb=_is(IMPORT_TASK)
    ):
        window.import_from(target)
    assert "broken.json" in window.statusBar().currentMessage()


def test_fire_sample_says_commerce_could_not_deliver(
    qtbot: QtBot, window: MainWindow, sandbox: Sandbox
) -> None:
    with qtbot.waitSignal(
        window.tasks.delivered, timeout=WAIT_MS, check_params_cb=_is("main.fire")
    ):
        click(qtbot, window.sandbox_panel.fire_button)
    # ours and "Someone else's" observe order.paid; both point at a path that answers 404
    message = window.statusBar().currentMessage()
    assert message.count("Commerce could not deliver order.paid to") == 2, message
    assert "HTTP 404, 3 attempts" in message
    assert "accepted it" not in message
    assert len(sandbox.commerce.jobs(window.config.integration_ids["Segment Desktop orders"])) == 1


def test_fire_button_names_the_right_noun(qtbot: QtBot, window: MainWindow) -> None:
    panel = window.sandbox_panel
    assert panel.fire_button.text() == "Fi&re sample order"
    panel.event_choice.setFocus()
    while panel.event_choice.currentText() != "customer.created":
        qtbot.keyClick(panel.event_choice, Qt.Key.Key_Down)
    assert panel.fire_button.text() == "Fi&re sample customer event"
    assert panel.fire_button.accessibleName() == "Fire sample customer event"


def test_reregister_shows_the_plan_and_asks_first(
    qtbot: QtBot, window: MainWindow, sandbox: Sandbox, services: Services
) -> None:
    services.secrets.set(SEGMENT_WRITE_KEY, sandbox.write_key)
    before = [dict(i) for i in sandbox.commerce.integrations]
    with qtbot.waitSignal(
        window.tasks.delivered, timeout=WAIT_MS, check_params_cb=_is(ACTION_TASK)
    ):
        click(qtbot, window.integrations.reregister_button)
    asked = window.dialogs.asked[-1]  # type: ignore[attr-defined]
    assert "Will create" in asked.text and "Segment Desktop" in asked.text
    assert asked.action == "Re-register" and asked.safe == "Cancel"
    assert [dict(i) for i in sandbox.commerce.integrations] == before  # it answered Cancel


def test_local_relay_status_and_what_segment_received(
    qtbot: QtBot, services: Services, sandbox: Sandbox
) -> None:
    secret = new_webhook_secret()
    services.secrets.set(WEBHOOK_SECRET, secret)
    services.secrets.set(SEGMENT_WRITE_KEY, sandbox.write_key)
    relay_url = services.sandbox_relay_url()
    config = registered(sandbox, relay_url)
    config.segment = SegmentSettings(host=sandbox.segment_url)
    with CommerceClient(sandbox.commerce_url, sandbox.client_id, sandbox.client_secret) as client:
        for integration_id in config.integration_ids.values():
            client.update_integration(
                integration_id, {"configuration": {"url": relay_url, "secret_key": secret}}
            )
    services.save(config)
    assert services.start_relay(config) == relay_url
    window = open_window(qtbot, services, config)
    try:
        qtbot.waitUntil(lambda: "running at" in window.relay_panel.summary.text(), timeout=WAIT_MS)
        assert "Events received: 0" in window.relay_panel.summary.text()
        assert window.dashboard.pipeline.segment.hop.state == "unknown"
        integrations = window.integrations
        window.tabs.setCurrentWidget(integrations)
        qtbot.waitUntil(lambda: integrations.table.rowCount() > 0, timeout=WAIT_MS)
        names = [integrations.table.cell_text(r, 0) for r in range(integrations.table.rowCount())]
        with qtbot.waitSignal(
            window.tasks.delivered, timeout=WAIT_MS, check_params_cb=_is(LOGS_TASK)
        ):
            integrations.table.selectRow(names.index("Segment Desktop orders"))  # order.paid
        assert integrations.logs_table.rowCount() == 0
        window.tabs.setCurrentWidget(window.dashboard)
        sandbox.commerce.fire("order.paid", wait=True, timeout=10)
        qtbot.waitUntil(
            lambda: "Events received: 1;" in window.relay_panel.summary.text(), timeout=WAIT_MS
        )
        with qtbot.waitSignal(window.dashboard.refreshed, timeout=WAIT_MS):
            pass  # one more redraw while both tabs are hidden: neither is read
        assert window.sandbox_panel.received.rowCount() == 0
        assert integrations.logs_table.rowCount() == 0
        window.tabs.setCurrentWidget(integrations)  # shown, each catches up
        qtbot.waitUntil(lambda: integrations.logs_table.rowCount() > 0, timeout=WAIT_MS)
        window.tabs.setCurrentWidget(window.sandbox_panel)
        qtbot.waitUntil(lambda: window.sandbox_panel.received.rowCount() > 0, timeout=WAIT_MS)
        events = [
            window.sandbox_panel.received.cell_text(r, 1)
            for r in range(window.sandbox_panel.received.rowCount())
        ]
        assert "Order Completed" in events
        qtbot.waitUntil(
            lambda: "Events received: 1;" in window.relay_panel.summary.text(), timeout=WAIT_MS
        )
        qtbot.waitUntil(
            lambda: window.dashboard.pipeline.segment.hop.state == "ok", timeout=WAIT_MS
        )
        assert "Mean time: answer to Commerce" in window.relay_panel.summary.text()
    finally:
        window.tasks.shutdown()


def test_reregister_restores_what_was_deleted_in_commerce(
    qtbot: QtBot, services: Services, sandbox: Sandbox
) -> None:
    config = Config.default()
    config.commerce = CommerceSettings(client_id=sandbox.client_id, base_url=sandbox.commerce_url)
    config.segment = SegmentSettings(host=sandbox.segment_url)
    config.relay_url = sandbox.segment_url + "/hook"
    config = services.register(Draft(config, sandbox.client_secret, sandbox.write_key))
    services.save(config)
    assert len(config.integration_ids) == 2
    orders_id = next(i for n, i in config.integration_ids.items() if n.endswith("orders"))
    with CommerceClient(sandbox.commerce_url, sandbox.client_id, sandbox.client_secret) as client:
        client.delete_integration(orders_id)  # someone deleted it in Commerce Manager
    window = open_window(qtbot, services, config)
    try:
        assert window.integrations.table.rowCount() == 1
        dialogs = window.dialogs
        assert isinstance(dialogs, ScriptedDialogs)
        dialogs.answers = [True]
        with qtbot.waitSignal(
            window.tasks.delivered, timeout=WAIT_MS, check_params_cb=_is(LIST_TASK)
        ):
            click(qtbot, window.integrations.reregister_button)
        assert "Will create 1" in dialogs.asked[-1].text
        assert window.integrations.table.rowCount() == 2
        assert "registered as configured" in window.integrations.message.text()
        saved = services.load_config()
        assert orders_id not in saved.integration_ids.values()
        assert set(saved.integration_ids.values()) == {
            i["id"] for i in sandbox.commerce.integrations
        }
        assert window.config.integration_ids == saved.integration_ids
    finally:
        window.tasks.shutdown()


def test_template_studio_opens_from_the_menu(qtbot: QtBot, window: MainWindow) -> None:
    window.studio_action.trigger()
    dialog = window.studio_dialog
    assert dialog.isVisible()
    assert dialog.windowTitle() == "Template studio"  # Qt appends the app name
    studio = dialog.findChild(QWidget, "templateStudio")
    assert studio is not None and studio.isVisible()
    dialog.close()


def _mnemonic(text: str) -> str | None:
    plain = text.replace("&&", "")
    at = plain.find("&")
    return plain[at + 1].lower() if 0 <= at < len(plain) - 1 else None


def test_every_tab_has_unique_mnemonics_and_alt_keys_reach_them(
    qtbot: QtBot, window: MainWindow
) -> None:
    from PySide6.QtWidgets import QLabel, QTabBar

    window.activateWindow()
    menus = [_mnemonic(a.text()) for a in window.menuBar().actions()]
    tabs = window.tabs.tabBar()
    tab_keys = [_mnemonic(tabs.tabText(i)) for i in range(tabs.count())]
    for index in range(tabs.count()):
        window.tabs.setCurrentIndex(index)
        page = window.tabs.currentWidget()
        keys = [
            _mnemonic(w.text())
            for w in page.findChildren(QAbstractButton) + page.findChildren(QLabel)
            if w.isVisibleTo(window)
            and (not isinstance(w, QLabel) or w.buddy() is not None)
            and _mnemonic(w.text())
        ]
        keys += [
            _mnemonic(bar.tabText(i))
            for bar in page.findChildren(QTabBar)
            for i in range(bar.count())
        ]
        seen = [k for k in menus + tab_keys + keys if k]
        duplicates = {k for k in seen if seen.count(k) > 1}
        assert not duplicates, f"{tabs.tabText(index)}: {sorted(duplicates)}"
    # Alt+letter moves between the tabs from the keyboard.
    qtbot.keyClick(window, Qt.Key.Key_I, Qt.KeyboardModifier.AltModifier)
    assert window.tabs.currentWidget() is window.integrations
    qtbot.keyClick(window, Qt.Key.Key_V, Qt.KeyboardModifier.AltModifier)
    assert window.tabs.currentWidget() is window.dashboard


def test_a_queue_setup_shows_the_queue_as_the_middle_hop(qtbot: QtBot, window: MainWindow) -> None:
    config = window.config
    config.delivery.kind = "aws_sqs"
    config.delivery.sqs_queue_url = "https://sqs.eu-west-1.amazonaws.com/123456789012/orders"
    window.set_config(config)
    relay = window.dashboard.pipeline.relay
    qtbot.waitUntil(lambda: relay.hop.title == "Queue", timeout=WAIT_MS)
    assert "Commerce puts events on https://sqs.eu-west-1" in relay.words.text()
    assert "→ queue https://sqs.eu-west-1" in window.header.text()
