"""The template studio: edit, preview, check, save and send Segment templates."""

from segment_desktop.ui.studio.studio import TemplateStudio

__all__ = ["TemplateStudio"]
