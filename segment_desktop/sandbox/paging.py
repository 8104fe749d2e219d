"""Commerce-style paging: ``page[limit]`` (at most 100) and ``page[offset]``.

Two answer shapes (docs/API_FACTS.md, "Paging"): most lists (orders, customers, integrations)
carry ``links`` and ``meta.page`` + ``meta.results.total``; the integration log and job lists carry
``meta {limit, offset, current, total}`` (``total`` counts pages) and ``results.total`` (records)
beside ``meta``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import quote

from segment_desktop.sandbox.problems import ApiProblem

DEFAULT_LIMIT = 25
MAX_LIMIT = 100


def page_params(query: Mapping[str, str]) -> tuple[int, int]:
    """``(limit, offset)`` from the query; a limit over 100 is capped, nonsense is a 400."""
    limit = _whole(query, "page[limit]", DEFAULT_LIMIT)
    offset = _whole(query, "page[offset]", 0)
    if limit < 1:
        raise ApiProblem(400, "Bad Request", "page[limit] must be at least 1")
    return min(limit, MAX_LIMIT), offset


def _whole(query: Mapping[str, str], name: str, default: int) -> int:
    raw = query.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ApiProblem(400, "Bad Request", f"{name} must be a whole number") from None
    if value < 0:
        raise ApiProblem(400, "Bad Request", f"{name} cannot be negative")
    return value


def paged(
    items: Sequence[Any],
    *,
    limit: int,
    offset: int,
    url: str,
    extra_query: str = "",
) -> dict[str, Any]:
    """The page of ``items`` as ``{"data", "links", "meta"}``; ``url`` is the list's address."""
    total = len(items)
    pages = max(1, math.ceil(total / limit))
    current = offset // limit + 1

    def link(at: int) -> str:
        query = f"page[limit]={limit}&page[offset]={at}"
        if extra_query:
            query += "&" + extra_query
        return f"{url}?{quote(query, safe='=&[]')}"

    last_offset = (pages - 1) * limit
    return {
        "data": list(items[offset : offset + limit]),
        "links": {
            "current": link(offset),
            "first": link(0),
            "last": link(last_offset),
            "next": link(offset + limit) if offset + limit < total else None,
            "prev": link(max(0, offset - limit)) if offset > 0 else None,
        },
        "meta": {
            "page": {"limit": limit, "offset": offset, "current": current, "total": pages},
            "results": {"total": total},
        },
    }


def paged_logs(items: Sequence[Any], *, limit: int, offset: int) -> dict[str, Any]:
    """The page of ``items`` as the log and job lists answer: ``{"data", "meta", "results"}``."""
    total = len(items)
    return {
        "data": list(items[offset : offset + limit]),
        "meta": {
            "limit": limit,
            "offset": offset,
            "current": offset // limit + 1,
            "total": max(1, math.ceil(total / limit)),
        },
        "results": {"total": total},
    }
