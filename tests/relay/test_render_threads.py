"""Render threads fed by the event loop: every delivery gets its answer, through the commit."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from segment_desktop.core.config import Config
from segment_desktop.core.errors import EventError
from segment_desktop.core.render import Renderer
from segment_desktop.relay.intake import Accepted, Intake, RenderUnavailable
from segment_desktop.relay.metrics import Metrics
from segment_desktop.relay.outbox import Outbox
from segment_desktop.relay.render_threads import RenderThreads
from segment_desktop.relay.rendering import (
    EventRenderer,
    Outcome,
    TemplateConfig,
    relay_limits,
    render_body,
)
from tests.relay.helpers import sample_body


@pytest.fixture
def outbox(tmp_path: Path) -> Iterator[Outbox]:
    box = Outbox(tmp_path / "outbox.sqlite3")
    yield box
    box.close()


def _threads(outbox: Outbox, metrics: Metrics) -> tuple[RenderThreads, Intake]:
    templates = TemplateConfig.from_config(Config.default())
    renderer = EventRenderer(templates, Renderer(limits=relay_limits()))
    intake = Intake(outbox, renderer, metrics)
    return RenderThreads(renderer, intake, metrics, count=2), intake


def test_each_delivery_hears_its_own_answer_once_its_record_is_committed(outbox: Outbox) -> None:
    metrics = Metrics()
    threads, intake = _threads(outbox, metrics)
    paid = [sample_body("order.paid", f"paid-{n}") for n in range(40)]
    bodies = [*paid, paid[3], sample_body("order.fulfilled", "not-tracked"), b'{"id": 1}']

    async def deliver() -> list[object]:
        deliveries = [threads.submit(body) for body in bodies]
        answers: list[object] = []
        stored = 0
        for delivery in deliveries:
            try:
                answer = await delivery.future
            except EventError as err:
                answers.append(err)
                continue
            if isinstance(answer, Accepted):
                answers.append(answer)
                continue
            assert delivery.record is not None
            stored += answer
            assert outbox.stats().events >= stored  # told only once its record is on disk
            answers.append(intake.answer(delivery.record, answer))
        return answers

    try:
        answers = asyncio.run(deliver())
    finally:
        threads.close()
        intake.close()
    statuses = [a.status if isinstance(a, Accepted) else "refused" for a in answers]
    assert statuses == ["queued"] * 40 + ["duplicate", "ignored", "refused"]
    queued = [a for a in answers[:40] if isinstance(a, Accepted)]
    assert [a.event_id for a in queued] == [f"paid-{n}" for n in range(40)]
    assert all(a.calls == 1 for a in queued)
    assert outbox.stats().events == 40 and outbox.stats().pending == 40
    assert metrics.get("received") == 42 and metrics.get("ignored") == 1
    assert metrics.histogram("render")[0] == len(bodies)


def test_what_is_queued_when_closing_is_still_rendered_and_nothing_after(outbox: Outbox) -> None:
    threads, intake = _threads(outbox, Metrics())

    async def deliver() -> bool:
        deliveries = [threads.submit(sample_body("order.paid", f"e{n}")) for n in range(10)]
        await asyncio.get_running_loop().run_in_executor(None, threads.close)
        with pytest.raises(RenderUnavailable, match="stopping"):
            threads.submit(sample_body("order.paid", "late"))
        return all([await d.future for d in deliveries])

    try:
        assert asyncio.run(deliver())
    finally:
        intake.close()
    assert outbox.stats().events == 10


def test_a_feeding_thread_hands_on_what_queued_meanwhile_as_one_batch(outbox: Outbox) -> None:
    """What arrives while a batch is out goes as the next batch (up to its size), and every
    body of a batch gets its own answer, a failed one included."""
    metrics = Metrics()
    templates = TemplateConfig.from_config(Config.default())
    renderer = EventRenderer(templates, Renderer(limits=relay_limits()))
    intake = Intake(outbox, renderer, metrics)
    first_out, go_on = threading.Event(), threading.Event()
    batches: list[list[bytes]] = []

    def render_batch(bodies: list[bytes]) -> list[Outcome | BaseException]:
        batches.append(bodies)
        first_out.set()
        go_on.wait(10)
        return [
            RenderUnavailable("gone") if body.startswith(b"x") else render_body(renderer, body)
            for body in bodies
        ]

    threads = RenderThreads(renderer, intake, metrics, count=1, render_batch=render_batch, batch=4)
    bodies = [sample_body("order.paid", f"b{n}") for n in range(10)]
    bodies[5] = b"x: a body its render process lost"

    async def deliver() -> list[object]:
        deliveries = [threads.submit(bodies[0])]
        await asyncio.get_running_loop().run_in_executor(None, first_out.wait, 10)
        deliveries += [threads.submit(body) for body in bodies[1:]]
        go_on.set()
        return list(await asyncio.gather(*(d.future for d in deliveries), return_exceptions=True))

    try:
        answers = asyncio.run(deliver())
    finally:
        go_on.set()
        threads.close()
        intake.close()
    assert [len(b) for b in batches] == [1, 4, 4, 1]
    assert [body for batch in batches for body in batch] == bodies
    assert [type(a).__name__ for a in answers] == ["bool"] * 5 + ["RenderUnavailable"] + [
        "bool"
    ] * 4
    assert all(a is True for a in answers if isinstance(a, bool))
    assert outbox.stats().events == 9
    assert metrics.histogram("render")[0] == len(bodies)
