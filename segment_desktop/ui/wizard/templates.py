"""Step 5: the template studio for the enabled templates, editing the setup's draft."""

from __future__ import annotations

import copy

from PySide6.QtWidgets import QLabel, QVBoxLayout

from segment_desktop.core.config import Config
from segment_desktop.core.events import BY_KEY
from segment_desktop.core.flow import Draft, Step
from segment_desktop.services import Services
from segment_desktop.ui.studio import TemplateStudio
from segment_desktop.ui.studio.storage import DraftStorage, TemplateStorage
from segment_desktop.ui.tasks import TaskRunner
from segment_desktop.ui.wizard.base import FlowPage

#: The wizard's size while the studio is shown.
STUDIO_SIZE = (1180, 760)


def make_studio(
    services: Services,
    tasks: TaskRunner,
    config: Config,
    storage: TemplateStorage | None = None,
    draft: Draft | None = None,
) -> TemplateStudio:
    """A studio wired to our services; it saves to ``storage`` (default: the settings file).
    ``draft``: the setup's secrets, not in the keyring before Finish."""
    commerce, segment = services.studio_clients(config, draft)
    return TemplateStudio(
        services.renderer(),
        services.config_store,
        config,
        storage=storage,
        runner=tasks,
        commerce=commerce,
        segment=segment,
    )


class TemplatesPage(FlowPage):
    """Embeds a :class:`TemplateStudio` for the templates enabled on the previous page.

    The studio saves into the flow's draft, never to the settings file: Finish saves the
    draft, and Cancel leaves the file as it was. Unsaved edits keep Next disabled (the flow's
    ``templates_dirty``); the studio's Revert button is the way back.
    """

    page_id = Step.TEMPLATES

    def build(self, layout: QVBoxLayout) -> None:
        self.setTitle("Templates")
        self.setSubTitle(
            "Each template turns a Commerce event into Segment calls. The built-in ones follow "
            "Segment's e-commerce spec; change them only if you need to."
        )
        self._layout = layout
        self.studio: TemplateStudio | None = None
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
            self.studio = make_studio(
                self.services, self.tasks, config, DraftStorage(self.flow), self.flow.draft()
            )
            self.studio.dirtyChanged.connect(self.flow.templates_dirty)
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

    def validatePage(self) -> bool:
        return self.studio is None or not self.studio.is_dirty
