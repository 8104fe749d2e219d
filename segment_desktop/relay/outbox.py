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

The file holds customer data (names, addresses in order bodies): its folder is private to the
user (0700) and the file, with its ``-wal`` and ``-shm``, readable by the user only (0600).
Deleted rows are overwritten (``secure_delete``), and the WAL, which keeps copies of
acknowledged calls until a checkpoint, is truncated by :meth:`Outbox.truncate_wal`.
Parked work is read and changed by :mod:`segment_desktop.relay.parked`.
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
from pathlib import Path
from typing import Any

from segment_desktop.core.jsontext import compact_json
from segment_desktop.relay.datadir import outbox_unusable, secure_dir, secure_files
from segment_desktop.relay.records import EventRecord, OutboxCall, OutboxStats, StoredCall

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


_SYNCHRONOUS = {"FULL": "PRAGMA synchronous=FULL", "NORMAL": "PRAGMA synchronous=NORMAL"}
_SET_VERSION = f"PRAGMA user_version={SCHEMA_VERSION}"

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
    sleeps 1, 2, 5, 10, … 100 ms between tries, far longer than a transaction here holds the
    lock. A relay writes through two connections (the intake's, the sender's); queued on one
    lock of our own, the next writer starts as soon as the last one is done.
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
        """Open (and create, unless ``read_only``) the outbox at ``path``.

        Raises ``ConfigError`` naming the folder when it cannot be created or written.
        """
        try:
            self._open(path, owner, read_only, synchronous, checkpoint)
        except (sqlite3.Error, OSError) as err:
            raise outbox_unusable(path, err) from None

    def _open(
        self, path: Path, owner: str | None, read_only: bool, synchronous: str, checkpoint: bool
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
            if synchronous not in _SYNCHRONOUS:
                raise ValueError("synchronous is FULL or NORMAL")
            secure_dir(path.parent)
            secure_files(path)  # SQLite gives -wal and -shm the main file's permissions
            self._db = sqlite3.connect(
                str(path), check_same_thread=False, timeout=10, isolation_level=None
            )
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute(_SYNCHRONOUS[synchronous])
            self._db.execute("PRAGMA secure_delete=ON")
            self._db.execute("PRAGMA wal_autocheckpoint=0")  # see checkpoint_if_due
            with self.writing() as db:
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
                db.execute(_SET_VERSION)
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

    def truncate_wal(self) -> bool:
        """Copy the whole WAL into the database and empty it, so that no copy of a deleted
        (sent, purged) row stays in it. False when a reader or writer kept it from finishing
        (the next call tries again)."""
        with self._db_lock:
            busy = self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]
        return not busy

    @contextmanager
    def writing(self) -> Iterator[sqlite3.Connection]:
        """A write transaction on this connection, in turn with this process's other writers."""
        with self._db_lock, self._lock, self._transaction() as db:
            yield db

    @contextmanager
    def reading(self) -> Iterator[sqlite3.Connection]:
        """The reading connection (in WAL mode it never waits for a writer's fsync)."""
        with self._read_lock:
            yield self._reader

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

    def record(self, records: Sequence[EventRecord], now: float | None = None) -> list[bool]:
        """Store events with their calls and failures in ONE transaction.

        Returns, per record, True when stored and False when the event id was already
        there (a duplicate: nothing of it is written).
        """
        now = time.time() if now is None else now
        stored: list[bool] = []
        # A few statements per group rather than per event: each one releases and takes back
        # the GIL, which costs more than the statement when render threads are busy.
        with self.writing() as db:
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
                calls.extend(call_rows(rec.event_id, rec.calls, now))
                failures.extend(
                    (rec.event_id, f.template_key, compact_json(f.error), now) for f in rec.failures
                )
            db.executemany(
                "INSERT INTO events (event_id, triggered_by, received_at, body) "
                "VALUES (?, ?, ?, ?)",
                events,
            )
            db.executemany(INSERT_CALLS, calls)
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
        sorting every due call first while it holds the write lock (a queue grows to tens of
        thousands of calls during a Segment outage).
        """
        now = time.time() if now is None else now
        with self.writing() as db:
            rows = db.execute(_CLAIM, (now, now, limit)).fetchall()
            db.execute(
                f"UPDATE calls SET lease_owner = ?, lease_until = ? WHERE {_IDS}",
                (self.owner, now + lease_seconds, _id_list(r[0] for r in rows)),
            )
        return [OutboxCall(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7]) for r in rows]

    def acknowledge(self, ids: Sequence[int]) -> None:
        """Segment accepted these calls: forget them."""
        with self.writing() as db:
            db.execute(f"DELETE FROM calls WHERE {_IDS}", (_id_list(ids),))

    def park(self, ids: Sequence[int], reason: str) -> None:
        """Segment refused these calls for good: keep them, with the reason, for the user."""
        with self.writing() as db:
            db.execute(
                "UPDATE calls SET state = 'parked', reason = ?, attempts = attempts + 1, "
                f"lease_owner = NULL, lease_until = NULL WHERE {_IDS}",
                (reason, _id_list(ids)),
            )

    def retry_later(self, ids: Sequence[int], at: float, reason: str) -> None:
        """Sending failed for now: try again at ``at``."""
        with self.writing() as db:
            db.execute(
                "UPDATE calls SET attempts = attempts + 1, next_attempt_at = ?, reason = ?, "
                f"lease_owner = NULL, lease_until = NULL WHERE {_IDS}",
                (at, reason, _id_list(ids)),
            )

    def release(self, ids: Sequence[int]) -> None:
        """Give leased calls back untouched (shutting down before sending them)."""
        with self.writing() as db:
            db.execute(
                f"UPDATE calls SET lease_owner = NULL, lease_until = NULL WHERE {_IDS}",
                (_id_list(ids),),
            )

    def release_dead_leases(self) -> int:
        """Free leases held by processes of this host that no longer run (killed relays)."""
        host = socket.gethostname()
        with self.writing() as db:
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
        with self.reading() as db:
            row = db.execute(
                "SELECT MIN(MAX(next_attempt_at, COALESCE(lease_until, 0))) FROM calls "
                "WHERE state = 'pending'"
            ).fetchone()
        return None if row[0] is None else float(row[0])

    # -- status -------------------------------------------------------------------------------

    def stats(self, now: float | None = None) -> OutboxStats:
        now = time.time() if now is None else now
        with self.reading() as db:
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

    def prune(self, older_than_seconds: float, now: float | None = None) -> int:
        """Forget de-duplication records older than the window, once nothing refers to them.

        Commerce retries a delivery for hours, not weeks; keeping the ids for days is enough
        and keeps the file small.
        """
        cutoff = (time.time() if now is None else now) - older_than_seconds
        with self.writing() as db:
            cur = db.execute(
                "DELETE FROM events WHERE received_at < ? "
                "AND NOT EXISTS (SELECT 1 FROM calls c WHERE c.event_id = events.event_id) "
                "AND NOT EXISTS (SELECT 1 FROM template_errors t "
                "WHERE t.event_id = events.event_id)",
                (cutoff,),
            )
            return cur.rowcount


INSERT_CALLS = (
    "INSERT INTO calls (event_id, template_key, message_id, call, size, next_attempt_at, "
    "created_at) VALUES (?, ?, ?, ?, ?, ?, ?)"
)


#: The calls whose ids one JSON array parameter lists: one statement for any number of calls,
#: where ``executemany`` steps once per id and hands the GIL over at every step.
_IDS = "id IN (SELECT value FROM json_each(?))"


def _id_list(ids: Iterable[int]) -> str:
    return json.dumps([int(i) for i in ids])


def _known_events(db: sqlite3.Connection, event_ids: Sequence[str]) -> set[str]:
    """Which of ``event_ids`` the outbox has already (the ids travel as one JSON parameter)."""
    rows = db.execute(
        "SELECT event_id FROM events WHERE event_id IN (SELECT value FROM json_each(?))",
        (json.dumps(list(event_ids)),),
    )
    return {row[0] for row in rows}


def call_rows(
    event_id: str, calls: Iterable[StoredCall], now: float
) -> list[tuple[str, str, str, str, int, float, float]]:
    rows = []
    for c in calls:
        text = c.encoded()
        rows.append((event_id, c.template_key, c.message_id, text, len(text.encode()), now, now))
    return rows


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
