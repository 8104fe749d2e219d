"""What the Segment client answers: the fate of every call, what a connection check proved."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

TEST_EVENT_NAME = "Segment Desktop Connection Test"
NOT_PROOF = (
    "Segment does not validate write keys: a 200 answer does not prove the key is right. "
    f'Send a test event and look for "{TEST_EVENT_NAME}" in your source\'s Debugger.'
)

Status = Literal["sent", "rejected", "failed"]


@dataclass(frozen=True)
class BatchOutcome:
    """What became of one batch."""

    status: Status
    calls: list[dict[str, Any]] = field(repr=False)
    status_code: int | None
    """The last HTTP status, ``None`` when nothing usable came back."""
    reason: str
    """Empty when sent; otherwise what went wrong, in words (status and Segment's answer)."""
    attempts: int
    retry_after: float | None = None
    """Seconds Segment asked us to wait, when it did and we stopped retrying."""

    @property
    def ok(self) -> bool:
        return self.status == "sent"


@dataclass(frozen=True)
class RefusedCall:
    """A call we did not send because Segment would refuse it (too large)."""

    call: dict[str, Any] = field(repr=False)
    reason: str


@dataclass
class SendReport:
    """Every call given to :meth:`SegmentClient.send`, accounted for."""

    outcomes: list[BatchOutcome] = field(default_factory=list)
    refused: list[RefusedCall] = field(default_factory=list)

    def _calls(self, status: Status) -> list[dict[str, Any]]:
        return [c for o in self.outcomes if o.status == status for c in o.calls]

    @property
    def sent_calls(self) -> list[dict[str, Any]]:
        return self._calls("sent")

    @property
    def rejected_calls(self) -> list[dict[str, Any]]:
        """Calls Segment refused (4xx): retrying would not help; show the reason to the user."""
        return self._calls("rejected")

    @property
    def failed_calls(self) -> list[dict[str, Any]]:
        """Calls not delivered for now (Segment busy or unreachable): keep them and retry."""
        return self._calls("failed")

    @property
    def all_sent(self) -> bool:
        return not self.refused and all(o.ok for o in self.outcomes)

    def summary(self) -> str:
        parts = [f"{len(self.sent_calls)} sent"]
        if self.failed_calls:
            reason = next(o.reason for o in self.outcomes if o.status == "failed")
            parts.append(f"{len(self.failed_calls)} not sent yet ({reason})")
        if self.rejected_calls:
            reason = next(o.reason for o in self.outcomes if o.status == "rejected")
            parts.append(f"{len(self.rejected_calls)} rejected by Segment ({reason})")
        if self.refused:
            parts.append(f"{len(self.refused)} refused before sending ({self.refused[0].reason})")
        return "Segment: " + "; ".join(parts) + "."


@dataclass(frozen=True)
class Check:
    """One thing the connection check looked at."""

    name: str
    level: Literal["ok", "warning", "error"]
    message: str


@dataclass(frozen=True)
class ConnectionReport:
    """What the connection check could prove, and what it cannot."""

    url: str
    reachable: bool
    """DNS, TLS and any proxy worked: something at the host answered."""
    answers_like_segment: bool
    """The path answered an empty batch with 200 and ``{"success": true}``."""
    status_code: int | None
    checks: list[Check]

    @property
    def ok(self) -> bool:
        return self.reachable and self.answers_like_segment

    @property
    def warnings(self) -> list[str]:
        return [c.message for c in self.checks if c.level == "warning"]

    @property
    def summary(self) -> str:
        """Plain words for the user, always ending with what a 200 does not prove."""
        if not self.reachable:
            first = next(c.message for c in self.checks if c.level == "error")
            return f"Could not reach Segment. {first}"
        if not self.answers_like_segment:
            first = next(c.message for c in self.checks if c.level == "error")
            return f"Something answered at {self.url}, but not like Segment. {first}"
        text = f"Segment's API at {self.url} answers."
        if self.warnings:
            text += " " + " ".join(self.warnings)
        return f"{text} {NOT_PROOF}"
