"""The guided setup: a QWizard whose flow is decided by ``core.flow.SetupFlow``."""

from segment_desktop.ui.wizard.wizard import SetupWizard

__all__ = ["SetupWizard"]
