"""The template set: our built-in default for each Segment template, and the user's overrides."""

from __future__ import annotations

from functools import cache
from importlib import resources

from segment_desktop.core.events import BY_KEY, template


@cache
def default_template(key: str) -> str:
    """The default JSONata text shipped for a template key (``order_completed`` …)."""
    spec = template(key)
    path = resources.files("segment_desktop") / "resources" / "templates" / f"{spec.key}.jsonata"
    return path.read_text(encoding="utf-8")


class TemplateSet:
    """Built-in defaults with the user's overrides on top.

    An override equal to the default (after trimming white space at the ends) is not an override.
    """

    def __init__(self, overrides: dict[str, str] | None = None) -> None:
        self._overrides = {k: v for k, v in (overrides or {}).items() if k in BY_KEY and v.strip()}

    def text(self, key: str) -> str:
        return self._overrides.get(key) or default_template(key)

    def is_overridden(self, key: str) -> bool:
        text = self._overrides.get(key)
        return text is not None and text.strip() != default_template(key).strip()

    def overrides(self) -> dict[str, str]:
        """Only the real overrides, ready to store."""
        return {k: v for k, v in self._overrides.items() if self.is_overridden(k)}
