"""The studio's Test cases and History panels, and the Trigger dialog, as a user drives them."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from segment_desktop.core.render import Renderer
from segment_desktop.core.samples import get_sample
from segment_desktop.core.template_history import TemplateHistory
from segment_desktop.core.template_tests import CaseResult, CaseStore
from segment_desktop.core.templates import default_template
from segment_desktop.core.tracking_plan import parse_plan
from segment_desktop.sandbox.runner import Sandbox
from segment_desktop.ui.studio.history_panel import HistoryPanel
from segment_desktop.ui.studio.testcases_panel import TestCasesPanel
from segment_desktop.ui.tasks import TaskRunner
from segment_desktop.ui.trigger_dialog import TriggerDialog
from segment_desktop.webhook_client import WebhookAnswer
from tests.relay.helpers import WEBHOOK_SECRET, RelayProcess, free_port, save_config, wait_for

pytestmark = [
    pytest.mark.gui,
    # Showing a top-level widget on the offscreen platform logs this; it is harmless.
    pytest.mark.qt_log_ignore(r"This plugin does not support (raise|propagateSizeHints)\(\)"),
]

KEY = "order_completed"
TEXT = default_template(KEY)


@pytest.fixture
def runner(qtbot: QtBot) -> Iterator[TaskRunner]:
    tasks = TaskRunner()
    yield tasks
    tasks.shutdown(5000)


@pytest.fixture
def panel(qtbot: QtBot, runner: TaskRunner, tmp_path: Path) -> TestCasesPanel:
    widget = TestCasesPanel(Renderer(), CaseStore(tmp_path / "template-tests"), runner)
    qtbot.addWidget(widget)
    widget.show()
    return widget


def _ran(qtbot: QtBot, panel: TestCasesPanel, action: object) -> list[CaseResult]:
    with qtbot.wait_signal(panel.resultsChanged, timeout=20_000) as blocker:
        action()  # type: ignore[operator]
    results: list[CaseResult] = blocker.args[0]
    return results


def _save(qtbot: QtBot, panel: TestCasesPanel, sample: str, name: str) -> None:
    panel.set_event(get_sample(sample).load())
    panel.name.setFocus()
    qtbot.keyClicks(panel.name, name)
    with qtbot.wait_signal(panel.caseSaved, timeout=20_000):
        qtbot.mouseClick(panel.save_button, Qt.MouseButton.LeftButton)
    qtbot.wait_signal(panel.resultsChanged, timeout=20_000)


def test_three_cases_pass_an_edit_breaks_them_and_the_diff_shows_why(
    qtbot: QtBot, panel: TestCasesPanel, tmp_path: Path
) -> None:
    _ran(qtbot, panel, lambda: panel.set_template(KEY, TEXT))
    assert panel.summary.text() == "No test cases"
    assert panel.summary.accessibleName() == "Test cases"
    for sample, name in [
        ("order.paid", "plain"),
        ("order.paid.kwd", "kwd"),
        ("order.paid.guest-jpy", "guest jpy"),
    ]:
        _save(qtbot, panel, sample, name)
    qtbot.waitUntil(lambda: panel.summary.text() == "3 of 3 cases pass", timeout=20_000)
    files = sorted(p.name for p in (tmp_path / "template-tests" / KEY).iterdir())
    assert files == ["guest-jpy.json", "kwd.json", "plain.json"]

    broken = TEXT.replace("revenue", "revenue_total")
    results = _ran(qtbot, panel, lambda: panel.set_text(broken))
    assert [r.passed for r in results] == [False, False, False]
    assert panel.summary.text() == "0 of 3 cases pass"
    assert panel.cases.item(0).text().startswith("✗ ")

    panel.cases.setFocus()
    panel.cases.setCurrentRow(1)
    qtbot.keyClick(panel.cases, Qt.Key.Key_Return)
    dialog = panel.diff_dialog
    assert dialog is not None and dialog.isVisible()
    differences = [dialog.differences.item(i).text() for i in range(dialog.differences.count())]
    assert any(".properties.revenue: expected" in line for line in differences)
    assert '"revenue":' in dialog.expected.toPlainText()
    assert '"revenue_total":' in dialog.actual.toPlainText()
    assert dialog.marked_lines(dialog.expected) and dialog.marked_lines(dialog.actual)
    dialog.close()

    results = _ran(qtbot, panel, lambda: panel.set_text(TEXT))
    assert all(r.passed for r in results)
    assert panel.summary.text() == "3 of 3 cases pass"


def test_a_tracking_plan_fails_cases_with_the_path(
    qtbot: QtBot, runner: TaskRunner, tmp_path: Path
) -> None:
    plan = parse_plan(
        {"rules": [{"type": "TRACK", "key": "Order Completed",
                    "jsonSchema": {"properties": {"properties": {"required": ["affiliation"]}}}}]},
        "plan.json",
    )  # fmt: skip
    widget = TestCasesPanel(Renderer(), CaseStore(tmp_path / "cases"), runner, plan=lambda: plan)
    qtbot.addWidget(widget)
    _ran(qtbot, widget, lambda: widget.set_template(KEY, TEXT))
    _save(qtbot, widget, "order.paid", "plain")
    qtbot.waitUntil(lambda: widget.summary.text() == "0 of 1 case passes", timeout=20_000)
    assert "$[0].properties: Tracking plan: 'affiliation' is a required property" in (
        widget.results[0].report()
    )


def test_saving_needs_a_name_and_an_event(qtbot: QtBot, panel: TestCasesPanel) -> None:
    _ran(qtbot, panel, lambda: panel.set_template(KEY, TEXT))
    with qtbot.wait_signal(panel.problem) as blocker:
        qtbot.mouseClick(panel.save_button, Qt.MouseButton.LeftButton)
    assert "Choose an event" in blocker.args[0]
    panel.set_event(get_sample("order.paid").load())
    with qtbot.wait_signal(panel.problem) as blocker:
        qtbot.mouseClick(panel.save_button, Qt.MouseButton.LeftButton)
    assert blocker.args[0] == "Give the case a name first."


def test_history_lists_diffs_and_restores_as_a_new_version(qtbot: QtBot, tmp_path: Path) -> None:
    history = TemplateHistory(tmp_path / "history")
    history.record(KEY, "first\n", author="alice")
    history.record(KEY, "second\n", author="bob")
    widget = HistoryPanel(history)
    qtbot.addWidget(widget)
    widget.show()
    current = {"text": "third\n"}

    def save(text: str, _number: int) -> None:  # what the studio's save path does
        history.record(KEY, current["text"])
        current["text"] = text
        widget.set_template(KEY, text)

    widget.restoreRequested.connect(save)
    widget.set_template(KEY, current["text"])
    assert widget.versions.count() == 2
    assert "bob" in widget.versions.item(0).text()
    widget.versions.setFocus()
    qtbot.keyClick(widget.versions, Qt.Key.Key_Down)
    assert widget.diff_view.toPlainText().splitlines()[-2:] == ["-first", "+third"]
    qtbot.mouseClick(widget.restore_button, Qt.MouseButton.LeftButton)
    assert current["text"] == "first\n"
    assert [v.text for v in history.versions(KEY)] == ["third\n", "second\n", "first\n"]
    assert widget.versions.count() == 3
    assert widget.heading.text() == "3 earlier versions of Order Completed"


@pytest.fixture
def relay(sandbox: Sandbox, tmp_path: Path) -> Iterator[RelayProcess]:
    save_config(sandbox.segment_url)
    running = RelayProcess(free_port(), tmp_path / "data").start()
    try:
        yield running
    finally:
        running.kill()


def test_the_trigger_dialog_sends_with_overrides(
    qtbot: QtBot, runner: TaskRunner, relay: RelayProcess, sandbox: Sandbox
) -> None:
    dialog = TriggerDialog(runner, secret=lambda: WEBHOOK_SECRET)
    qtbot.addWidget(dialog)
    dialog.show()
    dialog.event_box.setCurrentText("order.paid")
    dialog.sample_box.setCurrentText("order.paid.kwd")
    qtbot.keyClicks(dialog.url, relay.url)
    qtbot.keyClicks(dialog.overrides, "payload.data.meta.display_price.with_tax.curency=1")
    with qtbot.wait_signal(dialog.finished_sending, timeout=20_000):
        qtbot.mouseClick(dialog.send_button, Qt.MouseButton.LeftButton)
    assert "curency does not exist" in dialog.status.text()
    assert dialog.status.text().startswith("Not sent: ")
    dialog.overrides.clear()
    qtbot.keyClicks(dialog.overrides, 'payload.data.meta.display_price.with_tax.currency="JPY"')
    with qtbot.wait_signal(dialog.finished_sending, timeout=20_000) as blocker:
        qtbot.mouseClick(dialog.send_button, Qt.MouseButton.LeftButton)
    answer = blocker.args[0]
    assert isinstance(answer, WebhookAnswer) and answer.ok, answer
    assert dialog.status.text().startswith("200 OK")
    assert "200 OK" in dialog.answer.toPlainText()
    wait_for(lambda: len(sandbox.segment.received_calls()) >= 1, what="a call at Segment")
    (call,) = sandbox.segment.received_calls()
    assert call["properties"]["currency"] == "JPY"


def test_the_trigger_dialog_without_a_secret(qtbot: QtBot, runner: TaskRunner) -> None:
    dialog = TriggerDialog(runner, relay_url="http://127.0.0.1:9/webhooks", secret=lambda: None)
    qtbot.addWidget(dialog)
    with qtbot.wait_signal(dialog.finished_sending, timeout=20_000):
        qtbot.mouseClick(dialog.send_button, Qt.MouseButton.LeftButton)
    assert "No webhook secret is stored" in dialog.status.text()
    assert dialog.send_button.isEnabled()


def test_importing_a_tracking_plan_from_the_panel(
    qtbot: QtBot, runner: TaskRunner, tmp_path: Path
) -> None:
    from segment_desktop.core.tracking_plan import import_plan, plan_path, saved_plan

    config = tmp_path / "config"
    chosen: list[Path] = []
    widget = TestCasesPanel(
        Renderer(),
        CaseStore(tmp_path / "cases"),
        runner,
        plan=lambda: saved_plan(config),
        choose_plan=lambda _parent: chosen[-1],
        import_plan=lambda path: import_plan(path, config),
    )
    qtbot.addWidget(widget)
    widget.show()
    _ran(qtbot, widget, lambda: widget.set_template(KEY, TEXT))
    _save(qtbot, widget, "order.paid", "plain")
    qtbot.waitUntil(lambda: widget.summary.text() == "1 of 1 case passes", timeout=20_000)

    bad = tmp_path / "bad.json"
    bad.write_text('{"rules": {"events": [{"name": "Order Completed", "rules": {"type": 7}}]}}')
    chosen.append(bad)
    qtbot.mouseClick(widget.plan_button, Qt.MouseButton.LeftButton)
    assert widget.plan_status.text().startswith(f"Not imported: {bad} is not a valid")
    assert not plan_path(config).exists()

    good = tmp_path / "plan.json"
    rule = {"properties": {"properties": {"required": ["affiliation"]}}}
    good.write_text(json.dumps({"display_name": "Shop", "rules": {"events": [
        {"name": "Order Completed", "rules": rule}]}}))  # fmt: skip
    chosen.append(good)
    with qtbot.wait_signal(widget.resultsChanged, timeout=20_000):
        qtbot.mouseClick(widget.plan_button, Qt.MouseButton.LeftButton)
    assert widget.plan_status.text() == "Tracking plan: Shop (1 rule)"
    assert widget.summary.text() == "0 of 1 case passes"
