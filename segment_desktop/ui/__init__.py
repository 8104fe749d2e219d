"""The desktop application (PySide6): the only package that imports Qt.

It reaches the clients and the relay only through :mod:`segment_desktop.services`, runs every
blocking call off the GUI thread through ``tasks``, and imports nothing of the command line
(import-linter contracts in ``pyproject.toml``).

Module map:

* ``app``: :func:`run`, start-up: the wizard for a new user, the main window otherwise, sandbox
  mode, the uncaught-error dialog.
* ``main_window``: :class:`MainWindow`, the integrations, their deliveries, the relay's status.
* ``tasks``: :class:`TaskRunner` and :class:`Debouncer`, the one background-work helper.
* ``wizard/``: the guided setup; ``studio/``: the template studio; ``widgets/``: pieces shared
  by the windows.
"""
