"""How long the outbox keeps what it holds, and the housekeeping that enforces it.

* Calls waiting to be sent are kept until Segment takes them: they are the relay's promise.
* Calls Segment refused and template errors (with the event body kept to replay them) hold
  customer data and wait for the user: they are deleted after the retention, 30 days unless
  ``--retention-days`` / ``SEGMENT_DESKTOP_RELAY_RETENTION_DAYS`` says otherwise
  (``relay purge`` deletes them sooner).
* De-duplication records (event id, event name, time: no customer data) are kept
  :data:`DEDUP_RETENTION` once nothing refers to them: Commerce retries for hours, not days.
* The WAL, which keeps copies of rows after they are deleted, is emptied after each pass.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from segment_desktop.relay import parked
from segment_desktop.relay.outbox import Outbox

log = logging.getLogger(__name__)

DAY = 24 * 3600.0
DEFAULT_RETENTION_DAYS = 30.0
DEDUP_RETENTION = 7 * DAY


@dataclass(frozen=True)
class Retention:
    """What one housekeeping pass deletes."""

    parked_seconds: float = DEFAULT_RETENTION_DAYS * DAY
    dedup_seconds: float = DEDUP_RETENTION

    def run(self, outbox: Outbox, now: float | None = None) -> None:
        """One pass: expire parked work and old de-duplication records, empty the WAL."""
        now = time.time() if now is None else now
        purged = parked.purge(outbox, older_than_seconds=self.parked_seconds, now=now)
        if purged.refused_calls or purged.template_errors:
            log.info(
                "Deleted %d refused call(s) and %d template error(s) older than %.0f days",
                purged.refused_calls,
                purged.template_errors,
                self.parked_seconds / DAY,
            )
        forgotten = outbox.prune(self.dedup_seconds, now)
        if forgotten:
            log.info(
                "Forgot %d de-duplication record(s) older than %.0f days",
                forgotten,
                self.dedup_seconds / DAY,
            )
        outbox.truncate_wal()
