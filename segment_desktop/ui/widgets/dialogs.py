"""The app's questions and notices to the user, behind one small interface.

Windows never build a modal message box themselves: they ask a :class:`Dialogs`, passed in
through their constructor. The default, :class:`QtDialogs`, shows a ``QMessageBox``; tests
hand in a scripted double that answers at once, so no test blocks in a nested event loop and
none patches Qt.

Confirmations name the action on their button ("Quit setup", "Delete", "Send") rather than
"Yes", and the safe choice is the default button, so a stray Enter never does harm.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

from PySide6.QtWidgets import QWidget

if TYPE_CHECKING:
    # Imported when a box is shown: building the type costs the first window a little.
    from PySide6.QtWidgets import QMessageBox

__all__ = ["Dialogs", "QtDialogs"]


class Dialogs(Protocol):
    def confirm(
        self,
        parent: QWidget | None,
        title: str,
        text: str,
        action: str,
        *,
        safe: str = "Cancel",
        details: str = "",
    ) -> bool:
        """Ask before ``action`` (the button's text); ``True`` only when it was chosen.
        ``safe`` names the other button, which is the default."""

    def warn(self, parent: QWidget | None, title: str, text: str, *, details: str = "") -> None:
        """Tell the user something went wrong and what to do (``details``: the raw cause)."""

    def inform(self, parent: QWidget | None, title: str, text: str) -> None:
        """Tell the user something worked."""

    def ask_later(
        self,
        parent: QWidget | None,
        title: str,
        text: str,
        action: str,
        *,
        safe: str,
        details: str = "",
        answered: Callable[[bool], None],
    ) -> None:
        """As :meth:`confirm`, without waiting: ``answered(chosen)`` is called once the user
        chose (for questions asked before any window runs, or from an error handler)."""

    def notify_error(
        self, parent: QWidget | None, title: str, text: str, *, closed: Callable[[], None]
    ) -> None:
        """Show an error without waiting; ``closed()`` once the user dismissed it."""


class QtDialogs:
    """The real dialogs: ``QMessageBox`` with action-named buttons."""

    def confirm(
        self,
        parent: QWidget | None,
        title: str,
        text: str,
        action: str,
        *,
        safe: str = "Cancel",
        details: str = "",
    ) -> bool:
        box, go = _question(parent, title, text, action, safe, details)
        box.exec()
        return box.clickedButton() is go

    def ask_later(
        self,
        parent: QWidget | None,
        title: str,
        text: str,
        action: str,
        *,
        safe: str,
        details: str = "",
        answered: Callable[[bool], None],
    ) -> None:
        box, go = _question(parent, title, text, action, safe, details)
        box.finished.connect(lambda _result: answered(box.clickedButton() is go))
        box.open()

    def notify_error(
        self, parent: QWidget | None, title: str, text: str, *, closed: Callable[[], None]
    ) -> None:
        from PySide6.QtWidgets import QMessageBox

        box = QMessageBox(QMessageBox.Icon.Critical, title, text, parent=parent)
        box.finished.connect(lambda _result: closed())
        box.open()

    def warn(self, parent: QWidget | None, title: str, text: str, *, details: str = "") -> None:
        from PySide6.QtWidgets import QMessageBox

        box = QMessageBox(QMessageBox.Icon.Warning, title, text, parent=parent)
        if details:
            box.setDetailedText(details)
        box.exec()

    def inform(self, parent: QWidget | None, title: str, text: str) -> None:
        from PySide6.QtWidgets import QMessageBox

        QMessageBox(QMessageBox.Icon.Information, title, text, parent=parent).exec()


def _question(
    parent: QWidget | None, title: str, text: str, action: str, safe: str, details: str
) -> tuple[QMessageBox, object]:
    """A question box: ``action`` and ``safe`` buttons, the safe one the default (and what
    Escape presses). Returns the box and its action button."""
    from PySide6.QtWidgets import QMessageBox

    box = QMessageBox(parent)
    box.setIcon(QMessageBox.Icon.Question)
    box.setWindowTitle(title)
    box.setText(title)  # window managers may not show a dialog's title: say it inside too
    box.setInformativeText(text)
    if details:
        box.setDetailedText(details)
    go = box.addButton(action, QMessageBox.ButtonRole.AcceptRole)
    stay = box.addButton(safe, QMessageBox.ButtonRole.RejectRole)
    box.setDefaultButton(stay)
    box.setEscapeButton(stay)
    return box, go
