"""Preparing an event straight from its webhook body (jlens) gives what parsing it first gives."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from segment_desktop.core.envelope import ENVELOPE_PROBE, event_from_probe, parse_event_text
from segment_desktop.core.events import TEMPLATES as SPECS
from segment_desktop.core.messages import event_timestamp
from segment_desktop.core.render import Renderer
from segment_desktop.core.samples import list_samples
from segment_desktop.core.templates import TemplateSet

TEMPLATES = TemplateSet()
ALL_TEXTS = [TEMPLATES.text(spec.key) for spec in SPECS]
NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def _chosen(trigger: str) -> dict[str, str]:
    """Every template that can track ``trigger``, tracking it."""
    return {spec.key: trigger for spec in SPECS if trigger in spec.choices}


def _calls_both_ways(renderer: Renderer, text: str) -> tuple[list[Any], list[Any]]:
    prepared = renderer.prepare_json(text, ALL_TEXTS)
    assert prepared is not None, "a plain Commerce event takes the raw-JSON way"
    event = parse_event_text(text)
    chosen = _chosen(event.triggered_by)
    fast = renderer.render_event(prepared.event, TEMPLATES, chosen, NOW, prepared=prepared)
    slow = renderer.render_event(event, TEMPLATES, chosen, NOW)
    assert not fast.errors and not slow.errors
    assert slow.calls or event.triggered_by.startswith("customer.deleted")
    return fast.calls, slow.calls


@pytest.mark.parametrize("sample", list_samples(), ids=lambda s: s.name)
def test_every_sample_renders_the_same_from_its_raw_json(sample: Any) -> None:
    fast, slow = _calls_both_ways(Renderer("jlens"), sample.text())
    assert fast == slow


@pytest.mark.parametrize("sample", list_samples(), ids=lambda s: s.name)
def test_the_envelope_read_by_the_probe_matches_the_parsed_event(sample: Any) -> None:
    renderer = Renderer("jlens")
    prepared = renderer.prepare_json(sample.text(), ALL_TEXTS)
    assert prepared is not None
    light, event = prepared.event, parse_event_text(sample.text())
    assert light.envelope_only and not event.envelope_only
    assert (light.id, light.triggered_by, light.attempt) == (
        event.id,
        event.triggered_by,
        event.attempt,
    )
    assert event_timestamp(light, NOW) == event_timestamp(event, NOW)


def _body(**change: Any) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(list_samples("order.paid")[0].text())
    body.update(change)
    return body


@pytest.mark.parametrize(
    "text",
    [
        pytest.param(json.dumps([_body()]), id="an array of events"),
        pytest.param("\ufeff" + json.dumps(_body()), id="a byte-order mark"),
        pytest.param(json.dumps(_body(id="ev-\ud800")), id="a lone surrogate"),
        pytest.param(json.dumps(_body(id=12)), id="a numeric id"),
        pytest.param(json.dumps(_body(triggered_by="paid")), id="no dot in triggered_by"),
        pytest.param(json.dumps(_body(payload="{}")), id="payload as text"),
        pytest.param(json.dumps(_body())[:-1], id="cut short"),
    ],
)
def test_anything_but_a_plain_event_is_left_to_the_parser(text: str) -> None:
    """The parser words the error, or repairs what it can: the raw way declines."""
    assert Renderer("jlens").prepare_json(text, ALL_TEXTS) is None


def test_a_delivery_with_only_resources_is_left_to_the_parser() -> None:
    body = _body()
    body["resources"] = json.dumps(body.pop("payload"))
    text = json.dumps(body)
    assert Renderer("jlens").prepare_json(text, ALL_TEXTS) is None
    assert parse_event_text(text).payload  # the parser fills payload in from resources


def test_templates_reading_what_is_kept_from_them_get_the_parser_way() -> None:
    """``configuration`` (the webhook secret) is never template input: a template that reads it
    must see it missing, as the parsed way shows it."""
    renderer = Renderer("jlens")
    text = json.dumps(_body(configuration={"secret_key": "s3cret"}))
    assert renderer.prepare_json(text, ['{"type": "track", "x": configuration}']) is None
    assert renderer.prepare_json(text, ['{"type": "track", "x": $}']) is None
    assert renderer.prepare_json(text, ['{"type": "track", "x": id}']) is not None


def test_jsonata_python_always_takes_the_parser_way() -> None:
    assert Renderer("jsonata-python").prepare_json(list_samples()[0].text(), ALL_TEXTS) is None


def test_an_envelope_only_event_cannot_be_prepared_as_input() -> None:
    renderer = Renderer("jlens")
    prepared = renderer.prepare_json(list_samples()[0].text(), ALL_TEXTS)
    assert prepared is not None
    with pytest.raises(ValueError, match="envelope-only"):
        renderer.prepare(prepared.event)


@pytest.mark.parametrize(
    "found",
    [
        {"root": "array", "id": "a", "triggered_by": "order.paid", "payload": "object"},
        {"root": "object", "id": "", "triggered_by": "order.paid", "payload": "object"},
        {"root": "object", "id": "a", "triggered_by": "order.paid", "payload": "string"},
        {"root": "object", "id": "a", "payload": "object"},
        None,
    ],
)
def test_event_from_probe_refuses_what_to_event_would_not_take_as_is(found: Any) -> None:
    assert event_from_probe(found) is None


def test_the_probe_is_plain_jsonata() -> None:
    """Both engines read it alike (only jlens uses it today)."""
    body = _body(attempt=3)
    expected = event_from_probe(
        {"root": "object", "id": body["id"], "triggered_by": "order.paid", "attempt": 3}
        | {"payload": "object", "timestamps": body["payload"]["data"]["meta"]["timestamps"]}
    )
    for engine in ("jlens", "jsonata-python"):
        renderer = Renderer(engine)
        found = renderer.engine.compile(ENVELOPE_PROBE, {}).evaluate(
            renderer.engine.prepare(body), renderer.limits
        )
        assert event_from_probe(found) == expected
