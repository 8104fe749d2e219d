"""Step 6: what registration will do, and Finish applying it off the GUI thread."""

from __future__ import annotations

import logging
import threading

from PySide6.QtWidgets import QLabel, QListWidget, QVBoxLayout, QWizard

from segment_desktop.core.config import Config
from segment_desktop.core.delivery import queue_region
from segment_desktop.core.errors import SegmentDesktopError
from segment_desktop.core.events import BY_KEY
from segment_desktop.core.flow import Draft, Step
from segment_desktop.registration import RegistrationStopped
from segment_desktop.services import PlanSummary
from segment_desktop.ui.widgets.busy import BusyBar
from segment_desktop.ui.widgets.fields import MessageLabel, split_details
from segment_desktop.ui.wizard.base import FlowPage, intro

log = logging.getLogger(__name__)

PLAN_TASK = "wizard.plan"
APPLY_TASK = "wizard.apply"


def with_details(template: str, error: BaseException) -> str:
    """``template`` around the error's message, its raw cause (if any) kept at the end, where
    the message line puts it behind "Details"."""
    message, details = split_details(str(error))
    text = template.format(message)
    return f"{text} [{details}]" if details else text


class FinishPage(FlowPage):
    """Shows the registration plan; Finish registers, stores the secrets, then saves.

    When Finish fails nothing is saved (the flow's ``accept`` saves only after success) and the
    error is shown; the user can go back, fix, and press Finish again.
    """

    page_id = Step.FINISH

    def build(self, layout: QVBoxLayout) -> None:
        self.setTitle("Finish")
        self.setSubTitle("Review what will be set up at Commerce, then press Finish.")
        self.events = QLabel(self)
        self.events.setWordWrap(True)
        layout.addWidget(self.events)
        layout.addWidget(intro("Changes at Commerce:", self))
        self.plan_list = QListWidget(self)
        self.plan_list.setAccessibleName("Changes at Commerce")
        layout.addWidget(self.plan_list, 1)
        self.busy = BusyBar(self)
        self.busy.cancelRequested.connect(self.cancel)
        layout.addWidget(self.busy)
        #: Set to stop registering after the write in progress (never in the middle of one).
        self._stop = threading.Event()
        self.result = MessageLabel(self)
        self.result.setObjectName("finishResult")
        layout.addWidget(self.result)
        self.applied: Config | None = None

    def initializePage(self) -> None:
        self.applied = None
        self.result.clear_message()
        self.flow.set_error(self.page_id, "")
        config = self.flow.config
        lines = [f"• {BY_KEY[key].name} ← {event}" for key, event in config.chosen_events().items()]
        delivery = config.delivery
        if delivery.kind == "aws_sqs":
            region = queue_region(delivery.sqs_queue_url, delivery.sqs_region)
            where = f"Commerce will put each event on the SQS queue: {delivery.sqs_queue_url}"
            where += f" ({region})" if region else ""
        else:
            where = f"Commerce will call: {config.relay_url}"
        self.events.setText("Segment will receive:\n" + "\n".join(lines) + f"\n\n{where}")
        self.plan_list.clear()
        self.plan_list.addItem("Reading the integrations registered at Commerce…")
        draft = self.flow.draft()
        self._begin("Planning…")
        self.tasks.submit(
            PLAN_TASK,
            lambda _token: self.services.plan_registration(draft),
            on_result=self._planned,
            on_error=self._plan_failed,
        )

    def registering(self) -> bool:
        return self.tasks.is_busy(APPLY_TASK)

    def cancel(self) -> None:
        """Cancel: stop planning at once; stop registering after the current write, whose
        outcome is still shown."""
        if self.registering():
            self._stop.set()
            self.busy.cancel_button.setEnabled(False)
            self.busy.start("Stopping after the change in progress at Commerce…")
            return
        self.tasks.cancel(PLAN_TASK)
        self._end()
        self.plan_list.clear()
        self.plan_list.addItem("Not read: cancelled. Go back and forward again to read it.")

    def cleanupPage(self) -> None:
        self.tasks.cancel(PLAN_TASK)
        self._end()

    def _begin(self, text: str) -> None:
        self.flow.set_busy(self.page_id, True)
        self.busy.start(text)

    def _end(self) -> None:
        self.busy.stop()
        self.flow.set_busy(self.page_id, False)

    def _planned(self, summary: PlanSummary) -> None:
        self._end()
        self.plan_list.clear()
        self.plan_list.addItems(summary.lines or ["Nothing to change: already up to date."])

    def _plan_failed(self, error: BaseException) -> None:
        self._end()
        self.plan_list.clear()
        self.flow.set_error(
            self.page_id, with_details("Could not read the current integrations: {}", error)
        )

    # -- Finish ------------------------------------------------------------------------------

    def validatePage(self) -> bool:
        """The wizard may close only once registering succeeded."""
        return self.applied is not None

    def start_apply(self) -> None:
        """Finish was pressed: register in the background; :meth:`_applied` then accepts the
        wizard, :meth:`_apply_failed` shows why not."""
        if self.applied is not None or self.flow.status(self.page_id).busy:
            return
        self.result.clear_message()
        self.flow.set_error(self.page_id, "")
        self._stop.clear()
        self.busy.cancel_button.setEnabled(True)
        wizard = self.wizard()
        if wizard is not None:  # Finish is disabled while registering: keep its focus here
            self.keep_focus_from(wizard.button(QWizard.WizardButton.FinishButton), self.plan_list)
        self._begin("Registering the integrations with Commerce…")
        self.tasks.submit(
            APPLY_TASK,
            lambda _token: self._apply(),
            on_result=self._applied,
            on_error=self._apply_failed,
        )

    def _apply(self) -> Config:  # worker thread: no widgets here
        stop = self._stop.is_set
        config = self.flow.accept(
            lambda draft: self.services.register(draft, should_stop=stop), self.services.save
        )
        # The in-process relay takes webhooks; a queue is read by relay workers
        # (segment-desktop relay --sqs-queue-url).
        if config.sandbox and config.delivery.kind != "aws_sqs":
            try:
                self.services.start_relay(config)
            except SegmentDesktopError as err:  # setup itself is done and saved
                log.warning("The sandbox relay did not start: %s", err)
        return config

    def _applied(self, config: Config) -> None:
        self._end()
        self.applied = config
        count = len(config.integration_ids)
        noun = "integration" if count == 1 else "integrations"
        self.result.show_ok(f"Done: {count} {noun} registered and the settings saved.")
        wizard = self.wizard()
        if wizard is not None:
            wizard.accept()

    def _apply_failed(self, error: BaseException) -> None:
        self._end()
        after = "Your previous settings are unchanged."
        if isinstance(error, RegistrationStopped):
            after = "The changes made are remembered: press Finish to make the rest."
        self.flow.set_error(
            self.page_id, with_details(f"Setup was not finished: {{}} {after}", error)
        )


__all__ = ["Draft", "FinishPage"]
