"""A CloudEvent from an SQS queue becomes the webhook's template input; bad messages say why."""

from __future__ import annotations

import json
from typing import Any

import pytest

from segment_desktop.core.cloudevent import cloudevent_of, from_cloudevent, parse_cloudevent_text
from segment_desktop.core.engine import available_engines
from segment_desktop.core.errors import EventError
from segment_desktop.core.events import TEMPLATES
from segment_desktop.core.messages import message_id
from segment_desktop.core.render import Renderer
from segment_desktop.core.samples import get_sample, list_samples
from segment_desktop.core.spec import check_call
from segment_desktop.core.templates import default_template

INTEGRATION = "e17db0d8-467b-4bf3-9c26-3dfe8b96e9d7"
STORE = "b33e328f-31a8-4d57-b0a3-ebf1039b3756"


def sample_body(name: str) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(get_sample(name).text())
    return body


def test_an_order_becomes_the_webhook_shape() -> None:
    body = sample_body("order.paid")
    message = cloudevent_of(body, integration_id=INTEGRATION, store_id=STORE)
    queued = parse_cloudevent_text(json.dumps(message), receive_count=3)
    event = queued.event
    assert (event.id, event.triggered_by, event.attempt) == (body["id"], "order.paid", 3)
    assert event.body["payload"] == {"data": body["payload"]["data"]}
    assert event.body["integration"] == {"id": INTEGRATION, "integration_type": "aws_sqs"}
    assert event.body["store_id"] == STORE
    assert (queued.integration_id, queued.store_id) == (INTEGRATION, STORE)


def test_a_deleted_resource_is_the_payload_itself_as_in_a_webhook() -> None:
    body = sample_body("customer.deleted")
    queued = from_cloudevent(cloudevent_of(body))
    assert queued.event.body["payload"] == body["payload"]
    assert set(queued.event.payload) == {"type", "id"}


def test_a_payload_shaped_data_is_kept_with_its_items() -> None:
    body = sample_body("order.paid")
    message = cloudevent_of(body)
    message["data"] = body["payload"]
    event = from_cloudevent(message).event
    assert event.body["payload"]["included"]["items"] == body["payload"]["included"]["items"]


@pytest.mark.parametrize(
    ("message", "words"),
    [
        ("not json at all", "not JSON"),
        ("[1, 2]", "an array"),
        ('{"triggered_by": "order.paid", "id": "x"}', "webhook body, not a CloudEvent"),
        ('{"specversion": "0.3", "type": "order.paid", "id": "x", "data": {}}', '"0.3"'),
        ('{"specversion": "1.0", "type": "paid", "id": "x", "data": {}}', '"type"'),
        ('{"specversion": "1.0", "type": "order.paid", "data": {}}', 'no "id"'),
        ('{"specversion": "1.0", "type": "order.paid", "id": "x", "data": "s"}', '"data"'),
    ],
)
def test_a_message_that_is_not_a_commerce_cloudevent_is_refused_with_a_reason(
    message: str, words: str
) -> None:
    with pytest.raises(EventError) as caught:
        parse_cloudevent_text(message)
    assert words in str(caught.value)


def test_the_message_id_is_the_webhooks_for_the_same_event() -> None:
    """Same Commerce event by webhook or by queue → the same Segment messageId (deduplicated)."""
    renderer = Renderer()
    body = sample_body("customer.created")
    by_webhook = renderer.render(
        default_template("customer_created"), get_sample("customer.created").load(),
        template_key="customer_created",
    )  # fmt: skip
    by_queue = renderer.render(
        default_template("customer_created"), from_cloudevent(cloudevent_of(body)).event,
        template_key="customer_created",
    )  # fmt: skip
    ids = [call["messageId"] for call in by_queue.calls]
    assert ids == [call["messageId"] for call in by_webhook.calls]
    assert ids[0] == message_id(body["id"], "customer_created", 0)


@pytest.mark.parametrize("engine", available_engines())
@pytest.mark.parametrize("spec", TEMPLATES, ids=lambda s: s.key)
def test_every_default_template_makes_valid_calls_from_a_cloudevent(engine: str, spec: Any) -> None:
    """Without the order's items (not in a CloudEvent) the calls still pass Segment's checks."""
    renderer = Renderer(engine)
    samples = [s for s in list_samples() if s.event in spec.choices]
    assert samples
    for sample in samples:
        event = from_cloudevent(cloudevent_of(json.loads(sample.text()))).event
        calls = renderer.render(default_template(spec.key), event, template_key=spec.key).calls
        assert calls, sample.name
        for call in calls:
            errors = [i for i in check_call(call) if i.level == "error"]
            assert not errors, (sample.name, errors)
            products = call.get("properties", {}).get("products")
            assert products is None, (sample.name, "items do not arrive in a CloudEvent")
