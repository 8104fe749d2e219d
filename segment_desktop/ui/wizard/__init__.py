"""The guided setup: a QWizard whose flow is decided by ``core.flow.SetupFlow``.

Module map:

* ``wizard``: :class:`SetupWizard`, the window: page order, one size inside the screen, asking
  before a quit loses work, reading the saved secrets in the background.
* ``base``: :class:`FlowPage`, what every page shares (completeness from the flow, the default
  button, scrolling content, help boxes).
* ``steps``: the side list of steps with the current one marked.
* ``welcome_page``, ``commerce_page``, ``segment_page``, ``configurations_page``,
  ``templates``, ``finish_page``: one module per step.
* ``delivery_section``: the Configurations page's choice of where Commerce delivers (the relay
  URL, or an Amazon SQS queue with Check queue).
"""

from segment_desktop.ui.wizard.wizard import SetupWizard

__all__ = ["SetupWizard"]
