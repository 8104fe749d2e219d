"""The setup wizard: six pages whose order and completeness the flow object decides.

Start-up matters here: the wizard is a new user's first window. So only the first page is
built before the wizard is shown; once it has been painted the other pages are built (their
modules imported then) and the saved secrets are read from the keyring on a worker thread
(importing keyring and asking the Secret Service takes long enough to delay the first window
visibly). Until the secrets arrive the secret fields say so, and the pages that need them are
incomplete exactly as if they were empty. :meth:`SetupWizard.page_widget` builds the pages at
once when asked earlier.
"""

from __future__ import annotations

import importlib
import logging

from PySide6.QtCore import QTimer, Signal
from PySide6.QtGui import QCloseEvent, QPaintEvent
from PySide6.QtWidgets import QWidget, QWizard

from segment_desktop.core.config import Config
from segment_desktop.core.flow import Page, SetupFlow
from segment_desktop.core.secrets import COMMERCE_CLIENT_SECRET, SEGMENT_WRITE_KEY
from segment_desktop.ui.services import Services
from segment_desktop.ui.tasks import TaskRunner
from segment_desktop.ui.wizard.base import FlowPage

log = logging.getLogger(__name__)

#: The TaskRunner key of the background read of the saved secrets.
SECRETS_TASK = "wizard.secrets"
#: The title; Qt appends the application display name ("Setup — Segment Desktop").
TITLE = "Setup"

#: Each page's class as ``module:Class`` under ``segment_desktop.ui.wizard``, imported when the
#: page is built.
PAGE_CLASSES: dict[Page, str] = {
    Page.WELCOME: "welcome:WelcomePage",
    Page.COMMERCE: "commerce:CommercePage",
    Page.SEGMENT: "segment:SegmentPage",
    Page.CONFIGURATIONS: "configurations:ConfigurationsPage",
    Page.TEMPLATES: "templates:TemplatesPage",
    Page.FINISH: "finish:FinishPage",
}


def page_class(page: Page) -> type[FlowPage]:
    """The class of ``page`` (importing its module)."""
    module_name, _, class_name = PAGE_CLASSES[page].partition(":")
    module = importlib.import_module(f"segment_desktop.ui.wizard.{module_name}")
    cls: type[FlowPage] = getattr(module, class_name)
    return cls


class SetupWizard(QWizard):
    """Guided setup. Reopening it resumes the saved values (secrets read from the keyring
    in the background once the wizard is on screen, see :meth:`load_saved_secrets`).

    Signals:
        configured(object): Finish succeeded; carries the saved :class:`Config`.
        secretsLoaded(): the saved secrets were read (or could not be) and filled in.
    """

    configured = Signal(object)
    secretsLoaded = Signal()

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
        self.flow = SetupFlow(saved)
        #: The saved secrets have not been read yet (see :meth:`load_saved_secrets`).
        self.secrets_pending = True
        self._painted = False
        self.setWindowTitle(TITLE)
        self.setWizardStyle(QWizard.WizardStyle.ModernStyle)
        self.setOption(QWizard.WizardOption.NoBackButtonOnStartPage, True)
        self.setOption(QWizard.WizardOption.HaveHelpButton, False)
        self.pages: dict[Page, FlowPage] = {}
        first = self.flow.first_page()
        self._add_page(first)
        self.setStartId(int(first))
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

    # -- pages -----------------------------------------------------------------------------------

    def _add_page(self, page: Page) -> FlowPage:
        widget = page_class(page)(self.flow, self.services, self.tasks)
        self.pages[page] = widget
        self.setPage(int(page), widget)
        if self.secrets_pending:
            widget.saved_secret_pending()
        return widget

    def build_pages(self) -> None:
        """Build every page not built yet (idempotent)."""
        for page in self.flow.pages:
            if page not in self.pages:
                self._add_page(page)

    def page_widget(self, page: Page) -> FlowPage:
        if page not in self.pages:
            self.build_pages()
        return self.pages[page]

    def validateCurrentPage(self) -> bool:
        # Next (or Finish) was pressed: the page it leads to must exist, even when pressed before
        # the pages were built after the first paint.
        self.build_pages()
        return super().validateCurrentPage()

    def paintEvent(self, event: QPaintEvent) -> None:
        super().paintEvent(event)
        if not self._painted:
            self._painted = True
            QTimer.singleShot(0, self._after_first_paint)  # once this paint is on screen

    def _after_first_paint(self) -> None:
        self.build_pages()
        self.load_saved_secrets()

    # -- the saved secrets ---------------------------------------------------------------------

    def load_saved_secrets(self) -> None:
        """Read the Commerce client secret and the Segment write key off the GUI thread; fill
        the masked fields when they arrive (unless something was typed there meanwhile)."""
        if not self.secrets_pending or self.tasks.is_busy(SECRETS_TASK):
            return
        services = self.services
        self.tasks.submit(
            SECRETS_TASK,
            lambda _token: (
                services.read_secret(COMMERCE_CLIENT_SECRET),
                services.read_secret(SEGMENT_WRITE_KEY),
            ),
            on_result=self._secrets_read,
            on_error=self._secrets_failed,
        )

    def _secrets_read(self, values: tuple[str | None, str | None]) -> None:
        from segment_desktop.ui.wizard.commerce import CommercePage
        from segment_desktop.ui.wizard.segment import SegmentPage

        client_secret, write_key = values
        self.secrets_pending = False
        self.build_pages()
        commerce, segment = self.pages.get(Page.COMMERCE), self.pages.get(Page.SEGMENT)
        if isinstance(commerce, CommercePage):
            commerce.saved_secret_arrived(client_secret)
        if isinstance(segment, SegmentPage):
            segment.saved_secret_arrived(write_key)
        self.secretsLoaded.emit()

    def _secrets_failed(self, error: BaseException) -> None:
        # read_secret already turns keyring failures into None; this is anything else.
        log.warning("Could not read the saved secrets: %s", error)
        self._secrets_read((None, None))

    # -- closing ---------------------------------------------------------------------------------

    def accept(self) -> None:
        from segment_desktop.ui.wizard.finish import FinishPage

        finish = self.page_widget(Page.FINISH)
        assert isinstance(finish, FinishPage)
        if finish.applied is None:
            finish.start_apply()  # in the background; FinishPage accepts again when done
            return
        self.configured.emit(finish.applied)
        super().accept()

    def done(self, result: int) -> None:
        if self.flow.status(Page.FINISH).busy:
            return  # registering: Cancel must not hide an outcome that changes Commerce
        for key in (
            "wizard.commerce",
            "wizard.segment",
            "wizard.plan",
            "wizard.sandbox",
            SECRETS_TASK,
        ):
            self.tasks.cancel(key)
        super().done(result)

    def closeEvent(self, event: QCloseEvent) -> None:
        if self.flow.status(Page.FINISH).busy:
            event.ignore()  # never leave while registering: its outcome must be shown
            return
        super().closeEvent(event)
