"""Where the studio keeps a saved template: the settings file, or the setup wizard's draft.

The studio opened from the main window writes to the settings file at once. Inside the setup
wizard nothing may reach the file before Finish (Cancel promises "your previous settings are
unchanged"), so there the studio writes to the flow's draft, which Finish saves with the rest.
"""

from __future__ import annotations

import difflib
from typing import Protocol

from segment_desktop.core.config import ConfigStore
from segment_desktop.core.flow import SetupFlow
from segment_desktop.core.template_history import TemplateHistory, history_directory
from segment_desktop.core.templates import TemplateSet, default_template

__all__ = [
    "DraftStorage",
    "SettingsStorage",
    "TemplateStorage",
    "diff_against_default",
    "override_for",
]


def override_for(key: str, text: str) -> str | None:
    """The override to keep for ``text``: ``None`` when it is the built-in default again."""
    return None if text.strip() == default_template(key).strip() else text


def diff_against_default(key: str, text: str) -> str:
    """A unified diff from the built-in template to ``text`` ("" when they are equal)."""
    default = default_template(key).splitlines(keepends=True)
    lines = difflib.unified_diff(default, text.splitlines(keepends=True), "default", "yours",
                                 lineterm="")  # fmt: skip
    return "\n".join(line.rstrip("\n") for line in lines)


class TemplateStorage(Protocol):
    """Keeps the templates the user saves in the studio."""

    #: What the studio says after a save ("Saved.", or where it went).
    saved_message: str

    def save_override(self, key: str, text: str | None) -> dict[str, str]:
        """Keep ``text`` as the override of ``key`` (``None``: back to the default).

        Returns every override now in effect. Raises ``SegmentDesktopError`` when it cannot.
        """
        ...


class SettingsStorage:
    """Writes to the settings file, re-reading it first so no other setting is overwritten."""

    saved_message = "Saved."

    def __init__(self, store: ConfigStore) -> None:
        self._store = store
        self._history = TemplateHistory(history_directory(store.directory))

    def save_override(self, key: str, text: str | None) -> dict[str, str]:
        fresh = self._store.load()
        self._history.record(key, TemplateSet(fresh.template_overrides).text(key))  # replaced
        overrides = dict(fresh.template_overrides)
        if text is None:
            overrides.pop(key, None)
        else:
            overrides[key] = text
        fresh.template_overrides = overrides
        self._store.save(fresh)
        return dict(overrides)


class DraftStorage:
    """Writes to the setup flow's draft; the settings file changes only when setup finishes."""

    saved_message = "Kept for this setup: it is saved when you finish."

    def __init__(self, flow: SetupFlow) -> None:
        self._flow = flow

    def save_override(self, key: str, text: str | None) -> dict[str, str]:
        self._flow.set_template_override(key, text)
        return dict(self._flow.config.template_overrides)
