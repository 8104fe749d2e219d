"""Send a Commerce webhook to a relay on purpose: the ``trigger`` command as a dialog.

The body is a built-in sample of the chosen event or the store's latest order or customer, with
overrides (one ``PATH=VALUE`` a line, VALUE as JSON). Overrides are checked before anything is
fetched or sent; the keyring read, the store read and the POST run off the GUI thread.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from segment_desktop.commerce import CommerceClient
from segment_desktop.core.errors import ConfigError, SegmentDesktopError
from segment_desktop.core.events import ALL_EVENTS
from segment_desktop.core.samples import list_samples
from segment_desktop.core.webhook_trigger import build_body, parse_override, sample_body
from segment_desktop.ui.tasks import CancelToken, TaskRunner
from segment_desktop.webhook_client import NO_SECRET, WebhookAnswer, latest_event, send_webhook

__all__ = ["LATEST", "TriggerDialog", "keyring_webhook_secret"]

#: The sample list's entry for the store's latest event.
LATEST = "Latest from the store"


def keyring_webhook_secret() -> str | None:
    """The webhook secret as ``trigger`` reads it (environment, else the keyring)."""
    from segment_desktop.core.secrets import WEBHOOK_SECRET, SecretStore

    return SecretStore().get(WEBHOOK_SECRET)


class TriggerDialog(QDialog):
    """Event, sample, relay URL, overrides, Send; the relay's answer below.

    Signals:
        finished_sending(object): a :class:`WebhookAnswer`, or the exception that stopped it.
    """

    finished_sending = Signal(object)

    def __init__(
        self,
        runner: TaskRunner,
        *,
        relay_url: str = "",
        secret: Callable[[], str | None] = keyring_webhook_secret,
        commerce: CommerceClient | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Trigger a webhook")
        self.setObjectName("triggerDialog")
        self.resize(640, 520)
        self._runner = runner
        self._secret = secret
        self._commerce = commerce
        self._task = f"trigger-{id(self):x}"

        self.event_box = QComboBox(self)
        self.event_box.setAccessibleName("Event")
        self.event_box.addItems(list(ALL_EVENTS))
        self.sample_box = QComboBox(self)
        self.sample_box.setAccessibleName("Sample")
        self.url = QLineEdit(relay_url, self)
        self.url.setAccessibleName("Relay URL")
        self.url.setPlaceholderText("http://127.0.0.1:8787/webhooks/commerce")
        self.overrides = QPlainTextEdit(self)
        self.overrides.setAccessibleName("Overrides")
        self.overrides.setPlaceholderText(
            "One PATH=VALUE a line, VALUE as JSON:\npayload.data.meta.display_price.with_tax."
            'currency="JPY"'
        )
        self.overrides.setMaximumHeight(110)
        self.send_button = QPushButton("Send", self)
        self.send_button.setDefault(True)
        self.status = QLabel("", self)
        self.status.setWordWrap(True)
        self.status.setAccessibleName("Trigger status")
        self.answer = QPlainTextEdit(self)
        self.answer.setReadOnly(True)
        self.answer.setAccessibleName("Relay answer")

        form = QFormLayout()
        form.addRow("&Event", self.event_box)
        form.addRow("&Sample", self.sample_box)
        form.addRow("&Relay URL", self.url)
        form.addRow("&Overrides", self.overrides)
        buttons = QHBoxLayout()
        buttons.addWidget(self.status, 1)
        buttons.addWidget(self.send_button)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addLayout(buttons)
        layout.addWidget(self.answer, 1)

        self.event_box.currentTextChanged.connect(self._fill_samples)
        self.send_button.clicked.connect(self.send)
        self._fill_samples(self.event_box.currentText())

    def _fill_samples(self, event: str) -> None:
        self.sample_box.clear()
        self.sample_box.addItems([s.name for s in list_samples(event)])
        if self._commerce is not None:
            self.sample_box.addItem(LATEST)

    def set_commerce_client(self, client: CommerceClient | None) -> None:
        self._commerce = client
        self._fill_samples(self.event_box.currentText())

    def send(self) -> None:
        """Check the overrides, then build and send the webhook in the background."""
        event = self.event_box.currentText()
        sample = self.sample_box.currentText()
        url = self.url.text().strip()
        lines = [line.strip() for line in self.overrides.toPlainText().splitlines()]
        overrides = [line for line in lines if line]
        try:
            for line in overrides:
                parse_override(line)
        except SegmentDesktopError as err:
            self._problem(str(err))
            return
        if not url:
            self._problem("Enter the relay's webhook URL.")
            self.url.setFocus()
            return
        commerce, secret_of = self._commerce, self._secret

        def work(token: CancelToken) -> WebhookAnswer:
            secret = secret_of()
            if not secret:
                raise ConfigError(NO_SECRET)
            if sample == LATEST and commerce is not None:
                base: dict[str, Any] = latest_event(commerce, event)
            else:
                base = sample_body(event, sample or None)
            body = build_body(event, base, overrides)
            token.raise_if_cancelled()
            return send_webhook(url, body, secret)

        self.send_button.setEnabled(False)
        self.status.setText("Sending…")
        self._runner.submit(self._task, work, on_result=self._answered, on_error=self._failed)

    def _answered(self, answer: WebhookAnswer) -> None:
        self.send_button.setEnabled(True)
        verdict = "The relay took it." if answer.ok else "The relay refused it."
        self.status.setText(f"{answer.status_code} {answer.reason}: {verdict}")
        self.answer.setPlainText(answer.describe())
        self.finished_sending.emit(answer)

    def _failed(self, err: BaseException) -> None:
        self.send_button.setEnabled(True)
        self._problem(str(err) if isinstance(err, SegmentDesktopError) else repr(err))
        self.finished_sending.emit(err)

    def _problem(self, message: str) -> None:
        self.status.setText(f"Not sent: {message}")
        self.answer.setPlainText("")

    def done(self, result: int) -> None:
        self._runner.cancel(self._task)
        super().done(result)
