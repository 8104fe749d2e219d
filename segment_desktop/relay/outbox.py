"""The durable outbox: what Commerce handed us, until Segment has acknowledged it.

One SQLite file in WAL mode. Three tables:

``events``
    one row per Commerce event id ever accepted: the de-duplication record. The body (the
    template input, which never contains the echoed webhook secret) is kept only while a
    template error waits to be replayed.
``calls``
    finished Segment calls waiting to be sent (``pending``) or refused by Segment
    (``parked``, with the reason). A call is deleted only after Segment acknowledged it.
``template_errors``
    a template that failed for an event, with the error, until ``replay`` renders it.

The de-duplication record and the calls of an event are written in one transaction, so a
crash leaves either both or neither: Commerce retries what we did not acknowledge, and what we
acknowledged is on disk.

Durability is chosen per connection. The intake's connection uses ``synchronous=FULL``: the
webhook is acknowledged after the commit and Commerce will not send the event again, so that
commit must survive a power cut or an OS crash, not only a crash of the process (which is all
``NORMAL`` guarantees in WAL mode). Its cost, one fsync, is paid once per *group* of events:
:class:`segment_desktop.relay.intake.Intake` commits concurrent deliveries together. The
sender's connection uses ``NORMAL``: losing its last writes to a power cut only means a lease
that expires or a call sent again with the same ``messageId``, which Segment drops; it saves two
fsyncs per batch that would otherwise hold up the intake. Every FULL commit also makes all
earlier WAL frames durable, so ordering is preserved.

Senders lease the calls they are sending (``lease_owner``, ``lease_until``) so that several
relays sharing one outbox do not send the same call twice at once, and a relay killed while
sending leaves calls that the next one takes over.
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from segment_desktop.core.jsontext import compact_json

OUTBOX_FILENAME = "relay-outbox.sqlite3"
SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    event_id     TEXT PRIMARY KEY,
    triggered_by TEXT NOT NULL,
    received_at  REAL NOT NULL,
    body         TEXT
);
CREATE TABLE IF NOT EXISTS calls (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id        TEXT NOT NULL,
    template_key    TEXT NOT NULL,
    message_id      TEXT NOT NULL,
    call            TEXT NOT NULL,
    size            INTEGER NOT NULL,
    state           TEXT NOT NULL DEFAULT 'pending',
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at REAL NOT NULL,
    created_at      REAL NOT NULL,
    reason          TEXT,
    lease_owner     TEXT,
    lease_until     REAL
);
CREATE INDEX IF NOT EXISTS calls_due ON calls (state, next_attempt_at, id);
CREATE INDEX IF NOT EXISTS calls_event ON calls (event_id);
CREATE TABLE IF NOT EXISTS template_errors (
    event_id     TEXT NOT NULL,
    template_key TEXT NOT NULL,
    error        TEXT NOT NULL,
    at           REAL NOT NULL,
    PRIMARY KEY (event_id, template_key)
);
"""


#: Between two tries for the write lock while another process holds it (another relay sharing
#: the outbox, ``relay replay``), and how long to try before giving up ("database is locked").
LOCK_POLL_SECONDS = 0.0005
LOCK_WAIT_SECONDS = 10.0

#: The checkpointing connection (the sender's) copies the WAL into the database at most this
#: often. SQLite's automatic checkpoint would run inside a commit, while this process's write
#: lock is held, and every webhook's commit would wait for its fsync.
CHECKPOINT_EVERY_SECONDS = 1.0

_write_locks: dict[str, threading.Lock] = {}
_write_locks_guard = threading.Lock()


def _write_lock(path: Path) -> threading.Lock:
    """The one lock every writing connection of this process to ``path`` takes.

    SQLite lets one connection write at a time; the others wait in its busy handler, which
    sleeps 1, 2, 5, 10, … 100 ms between tries. A relay writes through two connections (the
    intake's, the sender's), so under load the intake's commit often found the sender's
    transaction under way (held ~1 ms) and slept: p99 19 ms, at most 23 ms, the sender's up to
    83 ms. Queued on one lock of our own, the next writer starts as soon as the last one is done.
    """
    key = os.path.realpath(path)
    with _write_locks_guard:
        return _write_locks.setdefault(key, threading.Lock())


def _is_busy(err: sqlite3.OperationalError) -> bool:
    """SQLITE_BUSY, plain or extended (another connection holds the lock)."""
    return err.sqlite_errorcode & 0xFF == sqlite3.SQLITE_BUSY


#: The due calls a claim leases (parameters: now, now, limit).
_CLAIM = (
    "SELECT id, event_id, template_key, message_id, call, size, attempts, created_at "
    "FROM calls WHERE state = 'pending' AND next_attempt_at <= ? "
    "AND (lease_until IS NULL OR lease_until < ?) ORDER BY next_attempt_at, id LIMIT ?"
)


def default_owner() -> str:
    """This process's lease name: host and pid, so a restart can tell a dead owner."""
    return f"{socket.gethostname()}:{os.getpid()}"


@dataclass(frozen=True)
class NewCall:
    """A finished call to store for an event."""

    template_key: str
    call: dict[str, Any]
    text: str = ""
    """The call as compact JSON, when the renderer encoded it already."""

    @property
    def message_id(self) -> str:
        return str(self.call.get("messageId", ""))

    def encoded(self) -> str:
        """The call as stored (compact JSON)."""
        return self.text or compact_json(self.call)


@dataclass(frozen=True)
class EncodedCall:
    """A finished call already in its stored form: a render process encodes what it rendered,
    so the relay's main process neither decodes nor re-encodes it."""

    template_key: str
    message_id: str
    text: str
    """The call as compact JSON (what :meth:`NewCall.encoded` gives)."""

    @classmethod
    def of(cls, call: NewCall) -> EncodedCall:
        return cls(call.template_key, call.message_id, call.encoded())

    def encoded(self) -> str:
        return self.text


#: A call to store, decoded or already encoded.
StoredCall = NewCall | EncodedCall


@dataclass(frozen=True)
class TemplateFailure:
    """A template that failed for an event; ``error`` is shown by ``relay parked``."""

    template_key: str
    error: dict[str, Any]


@dataclass(frozen=True)
class EventRecord:
    """What the outbox keeps of one accepted event, calls and failures included."""

    event_id: str
    triggered_by: str
    body: dict[str, Any]
    """The template input; stored only with ``failures`` (for replay), else unused."""
    calls: Sequence[StoredCall] = ()
    failures: Sequence[TemplateFailure] = ()


@dataclass(frozen=True)
class OutboxCall:
    """A stored call, as the sender sees it."""

    id: int
    event_id: str
    template_key: str
    message_id: str
    call_json: str
    """The call as stored: compact JSON, sent as it is."""
    size: int
    attempts: int
    created_at: float

    @cached_property
    def call(self) -> dict[str, Any]:
        call: dict[str, Any] = json.loads(self.call_json)
        return call


@dataclass(frozen=True)
class OutboxStats:
    """Counts over the outbox, for ``relay status``, ``/metrics`` and the GUI."""

    events: int
    pending: int
    due: int
    parked: int
    template_errors: int
    oldest_pending_age: float
    """Seconds since the oldest pending call was stored; 0 when none is pending."""


@dataclass(frozen=True)
class ParkedItem:
    """Something that will not be sent without the user: a refused call or a template error."""

    kind: str
    """``"rejected"`` (Segment refused the call) or ``"template_error"``."""
    event_id: str
    triggered_by: str
    template_key: str
    reason: str
    at: float
    call_id: int | None = None


@dataclass(frozen=True)
class PendingTemplateError:
    """An event with failed templates, ready to be rendered again."""

    event_id: str
    triggered_by: str
    body: dict[str, Any]
    template_keys: tuple[str, ...]


class Outbox:
    """Thread-safe access to the outbox file; one connection guarded by a lock.

    SQLite serialises writers anyway; one connection keeps the WAL small and avoids
    ``database is locked`` between our own threads. A process's writing connections to one
    file share one lock (:func:`_write_lock`), so they take turns without SQLite's busy
    handler. Other processes (another relay, ``relay replay``, the GUI) use their own
    ``Outbox``: a writer waits for theirs in fine steps (:meth:`_transaction`), a reader on
    ``busy_timeout``.
    """

    def __init__(
        self,
        path: Path,
        *,
        owner: str | None = None,
        read_only: bool = False,
        synchronous: str = "FULL",
        checkpoint: bool = True,
    ) -> None:
        self.path = path
        self.owner = owner or default_owner()
        self._db_lock = threading.Lock()
        """Held around every use of the connection ``_db`` (all a checkpoint takes)."""
        self._lock = threading.Lock() if read_only else _write_lock(path)
        """Held around every write transaction: shared by this process's writers to the file."""
        self._read_lock = threading.Lock()
        self._checkpoints = checkpoint and not read_only
        self._last_checkpoint = time.monotonic()
        if read_only:
            uri = f"file:{path}?mode=ro"
            self._db = sqlite3.connect(uri, uri=True, check_same_thread=False, timeout=10)
            self._db.execute("PRAGMA busy_timeout=10000")
            self._reader = self._db
            self._read_lock = self._db_lock
        else:
            if synchronous not in ("FULL", "NORMAL"):
                raise ValueError("synchronous is FULL or NORMAL")
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(
                str(path), check_same_thread=False, timeout=10, isolation_level=None
            )
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute(f"PRAGMA synchronous={synchronous}")
            self._db.execute("PRAGMA wal_autocheckpoint=0")  # see checkpoint_if_due
            with self._write() as db:
                version = db.execute("PRAGMA user_version").fetchone()[0]
                if version > SCHEMA_VERSION:
                    from segment_desktop.core.errors import ConfigError

                    raise ConfigError(
                        f"The relay outbox {path} was written by a newer version of "
                        "Segment Desktop. Update Segment Desktop, or point the relay at "
                        "another data directory."
                    )
                for statement in filter(str.strip, _SCHEMA.split(";")):
                    db.execute(statement)  # not executescript: it would commit midway
                db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
            # Reads (the de-duplication check, counts) on their own connection: in WAL mode
            # they never wait for a writer's fsync.
            self._reader = sqlite3.connect(
                str(path), check_same_thread=False, timeout=10, isolation_level=None
            )
            self._reader.execute("PRAGMA busy_timeout=10000")
            # Waiting for another process's write lock is _transaction's, in fine steps.
            self._db.execute("PRAGMA busy_timeout=0")

    @classmethod
    def in_dir(cls, data_dir: Path, **kw: Any) -> Outbox:
        return cls(data_dir / OUTBOX_FILENAME, **kw)

    def close(self) -> None:
        with self._db_lock:
            self._db.close()
        if self._reader is not self._db:
            with self._read_lock:
                self._reader.close()

    def checkpoint_if_due(self, now: float | None = None) -> bool:
        """Copy the WAL into the database when :data:`CHECKPOINT_EVERY_SECONDS` have passed.

        Only for the connection made with ``checkpoint=True`` (the sender's; call it from its
        loop, busy or idle). A PASSIVE checkpoint, run without this process's write lock: the
        intake goes on committing meanwhile, where SQLite's automatic checkpoint would hold it
        up. True when it ran.
        """
        if not self._checkpoints:
            return False
        now = time.monotonic() if now is None else now
        if now - self._last_checkpoint < CHECKPOINT_EVERY_SECONDS:
            return False
        self._last_checkpoint = now
        with self._db_lock:
            self._db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
        return True

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """A write transaction on this connection, in turn with this process's other writers."""
        with self._db_lock, self._lock, self._transaction() as db:
            yield db

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """``BEGIN IMMEDIATE`` … ``COMMIT`` (rolled back on any error).

        While another process holds the write lock, tries again every
        :data:`LOCK_POLL_SECONDS` for up to :data:`LOCK_WAIT_SECONDS` (SQLite's own busy
        handler would sleep up to 100 ms between tries); then "database is locked".
        """
        deadline = time.monotonic() + LOCK_WAIT_SECONDS
        while True:
            try:
                self._db.execute("BEGIN IMMEDIATE")
                break
            except sqlite3.OperationalError as err:
                if not _is_busy(err) or time.monotonic() >= deadline:
                    raise
            time.sleep(LOCK_POLL_SECONDS)
        try:
            yield self._db
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    # -- intake -------------------------------------------------------------------------------

    def seen(self, event_id: str) -> bool:
        """Whether the event was already accepted. (The relay does not ask before rendering:
        :meth:`record` finds duplicates in the same transaction that stores the rest.)"""
        with self._read_lock:
            row = self._reader.execute("SELECT 1 FROM events WHERE event_id = ?", (event_id,))
            return row.fetchone() is not None

    def record(self, records: Sequence[EventRecord], now: float | None = None) -> list[bool]:
        """Store events with their calls and failures in ONE transaction.

        Returns, per record, True when stored and False when the event id was already
        there (a duplicate: nothing of it is written).
        """
        now = time.time() if now is None else now
        stored: list[bool] = []
        # A few statements per group rather than per event: each one releases and takes back
        # the GIL, which costs more than the statement when render threads are busy.
        with self._write() as db:
            known = _known_events(db, [rec.event_id for rec in records])
            events: list[tuple[str, str, float, str | None]] = []
            calls: list[tuple[str, str, str, str, int, float, float]] = []
            failures: list[tuple[str, str, str, float]] = []
            for rec in records:
                if rec.event_id in known:
                    stored.append(False)
                    continue
                known.add(rec.event_id)
                stored.append(True)
                keep_body = compact_json(rec.body) if rec.failures else None
                events.append((rec.event_id, rec.triggered_by, now, keep_body))
                calls.extend(_call_rows(rec.event_id, rec.calls, now))
                failures.extend(
                    (rec.event_id, f.template_key, compact_json(f.error), now) for f in rec.failures
                )
            db.executemany(
                "INSERT INTO events (event_id, triggered_by, received_at, body) "
                "VALUES (?, ?, ?, ?)",
                events,
            )
            db.executemany(_INSERT_CALLS, calls)
            if failures:
                db.executemany(
                    "INSERT OR REPLACE INTO template_errors (event_id, template_key, error, at) "
                    "VALUES (?, ?, ?, ?)",
                    failures,
                )
        return stored

    # -- sending ------------------------------------------------------------------------------

    def claim(
        self, limit: int, *, lease_seconds: float = 120.0, now: float | None = None
    ) -> list[OutboxCall]:
        """Lease up to ``limit`` due calls for this owner, those due longest first.

        In the order of the ``calls_due`` index, so that SQLite reads ``limit`` rows rather than
        sorting every due call first (``ORDER BY id`` did: 25 ms per claim, holding the write
        lock, with 50,000 calls queued after a Segment outage).
        """
        now = time.time() if now is None else now
        with self._write() as db:
            rows = db.execute(_CLAIM, (now, now, limit)).fetchall()
            db.executemany(
                "UPDATE calls SET lease_owner = ?, lease_until = ? WHERE id = ?",
                [(self.owner, now + lease_seconds, r[0]) for r in rows],
            )
        return [OutboxCall(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7]) for r in rows]

    def acknowledge(self, ids: Sequence[int]) -> None:
        """Segment accepted these calls: forget them."""
        with self._write() as db:
            db.executemany("DELETE FROM calls WHERE id = ?", [(i,) for i in ids])

    def park(self, ids: Sequence[int], reason: str) -> None:
        """Segment refused these calls for good: keep them, with the reason, for the user."""
        with self._write() as db:
            db.executemany(
                "UPDATE calls SET state = 'parked', reason = ?, attempts = attempts + 1, "
                "lease_owner = NULL, lease_until = NULL WHERE id = ?",
                [(reason, i) for i in ids],
            )

    def retry_later(self, ids: Sequence[int], at: float, reason: str) -> None:
        """Sending failed for now: try again at ``at``."""
        with self._write() as db:
            db.executemany(
                "UPDATE calls SET attempts = attempts + 1, next_attempt_at = ?, reason = ?, "
                "lease_owner = NULL, lease_until = NULL WHERE id = ?",
                [(at, reason, i) for i in ids],
            )

    def release(self, ids: Sequence[int]) -> None:
        """Give leased calls back untouched (shutting down before sending them)."""
        with self._write() as db:
            db.executemany(
                "UPDATE calls SET lease_owner = NULL, lease_until = NULL WHERE id = ?",
                [(i,) for i in ids],
            )

    def release_dead_leases(self) -> int:
        """Free leases held by processes of this host that no longer run (killed relays)."""
        host = socket.gethostname()
        with self._write() as db:
            owners = [
                r[0]
                for r in db.execute(
                    "SELECT DISTINCT lease_owner FROM calls WHERE lease_owner IS NOT NULL"
                )
            ]
            dead = [o for o in owners if o != self.owner and _dead_here(o, host)]
            freed = 0
            for owner in dead:
                cur = db.execute(
                    "UPDATE calls SET lease_owner = NULL, lease_until = NULL WHERE lease_owner = ?",
                    (owner,),
                )
                freed += cur.rowcount
        return freed

    def next_due_at(self) -> float | None:
        """When the earliest pending call becomes due (None when nothing is pending)."""
        with self._read_lock:
            row = self._reader.execute(
                "SELECT MIN(MAX(next_attempt_at, COALESCE(lease_until, 0))) FROM calls "
                "WHERE state = 'pending'"
            ).fetchone()
        return None if row[0] is None else float(row[0])

    # -- status, parked, replay ---------------------------------------------------------------

    def stats(self, now: float | None = None) -> OutboxStats:
        now = time.time() if now is None else now
        with self._read_lock:
            db = self._reader
            events = db.execute("SELECT COUNT(*) FROM events").fetchone()[0]
            pending, due, oldest = db.execute(
                "SELECT COUNT(*), COALESCE(SUM(next_attempt_at <= ?), 0), MIN(created_at) "
                "FROM calls WHERE state = 'pending'",
                (now,),
            ).fetchone()
            parked = db.execute("SELECT COUNT(*) FROM calls WHERE state = 'parked'").fetchone()[0]
            errors = db.execute("SELECT COUNT(*) FROM template_errors").fetchone()[0]
        age = max(0.0, now - oldest) if oldest is not None else 0.0
        return OutboxStats(events, pending, due, parked, errors, age)

    def parked(self, event_ids: Sequence[str] | None = None) -> list[ParkedItem]:
        """Refused calls and template errors, oldest first."""
        where, params = _event_filter(event_ids)
        with self._read_lock:
            refused = self._reader.execute(
                "SELECT c.id, c.event_id, e.triggered_by, c.template_key, c.reason, c.created_at "
                "FROM calls c JOIN events e USING (event_id) "
                f"WHERE c.state = 'parked' {where.replace('event_id', 'c.event_id')}",
                params,
            ).fetchall()
            failed = self._reader.execute(
                "SELECT t.event_id, e.triggered_by, t.template_key, t.error, t.at "
                "FROM template_errors t JOIN events e USING (event_id) "
                f"WHERE 1 {where.replace('event_id', 't.event_id')}",
                params,
            ).fetchall()
        items = [
            ParkedItem("rejected", r[1], r[2], r[3], r[4] or "", r[5], call_id=r[0])
            for r in refused
        ]
        for event_id, trigger, key, error, at in failed:
            items.append(
                ParkedItem("template_error", event_id, trigger, key, _error_text(error), at)
            )
        items.sort(key=lambda i: (i.at, i.event_id, i.template_key))
        return items

    def requeue_parked(self, event_ids: Sequence[str] | None = None) -> int:
        """Put refused calls back in the queue, due now. Returns how many."""
        where, params = _event_filter(event_ids)
        with self._write() as db:
            cur = db.execute(
                "UPDATE calls SET state = 'pending', next_attempt_at = ?, attempts = 0 "
                f"WHERE state = 'parked' {where}",
                (time.time(), *params),
            )
            return cur.rowcount

    def pending_template_errors(
        self, event_ids: Sequence[str] | None = None
    ) -> list[PendingTemplateError]:
        where, params = _event_filter(event_ids)
        with self._read_lock:
            rows = self._reader.execute(
                "SELECT e.event_id, e.triggered_by, e.body, group_concat(t.template_key, ' ') "
                "FROM events e JOIN template_errors t USING (event_id) "
                f"WHERE 1 {where.replace('event_id', 'e.event_id')} "
                "GROUP BY e.event_id ORDER BY e.received_at",
                params,
            ).fetchall()
        return [
            PendingTemplateError(r[0], r[1], json.loads(r[2] or "{}"), tuple(r[3].split()))
            for r in rows
        ]

    def resolve_template_errors(
        self,
        event_id: str,
        calls: Sequence[StoredCall],
        failures: Sequence[TemplateFailure],
        resolved_keys: Sequence[str],
    ) -> None:
        """After re-rendering: queue the new calls and replace the errors, in one transaction."""
        now = time.time()
        with self._write() as db:
            db.executemany(
                "DELETE FROM template_errors WHERE event_id = ? AND template_key = ?",
                [(event_id, k) for k in resolved_keys],
            )
            db.executemany(_INSERT_CALLS, _call_rows(event_id, calls, now))
            db.executemany(
                "INSERT OR REPLACE INTO template_errors (event_id, template_key, error, at) "
                "VALUES (?, ?, ?, ?)",
                [(event_id, f.template_key, compact_json(f.error), now) for f in failures],
            )
            left = db.execute(
                "SELECT COUNT(*) FROM template_errors WHERE event_id = ?", (event_id,)
            ).fetchone()[0]
            if not left:
                db.execute("UPDATE events SET body = NULL WHERE event_id = ?", (event_id,))

    def prune(self, older_than_seconds: float, now: float | None = None) -> int:
        """Forget de-duplication records older than the window, once nothing refers to them.

        Commerce retries a delivery for hours, not weeks; keeping the ids for days is enough
        and keeps the file small.
        """
        cutoff = (time.time() if now is None else now) - older_than_seconds
        with self._write() as db:
            cur = db.execute(
                "DELETE FROM events WHERE received_at < ? "
                "AND NOT EXISTS (SELECT 1 FROM calls c WHERE c.event_id = events.event_id) "
                "AND NOT EXISTS (SELECT 1 FROM template_errors t "
                "WHERE t.event_id = events.event_id)",
                (cutoff,),
            )
            return cur.rowcount


_INSERT_CALLS = (
    "INSERT INTO calls (event_id, template_key, message_id, call, size, next_attempt_at, "
    "created_at) VALUES (?, ?, ?, ?, ?, ?, ?)"
)


def _known_events(db: sqlite3.Connection, event_ids: Sequence[str]) -> set[str]:
    """Which of ``event_ids`` the outbox has already (in chunks: SQLite caps parameters)."""
    known: set[str] = set()
    unique = list(dict.fromkeys(event_ids))
    for start in range(0, len(unique), 500):
        chunk = unique[start : start + 500]
        marks = ",".join("?" * len(chunk))
        rows = db.execute(f"SELECT event_id FROM events WHERE event_id IN ({marks})", chunk)
        known.update(row[0] for row in rows)
    return known


def _call_rows(
    event_id: str, calls: Iterable[StoredCall], now: float
) -> list[tuple[str, str, str, str, int, float, float]]:
    rows = []
    for c in calls:
        text = c.encoded()
        rows.append((event_id, c.template_key, c.message_id, text, len(text.encode()), now, now))
    return rows


def _event_filter(event_ids: Sequence[str] | None) -> tuple[str, tuple[str, ...]]:
    if event_ids is None:
        return "", ()
    marks = ", ".join("?" for _ in event_ids) or "NULL"
    return f"AND event_id IN ({marks})", tuple(event_ids)


def _error_text(error_json: str) -> str:
    try:
        error = json.loads(error_json)
    except json.JSONDecodeError:
        return error_json
    if not isinstance(error, dict):
        return str(error)
    text = str(error.get("message") or error.get("code") or error_json)
    if error.get("code") and error.get("message"):
        text = f"{error['code']}: {error['message']}"
    if error.get("line") is not None:
        text += f" (line {error['line']}, column {error.get('column')})"
    return text


def _dead_here(owner: str, host: str) -> bool:
    name, _, pid_text = owner.rpartition(":")
    if name != host or not pid_text.isdigit():
        return False
    try:
        os.kill(int(pid_text), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False
