"""Built-in sample webhook bodies, one or more per Commerce event we track.

The samples let a user preview and test templates before their store sends anything. They are
package data (``segment_desktop/resources/samples/<name>.json``) named ``<event>.json`` for the
main sample of an event and ``<event>.<variant>.json`` for variants (``order.paid.guest-jpy``).
Each file is a complete webhook body as Commerce delivers it, including the deprecated
``resources`` string, so a sample goes through the same parsing as a real delivery.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from importlib.resources.abc import Traversable

from segment_desktop.core.envelope import CommerceEvent, parse_event_text
from segment_desktop.core.errors import EventError
from segment_desktop.core.events import ALL_EVENTS

#: Human titles of the variants we ship; a new variant without an entry gets a derived title.
_VARIANT_TITLES: dict[str, str] = {
    "guest": "guest checkout, no shipping",
    "guest-jpy": "guest, JPY",
    "kwd": "KWD, 3 decimals",
    "50-items": "50 products",
    "single-name": "single-word name",
}


@dataclass(frozen=True)
class Sample:
    """One built-in sample event.

    ``name`` is the file name without ``.json`` (``order.paid.kwd``); ``event`` the Commerce
    event it belongs to (``order.paid``); ``title`` a short label for a menu.
    """

    name: str
    event: str
    title: str

    @property
    def variant(self) -> str:
        """The part of the name after the event (``"kwd"``), or ``""`` for the main sample."""
        return self.name[len(self.event) + 1 :]

    def text(self) -> str:
        """The webhook body exactly as stored."""
        return _read(self.name)

    def load(self) -> CommerceEvent:
        """The sample parsed as a delivery would be."""
        return parse_event_text(self.text())


def list_samples(event: str | None = None) -> list[Sample]:
    """Every built-in sample, or those of one Commerce event.

    Samples come in the order of :data:`~segment_desktop.core.events.ALL_EVENTS`, the main
    sample of each event first, then its variants by name. An event we have no sample for gives
    an empty list.
    """
    return [s for s in _all_samples() if event is None or s.event == event]


def get_sample(name: str) -> Sample:
    """The sample called ``name`` (``order.paid`` or ``order.paid.kwd``)."""
    for found in _all_samples():
        if found.name == name:
            return found
    known = ", ".join(s.name for s in _all_samples())
    raise EventError(f"There is no built-in sample called {name!r}. Samples: {known}.")


def _directory() -> Traversable:
    return files("segment_desktop") / "resources" / "samples"


def _read(name: str) -> str:
    return (_directory() / f"{name}.json").read_text(encoding="utf-8")


@cache
def _all_samples() -> tuple[Sample, ...]:
    samples = []
    for entry in _directory().iterdir():
        file_name = entry.name
        if not file_name.endswith(".json") or not entry.is_file():
            continue
        name = file_name.removesuffix(".json")
        event = ".".join(name.split(".")[:2])
        samples.append(Sample(name=name, event=event, title=_title(name, event)))
    order = {event: index for index, event in enumerate(ALL_EVENTS)}
    samples.sort(key=lambda s: (order.get(s.event, len(order)), s.event, s.variant != "", s.name))
    return tuple(samples)


def _title(name: str, event: str) -> str:
    resource, _, action = event.partition(".")
    label = f"{resource.capitalize()} {action}"
    variant = name[len(event) + 1 :]
    if not variant:
        return label
    return f"{label} ({_VARIANT_TITLES.get(variant, variant.replace('-', ' '))})"
