"""Form helpers: labelled fields whose accessible name is their visible label, a secret field
with show/hide, and a message line under a field for the error that belongs to it."""

from __future__ import annotations

from PySide6 import QtCore
from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QAbstractButton,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

ERROR_STYLE = "color: #b3261e;"
OK_STYLE = "color: #1e7b34;"
HINT_STYLE = "color: palette(mid);"


def plain(text: str) -> str:
    """A label's text without its ``&`` mnemonic marker (``&Connect`` → ``Connect``)."""
    return text.replace("&&", "\0").replace("&", "").replace("\0", "&")


def name_after_label(widget: QWidget, label: str) -> None:
    """Give ``widget`` the accessible name a screen reader should announce: its visible label."""
    widget.setAccessibleName(plain(label).rstrip(":"))


def button_named(button: QAbstractButton) -> QAbstractButton:
    """Set a button's accessible name to its visible text."""
    button.setAccessibleName(plain(button.text()))
    return button


def split_details(text: str) -> tuple[str, str]:
    """``text`` without the raw cause the clients append in square brackets (``… try again.
    [[Errno 111] Connection refused]``), and that cause (``""`` when there is none)."""
    stripped = text.rstrip()
    if not stripped.endswith("]"):
        return text, ""
    depth = 0
    for index in range(len(stripped) - 1, -1, -1):
        depth += {"]": 1, "[": -1}.get(stripped[index], 0)
        if depth == 0:
            if index == 0:
                return text, ""
            return stripped[:index].rstrip(), stripped[index + 1 : -1]
    return text, ""


class MessageLabel(QLabel):
    """A line for a message that belongs to one field or one action: error, success or hint.

    Empty means hidden, so a form does not jump around with blank lines. A raw technical cause
    at the end of a message (an errno, an SSL source line) is kept behind a "Details" link, for
    a support request, rather than shown to everyone. :meth:`text` is the message as plain
    text, without the markup of that link.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWordWrap(True)
        self.kind = ""
        self.message = ""
        self.details = ""
        self.details_shown = False
        self.hide()
        self._formatted = False
        self.linkActivated.connect(self._toggle_details)

    def show_error(self, text: str) -> None:
        self._show(text, "error", ERROR_STYLE)

    def show_ok(self, text: str) -> None:
        self._show(text, "ok", OK_STYLE)

    def show_hint(self, text: str) -> None:
        self._show(text, "hint", HINT_STYLE)

    def clear_message(self) -> None:
        self.kind = ""
        self.message = self.details = ""
        self.setText("")
        self.hide()

    def text(self) -> str:
        """The message shown, as plain text (with the details when they are shown)."""
        if self.details_shown and self.details:
            return f"{self.message}\n{self.details}"
        return self.message

    def _show(self, text: str, kind: str, style: str) -> None:
        if not text:
            self.clear_message()
            return
        if not self._formatted:
            # Here rather than in __init__: naming the Qt namespace costs ~40 ms once, and
            # these labels are built before the first window is shown but filled only later.
            flags = QtCore.Qt.TextInteractionFlag
            self.setTextInteractionFlags(
                flags.TextSelectableByMouse
                | flags.LinksAccessibleByMouse
                | flags.LinksAccessibleByKeyboard
            )
            # Rich text only for the Details link: the message itself is escaped, since
            # messages quote what the user typed.
            self.setTextFormat(QtCore.Qt.TextFormat.RichText)
            self._formatted = True
        self.kind = kind
        self.message, self.details = split_details(text)
        self.details_shown = False
        self.setStyleSheet(style)
        self._render()
        self.setAccessibleName(self.message)
        self.setAccessibleDescription(self.details)
        self.show()

    def _render(self) -> None:
        import html  # here: its entity table is not needed before the first window

        body = html.escape(self.message).replace("\n", "<br>")
        if self.details and self.details_shown:
            details = html.escape(self.details)
            body += f'<br><small>{details}</small> <a href="hide">Hide details</a>'
        elif self.details:
            body += ' <a href="details">Details</a>'
        super().setText(body)

    def _toggle_details(self, _link: str = "") -> None:
        self.details_shown = not self.details_shown
        self._render()


class SecretField(QWidget):
    """A masked line edit with a Show/Hide button. The value never appears in the accessible
    name or a tooltip; ``textChanged`` passes it on for the caller to keep in memory only.

    Signals:
        textChanged(str): the secret was edited.
    """

    textChanged = Signal(str)

    def __init__(self, label: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.edit = QLineEdit(self)
        self.edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.edit.setClearButtonEnabled(True)
        name_after_label(self.edit, label)
        self.toggle = QToolButton(self)
        self.toggle.setText("Show")
        self.toggle.setCheckable(True)
        self.toggle.setAccessibleName("Show")
        self.toggle.setAccessibleDescription(f"Show or hide the {plain(label).rstrip(':')}")
        self.toggle.toggled.connect(self._reveal)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.edit, 1)
        layout.addWidget(self.toggle)
        self.setFocusProxy(self.edit)
        self.edit.textChanged.connect(self.textChanged)

    def _reveal(self, shown: bool) -> None:
        self.edit.setEchoMode(QLineEdit.EchoMode.Normal if shown else QLineEdit.EchoMode.Password)
        self.toggle.setText("Hide" if shown else "Show")
        self.toggle.setAccessibleName(self.toggle.text())

    def text(self) -> str:
        return self.edit.text()

    def setText(self, value: str) -> None:
        self.edit.setText(value)

    def is_masked(self) -> bool:
        return self.edit.echoMode() == QLineEdit.EchoMode.Password


def add_field_row(
    form: QFormLayout, label_text: str, field: QWidget, message: MessageLabel | None = None
) -> QLabel:
    """Add ``label: field`` to ``form``, with ``message`` directly under the field.

    The field and its message share one cell, so a hidden message takes no room (an empty form
    row would still add spacing). The label's buddy is the field, so its mnemonic focuses it.
    """
    label = QLabel(label_text, form.parentWidget())
    cell = QWidget(form.parentWidget())
    column = QVBoxLayout(cell)
    column.setContentsMargins(0, 0, 0, 0)
    column.setSpacing(2)
    column.addWidget(field)
    if message is not None:
        column.addWidget(message)
    label.setBuddy(field)
    form.addRow(label, cell)
    return label
