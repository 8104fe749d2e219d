"""The outbox on a real SQLite file: de-duplication, atomic records, leases, parking, replay."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from segment_desktop.core.errors import ConfigError
from segment_desktop.relay import outbox as outbox_module
from segment_desktop.relay import parked as parked_work
from segment_desktop.relay.outbox import Outbox, default_owner
from segment_desktop.relay.records import EventRecord, NewCall, TemplateFailure


def _call(n: int) -> NewCall:
    return NewCall("order_completed", {"type": "track", "userId": "u", "messageId": f"m-{n}"})


def _record(event_id: str, calls: int = 1, failures: int = 0) -> EventRecord:
    return EventRecord(
        event_id,
        "order.paid",
        {"id": event_id, "triggered_by": "order.paid", "payload": {"data": {}}},
        [_call(i) for i in range(calls)],
        [TemplateFailure(f"t{i}", {"code": "T1", "message": "bad"}) for i in range(failures)],
    )


def _stored_ids(outbox: Outbox) -> set[str]:
    """The event ids the outbox file holds, read with a connection of the test's own."""
    with sqlite3.connect(f"file:{outbox.path}?mode=ro", uri=True) as db:
        return {row[0] for row in db.execute("SELECT event_id FROM events")}


@pytest.fixture
def outbox(tmp_path: Path) -> Iterator[Outbox]:
    box = Outbox.in_dir(tmp_path)
    yield box
    box.close()


def test_wal_and_full_sync(outbox: Outbox) -> None:
    db = sqlite3.connect(outbox.path)
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert outbox._db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    db.close()


def test_duplicate_event_stores_nothing_more(outbox: Outbox) -> None:
    assert outbox.record([_record("e1", calls=2)]) == [True]
    assert outbox.record([_record("e1", calls=5)]) == [False]
    assert _stored_ids(outbox) == {"e1"}
    assert outbox.stats().pending == 2


def test_duplicates_within_one_group(outbox: Outbox) -> None:
    assert outbox.record([_record("a"), _record("b"), _record("a", calls=3)]) == [
        True,
        True,
        False,
    ]
    assert outbox.stats().pending == 2


def test_a_large_group_with_known_events_among_them(outbox: Outbox) -> None:
    """More ids than SQLite takes as parameters at once, some stored before."""
    assert outbox.record([_record(f"e{n}") for n in range(0, 1200, 3)]) == [True] * 400
    group = [_record(f"e{n}", failures=1 if n == 7 else 0) for n in range(1200)]
    assert outbox.record(group) == [n % 3 != 0 for n in range(1200)]
    assert outbox.stats().pending == 1200
    assert outbox.stats().template_errors == 1


def test_a_failing_group_writes_nothing(outbox: Outbox) -> None:
    bad = EventRecord("bad", "order.paid", {}, [NewCall("k", {"x": {1, 2}})])  # not JSON
    with pytest.raises(TypeError):
        outbox.record([_record("good"), bad])
    assert _stored_ids(outbox) == set()
    assert outbox.stats().pending == 0


def test_claim_leases_and_acknowledge_deletes(outbox: Outbox, tmp_path: Path) -> None:
    outbox.record([_record("e1", calls=3)])
    first = outbox.claim(2)
    assert [c.message_id for c in first] == ["m-0", "m-1"]
    other = Outbox.in_dir(tmp_path, owner="elsewhere:1")
    assert [c.message_id for c in other.claim(10)] == ["m-2"]  # leased ones are not offered
    other.close()
    outbox.acknowledge([c.id for c in first])
    assert outbox.stats().pending == 1


def test_retry_later_and_next_due(outbox: Outbox) -> None:
    outbox.record([_record("e1")], now=1000.0)
    (call,) = outbox.claim(10, now=1000.0)
    outbox.retry_later([call.id], at=2000.0, reason="503")
    assert outbox.claim(10, now=1500.0) == []
    assert outbox.next_due_at() == 2000.0
    (again,) = outbox.claim(10, now=2000.0)
    assert again.attempts == 1


def test_claims_take_the_calls_due_longest_first_without_sorting_the_queue(
    outbox: Outbox,
) -> None:
    outbox.record([_record("early", calls=2)], now=1000.0)
    outbox.record([_record("late")], now=1100.0)
    retried = outbox.claim(1, now=1000.0)
    outbox.retry_later([c.id for c in retried], at=1200.0, reason="503")
    taken = [(c.event_id, c.message_id) for c in outbox.claim(10, now=1300.0)]
    # the retried call became due at 1200, after the late event's at 1100
    assert taken == [("early", "m-1"), ("late", "m-0"), ("early", "m-0")]
    # SQLite reads the leased rows off the calls_due index: no sort of the whole queue
    query = "EXPLAIN QUERY PLAN " + outbox_module._CLAIM
    plan = " ".join(str(row[-1]) for row in outbox._db.execute(query, (0, 0, 10)))
    assert "calls_due" in plan and "TEMP B-TREE" not in plan


def test_park_and_requeue(outbox: Outbox) -> None:
    outbox.record([_record("e1"), _record("e2")])
    calls = outbox.claim(10)
    outbox.park([calls[0].id], "Segment refused the call (HTTP 404): Not Found")
    stats = outbox.stats()
    assert (stats.pending, stats.parked) == (1, 1)
    (item,) = parked_work.parked(outbox)
    assert (item.kind, item.event_id, item.template_key) == ("rejected", "e1", "order_completed")
    assert "HTTP 404" in item.reason
    assert parked_work.requeue_parked(outbox, ["e2"]) == 0
    assert parked_work.requeue_parked(outbox, ["e1"]) == 1
    assert outbox.stats().parked == 0


def test_template_errors_keep_the_body_until_resolved(outbox: Outbox) -> None:
    outbox.record([_record("e1", calls=1, failures=2), _record("e2")])
    (pending,) = parked_work.pending_template_errors(outbox)
    assert pending.template_keys == ("t0", "t1")
    assert pending.body["id"] == "e1"
    items = [i for i in parked_work.parked(outbox) if i.kind == "template_error"]
    assert [i.reason for i in items] == ["T1: bad", "T1: bad"]
    parked_work.resolve_template_errors(outbox, "e1", [_call(9)], [], ["t0"])
    assert parked_work.pending_template_errors(outbox)[0].template_keys == ("t1",)
    parked_work.resolve_template_errors(outbox, "e1", [], [], ["t1"])
    assert parked_work.pending_template_errors(outbox) == []
    body = outbox._db.execute("SELECT body FROM events WHERE event_id='e1'").fetchone()[0]
    assert body is None  # no longer needed: not kept
    assert outbox.stats().pending == 3


def test_body_not_kept_without_template_error(outbox: Outbox) -> None:
    outbox.record([_record("e1")])
    assert outbox._db.execute("SELECT body FROM events").fetchone()[0] is None


def test_prune_keeps_recent_and_referenced(outbox: Outbox) -> None:
    outbox.record([_record("old-done", calls=0)], now=0.0)
    outbox.record([_record("old-pending")], now=0.0)
    outbox.record([_record("recent", calls=0)], now=10_000.0)
    assert outbox.prune(5_000, now=10_000.0) == 1
    assert _stored_ids(outbox) == {"old-pending", "recent"}


def test_dead_owner_leases_are_freed(tmp_path: Path) -> None:
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    host = default_owner().rpartition(":")[0]
    crashed = Outbox.in_dir(tmp_path, owner=f"{host}:{dead.stdout.strip()}")
    crashed.record([_record("e1", calls=2)])
    assert len(crashed.claim(10)) == 2
    crashed.close()
    alive_elsewhere = Outbox.in_dir(tmp_path, owner=f"{host}:{os.getpid()}")
    assert alive_elsewhere.claim(10) == []  # still leased
    assert alive_elsewhere.release_dead_leases() == 2
    assert len(alive_elsewhere.claim(10)) == 2
    alive_elsewhere.close()


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    Outbox.in_dir(tmp_path).close()
    db = sqlite3.connect(tmp_path / "relay-outbox.sqlite3")
    db.execute("PRAGMA user_version=99")
    db.close()
    with pytest.raises(ConfigError, match="newer version"):
        Outbox.in_dir(tmp_path)


def test_read_only_view(tmp_path: Path, outbox: Outbox) -> None:
    outbox.record([_record("e1", calls=2)])
    view = Outbox(outbox.path, read_only=True)
    assert view.stats().pending == 2
    with pytest.raises(sqlite3.OperationalError):
        view.acknowledge([1])
    view.close()
    stored = json.loads(outbox._db.execute("SELECT call FROM calls LIMIT 1").fetchone()[0])
    assert stored["messageId"] == "m-0"


def test_writers_of_one_process_take_turns_without_sqlites_busy_handler(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The intake's and the sender's connections share one lock: neither ever finds the other
    holding SQLite's write lock (which would mean waiting in steps instead of in turn)."""
    busy: list[sqlite3.OperationalError] = []
    is_busy = outbox_module._is_busy

    def counted(err: sqlite3.OperationalError) -> bool:
        busy.append(err)
        return is_busy(err)

    monkeypatch.setattr(outbox_module, "_is_busy", counted)
    intake = Outbox.in_dir(tmp_path)
    sender = Outbox.in_dir(tmp_path, synchronous="NORMAL")
    errors: list[BaseException] = []

    def write(box: Outbox, prefix: str) -> None:
        try:
            for n in range(150):
                box.record([_record(f"{prefix}-{n}")])
                box.claim(5, lease_seconds=60)
        except BaseException as err:  # reported below
            errors.append(err)

    threads = [
        threading.Thread(target=write, args=(box, name))
        for box, name in ((intake, "a"), (sender, "b"), (intake, "c"), (sender, "d"))
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    try:
        assert errors == []
        assert busy == []
        assert intake.stats().events == 600
    finally:
        intake.close()
        sender.close()


def test_a_writer_waits_for_another_process_then_writes(tmp_path: Path) -> None:
    outbox = Outbox.in_dir(tmp_path)
    other = sqlite3.connect(outbox.path, isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")  # another relay, mid-commit
    other.execute("INSERT INTO events VALUES ('theirs', 'order.paid', 0, NULL)")
    releaser = threading.Timer(0.3, lambda: other.execute("COMMIT"))
    releaser.start()
    try:
        assert outbox.record([_record("ours")]) == [True]  # waited for their commit
        assert _stored_ids(outbox) == {"theirs", "ours"}
    finally:
        releaser.join()
        other.close()
        outbox.close()


def test_a_writer_gives_up_on_a_lock_held_too_long(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(outbox_module, "LOCK_WAIT_SECONDS", 0.2)
    outbox = Outbox.in_dir(tmp_path)
    other = sqlite3.connect(outbox.path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        started = time.monotonic()
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            outbox.record([_record("e1")])
        # our bound, not SQLite's busy handler's 10 s
        assert time.monotonic() - started < 5
        other.execute("ROLLBACK")
        assert outbox.record([_record("e1")]) == [True]  # nothing half-done was left behind
    finally:
        other.close()
        outbox.close()


def test_only_the_checkpointing_connection_checkpoints_and_without_the_write_lock(
    tmp_path: Path,
) -> None:
    intake = Outbox.in_dir(tmp_path, checkpoint=False)
    sender = Outbox.in_dir(tmp_path, synchronous="NORMAL")
    try:
        for box in (intake, sender):  # SQLite's own checkpoint would run inside a commit
            assert box._db.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 0
        for n in range(50):
            intake.record([_record(f"e{n}")])
        size = intake.path.stat().st_size  # the events are still in the WAL only
        later = time.monotonic() + 60
        assert not intake.checkpoint_if_due(later)
        done: list[bool] = []
        with intake._lock:  # the intake mid-commit: the checkpoint does not wait for it
            worker = threading.Thread(target=lambda: done.append(sender.checkpoint_if_due(later)))
            worker.start()
            worker.join(10)
        assert done == [True]
        assert intake.path.stat().st_size > size  # copied into the database file
        assert not sender.checkpoint_if_due(later)  # not due again yet
    finally:
        intake.close()
        sender.close()
