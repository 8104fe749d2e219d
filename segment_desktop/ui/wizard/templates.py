"""Page 5: the template studio for the enabled templates."""

from __future__ import annotations

import importlib
import importlib.util
from typing import Any

from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from segment_desktop.core.events import BY_KEY
from segment_desktop.core.flow import Page
from segment_desktop.ui.wizard.base import FlowPage, intro


def studio_available() -> bool:
    """Whether the template studio is installed (it is developed separately)."""
    if importlib.util.find_spec("segment_desktop.ui.studio") is None:
        return False
    module = importlib.import_module("segment_desktop.ui.studio")
    return hasattr(module, "TemplateStudio")


class TemplatesPage(FlowPage):
    """Embeds ``TemplateStudio`` for the templates enabled on the previous page. Unsaved edits
    keep Next disabled (the flow's ``templates_dirty``); saved ones become overrides."""

    page_id = Page.TEMPLATES

    def build(self, layout: QVBoxLayout) -> None:
        self.setTitle("Templates")
        self.setSubTitle(
            "Each template turns a Commerce event into Segment calls. The built-in ones follow "
            "Segment's e-commerce spec; change them only if you need to."
        )
        self._layout = layout
        self.studio: Any = None
        self.summary = QLabel(self)
        self.summary.setWordWrap(True)
        layout.addWidget(self.summary)

    def initializePage(self) -> None:
        keys = self.flow.enabled_templates()
        names = ", ".join(BY_KEY[k].name for k in keys)
        self.summary.setText(f"Enabled templates: {names}.")
        if self.studio is None and studio_available():
            self.studio = self._make_studio()
            if self.studio is not None:
                self._layout.insertWidget(1, self.studio, 1)
        if self.studio is not None and hasattr(self.studio, "set_templates"):
            self.studio.set_templates(keys)

    def _make_studio(self) -> QWidget | None:
        studio_class: Any = importlib.import_module("segment_desktop.ui.studio").TemplateStudio
        widget: QWidget = studio_class(
            services=self.services, overrides=dict(self.flow.config.template_overrides)
        )
        dirty = getattr(widget, "dirtyChanged", None)
        if dirty is not None:
            dirty.connect(self.flow.templates_dirty)
        saved = getattr(widget, "saved", None) or getattr(widget, "templateSaved", None)
        if saved is not None:
            saved.connect(self.flow.set_template_override)
        return widget


def no_studio_note(parent: QWidget) -> QLabel:
    return intro("The built-in templates will be used.", parent)
