"""The Configurations page's "Where Commerce delivers" box: the relay URL, or an SQS queue.

Commerce delivers each event either as a webhook to the relay URL or as a message on an Amazon
SQS queue (its ``aws_sqs`` integrations), from where any number of relay workers take them.
The queue's secret access key is kept in memory here and reaches the keyring only when Finish
has registered (never the settings file).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtWidgets import (
    QButtonGroup,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLineEdit,
    QPushButton,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from segment_desktop.core.flow import Step
from segment_desktop.ui.widgets.busy import BusyBar
from segment_desktop.ui.widgets.fields import (
    MessageLabel,
    SecretField,
    add_field_row,
    button_named,
    name_after_label,
)
from segment_desktop.ui.wizard.base import intro

if TYPE_CHECKING:
    from segment_desktop.ui.wizard.base import FlowPage

CHECK_TASK = "wizard.queue"
#: Mnemonic letters this box takes (the page's template check boxes avoid them).
LETTERS = frozenset("wqugkyc")
QUEUE_HELP = (
    "Commerce puts each event on the queue; relay workers (segment-desktop relay "
    "--sqs-queue-url) take them from there, on as many machines as you like. Commerce needs "
    "an IAM user allowed sqs:SendMessage on the queue; Check queue reads the queue's settings, "
    "which also needs sqs:GetQueueAttributes."
)
#: The secret field's placeholder while the wizard reads the saved key from the keyring.
READING_KEYRING = "Reading the saved secret access key from the system keyring…"


class DeliverySection(QGroupBox):
    """Two choices, each with its own fields; the flow decides what is valid."""

    def __init__(self, page: FlowPage, parent: QWidget | None = None) -> None:
        super().__init__("Where Commerce delivers", parent)
        self.page = page
        self.flow = page.flow
        layout = QVBoxLayout(self)
        self.webhook = QRadioButton("To my relay, as a &webhook", self)
        self.sqs = QRadioButton("To an Amazon S&QS queue", self)
        self.choice = QButtonGroup(self)
        for button in (self.webhook, self.sqs):
            button_named(button)
            self.choice.addButton(button)
        layout.addWidget(self.webhook)

        self.webhook_fields = QWidget(self)
        form = QFormLayout(self.webhook_fields)
        form.setContentsMargins(24, 0, 0, 0)
        self.relay_url = QLineEdit(self.webhook_fields)
        self.relay_url.setPlaceholderText("https://relay.example.com/webhooks/commerce")
        name_after_label(self.relay_url, "Relay URL")
        self.relay_error = MessageLabel(self.webhook_fields)
        add_field_row(form, "&Relay URL:", self.relay_url, self.relay_error)
        layout.addWidget(self.webhook_fields)
        layout.addWidget(self.sqs)

        self.queue_fields = QWidget(self)
        column = QVBoxLayout(self.queue_fields)
        column.setContentsMargins(24, 0, 0, 0)
        form = QFormLayout()
        column.addLayout(form)
        self.queue_url = QLineEdit(self.queue_fields)
        self.queue_url.setPlaceholderText("https://sqs.eu-west-1.amazonaws.com/123456789012/orders")
        name_after_label(self.queue_url, "Queue URL")
        self.region = QLineEdit(self.queue_fields)
        self.region.setPlaceholderText("read from the queue URL, e.g. eu-west-1")
        name_after_label(self.region, "Region")
        self.access_key_id = QLineEdit(self.queue_fields)
        name_after_label(self.access_key_id, "Access key id")
        self.secret = SecretField("Secret access key", self.queue_fields)
        self.problems = {name: MessageLabel(self.queue_fields) for name in QUEUE_FIELDS}
        add_field_row(form, "Queue &URL:", self.queue_url, self.problems["url"])
        add_field_row(form, "Re&gion:", self.region, self.problems["region"])
        add_field_row(form, "Access &key id:", self.access_key_id, self.problems["access_key_id"])
        add_field_row(form, "Secret access ke&y:", self.secret, self.problems["secret"])
        buttons = QHBoxLayout()
        self.check_button = QPushButton("&Check queue", self.queue_fields)
        button_named(self.check_button)
        self.check_button.setAutoDefault(False)
        buttons.addWidget(self.check_button)
        buttons.addStretch(1)
        column.addLayout(buttons)
        self.busy = BusyBar(self.queue_fields)
        column.addWidget(self.busy)
        self.result = MessageLabel(self.queue_fields)
        self.result.setObjectName("queueResult")
        column.addWidget(self.result)
        column.addWidget(intro(QUEUE_HELP, self.queue_fields))
        layout.addWidget(self.queue_fields)

        self.choice.buttonToggled.connect(self._chosen)
        for edit in (self.queue_url, self.region, self.access_key_id):
            edit.textEdited.connect(self._queue_edited)
        self.secret.edit.textEdited.connect(self._queue_edited)
        self.check_button.clicked.connect(self.check_queue)
        self.busy.cancelRequested.connect(self.cancel)

    # -- flow → widgets ----------------------------------------------------------------------

    def load(self) -> None:
        """Show the flow's values (saved ones, or the sandbox's)."""
        delivery = self.flow.config.delivery
        for button in (self.webhook, self.sqs):
            button.blockSignals(True)
        (self.sqs if delivery.kind == "aws_sqs" else self.webhook).setChecked(True)
        for button in (self.webhook, self.sqs):
            button.blockSignals(False)
        self.relay_url.setText(self.flow.config.relay_url)
        self.queue_url.setText(delivery.sqs_queue_url)
        self.region.setText(delivery.sqs_region)
        self.access_key_id.setText(delivery.sqs_access_key_id)
        self.secret.setText(self.flow.sqs_secret)
        self._show_choice()
        self._show_queue_problems()

    def saved_secret_pending(self) -> None:
        self.secret.edit.setPlaceholderText(READING_KEYRING)

    def saved_secret_arrived(self, secret: str | None) -> None:
        """The saved key was read (``None``: none stored); filled in only when the field is
        still empty (a typed value wins)."""
        self.secret.edit.setPlaceholderText("")
        if not secret or self.flow.sqs_secret:
            return
        self.secret.setText(secret)
        self._queue_edited()

    def _show_choice(self) -> None:
        queue = self.sqs.isChecked()
        self.webhook_fields.setVisible(not queue)
        self.queue_fields.setVisible(queue)

    def _show_queue_problems(self) -> None:
        problems = self.flow.queue_problems()
        for name, label in self.problems.items():
            label.show_hint(problems.get(name, ""))
        self._update_button()

    def _update_button(self) -> None:
        busy = self.tasks_busy()
        usable = not self.flow.queue_problems()
        self.check_button.setEnabled(usable and not busy)
        if busy:
            self.check_button.setToolTip("Waiting for the queue: wait, or press Cancel.")
        elif not usable:
            self.check_button.setToolTip("Fill in the fields marked above first.")
        else:
            self.check_button.setToolTip("Check that the queue answers and accepts these keys.")

    def tasks_busy(self) -> bool:
        return self.flow.status(Step.CONFIGURATIONS).busy

    # -- widgets → flow ----------------------------------------------------------------------

    def _chosen(self, _button: QRadioButton, _checked: bool) -> None:
        self.flow.set_delivery_kind("aws_sqs" if self.sqs.isChecked() else "webhook")
        self._show_choice()

    def _queue_edited(self, _text: str = "") -> None:
        if self.tasks_busy():
            self.cancel()
        self.result.clear_message()
        self.flow.edit_queue(
            self.queue_url.text(), self.region.text(), self.access_key_id.text(), self.secret.text()
        )
        self._show_queue_problems()

    # -- Check queue -------------------------------------------------------------------------

    def check_queue(self) -> None:
        d = self.flow.config.delivery
        values = (d.sqs_queue_url, d.sqs_region, d.sqs_access_key_id, self.flow.sqs_secret)
        self.page.keep_focus_from(self.check_button, self.queue_url)
        self.result.clear_message()
        self.flow.set_busy(Step.CONFIGURATIONS, True)
        self.busy.start("Checking the queue…")
        services = self.page.services
        self.page.tasks.submit(
            CHECK_TASK,
            lambda _token: services.check_queue(*values),
            on_result=self._checked,
            on_error=self._failed,
        )
        self._update_button()

    def cancel(self) -> None:
        self.page.tasks.cancel(CHECK_TASK)
        self._finished()
        self.result.show_hint("Cancelled.")

    def _finished(self) -> None:
        self.busy.stop()
        self.flow.set_busy(Step.CONFIGURATIONS, False)
        self._update_button()

    def _checked(self, summary: str) -> None:
        self._finished()
        self.result.show_ok(summary)

    def _failed(self, error: BaseException) -> None:
        self._finished()
        self.result.show_error(str(error))


QUEUE_FIELDS = ("url", "region", "access_key_id", "secret")
