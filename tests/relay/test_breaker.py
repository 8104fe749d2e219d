"""A template that keeps timing out is suspended, so it cannot hold every render thread."""

from __future__ import annotations

import time

from segment_desktop.core.engine import Limits
from segment_desktop.core.envelope import parse_event_text
from segment_desktop.core.render import Renderer
from segment_desktop.relay.breaker import SUSPENDED, TimeoutBreaker
from segment_desktop.relay.rendering import EventRenderer, TemplateConfig
from tests.relay.helpers import ONE_CALL, RUNAWAY, sample_body


def _renderer(overrides: dict[str, str]) -> EventRenderer:
    templates = TemplateConfig(
        {"customer_created": "customer.created", "order_completed": "order.paid"}, overrides
    )
    renderer = EventRenderer(templates, Renderer(limits=Limits(timeout_s=0.2)))
    renderer.breaker = TimeoutBreaker(strikes=3, pause_seconds=0.5)
    return renderer


def test_after_three_timeouts_a_template_fails_at_once_then_is_tried_again() -> None:
    renderer = _renderer({"customer_created": RUNAWAY})
    event = parse_event_text(sample_body("customer.created", "evt-loop"))
    for _ in range(3):
        (failure,) = renderer.render(event).failures
        assert failure.error["code"] in {"D1011", "D1012"}
    started = time.perf_counter()
    (failure,) = renderer.render(event).failures
    assert time.perf_counter() - started < 0.1  # no render thread held
    assert failure.error["code"] == SUSPENDED and "relay replay" in failure.error["message"]
    order = parse_event_text(sample_body("order.paid", "evt-other"))
    assert len(renderer.render(order).calls) >= 1  # other templates render as before

    time.sleep(0.6)  # the pause is over: one render tries it again
    (failure,) = renderer.render(event).failures
    assert failure.error["code"] in {"D1011", "D1012"}
    (failure,) = renderer.render(event).failures
    assert failure.error["code"] == SUSPENDED  # timed out again: suspended again at once


def test_a_fixed_template_starts_with_a_clean_record() -> None:
    renderer = _renderer({"customer_created": RUNAWAY})
    event = parse_event_text(sample_body("customer.created", "evt-fixed"))
    for _ in range(4):
        renderer.render(event)
    renderer.update(
        TemplateConfig({"customer_created": "customer.created"}, {"customer_created": ONE_CALL})
    )
    rendered = renderer.render(event)
    assert rendered.failures == [] and len(rendered.calls) == 1
