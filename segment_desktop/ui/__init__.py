"""The desktop application (PySide6): the only package that imports Qt.

Every blocking call (network, SQLite, a template run) leaves the GUI thread through ``tasks``;
most are methods of :mod:`segment_desktop.services`. It imports nothing of the command line
(an import-linter contract in ``pyproject.toml``).

Module map:

* ``app``: :func:`run`, start-up: the wizard for a new user, the main window otherwise, sandbox
  mode, the uncaught-error dialog.
* ``main_window``: :class:`MainWindow`, the window after setup: the dashboard, the
  integrations, the sandbox tools, settings import and export.
* ``trigger_dialog``: sending a Commerce webhook to a relay on purpose (``trigger`` as a
  dialog).
* ``tasks``: :class:`TaskRunner` and :class:`Debouncer`, the one background-work helper.
* ``wizard/``: the guided setup; ``studio/``: the template studio; ``dashboard/``: the main
  window's live view of the relay; ``widgets/``: pieces shared by the windows.
"""
