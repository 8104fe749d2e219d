"""The setup wizard driven as a user would: typing into fields and clicking buttons, against the
real Commerce and Segment emulators and a real Secret Service."""

from __future__ import annotations

import itertools
import socket
import time
from collections.abc import Iterator

import pytest
from PySide6.QtCore import QPoint, Qt, QTimer
from PySide6.QtWidgets import QAbstractButton, QLabel, QLineEdit, QWidget, QWizard
from pytestqt.qtbot import QtBot

from segment_desktop.core.config import ConfigStore
from segment_desktop.core.flow import Step
from segment_desktop.core.secrets import COMMERCE_CLIENT_SECRET, SecretStore
from segment_desktop.sandbox.runner import Sandbox
from segment_desktop.services import Services
from segment_desktop.ui.widgets.fields import plain
from segment_desktop.ui.wizard import SetupWizard
from segment_desktop.ui.wizard.commerce_page import CommercePage
from segment_desktop.ui.wizard.configurations_page import ConfigurationsPage
from segment_desktop.ui.wizard.segment_page import SegmentPage
from segment_desktop.ui.wizard.welcome_page import SANDBOX_TASK, WelcomePage
from tests.fixtures.dialogs import ScriptedDialogs
from tests.fixtures.secret_service import SecretService

pytestmark = pytest.mark.gui

WAIT_MS = 10_000


def open_wizard(qtbot: QtBot, services: Services) -> SetupWizard:
    """Show the wizard as a user sees it: on screen, the saved secrets read (in the background)."""
    wizard = SetupWizard(services, dialogs=ScriptedDialogs(otherwise=True))
    qtbot.addWidget(wizard)
    with qtbot.waitSignal(wizard.secretsLoaded, timeout=WAIT_MS):
        wizard.show()
        qtbot.waitExposed(wizard)
    return wizard


@pytest.fixture
def wizard(qtbot: QtBot, services: Services) -> Iterator[SetupWizard]:
    made = open_wizard(qtbot, services)
    yield made
    made.tasks.shutdown()


def next_button(wizard: QWizard) -> QAbstractButton:
    return wizard.button(QWizard.WizardButton.NextButton)


def type_into(qtbot: QtBot, edit: QLineEdit, text: str) -> None:
    """Replace the field's text by typing, as a user would."""
    edit.setFocus()
    qtbot.keyClick(edit, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClick(edit, Qt.Key.Key_Delete)
    qtbot.keyClicks(edit, text)


def click(qtbot: QtBot, button: QAbstractButton) -> None:
    assert button.isEnabled(), f"{button.text()!r} is disabled"
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def go_to_commerce(qtbot: QtBot, wizard: SetupWizard) -> CommercePage:
    click(qtbot, next_button(wizard))
    assert wizard.currentId() == Step.COMMERCE
    page = wizard.currentPage()
    assert isinstance(page, CommercePage)
    return page


def fill_commerce(qtbot: QtBot, page: CommercePage, url: str, client_id: str, secret: str) -> None:
    type_into(qtbot, page.url, url)
    type_into(qtbot, page.client_id, client_id)
    type_into(qtbot, page.secret.edit, secret)


def connect_and_wait(qtbot: QtBot, wizard: SetupWizard, page: CommercePage) -> None:
    with qtbot.waitSignal(wizard.tasks.delivered, timeout=WAIT_MS):
        click(qtbot, page.connect_button)


def test_wrong_secret_shows_error_at_the_secret_and_keeps_next_disabled(
    qtbot: QtBot, wizard: SetupWizard, sandbox: Sandbox, keyring_clean: SecretService
) -> None:
    page = go_to_commerce(qtbot, wizard)
    assert not next_button(wizard).isEnabled()
    fill_commerce(qtbot, page, sandbox.commerce_url, sandbox.client_id, "not-the-secret")
    assert page.secret.is_masked()
    connect_and_wait(qtbot, wizard, page)
    assert page.secret_error.isVisible()
    assert "refused the client ID and client secret" in page.secret_error.text()
    assert "not-the-secret" not in page.secret_error.text()
    assert not page.url_error.isVisible()
    assert not next_button(wizard).isEnabled()
    assert keyring_clean.lookup(COMMERCE_CLIENT_SECRET) is None


def test_right_secret_enables_next_and_stores_the_secret(
    qtbot: QtBot, wizard: SetupWizard, sandbox: Sandbox, keyring_clean: SecretService
) -> None:
    page = go_to_commerce(qtbot, wizard)
    fill_commerce(qtbot, page, sandbox.commerce_url + "/v2/", sandbox.client_id, "wrong")
    connect_and_wait(qtbot, wizard, page)
    assert not next_button(wizard).isEnabled()
    type_into(qtbot, page.secret.edit, sandbox.client_secret)
    assert not page.secret_error.isVisible(), "editing clears the old error"
    connect_and_wait(qtbot, wizard, page)
    assert page.result.kind == "ok", page.result.text()
    assert page.url.text() == sandbox.commerce_url, "the pasted /v2/ was normalised away"
    assert next_button(wizard).isEnabled()
    assert keyring_clean.lookup(COMMERCE_CLIENT_SECRET) == sandbox.client_secret
    type_into(qtbot, page.client_id, "someone-else")
    assert not next_button(wizard).isEnabled(), (
        "a connection made with other values no longer counts"
    )


def test_unreachable_url_shows_the_error_at_the_url(
    qtbot: QtBot, wizard: SetupWizard, sandbox: Sandbox
) -> None:
    page = go_to_commerce(qtbot, wizard)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        free_port = probe.getsockname()[1]
    fill_commerce(
        qtbot, page, f"http://127.0.0.1:{free_port}", sandbox.client_id, sandbox.client_secret
    )
    connect_and_wait(qtbot, wizard, page)
    assert page.url_error.isVisible()
    assert "refused the connection" in page.url_error.text()
    assert not page.secret_error.isVisible()
    assert not next_button(wizard).isEnabled()


def test_region_presets_fill_the_url(qtbot: QtBot, wizard: SetupWizard) -> None:
    page = go_to_commerce(qtbot, wizard)
    page.region.setCurrentText("US East")
    assert page.url.text() == "https://useast.api.elasticpath.com"
    type_into(qtbot, page.url, "https://my-proxy.example.com")
    assert page.region.currentText().startswith("Other")


def test_gui_thread_never_stalls_while_connecting_to_a_dead_host(
    qtbot: QtBot, wizard: SetupWizard, sandbox: Sandbox
) -> None:
    dead = socket.socket()
    dead.bind(("127.0.0.1", 0))
    dead.listen(8)  # accepts TCP connections in the kernel, never answers
    try:
        page = go_to_commerce(qtbot, wizard)
        fill_commerce(
            qtbot,
            page,
            f"http://127.0.0.1:{dead.getsockname()[1]}",
            sandbox.client_id,
            sandbox.client_secret,
        )
        gaps: list[float] = []
        last = [time.monotonic()]

        def tick() -> None:
            now = time.monotonic()
            gaps.append(now - last[0])
            last[0] = now

        timer = QTimer()
        timer.setInterval(10)
        timer.timeout.connect(tick)
        timer.start()
        last[0] = time.monotonic()
        click(qtbot, page.connect_button)
        assert page.busy.isVisible()
        assert not page.connect_button.isEnabled()
        assert not next_button(wizard).isEnabled()
        qtbot.wait(800)
        assert wizard.tasks.is_busy("wizard.commerce"), "the request is still in flight"
        click(qtbot, page.busy.cancel_button)
        assert not page.busy.isVisible()
        qtbot.wait(100)
        timer.stop()
        assert len(gaps) > 40
        assert max(gaps) < 0.1, f"the GUI thread stalled for {max(gaps):.3f} s"
        assert page.result.text() == "Connection attempt cancelled."
        assert page.connect_button.isEnabled()
        assert not next_button(wizard).isEnabled()
    finally:
        dead.close()


def test_configurations_offer_alternatives_and_need_a_relay_url(
    qtbot: QtBot, wizard: SetupWizard
) -> None:
    wizard.flow.commerce_connected("https://useast.api.elasticpath.com", "id", "secret")
    wizard.flow.edit_segment("https://api.segment.io", "/v1/batch", "k" * 32)
    for _ in range(3):
        click(qtbot, next_button(wizard))
    page = wizard.currentPage()
    assert isinstance(page, ConfigurationsPage)
    titles = [box.title() for box in page.findChildren(QWidget) if hasattr(box, "title")]
    assert "Order Tracking Configuration" in titles
    assert "Customer Tracking Configuration" in titles
    row = page.rows["checkout_started"]
    assert plain(row.check.text()) == "Enable Checkout Started Tracking"
    assert row.combo is not None
    assert [row.combo.itemText(i) for i in range(row.combo.count())] == [
        "order.created",
        "order.authorized",
    ]
    assert page.rows["order_updated"].combo is None
    assert not next_button(wizard).isEnabled(), "no relay URL yet"
    type_into(qtbot, page.relay_url, "http://relay.example.com")
    assert page.relay_error.isVisible() and "https://" in page.relay_error.text()
    assert not next_button(wizard).isEnabled()
    type_into(qtbot, page.relay_url, "https://relay.example.com/webhooks/commerce")
    assert next_button(wizard).isEnabled()
    row.combo.setCurrentText("order.authorized")
    customer = page.rows["customer_updated"]
    assert customer.combo is not None
    customer.combo.setCurrentText("customer.deleted")
    refunded = page.rows["order_refunded"].check
    box = QPoint(6, refunded.height() // 2)  # on the box itself: the row is wider than its text
    qtbot.mouseClick(refunded, Qt.MouseButton.LeftButton, pos=box)
    chosen = wizard.flow.config.chosen_events()
    assert chosen["checkout_started"] == "order.authorized"
    assert chosen["customer_updated"] == "customer.deleted"
    assert "order_refunded" not in chosen
    for key, each in page.rows.items():
        if each.check.isChecked():
            each.check.setFocus()
            qtbot.keyClick(each.check, Qt.Key.Key_Space)  # the keyboard way
        assert not wizard.flow.config.tracking[key].enabled
    assert not next_button(wizard).isEnabled()
    assert "at least one" in page.page_error.text()


def test_every_input_and_button_is_named_after_its_label(qtbot: QtBot, wizard: SetupWizard) -> None:
    checked = 0
    for page in wizard.pages.values():
        for button in page.findChildren(QAbstractButton):
            if "studio" in type(button.parent()).__module__:
                continue  # the template studio is tested by its own suite
            if button.text():
                assert button.accessibleName() == plain(button.text()), button.text()
                checked += 1
        for label in page.findChildren(QLabel):
            field = label.buddy()
            if field is None:
                continue
            target = field.focusProxy() or field
            assert target.accessibleName() == plain(label.text()).rstrip(":"), label.text()
            checked += 1
    assert checked > 25, checked
    commerce = wizard.pages[Step.COMMERCE]
    assert isinstance(commerce, CommercePage)
    assert commerce.client_id.accessibleName() == "Client ID"
    assert commerce.secret.edit.accessibleName() == "Client Secret"
    assert commerce.url.accessibleName() == "Token URL"
    assert commerce.connect_button.accessibleName() == "Connect"
    assert next_button(wizard).accessibleName() == "Next"


def test_try_the_sandbox_fills_everything_and_keeps_real_settings_apart(
    qtbot: QtBot, keyring_clean: SecretService
) -> None:
    services = Services(config_store=ConfigStore(), secrets=SecretStore(use_environment=False))
    real_directory = services.config_store.directory
    wizard = open_wizard(qtbot, services)
    try:
        welcome = wizard.currentPage()
        assert isinstance(welcome, WelcomePage)
        assert welcome.sandbox_button.isVisible(), "offered when no account is configured"
        with qtbot.waitSignal(
            wizard.tasks.delivered, timeout=WAIT_MS, check_params_cb=lambda k: k == SANDBOX_TASK
        ):
            click(qtbot, welcome.sandbox_button)
        sandbox = services.sandbox
        assert sandbox is not None
        assert "The sandbox is running" in welcome.result.text()
        assert services.config_store.directory == real_directory / "sandbox"
        assert services.secrets.service == "segment-desktop-sandbox"  # type: ignore[union-attr]
        page = go_to_commerce(qtbot, wizard)
        assert page.url.text() == sandbox.commerce_url
        assert page.client_id.text() == sandbox.client_id
        with qtbot.waitSignal(wizard.tasks.delivered, timeout=WAIT_MS):
            click(qtbot, page.connect_button)
        assert next_button(wizard).isEnabled()
        assert keyring_clean.lookup(COMMERCE_CLIENT_SECRET) is None, "the real entry is untouched"
        assert keyring_clean.lookup(COMMERCE_CLIENT_SECRET, "segment-desktop-sandbox")
    finally:
        wizard.tasks.shutdown()
        services.close()
    assert services.sandbox is None


def test_segment_page_presets_errors_and_honest_summary(
    qtbot: QtBot, wizard: SetupWizard, sandbox: Sandbox
) -> None:
    wizard.flow.commerce_connected("https://useast.api.elasticpath.com", "id", "secret")
    click(qtbot, next_button(wizard))
    click(qtbot, next_button(wizard))
    page = wizard.currentPage()
    assert isinstance(page, SegmentPage)
    assert page.host.text() == "https://api.segment.io"
    assert page.path.text() == "/v1/batch"
    page.preset.setCurrentText("EU")
    assert page.host.text() == "https://events.eu1.segmentapis.com"
    assert not next_button(wizard).isEnabled(), "no write key yet"
    assert "write key" in page.field_problem.text()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        free_port = probe.getsockname()[1]
    type_into(qtbot, page.host, f"http://127.0.0.1:{free_port}")
    assert page.preset.currentText().startswith("Other")
    type_into(qtbot, page.write_key.edit, sandbox.write_key)
    assert next_button(wizard).isEnabled()
    assert not page.send_button.isEnabled(), "a test event only after a passing test"
    with qtbot.waitSignal(wizard.tasks.delivered, timeout=WAIT_MS):
        click(qtbot, page.test_button)
    assert page.host_problem.kind == "error", "the failure is shown under the field at fault"
    assert "Could not reach Segment" in page.host_problem.text()
    assert not page.result.isVisible()
    assert not next_button(wizard).isEnabled(), "a failed test blocks Next until fixed"
    type_into(qtbot, page.host, sandbox.segment_url)
    assert next_button(wizard).isEnabled()
    with qtbot.waitSignal(wizard.tasks.delivered, timeout=WAIT_MS):
        click(qtbot, page.test_button)
    assert page.result.kind == "ok"
    assert "does not validate write keys" in page.result.text()
    assert "Debugger" not in page.result.text(), "the sandbox emulator is not Segment"
    assert page.send_button.isEnabled()


def test_keyboard_order_on_the_commerce_page(qtbot: QtBot, wizard: SetupWizard) -> None:
    page = go_to_commerce(qtbot, wizard)
    order = [page.region, page.url, page.client_id, page.secret.edit, page.secret.toggle]
    for before, after in itertools.pairwise(order):
        assert _next_focus(before) is after, (before.accessibleName(), after.accessibleName())
    page.secret.toggle.setFocus()
    qtbot.keyClick(page.secret.toggle, Qt.Key.Key_Space)
    assert not page.secret.is_masked() and page.secret.toggle.text() == "Hide"


def _next_focus(widget: QWidget) -> QWidget:
    """The next widget Tab reaches (skipping ones that take no focus)."""
    candidate = widget.nextInFocusChain()
    while candidate.focusPolicy() == Qt.FocusPolicy.NoFocus or not candidate.isVisible():
        candidate = candidate.nextInFocusChain()
    return candidate
