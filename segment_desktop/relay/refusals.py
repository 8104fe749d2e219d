"""Logging refused deliveries as a count per interval, not a line each.

Anyone on the internet can make the relay refuse a delivery (a wrong secret costs nothing):
a line per refusal would let them rotate the real log away and flood stderr. The first refusal
of a quiet period is logged at once, then one summary line per interval while refusals go on.
``/metrics`` counts every one of them.
"""

from __future__ import annotations

import asyncio
import logging

#: Seconds between two summary lines.
SUMMARY_SECONDS = 60.0


class RefusalLog:
    """Counts refusals by reason and logs them, at most once per :data:`SUMMARY_SECONDS`.

    Used from the event loop's thread only (the ASGI app), where it schedules the summary.
    """

    def __init__(self, logger: logging.Logger, interval: float = SUMMARY_SECONDS) -> None:
        self._log = logger
        self._interval = interval
        self._counts: dict[str, int] = {}
        self._summary: asyncio.TimerHandle | None = None

    def refused(self, kind: str, detail: str) -> None:
        """One delivery refused; ``kind`` names the reason in a few words (refusals are counted
        by it, so it must not vary with the request), ``detail`` is what the sender was told."""
        if self._summary is None:
            self._log.warning("Refused a webhook delivery (%s): %s", kind, detail)
            self._summary = asyncio.get_running_loop().call_later(self._interval, self._flush)
            return
        self._counts[kind] = self._counts.get(kind, 0) + 1

    def _flush(self) -> None:
        counts, self._counts = self._counts, {}
        if not counts:
            self._summary = None  # quiet again: the next refusal is logged at once
            return
        for kind, count in counts.items():
            self._log.warning(
                "Refused %d more webhook deliver%s in the last %g s (%s)",
                count,
                "y" if count == 1 else "ies",
                self._interval,
                kind,
                extra={"count": count},
            )
        self._summary = asyncio.get_running_loop().call_later(self._interval, self._flush)
