"""Render threads fed by the event loop: every delivery gets its answer, through the commit."""

from __future__ import annotations

import asyncio
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
from segment_desktop.relay.rendering import EventRenderer, TemplateConfig, relay_limits
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
