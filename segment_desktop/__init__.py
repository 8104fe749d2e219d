"""Segment Desktop: connect an Elastic Path Commerce store to Segment.

Packages, from the bottom layer up (docs/ARCHITECTURE.md has the rules between them):

* ``core``: the domain, with no network I/O and no Qt.
* ``commerce``, ``segment`` and the module ``http_util``: the HTTP clients of the two APIs;
  ``webhook_client`` sends one Commerce-style webhook to a relay (for ``trigger``).
* ``registration``: which Commerce integrations the settings need, and getting there.
* ``relay``: the headless webhook relay and SQS worker; ``sandbox``: loopback emulators.
* ``services``: what the desktop app asks of the layers below, Qt-free.
* ``ui``: the PySide6 application.
* ``cli``: the ``segment-desktop`` command, with one module per subcommand
  (``render_command``, ``register_command``, ``test_templates_command``, ``trigger_command``,
  ``relay.command``, ``sandbox.command``).
"""

__version__ = "0.1.0"
#: The program name: settings, log and data folder names, and what messages identify.
APP_NAME = "segment-desktop"
