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
from typing import TYPE_CHECKING

from PySide6.QtCore import QTimer, Signal
from PySide6.QtGui import QPaintEvent, QResizeEvent, QShowEvent
from PySide6.QtWidgets import QWidget, QWizard

from segment_desktop.core.config import Config
from segment_desktop.core.flow import SetupFlow, Step
from segment_desktop.core.secrets import (
    COMMERCE_CLIENT_SECRET,
    SEGMENT_WRITE_KEY,
    SQS_SECRET_ACCESS_KEY,
)
from segment_desktop.services import Services
from segment_desktop.ui.tasks import TaskRunner
from segment_desktop.ui.widgets.dialogs import Dialogs, QtDialogs
from segment_desktop.ui.widgets.geometry import available, keep_inside_screen
from segment_desktop.ui.wizard.base import FlowPage
from segment_desktop.ui.wizard.steps import StepList

if TYPE_CHECKING:
    from PySide6.QtGui import QCloseEvent  # its type is built when a close event comes

    from segment_desktop.ui.wizard.finish_page import FinishPage

log = logging.getLogger(__name__)

#: The TaskRunner key of the background read of the saved secrets.
SECRETS_TASK = "wizard.secrets"
#: The title; Qt appends the application display name ("Setup — Segment Desktop").
TITLE = "Setup"
#: One size for every page (the Templates page needs the studio's panes side by side next to
#: the compact step list), made smaller when the screen is; the window never grows past the
#: screen's edge (the pages scroll instead).
WIZARD_SIZE = (1220, 760)
MINIMUM_SIZE = (640, 520)
#: A check box shows clearly that it has the keyboard (the style's own dotted frame is faint);
#: the transparent border keeps the layout still when the focus moves.
FOCUS_RING = """
QCheckBox { border: 2px solid transparent; border-radius: 4px; padding: 1px 4px; }
QCheckBox:focus { border-color: palette(highlight); }
"""
#: The background work a quit abandons (registering is never abandoned: see :meth:`done`).
ABANDONED_ON_QUIT = (
    "wizard.commerce",
    "wizard.segment",
    "wizard.plan",
    "wizard.queue",
    "wizard.sandbox",
    SECRETS_TASK,
)

#: Each page's class as ``module:Class`` under ``segment_desktop.ui.wizard``, imported when the
#: page is built.
PAGE_CLASSES: dict[Step, str] = {
    Step.WELCOME: "welcome_page:WelcomePage",
    Step.COMMERCE: "commerce_page:CommercePage",
    Step.SEGMENT: "segment_page:SegmentPage",
    Step.CONFIGURATIONS: "configurations_page:ConfigurationsPage",
    Step.TEMPLATES: "templates:TemplatesPage",
    Step.FINISH: "finish_page:FinishPage",
}


def page_class(page: Step) -> type[FlowPage]:
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

    Escape, Cancel and closing the window ask before discarding the user's work
    (:meth:`reject`); a quit then abandons what is in flight at once.
    """

    configured = Signal(object)
    secretsLoaded = Signal()

    def __init__(
        self,
        services: Services,
        *,
        tasks: TaskRunner | None = None,
        config: Config | None = None,
        dialogs: Dialogs | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.services = services
        self.tasks = tasks or TaskRunner(self)
        self.dialogs: Dialogs = dialogs or QtDialogs()
        saved = config if config is not None else services.load_config()
        self.flow = SetupFlow(saved)
        #: The saved secrets have not been read yet (see :meth:`load_saved_secrets`).
        self.secrets_pending = True
        self._painted = False
        self._dressed = False
        self.setWindowTitle(TITLE)
        self.setWizardStyle(QWizard.WizardStyle.ModernStyle)
        self.setOption(QWizard.WizardOption.NoBackButtonOnStartPage, True)
        self.setOption(QWizard.WizardOption.HaveHelpButton, False)
        self.setOption(QWizard.WizardOption.NoDefaultButton, True)  # the pages decide
        self.pages: dict[Step, FlowPage] = {}
        self.steps = StepList(self.flow.pages, self)
        self.setSideWidget(self.steps)
        first = self.flow.first_page()
        self._add_page(first)
        self.setStartId(int(first))
        self.currentIdChanged.connect(self._step_changed)
        for which in (
            QWizard.WizardButton.BackButton,
            QWizard.WizardButton.NextButton,
            QWizard.WizardButton.FinishButton,
            QWizard.WizardButton.CancelButton,
        ):
            button = self.button(which)
            button.setAccessibleName(button.text().replace("&", "").strip(" <>"))
        self._placing = False
        self._fit_to_screen()

    # -- on screen -------------------------------------------------------------------------------

    def _fit_to_screen(self) -> None:
        """Take :data:`WIZARD_SIZE`, or what the screen has room for, centred on it."""
        area = available(self)
        frame = self.frameGeometry().size() - self.geometry().size()
        room_w, room_h = area.width() - frame.width(), area.height() - frame.height()
        self.setMinimumSize(min(MINIMUM_SIZE[0], room_w), min(MINIMUM_SIZE[1], room_h))
        self.resize(min(WIZARD_SIZE[0], room_w), min(WIZARD_SIZE[1], room_h))
        outer = self.frameGeometry()
        outer.moveCenter(area.center())
        self.move(outer.topLeft())

    def keep_on_screen(self) -> None:
        """Shrink and move the window back inside the available screen area when a page made
        it reach past an edge (where the user drags it is left to the user)."""
        if self._placing:
            return
        self._placing = True
        try:
            keep_inside_screen(self)
        finally:
            self._placing = False

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        QTimer.singleShot(0, self, self.keep_on_screen)  # the window frame is known from now on

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        if self.isVisible():
            QTimer.singleShot(0, self, self.keep_on_screen)

    def _refresh_default(self) -> None:
        page = self.currentPage()
        if isinstance(page, FlowPage):
            page.update_default()

    def _step_changed(self, page_id: int) -> None:
        if page_id >= 0:
            self._refresh_default()  # whatever the page's own initializePage does
            self.steps.show_current(Step(page_id))
            # The studio needs an editor and a preview side by side: the list gives way.
            self.steps.set_compact(page_id == Step.TEMPLATES)

    # -- pages -----------------------------------------------------------------------------------

    def _add_page(self, page: Step) -> FlowPage:
        widget = page_class(page)(self.flow, self.services, self.tasks)
        self.pages[page] = widget
        if self._dressed:
            widget.settle()
        self.setPage(int(page), widget)
        # After QWizard's own slot (connected by setPage), which clears every default button
        # whenever any page's completeness changes (NoDefaultButton).
        widget.completeChanged.connect(self._refresh_default)
        if self.secrets_pending:
            widget.saved_secret_pending()
        return widget

    def build_pages(self) -> None:
        """Build every page not built yet (idempotent)."""
        untouched = not self.flow.has_progress()
        for page in self.flow.pages:
            if page not in self.pages:
                self._add_page(page)
        if untouched:
            self.flow.mark_untouched()  # the defaults the new pages filled in are no work

    def page_widget(self, page: Step) -> FlowPage:
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
            QTimer.singleShot(0, self, self._after_first_paint)  # once this paint is on screen

    def _after_first_paint(self) -> None:
        if not self.isVisible():
            return  # closed before its first paint was on screen
        self.build_pages()
        self.load_saved_secrets()
        QTimer.singleShot(0, self, self._dress)

    def _dress(self) -> None:
        """The finishing touches, after the first window is on screen (each would delay it):
        the step markers, the focus ring, and scroll areas that never take the focus."""
        self.steps.show_icons()
        self.setStyleSheet(FOCUS_RING)
        self._dressed = True
        for page in self.pages.values():
            page.settle()

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
                services.read_secret(SQS_SECRET_ACCESS_KEY),
            ),
            on_result=self._secrets_read,
            on_error=self._secrets_failed,
        )

    def _secrets_read(self, values: tuple[str | None, str | None, str | None]) -> None:
        from segment_desktop.ui.wizard.commerce_page import CommercePage
        from segment_desktop.ui.wizard.configurations_page import ConfigurationsPage
        from segment_desktop.ui.wizard.segment_page import SegmentPage

        client_secret, write_key, sqs_secret = values
        self.secrets_pending = False
        self.build_pages()
        commerce, segment = self.pages.get(Step.COMMERCE), self.pages.get(Step.SEGMENT)
        if isinstance(commerce, CommercePage):
            commerce.saved_secret_arrived(client_secret)
        if isinstance(segment, SegmentPage):
            segment.saved_secret_arrived(write_key)
        configurations = self.pages.get(Step.CONFIGURATIONS)
        if isinstance(configurations, ConfigurationsPage):
            configurations.delivery.saved_secret_arrived(sqs_secret)
        self.secretsLoaded.emit()

    def _secrets_failed(self, error: BaseException) -> None:
        # read_secret already turns keyring failures into None; this is anything else.
        log.warning("Could not read the saved secrets: %s", error)
        self._secrets_read((None, None, None))

    # -- closing ---------------------------------------------------------------------------------

    def accept(self) -> None:
        from segment_desktop.ui.wizard.finish_page import FinishPage

        finish = self.page_widget(Step.FINISH)
        assert isinstance(finish, FinishPage)
        if finish.applied is None:
            finish.start_apply()  # in the background; FinishPage accepts again when done
            return
        self.configured.emit(finish.applied)
        super().accept()

    def reject(self) -> None:
        """Escape, Cancel or the window's close button: ask first when work would be lost."""
        finish = self._registering()
        if finish is not None:
            # Registering changes Commerce and its outcome must be shown: stop after the
            # write in progress, and stay open to say what was done.
            finish.cancel()
            return
        if self.flow.has_progress() and not self._confirm_quit():
            return
        super().reject()

    def _confirm_quit(self) -> bool:
        if self.flow.saved.commerce.client_id and not self.flow.saved.sandbox:
            title, action = "Close setup?", "Close setup"
            text = (
                "Your changes in this setup will be lost. The settings saved earlier stay as "
                "they are."
            )
        else:
            title, action = "Quit setup?", "Quit setup"
            text = "Your connections and template edits will be lost."
        return self.dialogs.confirm(self, title, text, action, safe="Keep setting up")

    def _registering(self) -> FinishPage | None:
        """The Finish page while it registers (its outcome changes Commerce), else ``None``."""
        finish = self.pages.get(Step.FINISH)
        if finish is None:
            return None  # not built, so not registering (and its module need not load)
        from segment_desktop.ui.wizard.finish_page import FinishPage

        return finish if isinstance(finish, FinishPage) and finish.registering() else None

    def done(self, result: int) -> None:
        if self._registering() is not None:
            return  # Cancel must not hide an outcome that changes Commerce
        for key in ABANDONED_ON_QUIT:
            self.tasks.cancel(key)
        super().done(result)

    def closeEvent(self, event: QCloseEvent) -> None:
        if self._registering() is not None:
            event.ignore()  # never leave while registering: its outcome must be shown
            return
        super().closeEvent(event)
