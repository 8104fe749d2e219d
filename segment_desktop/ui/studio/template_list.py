"""The studio's list of templates: which one is open, which are customised, which has edits."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QListWidget, QListWidgetItem, QWidget

from segment_desktop.core.events import TemplateSpec

__all__ = ["TemplateList"]


class TemplateList(QListWidget):
    """One row per template: a ● on the one with unsaved edits, "(customised)" on overrides.

    Rows change only through :meth:`show_templates`, :meth:`mark` and :meth:`select_key`, which
    never emit ``currentItemChanged``: that signal means the *user* picked a row.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("templateList")
        self.setAccessibleName("Templates")
        self.setMinimumWidth(150)
        self._specs: list[TemplateSpec] = []

    def keys(self) -> list[str]:
        return [spec.key for spec in self._specs]

    def show_templates(
        self,
        specs: Sequence[TemplateSpec],
        event_for: Callable[[TemplateSpec], str],
        label: Callable[[TemplateSpec], str],
    ) -> None:
        self.blockSignals(True)
        self.clear()
        self._specs = list(specs)
        for spec in self._specs:
            item = QListWidgetItem(label(spec))
            item.setData(Qt.ItemDataRole.UserRole, spec.key)
            item.setToolTip(f"Tracks {event_for(spec)}")
            self.addItem(item)
        self.blockSignals(False)

    def mark(self, label: Callable[[TemplateSpec], str]) -> None:
        """Relabel every row (after a save, or when the edit becomes dirty or clean)."""
        for row, spec in enumerate(self._specs):
            self.item(row).setText(label(spec))

    def select_key(self, key: str | None) -> bool:
        """Highlight ``key``'s row without emitting a change; ``False`` when it is not listed."""
        keys = self.keys()
        if key not in keys:
            return False
        self.blockSignals(True)
        self.setCurrentRow(keys.index(key))
        self.blockSignals(False)
        return True
