"""The studio's History: a template's earlier versions, the diff of any of them against the
current text, and Restore.

Restoring does not write anything itself: it asks the studio (``restoreRequested``) to put the
version's text in the editor and save it, so that the restored text goes through the one save
path, and the text it replaces is kept as a version in turn.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from segment_desktop.core.errors import SegmentDesktopError
from segment_desktop.core.events import template as find_template
from segment_desktop.core.template_history import TemplateHistory, Version, diff

__all__ = ["HistoryPanel"]


class HistoryPanel(QWidget):
    """Earlier versions of the open template, newest first.

    Signals:
        restoreRequested(str text, int number): the user chose to restore version ``number``.
    """

    restoreRequested = Signal(str, int)

    def __init__(self, history: TemplateHistory, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("historyPanel")
        self.setAccessibleName("History")
        self._history = history
        self._key: str | None = None
        self._current = ""
        self._versions: list[Version] = []

        self.heading = QLabel("No earlier versions", self)
        self.versions = QListWidget(self)
        self.versions.setAccessibleName("Versions")
        self.diff_view = QPlainTextEdit(self)
        self.diff_view.setReadOnly(True)
        self.diff_view.setAccessibleName("Version diff")
        self.diff_view.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        font = self.diff_view.font()
        font.setFamily("monospace")
        font.setStyleHint(font.StyleHint.Monospace)
        self.diff_view.setFont(font)
        self.restore_button = QPushButton("Restore this version", self)
        self.restore_button.setEnabled(False)

        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.restore_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.heading)
        # The diff needs the room; the list shows a few versions and scrolls (drag to change).
        split = QSplitter(Qt.Orientation.Vertical, self)
        split.addWidget(self.versions)
        split.addWidget(self.diff_view)
        split.setStretchFactor(1, 1)
        split.setSizes([70, 230])
        layout.addWidget(split, 1)
        layout.addLayout(buttons)

        self.versions.currentRowChanged.connect(self._show_diff)
        self.versions.itemActivated.connect(lambda _item: self.restore_selected())
        self.restore_button.clicked.connect(self.restore_selected)

    def set_template(self, key: str, current_text: str) -> None:
        """Show ``key``'s versions against ``current_text``."""
        self._key = find_template(key).key
        self._current = current_text
        self.refresh()

    def set_current_text(self, text: str) -> None:
        """The editor's text changed: the diff compares against it."""
        self._current = text
        self._show_diff(self.versions.currentRow())

    def refresh(self) -> None:
        """Read the versions again (after a save)."""
        if self._key is None:
            return
        try:
            self._versions = self._history.versions(self._key)
        except SegmentDesktopError as err:
            self._versions = []
            self.heading.setText(str(err))
        else:
            count = len(self._versions)
            name = find_template(self._key).name
            self.heading.setText(
                f"{count} earlier version{'s' if count != 1 else ''} of {name}"
                if count
                else f"No earlier versions of {name}: every save keeps the text it replaces."
            )
        self.versions.clear()
        for version in self._versions:
            item = QListWidgetItem(version.label())
            item.setData(Qt.ItemDataRole.UserRole, version.number)
            self.versions.addItem(item)
        if self._versions:
            self.versions.setCurrentRow(0)
        else:
            self._show_diff(-1)

    def _show_diff(self, row: int) -> None:
        if not (0 <= row < len(self._versions)):
            self.diff_view.setPlainText("")
            self.restore_button.setEnabled(False)
            return
        version = self._versions[row]
        text = diff(version.text, self._current, f"version #{version.number}", "current")
        self.diff_view.setPlainText(text or "This version is the same as the current text.")
        self.restore_button.setEnabled(bool(text))

    def selected(self) -> Version | None:
        row = self.versions.currentRow()
        return self._versions[row] if 0 <= row < len(self._versions) else None

    def restore_selected(self) -> None:
        version = self.selected()
        if version is not None and version.text != self._current:
            self.restoreRequested.emit(version.text, version.number)
