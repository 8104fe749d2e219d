"""One webhook body → what the outbox stores, the raw-JSON way (jlens) and the parsed way alike."""

from __future__ import annotations

import json
from typing import Any

import pytest

from segment_desktop.core.config import Config
from segment_desktop.core.envelope import parse_event_text
from segment_desktop.core.render import Renderer
from segment_desktop.core.samples import list_samples
from segment_desktop.relay.rendering import (
    EventRenderer,
    Ignored,
    Refused,
    RenderedBody,
    TemplateConfig,
    relay_limits,
    render_body,
)


def _renderer(overrides: dict[str, str] | None = None) -> EventRenderer:
    config = Config.default()
    templates = TemplateConfig(dict(config.chosen_events()), overrides or {})
    return EventRenderer(templates, Renderer("jlens", limits=relay_limits()))


def _parsed_way(renderer: EventRenderer, body: bytes) -> object:
    renderer.render_json = lambda *args, **kw: None  # type: ignore[method-assign]
    return render_body(renderer, body)


@pytest.mark.parametrize("sample", list_samples(), ids=lambda s: s.name)
def test_the_raw_json_way_stores_what_the_parsed_way_stores(sample: object) -> None:
    body = sample.text().encode()  # type: ignore[attr-defined]
    renderer = _renderer()
    fast = renderer.render_json(body)
    slow = _parsed_way(_renderer(), body)
    if isinstance(slow, Ignored):
        assert fast == slow
        return
    assert isinstance(fast, RenderedBody) and isinstance(slow, RenderedBody)
    assert fast == slow
    assert fast.calls and fast.body is None


def test_a_template_error_keeps_the_whole_body_for_replay() -> None:
    """The raw way holds no Python copy of the body: a failure parses it, to keep it for replay,
    without rendering the templates again."""
    body = list_samples("order.paid")[0].text().encode()
    renderer = _renderer({"order_completed": '$error("no such product")'})
    outcome = renderer.render_json(body)
    assert isinstance(outcome, RenderedBody)
    assert [f.template_key for f in outcome.failures] == ["order_completed"]
    assert "no such product" in json.dumps(outcome.failures[0].error)
    assert outcome.body == parse_event_text(body).body
    assert outcome == _parsed_way(_renderer({"order_completed": '$error("no such product")'}), body)


def test_a_failing_template_is_rendered_once() -> None:
    calls: list[int] = []
    renderer = _renderer({"order_completed": "$error('x')"})
    real = renderer.renderer.render

    def counting(*args: Any, **kw: Any) -> Any:
        calls.append(1)
        return real(*args, **kw)

    renderer.renderer.render = counting  # type: ignore[method-assign]
    outcome = render_body(renderer, list_samples("order.paid")[0].text().encode())
    assert isinstance(outcome, RenderedBody) and outcome.failures
    assert len(calls) == 1


@pytest.mark.parametrize("body", [b"{not json", b"[1]", b'{"id": "\xc3\x28"}', b"\xef\xbb\xbf{"])
def test_what_the_raw_way_declines_is_refused_with_the_parsers_words(body: bytes) -> None:
    renderer = _renderer()
    assert renderer.render_json(body) is None
    assert isinstance(render_body(renderer, body), Refused)


def test_updates_at_once_reach_listeners_in_the_order_they_were_applied() -> None:
    """A slow listener (a render pool restarting) must not let a later update overtake it."""
    import threading
    import time

    renderer = _renderer()
    heard: list[str] = []

    def listener(templates: TemplateConfig) -> None:
        if templates.overrides.get("order_completed") == "first":
            time.sleep(0.2)
        heard.append(templates.overrides["order_completed"])

    renderer.on_update(listener)
    chosen = dict(Config.default().chosen_events())
    first = threading.Thread(
        target=renderer.update, args=(TemplateConfig(chosen, {"order_completed": "first"}),)
    )
    first.start()
    time.sleep(0.05)
    renderer.update(TemplateConfig(chosen, {"order_completed": "second"}))
    first.join()
    assert heard == ["first", "second"]
    assert renderer.templates.overrides["order_completed"] == "second"
