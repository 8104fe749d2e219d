"""The base of every setup page: navigation and completeness come from the flow object."""

from __future__ import annotations

from PySide6.QtGui import QPalette
from PySide6.QtWidgets import (
    QFrame,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
    QWizard,
    QWizardPage,
)

from segment_desktop.core.flow import SetupFlow, Step
from segment_desktop.services import Services
from segment_desktop.ui.tasks import TaskRunner
from segment_desktop.ui.widgets.busy import BusyBar
from segment_desktop.ui.widgets.fields import MessageLabel, button_named


class FlowPage(QWizardPage):
    """A wizard page that asks :class:`SetupFlow` for ``nextId`` and ``isComplete``.

    Subclasses build their form in ``build(layout)`` and report to the flow; whenever the flow
    says this page's status changed, ``completeChanged`` is emitted and the page's error line
    follows the flow's ``error``.

    A page with an action that completes it (Connect, Test connection) names it in
    :meth:`action_button`: until the page is complete that button is the default one, so
    Enter in a field presses it; once complete, Next (Finish on the last page) is.
    """

    page_id: Step

    def __init__(
        self,
        flow: SetupFlow,
        services: Services,
        tasks: TaskRunner,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.flow = flow
        self.services = services
        self.tasks = tasks
        self.page_error = MessageLabel(self)
        self.page_error.setObjectName("pageError")
        # The content scrolls rather than making the window taller than a small screen.
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        self.body_scroll = QScrollArea(self)
        self.body_scroll.setWidgetResizable(True)
        self.body_scroll.setFrameShape(QFrame.Shape.NoFrame)
        body = QWidget(self.body_scroll)
        body.setBackgroundRole(self.backgroundRole())
        self.body_scroll.setWidget(body)
        outer.addWidget(self.body_scroll)
        layout = QVBoxLayout(body)
        self.build(layout)
        layout.addStretch(1)
        layout.addWidget(self.page_error)
        flow.subscribe(self._flow_changed)
        self._show_status()

    def build(self, layout: QVBoxLayout) -> None:
        """Add the page's widgets to ``layout``."""

    def settle(self) -> None:
        """Once the first window is on screen: the scroll area never takes the keyboard focus
        (named only now: the ``Qt`` namespace's first use would delay the first window)."""
        from PySide6.QtCore import Qt

        self.body_scroll.setFocusPolicy(Qt.FocusPolicy.NoFocus)

    def action_button(self) -> QPushButton | None:
        """The button that completes this page, or ``None``."""
        return None

    def update_default(self, *, entering: bool = False) -> None:
        """Enter presses the button that moves the user on: the page's action until the page
        is complete, then Next (Finish on the last page). The wizard leaves defaults to its
        pages (``NoDefaultButton``), so this is the one rule."""
        wizard = self.wizard()
        if wizard is None or not (entering or wizard.currentPage() is self):
            return
        action = self.action_button()
        if action is not None and not self.isComplete():
            action.setDefault(True)
            return
        final = self.nextId() == -1
        which = QWizard.WizardButton.FinishButton if final else QWizard.WizardButton.NextButton
        button = wizard.button(which)
        if isinstance(button, QPushButton):
            button.setDefault(True)

    def keep_focus_from(self, button: QWidget, fallback: QWidget) -> None:
        """Before ``button`` is disabled: move the focus it has to ``fallback``, so it does not
        land on "< Back" (where the next Enter would leave the page)."""
        if button.hasFocus():
            fallback.setFocus()

    def focus_next(self) -> None:
        """The page just became complete: Next is what the user presses now."""
        wizard = self.wizard()
        if wizard is not None:
            wizard.button(QWizard.WizardButton.NextButton).setFocus()

    def initializePage(self) -> None:
        self.update_default(entering=True)

    def saved_secret_pending(self) -> None:
        """The wizard is still reading the saved secrets; pages with a secret field say so."""

    # -- what QWizard asks -------------------------------------------------------------------

    def nextId(self) -> int:
        following = self.flow.next_page(self.page_id)
        return -1 if following is None else int(following)

    def isComplete(self) -> bool:
        return self.flow.is_complete(self.page_id)

    # -- flow → widgets ----------------------------------------------------------------------

    def _flow_changed(self, page: Step) -> None:
        if page == self.page_id or self.page_id == Step.FINISH:
            self._show_status()
            self.completeChanged.emit()
            self.update_default()

    def _show_status(self) -> None:
        self.page_error.show_error(self.page_error_text())

    def page_error_text(self) -> str:
        """The page-level error to show; pages that put errors next to fields override this."""
        return self.flow.status(self.page_id).error


def add_check_area(
    page: QWidget,
    layout: QVBoxLayout,
    buttons: list[QPushButton],
    result_name: str,
    help_title: str,
    help_text: str,
) -> tuple[BusyBar, MessageLabel]:
    """The part every connection page ends with: its check buttons in a row (never default on
    Enter: the wizard's Next is), the bar shown while a check runs, the check's result and a
    help box. Returns the bar and the result label."""
    row = QHBoxLayout()
    for button in buttons:
        button_named(button)
        button.setAutoDefault(False)
        row.addWidget(button)
    row.addStretch(1)
    layout.addLayout(row)
    busy = BusyBar(page)
    layout.addWidget(busy)
    result = MessageLabel(page)
    result.setObjectName(result_name)
    layout.addWidget(result)
    layout.addSpacing(12)
    layout.addWidget(help_box(help_title, help_text, page))
    return busy, result


def help_box(title: str, text: str, parent: QWidget) -> QGroupBox:
    """A boxed explanation under a form: where to find what it asks, and what its button does."""
    box = QGroupBox(title, parent)
    layout = QVBoxLayout(box)
    label = intro(text, box)
    label.setForegroundRole(QPalette.ColorRole.WindowText)
    layout.addWidget(label)
    return box


def intro(text: str, parent: QWidget | None = None) -> QLabel:
    label = QLabel(text, parent)
    label.setWordWrap(True)
    return label
