"""The wizard's delivery choice: a relay URL or an Amazon SQS queue, typed as a user types it.

Checked against real servers on 127.0.0.1: moto's SQS server for Check queue, the Commerce
emulator for registering ``aws_sqs`` integrations, a real Secret Service for the secret
access key (which must never reach the settings file).
"""

from __future__ import annotations

import socket
import uuid
from typing import Any

import boto3
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QAbstractButton, QWizard
from pytestqt.qtbot import QtBot

from segment_desktop.core.config import CommerceSettings, Config
from segment_desktop.core.flow import SetupFlow, Step
from segment_desktop.core.secrets import SQS_SECRET_ACCESS_KEY
from segment_desktop.sandbox.runner import Sandbox
from segment_desktop.services import Services
from segment_desktop.ui.wizard import SetupWizard
from segment_desktop.ui.wizard.commerce_page import CommercePage
from segment_desktop.ui.wizard.configurations_page import ConfigurationsPage
from segment_desktop.ui.wizard.delivery_section import CHECK_TASK
from segment_desktop.ui.wizard.finish_page import FinishPage
from segment_desktop.ui.wizard.segment_page import SegmentPage
from segment_desktop.ui.wizard.welcome_page import WelcomePage
from tests.fixtures.dialogs import ScriptedDialogs
from tests.fixtures.secret_service import SecretService

pytestmark = pytest.mark.gui

WAIT_MS = 15_000
REGION = "eu-west-1"
KEY_ID = "AKIAIOSFODNN7EXAMPLE"
SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"


@pytest.fixture
def queue_url(moto_sqs: str) -> str:
    client = boto3.client(
        "sqs",
        endpoint_url=moto_sqs,
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    url: str = client.create_queue(QueueName=f"orders-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    client.close()
    return url


def open_wizard(qtbot: QtBot, services: Services) -> SetupWizard:
    wizard = SetupWizard(services, dialogs=ScriptedDialogs(otherwise=True))
    qtbot.addWidget(wizard)
    with qtbot.waitSignal(wizard.secretsLoaded, timeout=WAIT_MS):
        wizard.show()
        qtbot.waitExposed(wizard)
    return wizard


def click(qtbot: QtBot, widget: QAbstractButton) -> None:
    assert widget.isEnabled(), f"{widget.text()!r} is disabled: {widget.toolTip()}"
    qtbot.mouseClick(widget, Qt.MouseButton.LeftButton)


def task_done(qtbot: QtBot, wizard: SetupWizard, key: str) -> Any:
    return qtbot.waitSignal(
        wizard.tasks.delivered, timeout=WAIT_MS, check_params_cb=lambda k: k == key
    )


def next_page(qtbot: QtBot, wizard: SetupWizard) -> None:
    click(qtbot, wizard.button(QWizard.WizardButton.NextButton))


def type_keys(qtbot: QtBot, widget: Any, text: str) -> None:
    widget.setFocus()
    qtbot.keyClick(widget, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClick(widget, Qt.Key.Key_Delete)
    qtbot.keyClicks(widget, text)


def walk_to_configurations(qtbot: QtBot, wizard: SetupWizard) -> ConfigurationsPage:
    """Welcome → sandbox → Connect → Segment test → the Configurations page."""
    welcome = wizard.currentPage()
    assert isinstance(welcome, WelcomePage)
    with task_done(qtbot, wizard, "wizard.sandbox"):
        click(qtbot, welcome.sandbox_button)
    next_page(qtbot, wizard)
    commerce = wizard.currentPage()
    assert isinstance(commerce, CommercePage)
    with task_done(qtbot, wizard, "wizard.commerce"):
        click(qtbot, commerce.connect_button)
    next_page(qtbot, wizard)
    segment = wizard.currentPage()
    assert isinstance(segment, SegmentPage)
    with task_done(qtbot, wizard, "wizard.segment"):
        click(qtbot, segment.test_button)
    next_page(qtbot, wizard)
    page = wizard.currentPage()
    assert isinstance(page, ConfigurationsPage)
    return page


def choose_queue(qtbot: QtBot, page: ConfigurationsPage, url: str) -> None:
    """Pick the SQS choice by its mnemonic and type the queue's fields."""
    section = page.delivery
    page.relay_url.setFocus()
    qtbot.keyClick(page.relay_url, Qt.Key.Key_Q, Qt.KeyboardModifier.AltModifier)
    qtbot.waitUntil(section.sqs.isChecked)  # a mnemonic clicks after a short animation
    assert section.queue_fields.isVisible()
    assert not section.webhook_fields.isVisible()
    type_keys(qtbot, section.queue_url, url)
    type_keys(qtbot, section.region, REGION)
    type_keys(qtbot, section.access_key_id, KEY_ID)
    type_keys(qtbot, section.secret.edit, SECRET)


def test_queue_fields_say_what_is_missing_under_each_field(
    qtbot: QtBot, services: Services, queue_url: str
) -> None:
    wizard = open_wizard(qtbot, services)
    page = walk_to_configurations(qtbot, wizard)
    section = page.delivery
    next_button = wizard.button(QWizard.WizardButton.NextButton)
    assert next_button.isEnabled()  # the sandbox's relay URL is usable
    section.sqs.setFocus()
    qtbot.keyClick(section.sqs, Qt.Key.Key_Space)
    assert wizard.flow.config.delivery.kind == "aws_sqs"
    assert not next_button.isEnabled()
    assert not section.check_button.isEnabled()
    assert "Fill in the fields" in section.check_button.toolTip()
    assert "queue URL" in section.problems["url"].text()
    assert "access key id" in section.problems["access_key_id"].text()
    assert not page.page_error.isVisible()  # problems stand under their fields

    type_keys(qtbot, section.queue_url, "https://sqs.eu-west-1.amazonaws.com/orders")
    assert "whole queue URL" in section.problems["url"].text()
    type_keys(qtbot, section.queue_url, "https://sqs.eu-west-1.amazonaws.com/1234/orders")
    assert not section.problems["url"].isVisible()
    assert not section.problems["region"].isVisible()  # read from the queue URL
    type_keys(qtbot, section.access_key_id, KEY_ID)
    type_keys(qtbot, section.secret.edit, SECRET)
    assert section.secret.is_masked()
    assert next_button.isEnabled() and section.check_button.isEnabled()

    # Back to the webhook: the relay URL counts again, the queue's values are kept.
    qtbot.keyClick(section.secret.edit, Qt.Key.Key_W, Qt.KeyboardModifier.AltModifier)
    qtbot.waitUntil(section.webhook.isChecked)
    assert section.webhook_fields.isVisible() and not section.queue_fields.isVisible()
    assert wizard.flow.config.delivery.sqs_access_key_id == KEY_ID
    assert wizard.flow.draft().sqs_secret == ""  # a webhook delivery carries no queue key
    wizard.tasks.shutdown()


def test_check_queue_runs_in_the_background_and_names_what_to_fix(
    qtbot: QtBot, services: Services, queue_url: str
) -> None:
    wizard = open_wizard(qtbot, services)
    page = walk_to_configurations(qtbot, wizard)
    section = page.delivery
    choose_queue(qtbot, page, queue_url + "-missing")
    with task_done(qtbot, wizard, CHECK_TASK):
        click(qtbot, section.check_button)
        assert section.busy.isVisible() and section.busy.cancel_button.isEnabled()
        assert not wizard.button(QWizard.WizardButton.NextButton).isEnabled()
    assert section.result.kind == "error"
    assert "There is no queue" in section.result.text()
    assert "Check the queue URL" in section.result.text()
    assert not section.busy.isVisible()

    type_keys(qtbot, section.queue_url, queue_url)
    assert section.result.text() == ""  # an old verdict does not outlive the edit
    with task_done(qtbot, wizard, CHECK_TASK):
        click(qtbot, section.check_button)
    assert section.result.kind == "ok", section.result.text()
    assert REGION in section.result.text() and "visibility timeout 30 s" in section.result.text()
    assert wizard.button(QWizard.WizardButton.NextButton).isEnabled()
    wizard.tasks.shutdown()


@pytest.mark.slow
def test_finish_registers_aws_sqs_integrations_and_keeps_the_key_in_the_keyring(
    qtbot: QtBot,
    services: Services,
    sandbox: Sandbox,
    keyring_clean: SecretService,
    queue_url: str,
) -> None:
    wizard = open_wizard(qtbot, services)
    page = walk_to_configurations(qtbot, wizard)
    choose_queue(qtbot, page, queue_url)
    qtbot.keyClick(page.delivery.secret.edit, Qt.Key.Key_Return)  # Enter presses Next
    assert wizard.currentId() == Step.TEMPLATES
    with task_done(qtbot, wizard, "wizard.plan"):
        next_page(qtbot, wizard)
    finish = wizard.currentPage()
    assert isinstance(finish, FinishPage)
    assert f"SQS queue: {queue_url} ({REGION})" in finish.events.text()
    plan = [finish.plan_list.item(i).text() for i in range(finish.plan_list.count())]
    assert any("Create" in line for line in plan), plan
    assert keyring_clean.lookup(SQS_SECRET_ACCESS_KEY) is None  # nothing stored before Finish

    with task_done(qtbot, wizard, "wizard.apply"):
        click(qtbot, wizard.button(QWizard.WizardButton.FinishButton))
    assert finish.applied is not None, finish.page_error.text()
    config = finish.applied
    assert isinstance(config, Config)
    ours = [i for i in sandbox.commerce.integrations if i["id"] in config.integration_ids.values()]
    assert ours and {i["integration_type"] for i in ours} == {"aws_sqs"}
    assert all(len(i["observes"]) <= 5 for i in ours)
    for integration in ours:
        settings = integration["configuration"]
        assert settings["url"] == queue_url and settings["region"] == REGION
        assert str(settings["aws_secret_access_key"]).endswith(SECRET[-4:])

    assert keyring_clean.lookup(SQS_SECRET_ACCESS_KEY) == SECRET
    text = services.config_store.path.read_text()
    assert SECRET not in text
    saved = services.load_config()
    assert saved.delivery.kind == "aws_sqs" and saved.delivery.sqs_access_key_id == KEY_ID
    assert saved.delivery.sqs_secret_fingerprint
    assert services.is_configured(saved)

    # Registering again with the same settings changes nothing (idempotent).
    again = SetupFlow(saved, client_secret=sandbox.client_secret, write_key=sandbox.write_key,
                      sqs_secret=SECRET)  # fmt: skip
    summary = services.plan_registration(again.draft())
    assert not summary.plan.actions, summary.lines
    wizard.tasks.shutdown()


def test_cancel_keeps_the_settings_file_byte_identical(
    qtbot: QtBot, services: Services, keyring_clean: SecretService, queue_url: str
) -> None:
    wizard = open_wizard(qtbot, services)
    page = walk_to_configurations(qtbot, wizard)
    services.save(wizard.flow.saved)  # a settings file from an earlier setup
    before = services.config_store.path.read_bytes()
    choose_queue(qtbot, page, queue_url)
    qtbot.keyClick(page.delivery.secret.edit, Qt.Key.Key_Escape)
    assert not wizard.isVisible()
    assert isinstance(wizard.dialogs, ScriptedDialogs) and wizard.dialogs.asked
    assert services.config_store.path.read_bytes() == before
    assert keyring_clean.lookup(SQS_SECRET_ACCESS_KEY) is None
    wizard.tasks.shutdown()


def test_a_saved_queue_is_shown_again_with_its_key_from_the_keyring(
    qtbot: QtBot, services: Services, keyring_clean: SecretService, queue_url: str
) -> None:
    saved = Config.default()
    saved.commerce = CommerceSettings(base_url="https://example.invalid", client_id="id")
    saved.delivery.kind = "aws_sqs"
    saved.delivery.sqs_queue_url = queue_url
    saved.delivery.sqs_region = REGION
    saved.delivery.sqs_access_key_id = KEY_ID
    services.save(saved)
    services.secrets.set(SQS_SECRET_ACCESS_KEY, SECRET)
    wizard = open_wizard(qtbot, services)
    page = wizard.page_widget(Step.CONFIGURATIONS)
    assert isinstance(page, ConfigurationsPage)
    section = page.delivery
    assert section.sqs.isChecked() and not section.webhook.isChecked()
    assert section.queue_url.text() == queue_url and section.region.text() == REGION
    assert section.secret.text() == SECRET and section.secret.is_masked()
    assert wizard.flow.draft().sqs_secret == SECRET
    assert not wizard.flow.has_progress()  # what was saved is no work to lose
    wizard.tasks.shutdown()


def test_a_queue_that_never_answers_can_be_cancelled(
    qtbot: QtBot, services: Services, keyring_clean: SecretService
) -> None:
    with socket.socket() as silent:  # accepts connections, never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        port = silent.getsockname()[1]
        wizard = open_wizard(qtbot, services)
        page = walk_to_configurations(qtbot, wizard)
        section = page.delivery
        choose_queue(qtbot, page, f"http://127.0.0.1:{port}/123456789012/orders")
        click(qtbot, section.check_button)
        assert section.busy.isVisible() and "Checking the queue" in section.busy.label.text()
        assert not section.check_button.isEnabled()
        assert "Cancel" in section.check_button.toolTip()
        assert not wizard.button(QWizard.WizardButton.NextButton).isEnabled()
        qtbot.wait(400)  # the wait is still going on
        assert section.busy.isVisible()
        click(qtbot, section.busy.cancel_button)
        assert not section.busy.isVisible() and section.result.text() == "Cancelled."
        assert section.check_button.isEnabled()
        assert wizard.button(QWizard.WizardButton.NextButton).isEnabled()
        wizard.tasks.shutdown(wait_ms=0)
