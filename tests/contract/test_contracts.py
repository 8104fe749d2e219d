"""Our contracts themselves: valid schemas that take the documented shapes and refuse the shapes
the services do not use; and the suite-wide check that holds the emulators and clients to them."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from tests.contract.contracts import answer_problems, answer_schema, problems, schema_names
from tests.fixtures.contracts import AnswerChecker

NOW = "2026-12-01T10:00:00.000Z"


def log(**changes: Any) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "id": "log-1",
        "type": "integration",
        "succeeded": False,
        "attempt": 1,
        "status_code": 404,
        "body": "Not Found",
        "error_detail": "Received a status code outside of 2xx range",
        "processing_time": 0.2,
        "relationships": {
            "integration": {"data": {"type": "integration", "id": "int-1"}},
            "job": {"data": {"type": "integration-job", "id": "job-1"}},
        },
        "meta": {"timestamps": {"created_at": NOW}},
    }
    entry.update(changes)
    return entry


def integration(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": "int-1",
        "type": "integration",
        "name": "Segment Desktop orders",
        "description": "",
        "enabled": True,
        "integration_type": "webhook",
        "observes": ["order.paid"],
        "configuration": {"url": "https://relay.example/hooks/commerce", "secret_key": "s"},
        "links": {"self": "https://euwest.api.elasticpath.com/v2/integrations/int-1"},
        "meta": {"timestamps": {"created_at": NOW, "updated_at": NOW}},
    }
    data.update(changes)
    return data


@pytest.mark.parametrize("name", schema_names())
def test_every_schema_is_a_valid_draft_2020_12_schema(name: str) -> None:
    assert problems(name, {}) is not None  # builds and checks the schema itself


def test_the_documented_token_answer_fits_and_a_wrapped_one_does_not() -> None:
    token = {
        "access_token": "xa3521",
        "token_type": "Bearer",
        "expires_in": 3600,
        "expires": 1524486008,
        "identifier": "client_credentials",
    }
    assert problems("commerce_token", token) == []
    assert problems("commerce_token", {"data": token}) != []


def test_a_log_is_typed_integration_with_an_integer_status_or_none_at_all() -> None:
    assert problems("commerce_log", log()) == []
    without_answer = log()
    del without_answer["status_code"]
    assert problems("commerce_log", without_answer) == []
    assert problems("commerce_log", log(type="log")) != []
    assert problems("commerce_log", log(status_code=None)) != []
    job_typed_job = log()
    job_typed_job["relationships"]["job"]["data"]["type"] = "job"
    assert problems("commerce_log", job_typed_job) != []


def test_a_log_list_counts_pages_in_meta_and_records_in_results() -> None:
    documented = {
        "data": [log()],
        "meta": {"limit": 25, "offset": 0, "current": 1, "total": 1},
        "results": {"total": 1},
    }
    assert problems("commerce_log_list", documented) == []
    emulator_of_old = {
        "data": [log()],
        "links": {},
        "meta": {
            "page": {"limit": 25, "offset": 0, "current": 1, "total": 1},
            "results": {"total": 1},
        },
    }
    assert problems("commerce_log_list", emulator_of_old) != []


def test_integrations_of_each_type_need_their_own_configuration() -> None:
    assert problems("commerce_integration", integration()) == []
    sqs = {
        "url": "https://sqs.eu-west-1.amazonaws.com/123456789012/events",
        "aws_access_key_id": "AKIA",
        "aws_secret_access_key": "secret",
        "region": "eu-west-1",
    }
    assert (
        problems("commerce_integration", integration(integration_type="aws_sqs", configuration=sqs))
        == []
    )
    empty_sqs = integration(integration_type="aws_sqs", configuration={})
    assert len(problems("commerce_integration", empty_sqs)) >= 1
    assert problems("commerce_integration", integration(observes=["order.paid"] * 6)) != []
    listed = {"data": [integration()], "links": {}, "meta": {}}
    assert problems("commerce_integration_list", listed) == []
    assert problems("commerce_integration_list", {"data": [integration()]}) != []


def test_an_update_without_data_type_breaks_the_request_contract() -> None:
    assert (
        problems(
            "commerce_integration_request", {"data": {"type": "integration", "enabled": False}}
        )
        == []
    )
    assert problems("commerce_integration_request", {"data": {"enabled": False}}) != []


def test_the_documented_cloudevent_fits() -> None:
    event = {
        "data": {"id": "a2733958", "type": "product"},
        "datacontenttype": "application/json",
        "id": "efca76df",
        "integrationid": "e17db0d8",
        "source": "https://epcc-integration.global.ssl.fastly.net",
        "specversion": "1.0",
        "storeid": "b33e328f",
        "type": "product.deleted",
    }
    assert problems("commerce_cloudevent", event) == []
    assert problems("commerce_cloudevent", {**event, "specversion": "0.3"}) != []


def test_a_segment_call_needs_an_identity_and_a_track_its_event() -> None:
    good = {"type": "track", "userId": "u", "event": "E", "messageId": "m"}
    assert problems("segment_batch", {"batch": [good], "sentAt": NOW}) == []
    assert problems("segment_batch", {"batch": [{"type": "track", "event": "E"}]}) != []
    assert problems("segment_batch", {"batch": [{"type": "track", "userId": "u"}]}) != []
    assert problems("segment_answer", {"success": True}) == []


def test_answers_are_matched_to_their_schema_by_service_method_path_and_status() -> None:
    assert answer_schema("commerce", "GET", "/v2/integrations/abc/logs", 200) == "commerce_log_list"
    assert answer_schema("commerce", "GET", "/v2/integrations/logs", 200) == "commerce_log_list"
    assert (
        answer_schema("commerce", "GET", "/v2/integrations/abc", 200)
        == "commerce_integration_answer"
    )
    assert answer_schema("commerce", "DELETE", "/v2/integrations/abc", 404) == "commerce_error"
    assert answer_schema("commerce", "GET", "/v2/orders", 200) is None
    assert answer_schema("segment", "POST", "/v2/batch", 404) is None
    assert answer_problems("commerce", "GET", "/v2/integrations/logs", 200, b"{") != []


def test_the_suite_wide_checker_records_an_answer_that_breaks_its_contract() -> None:
    """What the autouse fixture installs, around an app answering the old log shape."""
    old_list = {"data": [log(type="log", status_code=None)], "meta": {}, "links": {}}

    async def app(scope: Any, receive: Any, send: Any) -> None:
        body = json.dumps(old_list).encode()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": body})

    found: list[str] = []
    checker = AnswerChecker(app, "commerce", found)
    scope = {"type": "http", "method": "GET", "path": "/v2/integrations/logs"}

    async def ignore(message: Any) -> None:
        return None

    async def nothing() -> Any:
        return {"type": "http.request"}

    asyncio.run(checker(scope, nothing, ignore))
    text = "\n".join(found)
    assert "'results' is a required property" in text
    assert "data/0/type" in text and "data/0/status_code" in text


def test_every_sample_event_is_a_webhook_body_as_commerce_sends_it() -> None:
    from segment_desktop.core.samples import list_samples

    samples = list_samples()
    assert samples
    for sample in samples:
        assert problems("commerce_webhook_body", json.loads(sample.text())) == [], sample.name
