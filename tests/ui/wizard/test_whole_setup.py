"""The whole setup, start to Finish, as a user: sandbox button, Connect, Segment test, event
choices, a template edit, Finish registering at the Commerce emulator; then a restart that
resumes, and a failed Finish that leaves everything as it was."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QAbstractButton, QApplication, QWizard
from pytestqt.qtbot import QtBot

from segment_desktop.core.config import CommerceSettings, Config
from segment_desktop.core.flow import Step
from segment_desktop.core.secrets import (
    COMMERCE_CLIENT_SECRET,
    SEGMENT_WRITE_KEY,
    WEBHOOK_SECRET,
    secret_fingerprint,
)
from segment_desktop.sandbox.runner import Sandbox
from segment_desktop.services import Services
from segment_desktop.ui.wizard import SetupWizard
from segment_desktop.ui.wizard.commerce_page import CommercePage
from segment_desktop.ui.wizard.configurations_page import ConfigurationsPage
from segment_desktop.ui.wizard.finish_page import FinishPage
from segment_desktop.ui.wizard.segment_page import SegmentPage
from segment_desktop.ui.wizard.templates import TemplatesPage
from segment_desktop.ui.wizard.welcome_page import WelcomePage
from tests.fixtures.dialogs import ScriptedDialogs
from tests.fixtures.secret_service import SecretService

pytestmark = pytest.mark.gui

WAIT_MS = 15_000


def open_wizard(qtbot: QtBot, services: Services) -> SetupWizard:
    """Show the wizard as a user sees it: on screen, the saved secrets read (in the background)."""
    wizard = SetupWizard(services, dialogs=ScriptedDialogs(otherwise=True))
    qtbot.addWidget(wizard)
    with qtbot.waitSignal(wizard.secretsLoaded, timeout=WAIT_MS):
        wizard.show()
        qtbot.waitExposed(wizard)
    return wizard


def button(wizard: QWizard, which: QWizard.WizardButton) -> QAbstractButton:
    return wizard.button(which)


def click(qtbot: QtBot, widget: QAbstractButton) -> None:
    assert widget.isEnabled(), f"{widget.text()!r} is disabled"
    qtbot.mouseClick(widget, Qt.MouseButton.LeftButton)


def task_done(qtbot: QtBot, wizard: SetupWizard, key: str) -> Any:
    """Wait for the wizard's background task ``key`` to deliver its outcome."""
    return qtbot.waitSignal(
        wizard.tasks.delivered, timeout=WAIT_MS, check_params_cb=lambda k: k == key
    )


def next_page(qtbot: QtBot, wizard: SetupWizard) -> None:
    click(qtbot, button(wizard, QWizard.WizardButton.NextButton))


def wait_for(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def walk_to_finish(qtbot: QtBot, wizard: SetupWizard, sandbox: Sandbox) -> FinishPage:
    """Welcome → sandbox → Connect → Segment test → choices → template edit → Finish page."""
    welcome = wizard.currentPage()
    assert isinstance(welcome, WelcomePage)
    with task_done(qtbot, wizard, "wizard.sandbox"):
        click(qtbot, welcome.sandbox_button)
    assert "sandbox is running" in welcome.result.text()
    next_page(qtbot, wizard)

    commerce = wizard.currentPage()
    assert isinstance(commerce, CommercePage)
    assert commerce.url.text() == sandbox.commerce_url
    assert commerce.client_id.text() == sandbox.client_id
    assert not button(wizard, QWizard.WizardButton.NextButton).isEnabled()
    with task_done(qtbot, wizard, "wizard.commerce"):
        click(qtbot, commerce.connect_button)
    assert commerce.result.kind == "ok", commerce.result.text()
    next_page(qtbot, wizard)

    segment = wizard.currentPage()
    assert isinstance(segment, SegmentPage)
    assert segment.host.text() == sandbox.segment_url
    assert not segment.send_button.isEnabled()
    with task_done(qtbot, wizard, "wizard.segment"):
        click(qtbot, segment.test_button)
    assert segment.result.kind == "ok", segment.result.text()
    assert "does not validate write keys" in segment.result.text()
    before = len(sandbox.segment.received_calls())
    with task_done(qtbot, wizard, "wizard.segment"):
        click(qtbot, segment.send_button)
    assert segment.result.kind == "ok", segment.result.text()
    assert len(sandbox.segment.received_calls()) == before + 1
    next_page(qtbot, wizard)

    configurations = wizard.currentPage()
    assert isinstance(configurations, ConfigurationsPage)
    checkout = configurations.rows["checkout_started"].combo
    customer = configurations.rows["customer_updated"].combo
    assert checkout is not None and customer is not None
    checkout.setCurrentText("order.authorized")
    customer.setCurrentText("customer.deleted")
    refunded = configurations.rows["order_refunded"].check
    refunded.setFocus()
    qtbot.keyClick(refunded, Qt.Key.Key_Space)
    assert configurations.relay_url.text().startswith("http://127.0.0.1:")
    next_page(qtbot, wizard)

    templates = wizard.currentPage()
    assert isinstance(templates, TemplatesPage)
    studio = templates.studio
    assert studio is not None and studio.isVisible()
    # The setup's own secrets (not in the keyring before Finish) let the studio send test calls.
    qtbot.waitUntil(studio.preview.send_button.isEnabled, timeout=WAIT_MS)
    assert studio.select_template("order_completed")
    studio.editor.setFocus()
    qtbot.keyClick(studio.editor, Qt.Key.Key_End, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClick(studio.editor, Qt.Key.Key_Return)
    qtbot.keyClicks(studio.editor, "/* edited in the wizard */")
    assert studio.is_dirty
    assert not button(wizard, QWizard.WizardButton.NextButton).isEnabled()
    assert studio.save()
    assert button(wizard, QWizard.WizardButton.NextButton).isEnabled()
    assert "order_completed" in wizard.flow.config.template_overrides
    with task_done(qtbot, wizard, "wizard.plan"):
        next_page(qtbot, wizard)

    finish = wizard.currentPage()
    assert isinstance(finish, FinishPage)
    assert finish.plan_list.count() >= 1
    assert "order.authorized" in finish.events.text()
    return finish


@pytest.mark.slow
def test_whole_setup_registers_stores_secrets_and_resumes(
    qtbot: QtBot, services: Services, sandbox: Sandbox, keyring_clean: SecretService
) -> None:
    wizard = open_wizard(qtbot, services)
    finish = walk_to_finish(qtbot, wizard, sandbox)
    assert "Create “Segment Desktop — orders”" in finish.plan_list.item(1).text()
    with qtbot.waitSignal(wizard.configured, timeout=WAIT_MS) as blocker:
        click(qtbot, button(wizard, QWizard.WizardButton.FinishButton))
    config = blocker.args[0]
    assert isinstance(config, Config)
    assert not wizard.isVisible()

    ours = [i for i in sandbox.commerce.integrations if i["id"] in config.integration_ids.values()]
    observed = sorted(e for i in ours for e in i["observes"])
    assert "order.authorized" in observed and "order.created" not in observed
    assert "customer.deleted" in observed and "order.refunded" not in observed
    assert all(len(i["observes"]) <= 5 and i["enabled"] for i in ours)
    assert {i["configuration"]["url"] for i in ours} == {config.relay_url}

    webhook_secret = keyring_clean.lookup(WEBHOOK_SECRET)
    assert webhook_secret and all(i["configuration"]["secret_key"] == webhook_secret for i in ours)
    assert keyring_clean.lookup(SEGMENT_WRITE_KEY) == sandbox.write_key
    assert keyring_clean.lookup(COMMERCE_CLIENT_SECRET) == sandbox.client_secret
    saved = services.load_config()
    assert saved.integration_ids == config.integration_ids
    assert saved.webhook_secret_fingerprint == secret_fingerprint(webhook_secret)
    assert "order_completed" in saved.template_overrides
    assert sandbox.client_secret not in services.config_store.path.read_text()

    # The in-process relay runs: an authorized order reaches the Segment emulator.
    before = len(sandbox.segment.received_calls())
    sandbox.commerce.fire("order.authorized", wait=True, timeout=10)
    wait_for(lambda: len(sandbox.segment.received_calls()) > before)
    assert any(c.get("event") == "Checkout Started" for c in sandbox.segment.received_calls())
    wizard.tasks.shutdown()

    # Reopening resumes: saved values, secrets from the keyring shown masked, pages complete.
    again = SetupWizard(services, dialogs=ScriptedDialogs(otherwise=True))
    qtbot.addWidget(again)
    with qtbot.waitSignal(again.secretsLoaded, timeout=WAIT_MS):
        again.show()
        # The secrets are read from the keyring after the first paint, off the GUI thread:
        # until then the pages that need them are not complete.
        assert again.secrets_pending
        assert not again.flow.is_complete(Step.COMMERCE)
        assert not again.flow.is_complete(Step.SEGMENT)
        qtbot.waitExposed(again)
    assert not again.secrets_pending
    commerce = again.page_widget(Step.COMMERCE)
    assert isinstance(commerce, CommercePage)
    assert commerce.client_id.text() == sandbox.client_id
    assert commerce.secret.text() == sandbox.client_secret and commerce.secret.is_masked()
    segment = again.page_widget(Step.SEGMENT)
    assert isinstance(segment, SegmentPage)
    assert segment.write_key.text() == sandbox.write_key and segment.write_key.is_masked()
    assert again.flow.is_complete(Step.COMMERCE) and again.flow.is_complete(Step.SEGMENT)
    configurations = again.page_widget(Step.CONFIGURATIONS)
    assert isinstance(configurations, ConfigurationsPage)
    combo = configurations.rows["checkout_started"].combo
    assert combo is not None and combo.currentText() == "order.authorized"
    assert not configurations.rows["order_refunded"].check.isChecked()
    again.tasks.shutdown()


@pytest.mark.slow
def test_failed_finish_leaves_previous_state_intact(
    qtbot: QtBot, services: Services, sandbox: Sandbox, keyring_clean: SecretService
) -> None:
    previous = Config.default()
    previous.commerce = CommerceSettings(client_id="old-client", base_url=sandbox.commerce_url)
    previous.relay_url = "https://old-relay.example.com/webhooks/commerce"
    services.save(previous)
    before = services.config_store.path.read_bytes()

    wizard = open_wizard(qtbot, services)
    finish = walk_to_finish(qtbot, wizard, sandbox)
    assert services.config_store.path.read_bytes() == before  # the edit is in the draft only
    sandbox.commerce.faults.add("malformed", prefix="/v2/integrations", method="POST", count=20)
    with task_done(qtbot, wizard, "wizard.apply"):
        click(qtbot, button(wizard, QWizard.WizardButton.FinishButton))
    assert wizard.isVisible() and wizard.currentPage() is finish
    assert "Setup was not finished" in finish.page_error.text()
    assert "previous settings are unchanged" in finish.page_error.text()
    assert "Traceback" not in finish.page_error.text()
    assert services.config_store.path.read_bytes() == before
    assert services.load_config().relay_url == previous.relay_url
    assert services.load_config().commerce.client_id == "old-client"
    assert keyring_clean.lookup(SEGMENT_WRITE_KEY) is None
    # Commerce may have created the integration before its answer broke: the relay must know
    # the secret that integration carries, so it is stored before the first write.
    assert keyring_clean.lookup(WEBHOOK_SECRET)
    assert button(wizard, QWizard.WizardButton.FinishButton).isEnabled(), "the user may retry"

    sandbox.commerce.faults.clear()
    with qtbot.waitSignal(wizard.configured, timeout=WAIT_MS):
        click(qtbot, button(wizard, QWizard.WizardButton.FinishButton))
    assert services.load_config().relay_url != previous.relay_url
    assert services.load_config().template_overrides, "Finish saves the template edit"
    wizard.tasks.shutdown()


def test_cancel_while_registering_stops_after_the_current_write_and_says_so(
    qtbot: QtBot, services: Services, sandbox: Sandbox
) -> None:
    wizard = open_wizard(qtbot, services)
    finish = walk_to_finish(qtbot, wizard, sandbox)
    sandbox.commerce.faults.add("slow", prefix="/v2/integrations", method="POST", delay=0.5)
    with task_done(qtbot, wizard, "wizard.apply"):
        finish_button = button(wizard, QWizard.WizardButton.FinishButton)
        finish_button.setFocus()
        qtbot.keyClick(finish_button, Qt.Key.Key_Space)  # pressed from the keyboard
        assert finish.registering()
        # Finish is disabled now: its focus goes to the plan, where Enter does nothing harmful
        assert QApplication.focusWidget() is finish.plan_list
        assert finish.busy.cancel_button.isVisible()
        wizard.reject()  # Escape: stops after the write in progress; the wizard stays
        assert wizard.isVisible(), "still showing while Commerce is being changed"
        assert "Stopping after the change in progress" in finish.busy.label.text()
    assert wizard.isVisible()
    said = finish.page_error.text()
    made = len(sandbox.commerce.integrations)
    assert made < 2
    if made:
        assert f"Stopped as you asked, after {made} of 2 changes at Commerce" in said
    else:
        assert "Stopped as you asked, before any changes at Commerce." in said
    assert services.load_config().integration_ids == {}, "nothing saved before Finish succeeds"

    with qtbot.waitSignal(wizard.configured, timeout=WAIT_MS):
        click(qtbot, button(wizard, QWizard.WizardButton.FinishButton))
    assert len(sandbox.commerce.integrations) == 2, "the first one is not created twice"
    assert len(services.load_config().integration_ids) == 2
    wizard.tasks.shutdown()
