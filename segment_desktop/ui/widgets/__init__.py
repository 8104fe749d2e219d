"""Small widgets shared by the wizard and the main window.

Module map:

* ``fields``: labelled fields, the masked secret field, message lines with "Details".
* ``busy``: the progress line with Cancel (and the attempt and time waited).
* ``dialogs``: :class:`Dialogs`, the one way windows ask the user something.
* ``geometry``: keeping windows inside the screen.
* ``presets``, ``tables``, ``icon``: region presets, read-only tables, the app icon.
* ``integrations``, ``relay_status``, ``sandbox_panel``: the main window's panels.
"""
