"""A combo box of named URL presets kept in step with the URL field beside it."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtWidgets import QComboBox, QLineEdit


def sync_preset(combo: QComboBox, presets: dict[str, str], other: str, url: str) -> None:
    """Show the preset matching ``url`` (or ``other``) without firing the combo's signals."""
    label = next((k for k, v in presets.items() if v == url.strip().rstrip("/")), other)
    combo.blockSignals(True)
    combo.setCurrentText(label)
    combo.blockSignals(False)


def apply_preset(
    label: str, presets: dict[str, str], field: QLineEdit, edited: Callable[[], None]
) -> None:
    """A preset fills the field; "other" hands the field to the user to type."""
    if label in presets:
        field.setText(presets[label])
        edited()
    else:
        field.setFocus()
        field.selectAll()
