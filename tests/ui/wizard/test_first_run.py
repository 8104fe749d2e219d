"""A first run that never loses work, never leaves the screen and never traps the keyboard:
the setup wizard driven with typed keys against the real emulators and Secret Service."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import httpx
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QCheckBox, QWidget, QWizard
from pytestqt.qtbot import QtBot

from segment_desktop.commerce import CommerceClient
from segment_desktop.core.config import CommerceSettings, Config
from segment_desktop.core.errors import NetworkError
from segment_desktop.core.flow import Step
from segment_desktop.http_util import Patience
from segment_desktop.sandbox.runner import Sandbox
from segment_desktop.services import Services
from segment_desktop.services.connections import address_note, interactive_client
from segment_desktop.ui.app import AppShell
from segment_desktop.ui.widgets.busy import BusyBar
from segment_desktop.ui.widgets.fields import MessageLabel, plain
from segment_desktop.ui.wizard import SetupWizard
from segment_desktop.ui.wizard.commerce_page import CommercePage
from segment_desktop.ui.wizard.configurations_page import ConfigurationsPage
from segment_desktop.ui.wizard.segment_page import SegmentPage
from segment_desktop.ui.wizard.steps import CURRENT, DONE
from tests.fixtures.dialogs import ScriptedDialogs

pytestmark = [
    pytest.mark.gui,
    # The offscreen platform cannot raise windows or propagate a dialog's size hints.
    pytest.mark.qt_log_ignore(r"This plugin does not support (raise|propagateSizeHints)\(\)"),
]

WAIT_MS = 15_000


@pytest.fixture
def silent() -> Iterator[socket.socket]:
    """A listening socket whose connections nobody ever answers."""
    with socket.socket() as dead:
        dead.bind(("127.0.0.1", 0))
        dead.listen(8)
        dead.settimeout(10)
        yield dead


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def open_wizard(
    qtbot: QtBot, services: Services, dialogs: ScriptedDialogs | None = None
) -> SetupWizard:
    wizard = SetupWizard(services, dialogs=dialogs or ScriptedDialogs(otherwise=True))
    qtbot.addWidget(wizard)
    with qtbot.waitSignal(wizard.secretsLoaded, timeout=WAIT_MS):
        wizard.show()
        qtbot.waitExposed(wizard)
    activate(qtbot, wizard)
    return wizard


def activate(qtbot: QtBot, window: QWidget) -> None:
    """The window has the keyboard, as the one a user just opened."""
    if not window.isActiveWindow():
        with qtbot.waitActive(window):
            window.activateWindow()


def press(qtbot: QtBot, key: Qt.Key, modifier: Qt.KeyboardModifier | None = None) -> None:
    """Type ``key`` into whatever has the keyboard focus, as the user's keyboard would."""
    target = QApplication.focusWidget()
    assert target is not None, "nothing has the keyboard focus"
    if modifier is None:
        qtbot.keyClick(target, key)
    else:
        qtbot.keyClick(target, key, modifier)


def type_into(qtbot: QtBot, edit: object, text: str) -> None:
    from PySide6.QtWidgets import QLineEdit

    assert isinstance(edit, QLineEdit)
    edit.setFocus()
    qtbot.keyClick(edit, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClick(edit, Qt.Key.Key_Delete)
    qtbot.keyClicks(edit, text)


def to_commerce(qtbot: QtBot, wizard: SetupWizard) -> CommercePage:
    wizard.button(QWizard.WizardButton.NextButton).setFocus()
    press(qtbot, Qt.Key.Key_Return)
    page = wizard.currentPage()
    assert isinstance(page, CommercePage)
    return page


def inside_screen(wizard: SetupWizard) -> bool:
    screen = wizard.screen()
    assert screen is not None
    return screen.availableGeometry().contains(wizard.frameGeometry())


# -- 1. work is never lost without a word --------------------------------------------------------


def test_escape_on_an_untouched_wizard_quits_without_asking(
    qtbot: QtBot, services: Services
) -> None:
    dialogs = ScriptedDialogs()
    wizard = open_wizard(qtbot, services, dialogs)
    with qtbot.waitSignal(wizard.rejected, timeout=WAIT_MS):
        press(qtbot, Qt.Key.Key_Escape)
    assert dialogs.asked == []
    assert not wizard.isVisible()


def test_escape_after_typing_asks_and_keeping_on_loses_nothing(
    qtbot: QtBot, services: Services, sandbox: Sandbox
) -> None:
    dialogs = ScriptedDialogs(answers=[False, True])
    wizard = open_wizard(qtbot, services, dialogs)
    page = to_commerce(qtbot, wizard)
    type_into(qtbot, page.client_id, "typed-by-the-user")
    press(qtbot, Qt.Key.Key_Escape)
    assert [a.title for a in dialogs.asked] == ["Quit setup?"]
    question = dialogs.asked[0]
    assert question.action == "Quit setup" and question.safe == "Keep setting up"
    assert "connections and template edits will be lost" in question.text
    assert wizard.isVisible() and page.client_id.text() == "typed-by-the-user"

    with qtbot.waitSignal(wizard.rejected, timeout=WAIT_MS):
        click_cancel = wizard.button(QWizard.WizardButton.CancelButton)
        qtbot.mouseClick(click_cancel, Qt.MouseButton.LeftButton)
    assert len(dialogs.asked) == 2
    assert not wizard.isVisible()


def test_closing_a_rerun_setup_says_the_saved_settings_stay(
    qtbot: QtBot, services: Services, sandbox: Sandbox
) -> None:
    saved = Config.default()
    saved.commerce = CommerceSettings(client_id="saved-client", base_url=sandbox.commerce_url)
    saved.relay_url = "https://relay.example.com/webhooks/commerce"
    services.save(saved)
    dialogs = ScriptedDialogs(answers=[False])
    wizard = open_wizard(qtbot, services, dialogs)
    page = to_commerce(qtbot, wizard)
    type_into(qtbot, page.client_id, "another-client")
    wizard.close()  # the window's close button
    assert wizard.isVisible()
    assert dialogs.asked[0].title == "Close setup?"
    assert "settings saved earlier stay as they are" in dialogs.asked[0].text


def test_escape_during_a_hanging_connect_quits_at_once(
    qtbot: QtBot, services: Services, sandbox: Sandbox, silent: socket.socket
) -> None:
    silent_port = silent.getsockname()[1]
    dialogs = ScriptedDialogs(answers=[True])
    shell = AppShell(services, dialogs=dialogs)
    wizard = shell.show_wizard()
    qtbot.addWidget(wizard)
    qtbot.waitExposed(wizard)
    activate(qtbot, wizard)
    page = to_commerce(qtbot, wizard)
    type_into(qtbot, page.url, f"http://127.0.0.1:{silent_port}")
    type_into(qtbot, page.client_id, sandbox.client_id)
    type_into(qtbot, page.secret.edit, sandbox.client_secret)
    press(qtbot, Qt.Key.Key_Return)  # Connect: the default button until connected
    assert shell.tasks.is_busy("wizard.commerce")
    connection, _ = silent.accept()  # the request reached the host, which never answers
    press(qtbot, Qt.Key.Key_Escape)
    assert dialogs.asked and dialogs.asked[0].action == "Quit setup"
    assert not wizard.isVisible()
    assert shell.tasks.is_busy("wizard.commerce"), "still blocked on the silent host"
    # Quitting does not wait for it: the process can exit at once.
    assert shell.close() is False
    connection.close()


# -- 2. the wizard stays on the screen -----------------------------------------------------------


def test_every_page_fits_inside_the_screen(
    qtbot: QtBot, services: Services, sandbox: Sandbox
) -> None:
    wizard = open_wizard(qtbot, services)
    sizes = set()
    wizard.flow.use_sandbox(
        commerce_url=sandbox.commerce_url,
        client_id=sandbox.client_id,
        client_secret=sandbox.client_secret,
        segment_url=sandbox.segment_url,
        write_key=sandbox.write_key,
        relay_url=services.sandbox_relay_url(),
    )
    wizard.flow.commerce_connected(sandbox.commerce_url, sandbox.client_id, sandbox.client_secret)
    for step in wizard.flow.pages:
        if step != wizard.flow.first_page():
            wizard.next()
        assert wizard.currentId() == step
        qtbot.wait(20)  # let a page that resizes the window settle
        assert inside_screen(wizard), f"{step.name}: {wizard.frameGeometry()}"
        sizes.add((wizard.width(), wizard.height()))
    assert len(sizes) == 1, f"one size for every page, not {sizes}"
    wizard.resize(3000, 3000)  # as a page asking for more room would
    qtbot.wait(20)
    assert inside_screen(wizard)
    wizard.tasks.shutdown()


# -- 3. Enter never goes back --------------------------------------------------------------------


def test_connect_by_keyboard_then_enter_moves_forward(
    qtbot: QtBot, services: Services, sandbox: Sandbox
) -> None:
    wizard = open_wizard(qtbot, services)
    page = to_commerce(qtbot, wizard)
    type_into(qtbot, page.url, sandbox.commerce_url)
    type_into(qtbot, page.client_id, sandbox.client_id)
    type_into(qtbot, page.secret.edit, sandbox.client_secret)
    assert page.connect_button.isDefault()
    with qtbot.waitSignal(wizard.tasks.delivered, timeout=WAIT_MS):
        press(qtbot, Qt.Key.Key_Return)  # in the secret field: presses Connect
        assert QApplication.focusWidget() is not wizard.button(QWizard.WizardButton.BackButton)
    assert page.result.kind == "ok", page.result.text()
    next_button = wizard.button(QWizard.WizardButton.NextButton)
    assert QApplication.focusWidget() is next_button
    assert not page.connect_button.isDefault()
    press(qtbot, Qt.Key.Key_Return)
    assert wizard.currentId() == Step.SEGMENT
    wizard.tasks.shutdown()


def test_focus_on_a_failed_connect_goes_to_the_field_at_fault(
    qtbot: QtBot, services: Services, sandbox: Sandbox
) -> None:
    wizard = open_wizard(qtbot, services)
    page = to_commerce(qtbot, wizard)
    type_into(qtbot, page.url, sandbox.commerce_url)
    type_into(qtbot, page.client_id, sandbox.client_id)
    type_into(qtbot, page.secret.edit, "not-the-secret")
    page.connect_button.setFocus()
    with qtbot.waitSignal(wizard.tasks.delivered, timeout=WAIT_MS):
        press(qtbot, Qt.Key.Key_Space)
    assert page.secret_error.isVisible()
    assert QApplication.focusWidget() is page.secret.edit
    assert wizard.currentId() == Step.COMMERCE
    wizard.tasks.shutdown()


def test_configuration_checkboxes_have_their_own_mnemonics(
    qtbot: QtBot, services: Services
) -> None:
    wizard = open_wizard(qtbot, services)
    wizard.flow.commerce_connected("https://useast.api.elasticpath.com", "id", "secret")
    wizard.flow.edit_segment("https://api.segment.io", "/v1/batch", "k" * 32)
    for _ in range(3):
        wizard.next()
    page = wizard.currentPage()
    assert isinstance(page, ConfigurationsPage)
    letters = []
    for row in page.rows.values():
        text = row.check.text()
        assert "&" in text, f"{plain(text)!r} has no mnemonic"
        letters.append(text[text.index("&") + 1].lower())
    assert len(set(letters)) == len(letters), letters
    assert not set(letters) & {"r", "b", "n", "f"}, "Relay URL, Back, Next, Finish keep theirs"
    refunded = page.rows["order_refunded"]
    before = refunded.check.isChecked()
    letter = refunded.check.text()[refunded.check.text().index("&") + 1]
    page.relay_url.setFocus()
    press(qtbot, Qt.Key(ord(letter.upper())), Qt.KeyboardModifier.AltModifier)
    # A mnemonic "animates" the click: the box toggles a moment later.
    qtbot.waitUntil(lambda: refunded.check.isChecked() != before, timeout=WAIT_MS)
    assert QApplication.focusWidget() is refunded.check
    assert isinstance(QApplication.focusWidget(), QCheckBox)
    wizard.tasks.shutdown()


# -- 6. guidance ---------------------------------------------------------------------------------


def test_segment_errors_sit_under_their_field_and_an_empty_key_says_so(
    qtbot: QtBot, services: Services
) -> None:
    wizard = open_wizard(qtbot, services)
    wizard.flow.commerce_connected("https://useast.api.elasticpath.com", "id", "secret")
    wizard.next()
    wizard.next()
    page = wizard.currentPage()
    assert isinstance(page, SegmentPage)
    type_into(qtbot, page.write_key.edit, "")
    assert page.field_problem.isVisible()
    assert "write key is empty" in page.field_problem.text()
    assert not page.host_problem.isVisible()
    type_into(qtbot, page.host, "ftp://api.segment.io")
    assert page.host_problem.isVisible() and "Segment host" in page.host_problem.text()
    type_into(qtbot, page.path, "v1/batch")
    assert page.path_problem.isVisible() and "must start with /" in page.path_problem.text()
    assert not page.test_button.isEnabled()
    assert "Fix the fields marked above" in page.test_button.toolTip()
    assert not page.send_button.isEnabled()
    assert page.send_button.toolTip()
    type_into(qtbot, page.host, "https://api.segment.io")
    type_into(qtbot, page.path, "/v1/batch")
    type_into(qtbot, page.write_key.edit, "k" * 32)
    assert not page.send_button.isEnabled()
    assert page.send_button.toolTip() == "Test the connection first."
    wizard.tasks.shutdown()


def test_disabled_connect_says_why(qtbot: QtBot, services: Services) -> None:
    wizard = open_wizard(qtbot, services)
    page = to_commerce(qtbot, wizard)
    type_into(qtbot, page.client_id, "")
    assert not page.connect_button.isEnabled()
    assert "Client ID" in page.connect_button.toolTip()
    wizard.tasks.shutdown()


def test_raw_error_causes_stay_behind_details(
    qtbot: QtBot, services: Services, sandbox: Sandbox
) -> None:
    wizard = open_wizard(qtbot, services)
    page = to_commerce(qtbot, wizard)
    # A pasted query string is dropped by the app: the error must say so, with its own text.
    type_into(qtbot, page.url, f"http://127.0.0.1:{closed_port()}/?from=mail")
    type_into(qtbot, page.client_id, sandbox.client_id)
    type_into(qtbot, page.secret.edit, sandbox.client_secret)
    with qtbot.waitSignal(wizard.tasks.delivered, timeout=WAIT_MS):
        press(qtbot, Qt.Key.Key_Return)
    error = page.url_error
    assert error.isVisible()
    assert "refused the connection" in error.text()
    assert error.text().startswith("Ignored the part after '?'")
    assert "Errno" not in error.text() and "[" not in error.text()
    assert "Errno" in error.details or "refused" in error.details.lower()
    error.linkActivated.emit("details")
    assert error.details in error.text()
    wizard.tasks.shutdown()


def test_a_commerce_manager_address_is_said_to_be_rewritten() -> None:
    note = address_note("euwest.cm.elasticpath.com")
    assert note is not None
    assert "euwest.cm.elasticpath.com" in note and "euwest.api.elasticpath.com" in note


def test_a_message_without_a_raw_suffix_has_no_details(qtbot: QtBot) -> None:
    label = MessageLabel()
    qtbot.addWidget(label)
    label.show_error("Commerce refused the client ID. Check it & try again.")
    assert label.text() == "Commerce refused the client ID. Check it & try again."
    assert label.details == ""


def test_run_setup_again_says_why_connect_is_needed(
    qtbot: QtBot, services: Services, sandbox: Sandbox
) -> None:
    saved = Config.default()
    saved.commerce = CommerceSettings(client_id=sandbox.client_id, base_url=sandbox.commerce_url)
    services.save(saved)  # and no secret in the keyring
    wizard = open_wizard(qtbot, services)
    page = wizard.page_widget(Step.COMMERCE)
    assert isinstance(page, CommercePage)
    assert "Connect is needed again" in page.result.text()
    assert "keyring" in page.result.text()
    wizard.tasks.shutdown()


# -- 7. waiting ----------------------------------------------------------------------------------


def test_a_refused_connection_is_not_retried_in_an_interactive_test() -> None:
    attempts: list[int] = []
    client = interactive_client(
        f"http://127.0.0.1:{closed_port()}",
        "id",
        "secret",
        on_retry=lambda n, _waited: attempts.append(n),
    )
    with client, pytest.raises(NetworkError, match="refused the connection"):
        client.authenticate()
    assert attempts == []


def test_a_silent_host_is_retried_until_the_deadline_with_each_attempt_told(
    silent: socket.socket,
) -> None:
    silent_port = silent.getsockname()[1]
    attempts: list[tuple[int, float]] = []
    patience = Patience(max_attempts=10, deadline=1.0, timeout=httpx.Timeout(0.4))
    client = CommerceClient(
        f"http://127.0.0.1:{silent_port}",
        "id",
        "secret",
        patience=patience,
        backoff_base=0.05,
        backoff_cap=0.1,
        on_retry=lambda n, waited: attempts.append((n, waited)),
    )
    with client, pytest.raises(NetworkError):
        client.authenticate()
    numbers = [n for n, _ in attempts]
    assert numbers and numbers == list(range(2, len(numbers) + 2))
    assert len(numbers) + 1 < patience.max_attempts, "the deadline stopped it, not the count"
    assert all(waited <= patience.deadline for _, waited in attempts)


def test_the_busy_line_shows_the_attempt_reported_from_a_worker(qtbot: QtBot) -> None:
    holder = QWidget()
    qtbot.addWidget(holder)
    bar = BusyBar(holder)
    holder.show()
    bar.start("Connecting to Commerce…")
    reporter = bar.progress()
    worker = threading.Thread(target=reporter, args=(2, 6.0))
    worker.start()
    worker.join()
    qtbot.waitUntil(lambda: "attempt 2" in bar.label.text(), timeout=WAIT_MS)
    assert bar.label.text().startswith("Connecting to Commerce…")
    assert "s so far" in bar.label.text()


# -- issue 19: the steps on the side -------------------------------------------------------------


def test_the_side_lists_the_steps_and_marks_the_current_one(
    qtbot: QtBot, services: Services
) -> None:
    wizard = open_wizard(qtbot, services)
    steps = wizard.steps
    titles = [plain(row.label.text()) for row in steps.rows.values()]
    assert titles == ["Welcome", "Commerce", "Segment", "Configurations", "Templates", "Finish"]
    assert steps.current() == Step.WELCOME
    to_commerce(qtbot, wizard)
    assert steps.current() == Step.COMMERCE
    assert steps.rows[Step.WELCOME].state == DONE
    assert steps.rows[Step.COMMERCE].state == CURRENT
    assert steps.rows[Step.COMMERCE].accessibleName() == "Step 2, Commerce: current step"
    assert steps.rows[Step.COMMERCE].icon.pixmap() is not None
    wizard.tasks.shutdown()


# -- 8. words ------------------------------------------------------------------------------------


def test_the_sandbox_panel_names_what_it_fires_and_counts_in_words(qtbot: QtBot) -> None:
    from segment_desktop.ui.widgets.sandbox_panel import SandboxPanel

    panel = SandboxPanel()
    qtbot.addWidget(panel)
    assert plain(panel.fire_button.text()) == "Fire sample order"
    panel.event_choice.setCurrentText("customer.created")
    assert plain(panel.fire_button.text()) == "Fire sample customer event"
    assert panel.fire_button.accessibleName() == "Fire sample customer event"
    panel.show_calls([{"type": "track", "event": "Order Completed", "userId": "u"}])
    assert panel.received_label.text().endswith("(1 call):")
    panel.show_calls([])
    assert panel.received_label.text().endswith("(0 calls):")


def test_a_raw_cause_inside_a_composed_message_stays_behind_details(qtbot: QtBot) -> None:
    from segment_desktop.ui.wizard.finish_page import with_details

    error = NetworkError(
        "Commerce: 127.0.0.1:9 refused the connection. Check the address and port. "
        "[[Errno 111] Connection refused]",
        service="Commerce",
    )
    text = with_details("Setup was not finished: {} Your previous settings are unchanged.", error)
    label = MessageLabel()
    qtbot.addWidget(label)
    label.show_error(text)
    assert label.text() == (
        "Setup was not finished: Commerce: 127.0.0.1:9 refused the connection. Check the address "
        "and port. Your previous settings are unchanged."
    )
    assert label.details == "[Errno 111] Connection refused"


def test_a_failed_segment_test_is_shown_under_the_field_at_fault(
    qtbot: QtBot, services: Services, sandbox: Sandbox
) -> None:
    wizard = open_wizard(qtbot, services)
    wizard.flow.commerce_connected("https://useast.api.elasticpath.com", "id", "secret")
    wizard.next()
    wizard.next()
    page = wizard.currentPage()
    assert isinstance(page, SegmentPage)
    type_into(qtbot, page.host, sandbox.segment_url)
    type_into(qtbot, page.path, "/v1/no-such-path")
    type_into(qtbot, page.write_key.edit, sandbox.write_key)
    page.test_button.setFocus()
    with qtbot.waitSignal(wizard.tasks.delivered, timeout=WAIT_MS):
        press(qtbot, Qt.Key.Key_Space)
    assert page.path_problem.kind == "error", page.result.text()
    assert "/v1/no-such-path" in page.path_problem.text()
    assert not page.host_problem.isVisible() and not page.result.isVisible()
    type_into(qtbot, page.path, "/v1/batch")
    assert not page.path_problem.isVisible(), "editing the field clears its verdict"
    wizard.tasks.shutdown()


def test_enter_in_the_relay_url_moves_on_and_enter_on_welcome_starts(
    qtbot: QtBot, services: Services
) -> None:
    wizard = open_wizard(qtbot, services)
    wizard.button(QWizard.WizardButton.NextButton).setFocus()
    press(qtbot, Qt.Key.Key_Return)
    assert wizard.currentId() == Step.COMMERCE
    wizard.flow.commerce_connected("https://useast.api.elasticpath.com", "id", "secret")
    wizard.next()
    segment = wizard.currentPage()
    assert isinstance(segment, SegmentPage)
    type_into(qtbot, segment.write_key.edit, "k" * 32)
    press(qtbot, Qt.Key.Key_Return)  # the page is complete: Enter presses Next
    assert wizard.currentId() == Step.CONFIGURATIONS
    page = wizard.currentPage()
    assert isinstance(page, ConfigurationsPage)
    type_into(qtbot, page.relay_url, "https://relay.example.com/webhooks/commerce")
    assert wizard.button(QWizard.WizardButton.NextButton).isDefault()
    press(qtbot, Qt.Key.Key_Return)
    assert wizard.currentId() == Step.TEMPLATES
    wizard.tasks.shutdown()


def test_the_sandbox_panel_adds_only_the_new_calls_above_the_ones_shown(qtbot: QtBot) -> None:
    from segment_desktop.ui.widgets.sandbox_panel import SHOWN_CALLS, SandboxPanel

    panel = SandboxPanel()
    qtbot.addWidget(panel)
    calls = [{"type": "track", "event": f"E{n}", "userId": "u"} for n in range(3)]
    panel.show_calls(calls)
    table = panel.received
    first = table.item(0, 1)
    assert [table.cell_text(r, 1) for r in range(3)] == ["E2", "E1", "E0"]
    calls += [{"type": "track", "event": f"E{n}", "userId": "u"} for n in range(3, 5)]
    panel.show_calls(calls)
    assert [table.cell_text(r, 1) for r in range(5)] == ["E4", "E3", "E2", "E1", "E0"]
    assert table.item(2, 1) is first  # the row shown before was kept, not made again
    more = range(5, SHOWN_CALLS + 2)  # past the limit: the oldest rows go
    calls += [{"type": "track", "event": f"E{n}", "userId": "u"} for n in more]
    panel.show_calls(calls)
    assert table.rowCount() == SHOWN_CALLS
    assert table.cell_text(0, 1) == f"E{SHOWN_CALLS + 1}"
    assert table.item(SHOWN_CALLS - 1, 1) is first  # E2, the oldest still shown
    assert panel.received_label.text().endswith(f"the newest {SHOWN_CALLS} shown):")
