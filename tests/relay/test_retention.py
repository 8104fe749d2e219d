"""What the outbox keeps of customer data, for how long, and `relay purge`."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from segment_desktop.relay import parked
from segment_desktop.relay.outbox import OUTBOX_FILENAME, Outbox
from segment_desktop.relay.records import EventRecord, NewCall, TemplateFailure
from segment_desktop.relay.retention import DAY, Retention
from tests.relay.helpers import run_cli

EMAIL = "jane.customer@example.com"


def _record(event_id: str, *, failed: bool = False, calls: int = 1) -> EventRecord:
    body = {"id": event_id, "triggered_by": "order.paid", "payload": {"data": {"email": EMAIL}}}
    call = {"type": "identify", "userId": "u", "traits": {"email": EMAIL}, "messageId": event_id}
    failures = [TemplateFailure("order_completed", {"code": "T", "message": "bad"})]
    return EventRecord(
        event_id,
        "order.paid",
        body,
        [NewCall("customer_updated", call) for _ in range(calls)],
        failures if failed else [],
    )


@pytest.fixture
def outbox(tmp_path: Path) -> Iterator[Outbox]:
    box = Outbox.in_dir(tmp_path / "data")
    yield box
    box.close()


def _park_all(outbox: Outbox, now: float) -> None:
    outbox.park([c.id for c in outbox.claim(100, now=now)], "Segment refused it (HTTP 400)")


def _file_bytes(outbox: Outbox) -> bytes:
    folder = outbox.path.parent
    return b"".join(p.read_bytes() for p in sorted(folder.glob(OUTBOX_FILENAME + "*")))


def test_parked_work_older_than_the_retention_is_deleted_with_its_body(outbox: Outbox) -> None:
    outbox.record([_record("old", failed=True)], now=0.0)
    _park_all(outbox, now=0.0)
    outbox.record([_record("new", failed=True)], now=40 * DAY)
    _park_all(outbox, now=40 * DAY)
    outbox.record([_record("waiting")], now=0.0)  # pending: Segment has not taken it yet
    Retention(parked_seconds=30 * DAY).run(outbox, now=41 * DAY)
    items = {(i.kind, i.event_id) for i in parked.parked(outbox)}
    assert items == {("rejected", "new"), ("template_error", "new")}
    assert [p.event_id for p in parked.pending_template_errors(outbox)] == ["new"]
    assert outbox.stats().pending == 1  # what still has to be sent is never expired


def test_purge_by_event_and_age(outbox: Outbox) -> None:
    for n, at in enumerate([0.0, 5 * DAY, 9 * DAY]):
        outbox.record([_record(f"e{n}", failed=True)], now=at)
        _park_all(outbox, now=at)
    purged = parked.purge(outbox, older_than_seconds=2 * DAY, event_ids=["e0", "e2"], now=10 * DAY)
    assert (purged.refused_calls, purged.template_errors) == (1, 1)
    assert {i.event_id for i in parked.parked(outbox)} == {"e1", "e2"}
    everything = parked.purge(outbox)
    assert (everything.refused_calls, everything.template_errors) == (2, 2)
    assert parked.parked(outbox) == []


def test_after_a_purge_no_copy_of_the_customer_data_is_left_in_the_files(
    outbox: Outbox,
) -> None:
    outbox.record([_record(f"e{n}", failed=True) for n in range(50)])
    _park_all(outbox, now=1e12)
    assert EMAIL.encode() in _file_bytes(outbox)
    parked.purge(outbox)
    assert outbox.truncate_wal()
    assert outbox.path.with_name(OUTBOX_FILENAME + "-wal").stat().st_size == 0
    assert EMAIL.encode() not in _file_bytes(outbox)  # overwritten, not only unlinked


def test_sent_calls_leave_no_copy_in_the_wal(outbox: Outbox) -> None:
    outbox.record([_record(f"s{n}") for n in range(20)])
    outbox.acknowledge([c.id for c in outbox.claim(100)])  # Segment took them
    Retention().run(outbox)
    assert EMAIL.encode() not in _file_bytes(outbox)


def test_relay_purge_command(outbox: Outbox, tmp_path: Path) -> None:
    outbox.record([_record("keep", failed=True), _record("drop", failed=True)], now=0.0)
    _park_all(outbox, now=0.0)
    data = str(outbox.path.parent)
    done = run_cli("--data-dir", data, "purge", "--id", "drop", "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"refused_calls": 1, "template_errors": 1}
    done = run_cli("--data-dir", data, "purge", "--older-than", "-1")
    assert done.returncode == 2 and "--older-than" in done.stderr
    done = run_cli("--data-dir", data, "purge")
    assert done.returncode == 0 and "Deleted 1 refused call(s) and 1 template error(s)" in (
        done.stdout
    )
    assert "Calls refused:     0" in run_cli("--data-dir", data, "status").stdout
