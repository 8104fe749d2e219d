"""One page of a Commerce list, read from its answer: the items and where they sit in the whole."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from segment_desktop.commerce.json_values import dig, number
from segment_desktop.commerce.urls import SERVICE
from segment_desktop.core.errors import ServiceError

#: The largest ``page[limit]`` Commerce accepts (docs/API_FACTS.md, "Paging").
MAX_PAGE_LIMIT = 100


@dataclass(frozen=True)
class Page:
    """One page of a list: its items and where it sits in the whole."""

    items: list[dict[str, Any]]
    limit: int
    offset: int
    total: int | None
    """Total number of items across pages, when the server said."""
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)
    """The whole answer (``included``, ``links``…)."""

    @property
    def next_offset(self) -> int | None:
        """Offset of the next page, or ``None`` when this is the last one."""
        if not self.items:
            return None
        following = self.offset + len(self.items)
        if self.total is not None:
            return following if following < self.total else None
        return following if len(self.items) >= self.limit else None


def read_page(body: dict[str, Any], path: str, limit: int, offset: int) -> Page:
    """The page in a list answer ``body`` (for ``path``, asked with ``limit`` and ``offset``)."""
    if "data" not in body:
        raise ServiceError(
            f"Commerce's answer for {path} has no 'data'. Check the API URL points at Commerce.",
            service=SERVICE,
        )
    items = body["data"]
    if not isinstance(items, list):
        raise ServiceError(f"Commerce's answer for {path} is not a list.", service=SERVICE)
    # log lists put the record count at the top level (their meta.total counts pages); other
    # lists put it under meta (docs/API_FACTS.md, "Paging")
    total = number(dig(body, "results", "total"))
    if total is None:
        total = number(dig(body, "meta", "results", "total"))
    return Page(
        items=[i for i in items if isinstance(i, dict)],
        limit=limit,
        offset=offset,
        total=int(total) if total is not None else None,
        raw=body,
    )
