"""Coroutines waiting for their record's commit, and the per-settings template lookup."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from segment_desktop.core.config import Config
from segment_desktop.relay import intake
from segment_desktop.relay.intake import GroupCommitter
from segment_desktop.relay.outbox import Outbox
from segment_desktop.relay.records import EventRecord, NewCall
from segment_desktop.relay.rendering import EventRenderer, TemplateConfig


def _record(event_id: str) -> EventRecord:
    call = NewCall("order_completed", {"type": "track", "userId": "u", "messageId": event_id})
    return EventRecord(event_id, "order.paid", {}, [call])


@pytest.fixture
def outbox(tmp_path: Path) -> Iterator[Outbox]:
    box = Outbox(tmp_path / "outbox.sqlite3")
    yield box
    box.close()


def test_waiters_on_the_loop_hear_stored_or_duplicate_only_after_the_commit(
    outbox: Outbox,
) -> None:
    commits: list[int] = []
    committer = GroupCommitter(outbox, on_commit=lambda: commits.append(outbox.stats().pending))

    async def deliver() -> list[bool]:
        ids = [f"e{n}" for n in range(50)] + ["e3", "e7"]  # two repeats: duplicates
        waiters = [committer.submit_async(_record(event_id)) for event_id in ids]
        return list(await asyncio.gather(*waiters))

    try:
        results = asyncio.run(deliver())
    finally:
        committer.close()
    assert results == [True] * 50 + [False, False]
    assert outbox.stats().pending == 50
    assert commits and all(pending > 0 for pending in commits)  # the sender is woken after


def test_a_waiter_that_went_away_leaves_the_others_settled(outbox: Outbox) -> None:
    committer = GroupCommitter(outbox)

    async def deliver() -> list[bool]:
        gone = committer.submit_async(_record("gone"))
        gone.cancel()  # its client hung up: the record is still stored
        waiters = [committer.submit_async(_record(f"e{n}")) for n in range(5)]
        return list(await asyncio.gather(*waiters))

    try:
        assert asyncio.run(deliver()) == [True] * 5
    finally:
        committer.close()
    assert outbox.stats().pending == 6


def test_a_commit_waits_for_the_records_of_bodies_still_to_be_rendered(
    outbox: Outbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(intake, "GATHER_SECONDS", 30.0)
    waiting = [2]
    commits: list[int] = []
    committer = GroupCommitter(outbox, on_commit=lambda: commits.append(outbox.stats().events))
    committer.backlog = lambda: waiting[0]
    try:
        first = committer.submit_nowait(_record("a"))
        time.sleep(0.05)
        assert not first.done()  # two bodies are still to be rendered: their records come
        waiting[0] = 1
        second = committer.submit_nowait(_record("b"))
        time.sleep(0.05)
        assert not first.done() and not second.done()
        waiting[0] = 0
        third = committer.submit_nowait(_record("c"))
        assert [f.result(timeout=10) for f in (first, second, third)] == [True] * 3
    finally:
        committer.close()
    assert commits == [3]  # one transaction, one fsync


def test_a_commit_waits_for_more_records_a_bounded_time_only(outbox: Outbox) -> None:
    committer = GroupCommitter(outbox)
    committer.backlog = lambda: 1  # bodies always waiting: a relay under constant load
    try:
        started = time.monotonic()
        assert committer.submit_nowait(_record("a")).result(timeout=10)
        assert time.monotonic() - started < 5
        assert committer.submit_nowait(_record("a")).result(timeout=10) is False
    finally:
        committer.close()


def test_the_templates_of_an_event_follow_the_settings() -> None:
    chosen = dict(Config.default().chosen_events())
    renderer = EventRenderer(TemplateConfig(chosen))
    key = next(k for k, event in chosen.items() if event == "order.paid")
    assert key in renderer.keys_for("order.paid")
    assert renderer.keys_for("order.paid") == renderer.keys_for("order.paid")
    renderer.update(TemplateConfig({k: e for k, e in chosen.items() if k != key}))
    assert key not in renderer.keys_for("order.paid")
    assert renderer.keys_for("no.such.event") == ()
