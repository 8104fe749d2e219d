"""Commerce's error answers: ``{"errors": [{"status", "title", "detail"?, "source"?}]}``."""

from __future__ import annotations

from typing import Any


class ApiProblem(Exception):
    """A Commerce error answer: status plus one entry of the ``errors`` list."""

    def __init__(
        self,
        status: int,
        title: str,
        detail: str | None = None,
        *,
        source: str | None = None,
        string_status: bool = False,
    ) -> None:
        super().__init__(detail or title)
        self.status = status
        self.title = title
        self.detail = detail
        self.source = source
        self.string_status = string_status  # Commerce is inconsistent; we reproduce it

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {
            "status": str(self.status) if self.string_status else self.status,
            "title": self.title,
        }
        if self.detail is not None:
            error["detail"] = self.detail
        if self.source is not None:
            error["source"] = self.source
        return {"errors": [error]}


def invalid(field: str, detail: str) -> ApiProblem:
    return ApiProblem(422, "Failed Validation", detail, source=field)
