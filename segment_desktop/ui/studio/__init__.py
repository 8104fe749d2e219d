"""The template studio: edit, preview, check, save and send Segment templates."""

from segment_desktop.ui.studio.studio import TemplateStudio
from segment_desktop.ui.studio.window import StudioDialog

__all__ = ["StudioDialog", "TemplateStudio"]
