"""The main window's live dashboard with the sandbox and the in-process relay: the chart, the
pipeline header, what needs me (Replay, Discard, Open in studio) and the delivery log."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from segment_desktop.commerce import CommerceClient
from segment_desktop.core.config import Config, SegmentSettings
from segment_desktop.core.secrets import SEGMENT_WRITE_KEY, WEBHOOK_SECRET, new_webhook_secret
from segment_desktop.sandbox.runner import Sandbox
from segment_desktop.services import Services
from segment_desktop.ui.dashboard.dashboard import ACTION_TASK, OPEN_TASK
from segment_desktop.ui.dashboard.settings_diff import settings_diff
from segment_desktop.ui.main_window import FIRE_TASK, MainWindow
from segment_desktop.ui.widgets.integrations import LOGS_TASK
from tests.ui import test_main_window
from tests.ui.test_main_window import WAIT_MS, _is, click, open_window, registered

pytestmark = [
    pytest.mark.gui,
    pytest.mark.qt_log_ignore(r"This plugin does not support propagateSizeHints\(\)"),
]

services = test_main_window.services  # the same fixture

#: A track call without an event name: Segment drops it, so the relay parks it at once.
DROPPED = '{"type": "track", "userId": payload.data.id}'
#: Seconds within which a fired event must show in the chart.
SECONDS = 5


def start_relay(services: Services, sandbox: Sandbox, overrides: dict[str, str]) -> Config:
    secret = new_webhook_secret()
    services.secrets.set(WEBHOOK_SECRET, secret)
    services.secrets.set(SEGMENT_WRITE_KEY, sandbox.write_key)
    relay_url = services.sandbox_relay_url()
    config = registered(sandbox, relay_url)
    config.segment = SegmentSettings(host=sandbox.segment_url)
    config.template_overrides.update(overrides)
    with CommerceClient(sandbox.commerce_url, sandbox.client_id, sandbox.client_secret) as client:
        for integration in client.list_integrations():  # ours and "Someone else's"
            client.update_integration(
                integration["id"], {"configuration": {"url": relay_url, "secret_key": secret}}
            )
    services.save(config)
    services.start_relay(config)
    return config


@pytest.fixture
def live(qtbot: QtBot, services: Services, sandbox: Sandbox) -> Iterator[MainWindow]:
    config = start_relay(services, sandbox, {"order_completed": DROPPED})
    window = open_window(qtbot, services, config)
    yield window
    window.dashboard.stop()
    window.tasks.shutdown()


def fire(qtbot: QtBot, window: MainWindow, event: str) -> None:
    panel = window.sandbox_panel
    window.tabs.setCurrentWidget(panel)
    panel.event_choice.setFocus()
    qtbot.keyClick(panel.event_choice, Qt.Key.Key_Home)
    while panel.event_choice.currentText() != event:
        qtbot.keyClick(panel.event_choice, Qt.Key.Key_Down)
    with qtbot.waitSignal(window.tasks.delivered, timeout=WAIT_MS, check_params_cb=_is(FIRE_TASK)):
        click(qtbot, panel.fire_button)


def test_events_flow_a_refused_call_is_parked_then_replayed_after_a_template_fix(
    qtbot: QtBot, live: MainWindow, services: Services, sandbox: Sandbox
) -> None:
    window, chart, needs = live, live.dashboard.chart, live.dashboard.needs_me
    fire(qtbot, window, "order.created")
    qtbot.waitUntil(lambda: chart.totals().get("sent", 0) >= 1, timeout=SECONDS * 1000)
    assert chart.totals()["received"] >= 1
    assert "1 received" in chart.view.accessibleDescription()
    assert window.dashboard.pipeline.segment.hop.state == "ok"

    fire(qtbot, window, "order.paid")  # the broken template: Segment would drop the call
    message = window.statusBar().currentMessage()
    assert "the relay could not render it: template error in order_completed" in message
    assert window.open_fired.isVisible()
    qtbot.waitUntil(lambda: needs.table.rowCount() == 1, timeout=SECONDS * 1000)
    assert "Segment would refuse or drop the call" in needs.table.cell_text(0, 4)
    assert chart.totals()["failed"] == 1
    assert window.dashboard.pipeline.relay.hop.state == "degraded"

    # Fix the template (as the studio saves it), then Replay from What needs me.
    config = services.load_config()
    del config.template_overrides["order_completed"]
    services.save(config)
    window._studio_saved()
    window.tabs.setCurrentWidget(window.dashboard)
    # By keyboard alone: into the list, onto the row, Alt+R for Replay.
    window.activateWindow()
    needs.table.setFocus()
    qtbot.keyClick(needs.table, Qt.Key.Key_Home)
    qtbot.keyClick(needs.table, Qt.Key.Key_Space)
    assert needs.event_ids() and needs.replay_button.isEnabled()
    with qtbot.waitSignal(
        window.tasks.delivered, timeout=WAIT_MS, check_params_cb=_is(ACTION_TASK)
    ):
        qtbot.keyClick(window, Qt.Key.Key_R, Qt.KeyboardModifier.AltModifier)
    assert "1 template renders now (1 call queued)" in needs.message.text()
    qtbot.waitUntil(lambda: needs.table.rowCount() == 0, timeout=WAIT_MS)
    qtbot.waitUntil(
        lambda: any(c.get("event") == "Order Completed" for c in sandbox.segment.received_calls()),
        timeout=WAIT_MS,
    )
    log = window.dashboard.log
    qtbot.waitUntil(
        lambda: [e.result for e in log.all if e.triggered_by == "order.paid"] == ["delivered"],
        timeout=WAIT_MS,
    )
    assert window.dashboard.pipeline.relay.hop.state == "ok"
    assert not window.open_fired.isVisible()  # nothing left to open


def test_fired_template_error_opens_in_the_studio_with_that_event(
    qtbot: QtBot, live: MainWindow
) -> None:
    fire(qtbot, live, "order.paid")
    assert live.open_fired.isVisible()
    with qtbot.waitSignal(live.tasks.delivered, timeout=WAIT_MS, check_params_cb=_is(OPEN_TASK)):
        click(qtbot, live.open_fired)
    dialog = live.studio_dialog
    assert dialog.isVisible()
    assert dialog.studio.current_key == "order_completed"
    chooser = dialog.studio.samples
    assert chooser.current_source.name == "GIVEN"
    assert chooser.current_event is not None
    assert chooser.current_event.triggered_by == "order.paid"
    live.studio_dialog.close()


def test_commerce_log_refreshes_itself_and_names_event_and_order(
    qtbot: QtBot, live: MainWindow
) -> None:
    panel = live.integrations
    orders = next(
        r for r in range(panel.table.rowCount()) if panel.table.cell_text(r, 0).endswith("orders")
    )
    panel.table.selectRow(orders)
    qtbot.waitUntil(lambda: panel.page_label.text() == "No deliveries yet.", timeout=WAIT_MS)
    fire(qtbot, live, "order.created")
    qtbot.waitUntil(lambda: panel.logs_table.rowCount() == 1, timeout=WAIT_MS)
    detail = panel.logs_table.cell_text(0, 4)
    order_id = live.dashboard.log.all[0].event_id
    assert detail.startswith("order.created · order "), detail
    assert "relay queued 1 call" in detail
    assert order_id  # the journal knows the event the log row is about
    with qtbot.waitSignal(live.tasks.delivered, timeout=WAIT_MS, check_params_cb=_is(LOGS_TASK)):
        live.refresh_action.trigger()
    assert panel.logs_table.rowCount() == 1


def test_delivery_log_filters_and_searches_by_order(qtbot: QtBot, live: MainWindow) -> None:
    fire(qtbot, live, "order.created")
    fire(qtbot, live, "order.paid")
    fire(qtbot, live, "customer.created")
    log = live.dashboard.log
    qtbot.waitUntil(lambda: len(log.all) == 3, timeout=WAIT_MS)
    live.tabs.setCurrentWidget(log)
    log.result_filter.setFocus()
    while log.result_filter.currentText() != "failed":
        qtbot.keyClick(log.result_filter, Qt.Key.Key_Down)
    assert [e.triggered_by for e in log.visible()] == ["order.paid"]
    qtbot.keyClick(log.result_filter, Qt.Key.Key_Home)
    subject = log.known_events()[
        next(e.event_id for e in log.all if e.triggered_by == "order.created")
    ][1]
    order_id = subject.split()[1]
    qtbot.keyClicks(log.search, order_id[:13])
    assert {e.triggered_by for e in log.visible()} <= {"order.created", "order.paid"}
    assert "order.created" in {e.triggered_by for e in log.visible()}
    log.search.clear()
    qtbot.keyClicks(log.search, "no-such-order")
    assert log.visible() == [] and "0 of 3" in log.count.text()
    log.search.clear()
    log.table.selectRow(
        next(i for i, e in enumerate(log.visible()) if e.triggered_by == "order.created")
    )
    assert '"triggered_by": "order.created"' in log.webhook_view.toPlainText()
    assert "Checkout Started" in log.calls_view.toPlainText()
    qtbot.waitUntil(
        lambda: "Segment accepted it (HTTP 200)" in log.answer_view.toPlainText(), timeout=WAIT_MS
    )


def test_settings_diff_names_the_changed_destination_first() -> None:
    old = Config.default()
    new = Config.default()
    new.segment.host = "https://elsewhere.example"
    new.tracking["order_updated"].enabled = False
    new.template_overrides["order_paid"] = "{}"
    lines = settings_diff(old, new)
    assert lines[0].startswith("Segment host: https://api.segment.io → https://elsewhere.example")
    assert "where your customer data goes" in lines[0]
    assert "Tracking of order_updated (enabled): on → off" in lines
    assert "Template order_paid: added" in lines
    assert settings_diff(old, Config.default()) == []


def test_a_call_segment_refuses_is_parked_and_replayed_after_the_settings_are_fixed(
    qtbot: QtBot, services: Services, sandbox: Sandbox
) -> None:
    config = start_relay(services, sandbox, {})
    config.segment = SegmentSettings(host=sandbox.segment_url, path="/v1/nowhere")
    services.save(config)
    services.start_relay(config)  # Segment answers 404 at that path: it refuses every batch
    window = open_window(qtbot, services, config)
    try:
        needs, segment = window.dashboard.needs_me, window.dashboard.pipeline.segment
        fire(qtbot, window, "order.created")
        qtbot.waitUntil(lambda: needs.table.rowCount() == 1, timeout=WAIT_MS)
        assert needs.table.cell_text(0, 1) == "Refused by Segment"
        assert "HTTP 404" in needs.table.cell_text(0, 4)
        qtbot.waitUntil(lambda: segment.hop.state == "failing", timeout=WAIT_MS)
        assert "Segment refused 1 call" in segment.words.text()
        assert window.dashboard.chart.totals()["failed"] == 1

        config.segment = SegmentSettings(host=sandbox.segment_url)  # the fix
        services.save(config)
        services.start_relay(config)
        window.set_config(config)
        window.tabs.setCurrentWidget(window.dashboard)
        needs.table.selectRow(0)
        with qtbot.waitSignal(
            window.tasks.delivered, timeout=WAIT_MS, check_params_cb=_is(ACTION_TASK)
        ):
            click(qtbot, needs.replay_button)
        assert "1 refused call queued again" in needs.message.text()
        qtbot.waitUntil(lambda: needs.table.rowCount() == 0, timeout=WAIT_MS)
        qtbot.waitUntil(
            lambda: any(
                c.get("event") == "Checkout Started" for c in sandbox.segment.received_calls()
            ),
            timeout=WAIT_MS,
        )
        qtbot.waitUntil(lambda: segment.hop.state == "ok", timeout=WAIT_MS)
    finally:
        window.dashboard.stop()
        window.tasks.shutdown()


def test_chart_follows_a_dark_palette(qtbot: QtBot) -> None:
    from PySide6.QtGui import QColor, QPalette

    from segment_desktop.ui.dashboard.chart import DeliveryChart, is_dark

    chart = DeliveryChart()
    qtbot.addWidget(chart)
    light_text = chart.x_axis.labelsColor()
    dark = QPalette()
    dark.setColor(QPalette.ColorRole.Window, QColor("#202124"))
    dark.setColor(QPalette.ColorRole.WindowText, QColor("#e8eaed"))
    dark.setColor(QPalette.ColorRole.Base, QColor("#17181a"))
    chart.setPalette(dark)
    assert is_dark(chart.palette())
    assert chart.x_axis.labelsColor() == QColor("#e8eaed") != light_text
    assert chart.view.backgroundBrush().color() == QColor("#17181a")


def test_the_chart_series_are_the_relays() -> None:
    from segment_desktop.relay.metrics import SERIES as RELAY_SERIES
    from segment_desktop.ui.dashboard.snapshot import SERIES, by_hour

    assert tuple(RELAY_SERIES) == SERIES
    minutes = [3600.0 * 100 + 60 * m for m in range(120)]
    day = by_hour(minutes, {name: [1] * 120 for name in SERIES})
    assert len(day.starts) == 24 and day.counts["sent"][-2:] == [60, 60]
    assert sum(day.counts["received"]) == 120


def test_discard_asks_then_deletes_the_parked_work(
    qtbot: QtBot, live: MainWindow, services: Services
) -> None:
    from segment_desktop.relay.status import read_status
    from tests.fixtures.dialogs import ScriptedDialogs

    needs, dialogs = live.dashboard.needs_me, live.dashboard.dialogs
    assert isinstance(dialogs, ScriptedDialogs)
    fire(qtbot, live, "order.paid")  # its template fails: kept for a replay
    qtbot.waitUntil(lambda: needs.table.rowCount() == 1, timeout=WAIT_MS)
    live.tabs.setCurrentWidget(live.dashboard)
    needs.table.selectRow(0)
    dialogs.answers = [False]
    click(qtbot, needs.discard_button)
    asked = dialogs.asked[-1]
    assert asked.action == "Discard" and asked.safe == "Cancel"
    assert "never reach Segment" in asked.text
    assert read_status(services.data_dir()).stats.template_errors == 1
    dialogs.answers = [True]
    with qtbot.waitSignal(live.tasks.delivered, timeout=WAIT_MS, check_params_cb=_is(ACTION_TASK)):
        click(qtbot, needs.discard_button)
    assert "Discarded 0 refused calls and 1 template error." in needs.message.text()
    qtbot.waitUntil(lambda: needs.table.rowCount() == 0, timeout=WAIT_MS)
    assert read_status(services.data_dir()).stats.template_errors == 0
