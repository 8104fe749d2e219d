"""The template studio: edit, preview, check, save and send Segment templates.

Modules:

* ``studio`` — :class:`TemplateStudio`, the composition and the edit's state (open, save,
  revert); panels under the preview are added with ``TemplateStudio.add_panel``.
* ``window`` — :class:`StudioDialog`, the studio in a window of its own.
* ``template_list`` — the list of templates (customised, unsaved).
* ``editor``, ``highlighter`` — the code editor (line numbers, brackets, error marker) and
  colouring.
* ``live_preview``, ``preview``, ``json_view`` — rendering off the GUI thread and showing the
  finished calls with Segment's checks.
* ``sample_chooser`` — the event the preview runs on (built-in, store, file, pasted).
* ``assist``, ``completion_popup``, ``sample_tree``, ``side_panels`` — writing aids: completion,
  the sample as a tree, values on hover, "Evaluate selection", the function reference.
* ``storage`` — where a saved template goes (the settings file, or the setup wizard's draft).
* ``sending``, ``dialogs`` — sending test calls to Segment; the questions asked of the user.
* ``trust_panels``, ``testcases_panel``, ``history_panel`` — saved test cases run on every edit
  (with a side-by-side diff), earlier versions with diff and restore, the imported tracking
  plan's checks in the preview.
"""

from segment_desktop.ui.studio.studio import TemplateStudio
from segment_desktop.ui.studio.window import StudioDialog

__all__ = ["StudioDialog", "TemplateStudio"]
