"""The studio in a window of its own, with the unsaved-changes question on every way out."""

from __future__ import annotations

from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import QDialog, QVBoxLayout, QWidget

from segment_desktop.ui.studio.studio import TemplateStudio

__all__ = ["StudioDialog"]


class StudioDialog(QDialog):
    """A non-modal window around a :class:`TemplateStudio`.

    A child widget never sees its window's close, so this dialog asks the studio
    (:meth:`TemplateStudio.confirm_leave`) on the close button and on Escape alike.
    """

    def __init__(self, studio: TemplateStudio, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("studioDialog")
        # Qt appends the application's display name ("Template studio — Segment Desktop").
        self.setWindowTitle("Template studio")
        self.resize(1180, 760)
        self.studio = studio
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(studio)

    def reject(self) -> None:  # Escape, and the window's close button via closeEvent
        if self.studio.confirm_leave():
            self.studio.cancel_work()
            super().reject()

    def closeEvent(self, event: QCloseEvent) -> None:
        if self.studio.confirm_leave():
            self.studio.cancel_work()
            event.accept()
        else:
            event.ignore()
