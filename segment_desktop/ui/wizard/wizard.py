"""The setup wizard: six pages whose order and completeness the flow object decides."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import QWidget, QWizard

from segment_desktop.core.config import Config
from segment_desktop.core.flow import Page, SetupFlow
from segment_desktop.core.secrets import COMMERCE_CLIENT_SECRET, SEGMENT_WRITE_KEY
from segment_desktop.ui.services import Services
from segment_desktop.ui.tasks import TaskRunner
from segment_desktop.ui.wizard.base import FlowPage
from segment_desktop.ui.wizard.commerce import CommercePage
from segment_desktop.ui.wizard.configurations import ConfigurationsPage
from segment_desktop.ui.wizard.finish import FinishPage
from segment_desktop.ui.wizard.segment import SegmentPage
from segment_desktop.ui.wizard.templates import TemplatesPage, studio_available
from segment_desktop.ui.wizard.welcome import WelcomePage

PAGE_CLASSES: dict[Page, type[FlowPage]] = {
    Page.WELCOME: WelcomePage,
    Page.COMMERCE: CommercePage,
    Page.SEGMENT: SegmentPage,
    Page.CONFIGURATIONS: ConfigurationsPage,
    Page.TEMPLATES: TemplatesPage,
    Page.FINISH: FinishPage,
}


class SetupWizard(QWizard):
    """Guided setup. Reopening it resumes the saved values (secrets read from the keyring).

    Signals:
        configured(object): Finish succeeded; carries the saved :class:`Config`.
    """

    configured = Signal(object)

    def __init__(
        self,
        services: Services,
        *,
        tasks: TaskRunner | None = None,
        config: Config | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.services = services
        self.tasks = tasks or TaskRunner(self)
        saved = config if config is not None else services.load_config()
        self.flow = SetupFlow(
            saved,
            client_secret=services.read_secret(COMMERCE_CLIENT_SECRET),
            write_key=services.read_secret(SEGMENT_WRITE_KEY),
            with_templates=studio_available(),
        )
        self.setWindowTitle("Segment Desktop — Setup")
        self.setWizardStyle(QWizard.WizardStyle.ModernStyle)
        self.setOption(QWizard.WizardOption.NoBackButtonOnStartPage, True)
        self.setOption(QWizard.WizardOption.HaveHelpButton, False)
        self.pages: dict[Page, FlowPage] = {}
        for page in self.flow.pages:
            widget = PAGE_CLASSES[page](self.flow, services, self.tasks)
            self.pages[page] = widget
            self.setPage(int(page), widget)
        self.setStartId(int(self.flow.first_page()))
        for which in (
            QWizard.WizardButton.BackButton,
            QWizard.WizardButton.NextButton,
            QWizard.WizardButton.FinishButton,
            QWizard.WizardButton.CancelButton,
        ):
            button = self.button(which)
            button.setAccessibleName(button.text().replace("&", "").strip(" <>"))
        self.resize(820, 660)
        self.setMinimumSize(640, 520)

    def page_widget(self, page: Page) -> FlowPage:
        return self.pages[page]

    def accept(self) -> None:
        finish = self.pages[Page.FINISH]
        assert isinstance(finish, FinishPage)
        if finish.applied is None:
            finish.start_apply()  # in the background; FinishPage accepts again when done
            return
        self.configured.emit(finish.applied)
        super().accept()

    def done(self, result: int) -> None:
        if self.flow.status(Page.FINISH).busy:
            return  # registering: Cancel must not hide an outcome that changes Commerce
        for key in ("wizard.commerce", "wizard.segment", "wizard.plan", "wizard.sandbox"):
            self.tasks.cancel(key)
        super().done(result)

    def closeEvent(self, event: QCloseEvent) -> None:
        if self.flow.status(Page.FINISH).busy:
            event.ignore()  # never leave while registering: its outcome must be shown
            return
        super().closeEvent(event)
