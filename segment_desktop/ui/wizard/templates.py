"""Step 5: the template studio for the enabled templates."""

from __future__ import annotations

import copy
import importlib
import importlib.util
from typing import Any

from PySide6.QtWidgets import QLabel, QVBoxLayout

from segment_desktop.core.events import BY_KEY
from segment_desktop.core.flow import Step
from segment_desktop.services import Services
from segment_desktop.ui.tasks import TaskRunner
from segment_desktop.ui.wizard.base import FlowPage

#: The wizard's size while the studio is shown.
STUDIO_SIZE = (1180, 760)


def studio_available() -> bool:
    """Whether the template studio is installed (it is developed separately).

    Only looks for the module: importing it (~110 ms) waits until the Templates page opens.
    """
    return importlib.util.find_spec("segment_desktop.ui.studio") is not None


def make_studio(services: Services, tasks: TaskRunner, config: Any) -> Any:
    """A ``TemplateStudio`` wired to our services (the studio saves overrides itself)."""
    studio_class: Any = importlib.import_module("segment_desktop.ui.studio").TemplateStudio
    commerce, segment = services.studio_clients(config)
    return studio_class(
        services.renderer(),
        services.config_store,
        config,
        runner=tasks,
        commerce=commerce,
        segment=segment,
    )


class TemplatesPage(FlowPage):
    """Embeds ``TemplateStudio`` for the templates enabled on the previous page.

    Unsaved edits keep Next disabled (the flow's ``templates_dirty``). The studio saves an
    override straight to the settings file; the flow copies it into its draft so that Finish
    saves it again rather than overwriting it with the old text.
    """

    page_id = Step.TEMPLATES

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
        self.summary.setVisible(False)  # the studio lists them
        config = copy.deepcopy(self.flow.config)
        self._make_room()
        if self.studio is None:
            self.studio = make_studio(self.services, self.tasks, config)
            self.studio.dirtyChanged.connect(self.flow.templates_dirty)
            self.studio.saved.connect(self._saved)
            self._layout.insertWidget(1, self.studio, 1)
            self._layout.setStretch(self._layout.count() - 2, 0)  # the studio takes the room
        else:
            self.studio.set_config(config)

    def _make_room(self) -> None:
        """The studio needs an editor and a preview side by side: grow the wizard (within the
        screen) when this page opens."""
        wizard = self.wizard()
        if wizard is None:
            return
        screen = wizard.screen().availableGeometry()
        width = min(max(wizard.width(), STUDIO_SIZE[0]), screen.width())
        height = min(max(wizard.height(), STUDIO_SIZE[1]), screen.height())
        wizard.resize(width, height)

    def _saved(self, key: str) -> None:
        try:
            text = self.services.load_config().template_overrides.get(key)
        except Exception as err:
            self.flow.set_error(self.page_id, f"Could not read the saved template: {err}")
            return
        self.flow.set_template_override(key, text)

    def validatePage(self) -> bool:
        return self.studio is None or not self.studio.is_dirty
