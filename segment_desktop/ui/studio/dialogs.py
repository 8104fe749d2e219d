"""The studio's questions to the user, behind one small interface.

The studio never builds a modal dialog itself: it asks a :class:`StudioDialogs`. The default,
:class:`QtDialogs`, uses ``QMessageBox``/``QFileDialog``; tests hand in an object that answers
at once, so no test ever blocks in a nested event loop.
"""

from __future__ import annotations

import html
from enum import Enum
from pathlib import Path
from typing import Protocol

from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QMessageBox,
    QPlainTextEdit,
    QVBoxLayout,
    QWidget,
)

__all__ = ["DiffDialog", "QtDialogs", "StudioDialogs", "UnsavedChoice"]


class UnsavedChoice(Enum):
    SAVE = "save"
    DISCARD = "discard"
    CANCEL = "cancel"


class StudioDialogs(Protocol):
    def ask_unsaved(self, parent: QWidget, template_name: str) -> UnsavedChoice:
        """Save, discard or keep editing the changed template?"""

    def confirm_send(self, parent: QWidget, summary: str) -> bool:
        """May we really send these calls to Segment?"""

    def confirm_reset(self, parent: QWidget, template_name: str) -> bool:
        """Replace the editor's text with the default template?"""

    def confirm_save_failing(self, parent: QWidget, template_name: str, problem: str) -> bool:
        """Save a template that fails on the selected event anyway?"""

    def show_diff(self, parent: QWidget, title: str, diff: str) -> None:
        """Show a unified diff (non-blocking is fine)."""

    def choose_event_file(self, parent: QWidget) -> Path | None:
        """A JSON file holding a webhook body, or ``None`` when the user cancelled."""


class DiffDialog(QDialog):
    """A read-only unified diff with added and removed lines coloured."""

    def __init__(self, title: str, diff: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self.resize(760, 520)
        self.view = QPlainTextEdit(self)
        self.view.setReadOnly(True)
        # Not a throw-away CodeEditor's font: its gutter makes a reference cycle, and a widget
        # destroyed by the cycle collector at a random moment can crash Qt.
        self.view.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.view.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.view.appendHtml(_diff_html(diff))
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.view)
        layout.addWidget(buttons)


def _diff_html(diff: str) -> str:
    if not diff:
        return "<i>The template is the same as the default.</i>"
    rows = []
    for line in diff.splitlines():
        escaped = html.escape(line).replace(" ", "&nbsp;") or "&nbsp;"
        if line.startswith(("+++", "---")):
            rows.append(f"<b>{escaped}</b>")
        elif line.startswith("+"):
            rows.append(f'<span style="background:#e6ffec;color:#116329">{escaped}</span>')
        elif line.startswith("-"):
            rows.append(f'<span style="background:#ffebe9;color:#82071e">{escaped}</span>')
        elif line.startswith("@@"):
            rows.append(f'<span style="color:#0550ae">{escaped}</span>')
        else:
            rows.append(escaped)
    return "<br>".join(rows)


class QtDialogs:
    """The real dialogs."""

    def ask_unsaved(self, parent: QWidget, template_name: str) -> UnsavedChoice:
        box = QMessageBox(parent)
        box.setIcon(QMessageBox.Icon.Warning)
        box.setWindowTitle("Unsaved changes")
        box.setText(f"The {template_name} template has changes that are not saved.")
        box.setInformativeText("Save them before leaving it?")
        box.setStandardButtons(
            QMessageBox.StandardButton.Save
            | QMessageBox.StandardButton.Discard
            | QMessageBox.StandardButton.Cancel
        )
        box.setDefaultButton(QMessageBox.StandardButton.Save)
        answer = box.exec()
        if answer == QMessageBox.StandardButton.Save:
            return UnsavedChoice.SAVE
        if answer == QMessageBox.StandardButton.Discard:
            return UnsavedChoice.DISCARD
        return UnsavedChoice.CANCEL

    def confirm_send(self, parent: QWidget, summary: str) -> bool:
        return _ask(
            parent,
            "Send to Segment",
            f"{summary}\n\nThe source that owns the write key receives them and forwards "
            "them to its destinations.",
            "Send",
        )

    def confirm_reset(self, parent: QWidget, template_name: str) -> bool:
        return _ask(
            parent,
            "Reset to default",
            f"Replace the {template_name} template in the editor with the default? "
            "Nothing is saved until you press Save.",
            "Reset",
        )

    def confirm_save_failing(self, parent: QWidget, template_name: str, problem: str) -> bool:
        box = QMessageBox(parent)
        box.setIcon(QMessageBox.Icon.Warning)
        box.setWindowTitle("Save a failing template?")
        box.setText(f"The {template_name} template fails on the selected event.")
        box.setInformativeText(f"{problem} Events like it would not reach Segment. Save it anyway?")
        save = box.addButton("Save anyway", QMessageBox.ButtonRole.AcceptRole)
        keep = box.addButton("Keep editing", QMessageBox.ButtonRole.RejectRole)
        box.setDefaultButton(keep)
        box.exec()
        return box.clickedButton() is save

    def show_diff(self, parent: QWidget, title: str, diff: str) -> None:
        dialog = DiffDialog(title, diff, parent)
        dialog.setModal(False)
        dialog.show()

    def choose_event_file(self, parent: QWidget) -> Path | None:
        name, _ = QFileDialog.getOpenFileName(
            parent, "Open a Commerce webhook event", "", "JSON files (*.json);;All files (*)"
        )
        return Path(name) if name else None


def _ask(parent: QWidget, title: str, text: str, action: str) -> bool:
    """A question whose buttons name the action; Cancel is the default, so a stray Enter
    does nothing."""
    box = QMessageBox(parent)
    box.setIcon(QMessageBox.Icon.Question)
    box.setWindowTitle(title)
    box.setText(text)
    act = box.addButton(action, QMessageBox.ButtonRole.AcceptRole)
    box.setDefaultButton(box.addButton(QMessageBox.StandardButton.Cancel))
    box.exec()
    return box.clickedButton() is act
