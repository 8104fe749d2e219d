"""Step 1: what setup will do, and a one-click sandbox for trying it without an account."""

from __future__ import annotations

from PySide6.QtGui import QFont
from PySide6.QtWidgets import (
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from segment_desktop.core.flow import Step
from segment_desktop.sandbox.demo import DEMO_CLIENT_ID
from segment_desktop.ui.widgets.busy import BusyBar
from segment_desktop.ui.widgets.fields import MessageLabel, button_named
from segment_desktop.ui.wizard.base import FlowPage, intro

SANDBOX_TASK = "wizard.sandbox"

INTRO = (
    "Segment Desktop sends your store's order and customer events to Segment: Commerce calls "
    "its relay for each event, and the relay turns it into Segment calls through a template."
)
#: The steps ahead, each with what it asks of the user.
AHEAD: tuple[tuple[str, str], ...] = (
    ("Commerce", "Connect to your Elastic Path Commerce store with an application key."),
    ("Segment", "Connect to your Segment source with its write key."),
    ("Configurations", "Choose which events to track and where Commerce should send them."),
    ("Templates", "Review the templates that turn each event into Segment calls."),
    ("Finish", "See what will change at Commerce, then register the webhooks."),
)
NEEDED = (
    "• An application key (client ID and secret) from Commerce Manager: System › Application "
    "Keys.\n"
    "• The write key of a Segment source: Connections › Sources › your source › Settings.\n"
    "• A public https:// address where the relay runs (segment-desktop relay).\n\n"
    "Secrets are kept in your system keyring, never in a file."
)


def _panel(title: str, parent: QWidget) -> tuple[QFrame, QVBoxLayout]:
    """A framed panel with a bold title: plain frames rather than group boxes, whose first use
    costs more than the rest of this page, which is the first one shown."""
    panel = QFrame(parent)
    panel.setFrameShape(QFrame.Shape.StyledPanel)
    panel.setAccessibleName(title)
    layout = QVBoxLayout(panel)
    heading = QLabel(title, panel)
    font = QFont(heading.font())
    font.setBold(True)
    heading.setFont(font)
    layout.addWidget(heading)
    return panel, layout


def _card(number: int, title: str, text: str, parent: QWidget) -> QFrame:
    card, layout = _panel(f"{number}. {title}", parent)
    card.setAccessibleName(f"Step {number}: {title}")
    body = QLabel(text, card)
    body.setWordWrap(True)
    layout.addWidget(body, 1)
    return card


class WelcomePage(FlowPage):
    """Explains the steps; offers "Try it with the sandbox" when no account is configured."""

    page_id = Step.WELCOME

    def build(self, layout: QVBoxLayout) -> None:
        self.setTitle("Welcome to Segment Desktop")
        self.setSubTitle("Connect an Elastic Path Commerce store to Segment in a few steps.")
        layout.addWidget(intro(INTRO, self))
        layout.addSpacing(8)
        grid = QGridLayout()
        grid.setSpacing(10)
        for index, (title, text) in enumerate(AHEAD):
            grid.addWidget(_card(index + 2, title, text, self), index // 3, index % 3)
        layout.addLayout(grid)
        layout.addSpacing(8)
        needed, needed_layout = _panel("What you need", self)
        needed_layout.addWidget(intro(NEEDED, needed))
        layout.addWidget(needed)
        self.sandbox_box, sandbox_layout = _panel("No account at hand?", self)
        sandbox_layout.addWidget(
            intro(
                "The sandbox runs emulators of Commerce and Segment on this computer and fills "
                "in their demo credentials, so you can try every step safely.",
                self.sandbox_box,
            )
        )
        self.sandbox_button = QPushButton("&Try it with the sandbox", self.sandbox_box)
        button_named(self.sandbox_button)
        self.sandbox_button.setToolTip(
            "Starts built-in emulators of Commerce and Segment on this computer and fills in "
            "their addresses and demo credentials, so you can try every step safely."
        )
        self.sandbox_button.clicked.connect(self.start_sandbox)
        row = QHBoxLayout()
        row.addWidget(self.sandbox_button)
        row.addStretch(1)
        sandbox_layout.addLayout(row)
        layout.addWidget(self.sandbox_box)
        self.busy = BusyBar(self)
        self.busy.cancelRequested.connect(self._cancel)
        layout.addWidget(self.busy)
        self.result = MessageLabel(self)
        layout.addWidget(self.result)
        configured = bool(self.flow.saved.commerce.client_id) and not self.flow.saved.sandbox
        self.sandbox_box.setVisible(not configured)

    def initializePage(self) -> None:
        sandbox = self.services.sandbox
        if sandbox is not None and self.flow.config.sandbox:
            self.sandbox_box.hide()
            self.result.show_ok(
                f"Sandbox mode: emulators of Commerce ({sandbox.commerce_url}) and Segment "
                f"({sandbox.segment_url}) run on this computer, and their demo credentials are "
                "filled in. Nothing you do here reaches a real store."
            )

    def start_sandbox(self) -> None:
        self.flow.set_busy(self.page_id, True)
        self.sandbox_button.setEnabled(False)
        self.busy.start("Starting the Commerce and Segment emulators…")
        self.tasks.submit(
            SANDBOX_TASK,
            lambda _token: self.services.start_sandbox(),
            on_result=self._started,
            on_error=self._failed,
        )

    def _done(self) -> None:
        self.busy.stop()
        self.sandbox_button.setEnabled(True)
        self.flow.set_busy(self.page_id, False)

    def _cancel(self) -> None:
        self.tasks.cancel(SANDBOX_TASK)
        self._done()

    def _started(self, sandbox: object) -> None:
        self._done()
        commerce_url = getattr(sandbox, "commerce_url", "")
        self.flow.use_sandbox(
            commerce_url=commerce_url,
            client_id=getattr(sandbox, "client_id", DEMO_CLIENT_ID),
            client_secret=getattr(sandbox, "client_secret", ""),
            segment_url=getattr(sandbox, "segment_url", ""),
            write_key=getattr(sandbox, "write_key", ""),
            relay_url=self.services.sandbox_relay_url(),
        )
        self.result.show_ok(
            f"The sandbox is running: Commerce at {commerce_url}, Segment at "
            f"{getattr(sandbox, 'segment_url', '')}. Its demo credentials are filled in; "
            "press Next."
        )

    def _failed(self, error: BaseException) -> None:
        self._done()
        self.result.show_error(f"Could not start the sandbox: {error}")
