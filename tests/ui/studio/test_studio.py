"""The template studio in a real widget tree (offscreen): preview, errors, samples, save, send."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QMimeData, Qt, QTimer
from PySide6.QtGui import QTextCursor
from PySide6.QtWidgets import QWidget
from pytestqt.qtbot import QtBot

from segment_desktop.commerce import CommerceClient
from segment_desktop.core.config import ConfigStore
from segment_desktop.core.engine import available_engines
from segment_desktop.core.envelope import to_event
from segment_desktop.core.errors import TemplateError, TemplateTimeout
from segment_desktop.core.render import Renderer
from segment_desktop.core.samples import list_samples
from segment_desktop.core.spec import MAX_CALL_BYTES
from segment_desktop.core.templates import default_template
from segment_desktop.sandbox.runner import Sandbox
from segment_desktop.segment import SegmentClient, SendReport
from segment_desktop.ui.studio import StudioDialog, TemplateStudio
from segment_desktop.ui.studio.dialogs import UnsavedChoice
from segment_desktop.ui.studio.editor import LARGE_TEXT, CodeEditor
from segment_desktop.ui.studio.highlighter import JsonHighlighter
from segment_desktop.ui.studio.preview import (
    CallCheck,
    PreparedEventCache,
    Preview,
    PreviewPanel,
    build_preview,
)
from segment_desktop.ui.studio.sample_chooser import Source, parse_pasted
from segment_desktop.ui.tasks import TaskRunner

pytestmark = pytest.mark.gui

SIMPLE = '{"type": "track", "userId": "u-1", "event": "Hello", "properties": {"n": 1}}'
RUNAWAY = "($f := function($n){ $f($n + 1) }; $f(0))"


class AnsweringDialogs:
    """Answers the studio's questions at once and records them (no modal loop in tests)."""

    def __init__(self) -> None:
        self.unsaved = UnsavedChoice.CANCEL
        self.send_ok = True
        self.reset_ok = True
        self.save_failing_ok = False
        self.file: Path | None = None
        self.asked: list[str] = []
        self.diffs: list[tuple[str, str]] = []

    def ask_unsaved(self, parent: QWidget, template_name: str) -> UnsavedChoice:
        self.asked.append(f"unsaved:{template_name}")
        return self.unsaved

    def confirm_send(self, parent: QWidget, summary: str) -> bool:
        self.asked.append(f"send:{summary}")
        return self.send_ok

    def confirm_reset(self, parent: QWidget, template_name: str) -> bool:
        self.asked.append(f"reset:{template_name}")
        return self.reset_ok

    def confirm_save_failing(self, parent: QWidget, template_name: str, problem: str) -> bool:
        self.asked.append(f"failing:{template_name}:{problem}")
        return self.save_failing_ok

    def show_diff(self, parent: QWidget, title: str, diff: str) -> None:
        self.diffs.append((title, diff))

    def choose_event_file(self, parent: QWidget) -> Path | None:
        self.asked.append("file")
        return self.file


class Outcomes:
    """Everything the studio put on screen, in order."""

    def __init__(self, studio: TemplateStudio) -> None:
        self.items: list[object] = []
        studio.previewUpdated.connect(self.items.append)

    @property
    def previews(self) -> list[Preview]:
        return [i for i in self.items if isinstance(i, Preview)]

    @property
    def last(self) -> object:
        return self.items[-1]


@pytest.fixture(scope="module")
def renderer() -> Renderer:
    return Renderer()


@pytest.fixture
def dialogs() -> AnsweringDialogs:
    return AnsweringDialogs()


@pytest.fixture
def store() -> ConfigStore:
    return ConfigStore()


@pytest.fixture
def studio(
    qtbot: QtBot, renderer: Renderer, store: ConfigStore, dialogs: AnsweringDialogs
) -> Iterator[TemplateStudio]:
    widget = TemplateStudio(renderer, store, dialogs=dialogs)
    qtbot.addWidget(widget)
    widget.resize(1200, 760)
    qtbot.wait_until(lambda: widget.last_preview is not None, timeout=3000)
    yield widget
    widget.shutdown()


def set_text(studio: TemplateStudio, text: str) -> None:
    studio.editor.setPlainText(text)


def wait_idle(qtbot: QtBot, studio: TemplateStudio, outcomes: Outcomes, count: int) -> None:
    qtbot.wait_until(lambda: len(outcomes.items) >= count, timeout=3000)


def event_name(preview: Preview) -> str:
    return str(preview.calls[0]["event"])


# --------------------------------------------------------------------------- preview


def test_opens_first_enabled_template_with_a_checked_preview(studio: TemplateStudio) -> None:
    assert studio.current_key == "checkout_started"
    preview = studio.last_preview
    assert preview is not None
    assert event_name(preview) == "Checkout Started"
    assert json.loads(studio.preview.json_view.toPlainText())["event"] == "Checkout Started"
    assert "passes Segment's checks" in studio.preview.summary.text()
    assert "ms by" in studio.preview.timing.text()
    assert 0 < studio.preview.size_meter.value() < MAX_CALL_BYTES
    assert "KB of 32.0 KB" in studio.preview.size_meter.format()
    assert studio.template_list.count() == 7
    assert not studio.is_dirty


def test_typing_changes_the_preview_once_per_burst(qtbot: QtBot, studio: TemplateStudio) -> None:
    outcomes = Outcomes(studio)
    set_text(studio, SIMPLE)
    qtbot.wait_until(lambda: bool(outcomes.previews), timeout=2000)
    assert event_name(outcomes.previews[-1]) == "Hello"
    before = len(outcomes.items)
    cursor = studio.editor.textCursor()
    cursor.setPosition(SIMPLE.index('Hello"') + len("Hello"))
    studio.editor.setTextCursor(cursor)
    started = time.monotonic()
    qtbot.keyClicks(studio.editor, " World")
    qtbot.wait_until(lambda: len(outcomes.items) > before, timeout=2000)
    latency = time.monotonic() - started
    assert event_name(outcomes.previews[-1]) == "Hello World"
    assert latency < 1.0
    qtbot.wait(200)
    assert len(outcomes.items) == before + 1  # six keystrokes, one render
    assert studio.is_dirty
    assert studio.save_button.isEnabled()
    assert studio.template_list.currentItem().text().startswith("● ")


def test_error_marker_at_the_reported_line_and_column(qtbot: QtBot, studio: TemplateStudio) -> None:
    outcomes = Outcomes(studio)
    set_text(studio, '{"type": "track",\n  "event": $foo(}')
    qtbot.wait_until(lambda: bool(outcomes.items), timeout=2000)
    err = outcomes.last
    assert isinstance(err, TemplateError)
    assert (err.line, err.column) == (2, 17)
    assert studio.editor.error is not None
    line, column, message = studio.editor.error
    assert (line, column) == (2, 17)
    assert "cannot be used as a unary operator" in message
    start, end = studio.editor.error_span() or (0, 0)
    block = studio.editor.document().findBlockByNumber(1)
    assert start == block.position() + 16 and end > start
    assert "Line 2, column 17" in studio.status.text()
    assert "S0211" in studio.status.text()
    assert studio.last_preview is None
    assert not studio.preview.send_button.isEnabled()
    studio.status.linkActivated.emit("#error")  # the user clicks "Line 2, column 17"
    assert studio.editor.textCursor().position() == start
    # Fixing the template clears the marker.
    set_text(studio, SIMPLE)
    qtbot.wait_until(lambda: isinstance(outcomes.last, Preview), timeout=2000)
    assert studio.editor.error is None
    assert studio.status.text() == ""


def test_two_quick_edits_show_only_the_latest(qtbot: QtBot, studio: TemplateStudio) -> None:
    outcomes = Outcomes(studio)
    set_text(studio, SIMPLE.replace("Hello", "First"))
    studio.request_preview()
    set_text(studio, SIMPLE.replace("Hello", "Second"))
    studio.request_preview()
    qtbot.wait_until(lambda: bool(outcomes.items), timeout=2000)
    qtbot.wait(300)
    assert [event_name(p) for p in outcomes.previews] == ["Second"]
    assert len(outcomes.items) == 1


@pytest.mark.parametrize("engine", available_engines())
def test_runaway_template_times_out_and_gui_stays_responsive(
    qtbot: QtBot, store: ConfigStore, dialogs: AnsweringDialogs, engine: str
) -> None:
    studio = TemplateStudio(Renderer(engine), store, dialogs=dialogs)
    qtbot.addWidget(studio)
    qtbot.wait_until(lambda: studio.last_preview is not None, timeout=3000)
    assert studio.last_preview is not None and studio.last_preview.engine == engine
    outcomes = Outcomes(studio)
    gaps: list[float] = []
    last = [time.perf_counter()]

    def tick() -> None:
        now = time.perf_counter()
        gaps.append(now - last[0])
        last[0] = now

    probe = QTimer()
    probe.setInterval(10)
    probe.timeout.connect(tick)
    probe.start()
    started = time.perf_counter()
    set_text(studio, RUNAWAY)
    try:
        qtbot.wait_until(lambda: bool(outcomes.items), timeout=3000)
    finally:
        probe.stop()
    elapsed = time.perf_counter() - started
    err = outcomes.last
    assert isinstance(err, TemplateTimeout)
    assert elapsed < 1.5
    assert len(gaps) > 20
    worst = max(gaps)
    assert worst < 0.1, (
        f"{engine}: GUI thread stalled {worst * 1000:.0f} ms "
        f"(tick {gaps.index(worst)} of {len(gaps)}, gaps ms: {[round(g * 1000) for g in gaps]})"
    )
    assert "too long" in studio.status.text()
    assert err.code in studio.status.text()
    assert studio.preview.summary.text().startswith("No preview")
    studio.shutdown()


# --------------------------------------------------------------------------- samples


def test_pasted_json_error_shows_its_line_and_column(qtbot: QtBot, studio: TemplateStudio) -> None:
    chooser = studio.samples
    chooser.set_source(Source.PASTED)
    assert chooser.paste.isVisibleTo(studio)
    chooser.paste.setPlainText('{\n  "id": "e1",\n  "triggered_by" "order.paid"\n}')
    qtbot.wait_until(lambda: chooser.paste.error is not None, timeout=2000)
    line, column, _message = chooser.paste.error or (0, 0, "")
    assert (line, column) == (3, 18)
    assert chooser.status.text().startswith("Line 3, column 18: Expecting ':' delimiter")
    assert chooser.current_event is None
    assert studio.preview.summary.text() == "Choose an event to preview the template on."

    outcomes = Outcomes(studio)
    body = json.loads(list_samples("order.created")[0].text())
    body["id"] = "pasted-1"
    chooser.paste.setPlainText(json.dumps(body, indent=2))
    qtbot.wait_until(lambda: bool(outcomes.previews), timeout=3000)
    assert chooser.paste.error is None
    assert chooser.current_event is not None and chooser.current_event.id == "pasted-1"
    assert outcomes.previews[-1].calls[0]["messageId"] == "sd-pasted-1-checkout_started-0"


def test_pasted_json_that_is_not_an_event_says_why() -> None:
    with pytest.raises(Exception) as info:
        parse_pasted('{"hello": 1}')
    assert "triggered_by" in str(info.value)
    assert getattr(info.value, "line", "x") is None


def test_event_from_a_file(
    qtbot: QtBot, studio: TemplateStudio, dialogs: AnsweringDialogs, tmp_path: Path
) -> None:
    body = json.loads(list_samples("order.created")[0].text())
    body["id"] = "from-file-7"
    path = tmp_path / "event.json"
    path.write_text(json.dumps(body), encoding="utf-8")
    dialogs.file = path
    chooser = studio.samples
    chooser.set_source(Source.FILE)
    assert chooser.current_event is None
    outcomes = Outcomes(studio)
    chooser.action.click()
    qtbot.wait_until(lambda: bool(outcomes.previews), timeout=3000)
    assert chooser.current_event is not None and chooser.current_event.id == "from-file-7"
    assert "event.json" in chooser.status.text()

    broken = tmp_path / "broken.json"
    broken.write_text("{nope", encoding="utf-8")
    dialogs.file = broken
    chooser.action.click()
    qtbot.wait_until(lambda: "not valid JSON" in chooser.status.text(), timeout=3000)
    assert "line 1, column 2" in chooser.status.text()


# --------------------------------------------------------------------------- save, reset, diff


def test_save_writes_the_override_and_clears_dirty(
    qtbot: QtBot, studio: TemplateStudio, store: ConfigStore
) -> None:
    set_text(studio, SIMPLE)
    assert studio.is_dirty
    with qtbot.wait_signal(studio.saved, timeout=1000) as saved:
        studio.save_button.click()
    assert saved.args == ["checkout_started"]
    assert store.load().template_overrides == {"checkout_started": SIMPLE}
    assert not studio.is_dirty
    assert not studio.save_button.isEnabled()
    assert studio.template_list.item(0).text() == "Checkout Started  (customised)"
    assert "your version" in studio.title.text()


def test_reset_and_diff_against_default(
    qtbot: QtBot, studio: TemplateStudio, store: ConfigStore, dialogs: AnsweringDialogs
) -> None:
    default = default_template("checkout_started")
    studio.diff_button.click()
    assert dialogs.diffs[-1][1] == ""  # unchanged: empty diff
    cursor = studio.editor.textCursor()
    cursor.movePosition(QTextCursor.MoveOperation.End)
    studio.editor.setTextCursor(cursor)
    qtbot.keyClick(studio.editor, Qt.Key.Key_Return)
    qtbot.keyClicks(studio.editor, "/* mine */")
    studio.diff_button.click()
    title, diff = dialogs.diffs[-1]
    assert title.startswith("Checkout Started")
    assert "--- default" in diff and "+++ yours" in diff
    assert "+/* mine */" in diff
    assert studio.save()
    assert "checkout_started" in store.load().template_overrides

    dialogs.reset_ok = False
    studio.reset_button.click()
    assert studio.editor.toPlainText().endswith("/* mine */")
    dialogs.reset_ok = True
    studio.reset_button.click()
    assert studio.editor.toPlainText() == default
    assert studio.is_dirty  # the saved version is still the customised one
    studio.editor.undo()
    assert studio.editor.toPlainText().endswith("/* mine */")
    studio.editor.redo()
    assert studio.save()
    assert store.load().template_overrides == {}  # equal to the default: no override kept
    assert studio.template_list.item(0).text() == "Checkout Started"


def test_unsaved_changes_cancel_discard_save_on_switch(
    qtbot: QtBot, studio: TemplateStudio, store: ConfigStore, dialogs: AnsweringDialogs
) -> None:
    set_text(studio, SIMPLE)
    dialogs.unsaved = UnsavedChoice.CANCEL
    studio.template_list.setCurrentRow(1)  # the user clicks Order Completed
    assert dialogs.asked == ["unsaved:Checkout Started"]
    assert studio.current_key == "checkout_started"
    assert studio.template_list.currentRow() == 0
    assert studio.editor.toPlainText() == SIMPLE

    dialogs.unsaved = UnsavedChoice.DISCARD
    studio.template_list.setCurrentRow(1)
    assert studio.current_key == "order_completed"
    assert studio.editor.toPlainText() == default_template("order_completed")
    assert store.load().template_overrides == {}
    assert not studio.is_dirty

    set_text(studio, SIMPLE.replace("Hello", "Kept"))
    dialogs.unsaved = UnsavedChoice.SAVE
    assert studio.select_template("order_updated")
    assert studio.current_key == "order_updated"
    assert store.load().template_overrides == {"order_completed": SIMPLE.replace("Hello", "Kept")}
    # Coming back shows the saved version.
    assert studio.select_template("order_completed")
    assert studio.editor.toPlainText() == SIMPLE.replace("Hello", "Kept")


def test_close_asks_and_cancel_keeps_the_window(
    qtbot: QtBot, studio: TemplateStudio, dialogs: AnsweringDialogs
) -> None:
    set_text(studio, SIMPLE)
    dialogs.unsaved = UnsavedChoice.CANCEL
    assert studio.close() is False
    assert studio.editor.toPlainText() == SIMPLE
    assert not studio.confirm_leave()
    dialogs.unsaved = UnsavedChoice.DISCARD
    assert studio.close() is True
    assert dialogs.asked.count("unsaved:Checkout Started") == 3


def test_save_keeps_settings_written_elsewhere(
    qtbot: QtBot, studio: TemplateStudio, store: ConfigStore
) -> None:
    config = store.load()
    config.relay_url = "https://relay.example.com/hook"
    store.save(config)
    set_text(studio, SIMPLE)
    assert studio.save()
    again = store.load()
    assert again.relay_url == "https://relay.example.com/hook"
    assert again.template_overrides == {"checkout_started": SIMPLE}


# --------------------------------------------------------------------------- the store


def test_recent_orders_from_the_sandbox_store(
    qtbot: QtBot, studio: TemplateStudio, sandbox: Sandbox
) -> None:
    chooser = studio.samples
    chooser.set_source(Source.STORE)
    assert not chooser.action.isEnabled()
    assert "Connect a Commerce store" in chooser.status.text()
    with CommerceClient(sandbox.commerce_url, sandbox.client_id, sandbox.client_secret) as client:
        studio.set_commerce_client(client)
        assert chooser.action.isEnabled()
        outcomes = Outcomes(studio)
        chooser.action.click()
        assert not chooser.action.isEnabled()  # one fetch at a time
        qtbot.wait_until(lambda: bool(outcomes.previews), timeout=5000)
    assert chooser.action.isEnabled()
    assert 0 < chooser.choice.count() <= 10
    assert chooser.choice.itemText(0).startswith("Order ")
    event = chooser.current_event
    assert event is not None and event.id.startswith("recent-")
    assert event.triggered_by == "order.created"  # the template's own event
    order_id = event.payload["data"]["id"]
    assert outcomes.previews[-1].calls[0]["properties"]["order_id"] == order_id
    assert "recent orders from the store" in chooser.status.text()


def test_store_failure_is_shown_not_raised(
    qtbot: QtBot, studio: TemplateStudio, sandbox: Sandbox
) -> None:
    chooser = studio.samples
    chooser.set_source(Source.STORE)
    with CommerceClient(sandbox.commerce_url, sandbox.client_id, "wrong-secret") as client:
        studio.set_commerce_client(client)
        chooser.action.click()
        qtbot.wait_until(lambda: chooser.action.isEnabled(), timeout=5000)
    assert "wrong-secret" not in chooser.status.text()
    assert "Commerce refused the client ID and client secret" in chooser.status.text()
    assert chooser.current_event is None


def test_large_output_is_shown_plain_and_over_the_limit(qtbot: QtBot) -> None:
    panel = PreviewPanel()
    qtbot.addWidget(panel)
    call = {"type": "track", "userId": "u", "event": "Big", "properties": {"blob": "x" * 45_000}}
    big = Preview("t", [call], json.dumps(call, indent=2), [CallCheck(0, "track", 45_100, [])])
    panel.show_preview(big)
    assert panel.highlighter.document() is None  # no GUI-thread colouring of 45 KB
    assert panel.json_view.toPlainText() == big.formatted
    assert panel.size_meter.value() == MAX_CALL_BYTES
    assert panel.size_meter.format() == "44.0 KB of 32.0 KB"
    assert panel.size_meter.toolTip() == "Segment refuses calls over 32 KB."
    small = Preview("t", [{"type": "track"}], '{"type": "track"}', [CallCheck(0, "track", 16, [])])
    panel.show_preview(small)
    assert panel.highlighter.document() is panel.json_view.document()


# --------------------------------------------------------------------------- sending


def test_send_to_the_sandbox_segment_arrives(
    qtbot: QtBot, studio: TemplateStudio, dialogs: AnsweringDialogs, sandbox: Sandbox
) -> None:
    button = studio.preview.send_button
    assert not button.isEnabled()  # no Segment client yet
    studio.send_to_segment()
    assert "Connect Segment" in studio.preview.send_status.text()
    with SegmentClient(sandbox.segment_url, write_key=sandbox.write_key) as client:
        studio.set_segment_client(client)
        assert button.isEnabled()
        dialogs.send_ok = False
        button.click()
        assert dialogs.asked[-1].startswith(
            "send:Send 1 call to Segment at 127.0.0.1: track “Checkout"
        )
        qtbot.wait(100)
        assert sandbox.segment.received_calls() == []  # declined: nothing sent

        dialogs.send_ok = True
        with qtbot.wait_signal(studio.sendFinished, timeout=5000) as finished:
            button.click()
            assert studio.preview.send_status.text() == "Sending…"
            assert not button.isEnabled()
        report = finished.args[0]
        assert isinstance(report, SendReport) and report.all_sent
    received = sandbox.segment.received_calls()
    preview = studio.last_preview
    assert preview is not None
    assert len(received) == 1
    assert received[0]["event"] == "Checkout Started"
    assert received[0]["messageId"] == preview.calls[0]["messageId"]
    assert received[0]["properties"] == preview.calls[0]["properties"]
    status = studio.preview.send_status.text()
    assert status.startswith("Segment: 1 sent.") and "debugger" in status
    assert sandbox.write_key not in status
    assert button.isEnabled()


def test_send_is_refused_while_the_preview_has_errors(
    qtbot: QtBot, studio: TemplateStudio, sandbox: Sandbox
) -> None:
    outcomes = Outcomes(studio)
    set_text(studio, '{"type": "track", "event": "No user"}')  # no userId / anonymousId
    qtbot.wait_until(lambda: bool(outcomes.previews), timeout=2000)
    preview = outcomes.previews[-1]
    assert preview.error_count >= 1 and not preview.sendable
    assert studio.preview.issues.isVisibleTo(studio)
    assert studio.preview.issues.item(0).text().startswith("error: ")
    with SegmentClient(sandbox.segment_url, write_key=sandbox.write_key) as client:
        studio.set_segment_client(client)
        assert not studio.preview.send_button.isEnabled()
        studio.send_to_segment()
    assert "the preview has errors" in studio.preview.send_status.text()
    assert sandbox.segment.received_calls() == []


def test_shared_runner_is_left_running_for_its_other_users(
    qtbot: QtBot, renderer: Renderer, store: ConfigStore, dialogs: AnsweringDialogs
) -> None:
    shared = TaskRunner()
    studio = TemplateStudio(renderer, store, dialogs=dialogs, runner=shared)
    qtbot.addWidget(studio)
    qtbot.wait_until(lambda: studio.last_preview is not None, timeout=3000)
    studio.shutdown()
    results: list[int] = []
    with qtbot.wait_signal(shared.delivered, timeout=2000):
        shared.submit("wizard.check", lambda token: 42, on_result=results.append)
    assert results == [42]
    assert shared.shutdown(2000)


def test_studio_dialog_asks_before_closing_and_can_reopen(
    qtbot: QtBot, studio: TemplateStudio, dialogs: AnsweringDialogs
) -> None:
    window = StudioDialog(studio)
    qtbot.addWidget(window)
    set_text(studio, SIMPLE)
    dialogs.unsaved = UnsavedChoice.CANCEL
    with qtbot.assert_not_emitted(window.rejected):
        window.reject()  # Escape
    assert studio.editor.toPlainText() == SIMPLE
    assert not window.close()
    dialogs.unsaved = UnsavedChoice.DISCARD
    assert window.close()
    assert dialogs.asked == ["unsaved:Checkout Started"] * 3
    # Closed, not shut down: it previews again when the user comes back.
    outcomes = Outcomes(studio)
    set_text(studio, SIMPLE.replace("Hello", "Again"))
    qtbot.wait_until(lambda: bool(outcomes.previews), timeout=2000)
    assert event_name(outcomes.previews[-1]) == "Again"
    studio.setParent(None)  # the fixture, not the window, owns the studio


def test_new_settings_update_the_list_and_the_event(
    qtbot: QtBot, studio: TemplateStudio, store: ConfigStore
) -> None:
    config = store.load()
    config.tracking["checkout_started"].event = "order.authorized"
    config.tracking["order_refunded"].enabled = False
    config.tracking["customer_created"].enabled = False
    outcomes = Outcomes(studio)
    studio.set_config(config)
    names = [studio.template_list.item(i).text() for i in range(studio.template_list.count())]
    assert "Order Refunded" not in names and "Customer Created" not in names
    assert len(names) == 5
    assert "order.authorized" in studio.title.text()
    qtbot.wait_until(lambda: bool(outcomes.previews), timeout=3000)
    assert studio.samples.current_event is not None
    assert studio.samples.current_event.triggered_by == "order.authorized"

    # A dirty template that gets turned off stays listed until the user decides.
    set_text(studio, SIMPLE)
    config.tracking["checkout_started"].enabled = False
    studio.set_config(config)
    assert studio.current_key == "checkout_started"
    assert studio.template_list.item(0).text().startswith("● Checkout Started")
    assert studio.editor.toPlainText() == SIMPLE

    # Saved elsewhere while the studio shows it unchanged: the studio shows the saved text.
    assert studio.select_template("order_completed") is False  # the stub answers Cancel
    set_text(studio, default_template("checkout_started"))
    assert not studio.is_dirty
    config.tracking["checkout_started"].enabled = True
    config.template_overrides = {"checkout_started": SIMPLE.replace("Hello", "Elsewhere")}
    studio.set_config(config)
    assert studio.editor.toPlainText() == SIMPLE.replace("Hello", "Elsewhere")
    assert not studio.is_dirty
    assert studio.template_list.item(0).text() == "Checkout Started  (customised)"


def test_an_event_handed_over_is_previewed_without_the_paste_editor(
    qtbot: QtBot, studio: TemplateStudio
) -> None:
    chooser = studio.samples
    assert chooser.source.findData(Source.GIVEN) < 0  # not offered before anything is given
    body = json.loads(list_samples("order.created")[0].text())
    body["id"] = "from-the-relay-log"
    outcomes = Outcomes(studio)
    chooser.use_event(to_event(body), "Delivery 12:03 (failed)")
    assert chooser.current_source is Source.GIVEN
    assert chooser.choice.currentText() == "Delivery 12:03 (failed)"
    assert not chooser.choice.isEnabled()
    assert chooser.paste.toPlainText() == ""
    qtbot.wait_until(lambda: bool(outcomes.previews), timeout=2000)
    assert outcomes.previews[-1].calls[0]["messageId"].startswith("sd-from-the-relay-log-")
    chooser.set_source(Source.BUILT_IN)
    assert chooser.current_event is not None and chooser.current_event.id != "from-the-relay-log"
    chooser.set_source(Source.GIVEN)
    assert chooser.current_event is not None and chooser.current_event.id == "from-the-relay-log"


def test_a_huge_paste_is_not_coloured_or_bracket_matched(qtbot: QtBot) -> None:
    editor = CodeEditor()
    qtbot.addWidget(editor)
    highlighter = JsonHighlighter(editor.document())
    editor.set_highlighter(highlighter)
    assert editor.highlighting
    huge = "[" + ",".join(['{"a": "b"}'] * (LARGE_TEXT // 10 + 10)) + "]"
    assert len(huge) > LARGE_TEXT
    mime = QMimeData()
    mime.setText(huge)
    editor.insertFromMimeData(mime)  # what Ctrl+V does
    assert editor.is_large and not editor.highlighting
    assert highlighter.document() is None
    cursor = editor.textCursor()
    cursor.setPosition(0)
    editor.setTextCursor(cursor)
    assert editor.bracket_match is None  # on "[", but the text is too large to scan
    editor.setPlainText('{"small": [1]}')
    assert editor.highlighting and not editor.is_large
    cursor.setPosition(0)
    editor.setTextCursor(cursor)
    assert editor.bracket_match == (0, 13)


def test_a_template_sending_two_calls_and_one_sending_nothing(
    qtbot: QtBot, studio: TemplateStudio
) -> None:
    outcomes = Outcomes(studio)
    set_text(
        studio,
        '[{"type": "identify", "userId": "u-1", "traits": {"email": "a@b.c"}},'
        ' {"type": "track", "userId": "u-1", "event": "Signed Up"}]',
    )
    qtbot.wait_until(lambda: bool(outcomes.previews), timeout=2000)
    preview = outcomes.previews[-1]
    assert [c.label for c in preview.checks] == ["identify", "track “Signed Up”"]
    shown = json.loads(studio.preview.json_view.toPlainText())
    assert [c["type"] for c in shown] == ["identify", "track"]
    assert studio.preview.summary.text() == "2 Segment calls: passes Segment's checks."
    assert shown[0]["messageId"] != shown[1]["messageId"]

    set_text(studio, 'payload.data.status = "never" ? {"type": "track"}')  # undefined: skip
    qtbot.wait_until(lambda: len(outcomes.previews) == 2, timeout=2000)
    assert outcomes.previews[-1].calls == []
    assert studio.preview.summary.text() == "The template sends nothing for this event."
    assert not studio.preview.send_button.isEnabled()


def test_messages_are_shown_as_text_not_html(qtbot: QtBot, studio: TemplateStudio) -> None:
    outcomes = Outcomes(studio)
    set_text(studio, '{"type": "track", "userId": "u", "event": $error("<b>bold</b> & co")}')
    qtbot.wait_until(lambda: bool(outcomes.items), timeout=2000)
    assert isinstance(outcomes.last, TemplateError)
    assert "&lt;b&gt;bold&lt;/b&gt; &amp; co" in studio.status.text()  # escaped in rich text
    assert "<b>bold</b> & co" in studio.preview.summary.text()
    assert studio.preview.summary.textFormat() == Qt.TextFormat.PlainText


def test_recent_customers_for_a_customer_template(
    qtbot: QtBot, studio: TemplateStudio, sandbox: Sandbox
) -> None:
    assert studio.select_template("customer_created")
    chooser = studio.samples
    chooser.set_source(Source.STORE)
    with CommerceClient(sandbox.commerce_url, sandbox.client_id, sandbox.client_secret) as client:
        studio.set_commerce_client(client)
        outcomes = Outcomes(studio)
        chooser.action.click()
        qtbot.wait_until(lambda: bool(outcomes.previews), timeout=5000)
    label = chooser.choice.itemText(0)
    event = chooser.current_event
    assert event is not None and event.triggered_by == "customer.created"
    customer = event.payload["data"]
    assert label == f"{customer['name']} <{customer['email']}>"
    assert "recent customers from the store" in chooser.status.text()
    assert outcomes.previews[-1].calls[0]["userId"] == customer["id"]


def test_the_event_is_prepared_once_per_event(renderer: Renderer) -> None:
    cache = PreparedEventCache()
    first = list_samples("order.paid")[0].load()
    other = list_samples("order.created")[0].load()
    prepared = cache.get(renderer, first)
    assert prepared.event is first and prepared.templates is None  # good for any template text
    assert cache.get(renderer, first) is prepared  # not made again
    assert cache.get(renderer, other).event is other
    template = default_template("order_completed")
    cached = build_preview(renderer, template, first, "order_completed", cache=cache)
    plain = build_preview(renderer, template, first, "order_completed")
    assert cached.calls == plain.calls and cached.formatted == plain.formatted
    edited = template.replace('"Order Completed"', '"Order Done"')
    again = build_preview(renderer, edited, first, "order_completed", cache=cache)
    assert again.calls[0]["event"] == "Order Done"


def test_a_pause_that_ends_after_the_runner_shut_down_previews_nothing(
    qtbot: QtBot, renderer: Renderer, store: ConfigStore, dialogs: AnsweringDialogs
) -> None:
    runner = TaskRunner()
    widget = TemplateStudio(renderer, store, dialogs=dialogs, runner=runner)
    qtbot.addWidget(widget)
    qtbot.wait_until(lambda: widget.last_preview is not None, timeout=3000)
    outcomes = Outcomes(widget)
    widget.editor.setFocus()
    qtbot.keyClick(widget.editor, Qt.Key.Key_Space)  # starts the pause before a preview
    assert widget.live.debounce.pending
    runner.shutdown()  # the window goes away meanwhile
    qtbot.wait_until(lambda: not widget.live.debounce.pending, timeout=3000)
    qtbot.wait(50)  # an exception raised in the event loop fails the test here
    assert outcomes.items == []
