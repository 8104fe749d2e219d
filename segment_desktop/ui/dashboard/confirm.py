"""A confirmation before a change that reaches Commerce or deletes data: what will happen, in
full, and a button named by the action, with the safe button as the default.

It is window-modal and opened with :meth:`QDialog.open` (never ``exec``): the caller gets
control back at once and acts in the ``accepted`` handler, so a test clicks the real buttons.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)


class ConfirmDialog(QDialog):
    """``text`` above an optional read-only ``details`` box; ``action`` and Cancel buttons."""

    def __init__(
        self,
        parent: QWidget | None,
        title: str,
        text: str,
        action: str,
        details: str = "",
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self.setObjectName("confirmDialog")
        self.text = QLabel(text, self)
        self.text.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.addWidget(self.text)
        self.details = QPlainTextEdit(self)
        self.details.setReadOnly(True)
        self.details.setPlainText(details)
        self.details.setAccessibleName("What will change")
        self.details.setVisible(bool(details))
        layout.addWidget(self.details, 1)
        buttons = QDialogButtonBox(self)
        self.confirm_button = QPushButton(action, self)
        self.cancel_button = QPushButton("Cancel", self)
        buttons.addButton(self.confirm_button, QDialogButtonBox.ButtonRole.AcceptRole)
        buttons.addButton(self.cancel_button, QDialogButtonBox.ButtonRole.RejectRole)
        self.confirm_button.setAutoDefault(False)
        self.cancel_button.setDefault(True)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.cancel_button.setFocus()
        if details:
            self.resize(560, 380)


def ask(
    parent: QWidget,
    title: str,
    text: str,
    action: str,
    on_confirm: Callable[[], None],
    details: str = "",
) -> ConfirmDialog:
    """Open a :class:`ConfirmDialog`; ``on_confirm`` runs only if the user presses ``action``."""
    dialog = ConfirmDialog(parent, title, text, action, details)
    dialog.accepted.connect(on_confirm)
    dialog.finished.connect(lambda _result: dialog.deleteLater())
    dialog.open()
    dialog.cancel_button.setFocus()
    return dialog
