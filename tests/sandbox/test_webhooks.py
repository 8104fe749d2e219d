"""Webhook delivery: body and headers as Commerce sends them, retries, logs and jobs."""

from __future__ import annotations

import json
import time

import httpx

from segment_desktop.core.envelope import parse_event_text
from segment_desktop.sandbox.demo import DEMO_ORG_ID, DEMO_STORE_ID
from segment_desktop.sandbox.runner import Sandbox
from tests.sandbox.conftest import Receiver, webhook

SECRET = "whsec-test-0123456789"


def _hook(sandbox: Sandbox, receiver: Receiver, observes: list[str], **extra: object) -> str:
    created = sandbox.commerce.create_integration(
        webhook(receiver.url, observes, enabled=True, **extra)
    )
    return str(created["id"])


def test_an_order_event_reaches_the_receiver_as_commerce_sends_it(
    sandbox: Sandbox, receiver: Receiver
) -> None:
    integration_id = _hook(sandbox, receiver, ["order.paid", "order.created"])
    results = sandbox.commerce.fire("order.paid", wait=True, timeout=5)
    assert len(results) == 1 and results[0].succeeded
    (delivery,) = receiver.wait_for(1)

    assert delivery.path == "/hooks/commerce"
    assert delivery.headers["X-MOLTIN-SECRET-KEY"] == SECRET
    assert delivery.headers["X-MOLTIN-INTEGRATION-TRIGGER"] == "order.paid"
    assert delivery.headers["Content-Type"] == "application/json"
    body = delivery.json()
    assert body["id"] == results[0].event_id
    assert body["triggered_by"] == "order.paid"
    assert body["attempt"] == 1
    assert body["integration"] == {
        "id": integration_id,
        "integration_type": "webhook",
        "name": "Segment Desktop: orders",
        "description": "Sends order events to Segment",
    }
    assert body["configuration"] == {"url": receiver.url, "secret_key": SECRET}
    # a store-level event names both its store and its organisation
    assert body["store_id"] == DEMO_STORE_ID and body["org_id"] == DEMO_ORG_ID
    order = body["payload"]["data"]
    assert order["type"] == "order" and order["payment"] == "paid"
    item_ids = {ref["id"] for ref in order["relationships"]["items"]["data"]}
    assert {item["id"] for item in body["payload"]["included"]["items"]} == item_ids
    # the deprecated form: the same payload as a JSON *string*
    assert isinstance(body["resources"], str)
    assert json.loads(body["resources"]) == body["payload"]

    # and our own envelope parser accepts it
    event = parse_event_text(delivery.body)
    assert event.id == body["id"] and event.triggered_by == "order.paid"
    assert event.resource["id"] == order["id"]


def test_a_delete_event_carries_type_and_id_objects(sandbox: Sandbox, receiver: Receiver) -> None:
    _hook(sandbox, receiver, ["customer.deleted"])
    customer = sandbox.commerce.store.customers[2]
    sandbox.commerce.fire("customer.deleted", resource_id=customer["id"], wait=True, timeout=5)
    body = receiver.wait_for(1)[0].json()
    assert body["payload"] == {"type": "customer", "id": customer["id"]}
    assert body["resources"] == {"type": "customer", "id": customer["id"]}
    assert parse_event_text(json.dumps(body)).resource == {"type": "customer", "id": customer["id"]}


def test_a_customer_event_carries_the_customer_as_data(
    sandbox: Sandbox, receiver: Receiver
) -> None:
    _hook(sandbox, receiver, ["customer.created"])
    sandbox.commerce.fire("customer.created", wait=True, timeout=5)
    body = receiver.wait_for(1)[0].json()
    assert body["payload"] == {"data": sandbox.commerce.store.customers[0]}
    assert json.loads(body["resources"]) == body["payload"]


def test_a_given_resource_is_delivered_as_is(sandbox: Sandbox, receiver: Receiver) -> None:
    _hook(sandbox, receiver, ["order.created"])
    order = {"type": "order", "id": "custom-1", "status": "incomplete"}
    sandbox.commerce.fire("order.created", order, wait=True, timeout=5)
    body = receiver.wait_for(1)[0].json()
    assert body["payload"] == {"data": order, "included": {"items": []}}

    payload = {"data": {**order, "id": "custom-2"}, "included": {"items": [{"id": "i1"}]}}
    sandbox.commerce.fire("order.created", payload, wait=True, timeout=5)
    assert receiver.wait_for(2)[1].json()["payload"] == payload


def test_only_enabled_integrations_observing_the_event_receive_it(
    sandbox: Sandbox, receiver: Receiver
) -> None:
    wanted = _hook(sandbox, receiver, ["order.paid"])
    _hook(sandbox, receiver, ["order.refunded"])
    disabled = sandbox.commerce.create_integration(
        webhook(receiver.url, ["order.paid"], enabled=False)
    )
    results = sandbox.commerce.fire("order.paid", wait=True, timeout=5)
    assert [r.integration_id for r in results] == [wanted]
    assert disabled["id"] != wanted
    time.sleep(0.05)
    assert len(receiver.received) == 1
    assert sandbox.commerce.fire("customer.updated") == []


def test_no_secret_no_secret_header(sandbox: Sandbox, receiver: Receiver) -> None:
    _hook(sandbox, receiver, ["order.paid"], configuration={"url": receiver.url})
    sandbox.commerce.fire("order.paid", wait=True, timeout=5)
    assert "X-MOLTIN-SECRET-KEY" not in receiver.wait_for(1)[0].headers


def test_failures_are_retried_with_the_same_id_and_growing_attempt(
    sandbox: Sandbox, receiver: Receiver, commerce: httpx.Client
) -> None:
    integration_id = _hook(sandbox, receiver, ["order.paid"])
    receiver.script = [(500, 0.0), (503, 0.0)]  # then 200
    started = time.monotonic()
    (result,) = sandbox.commerce.fire("order.paid")
    assert sandbox.commerce.wait_idle(5)
    assert time.monotonic() - started >= 0.15  # the retry delays (0.05 s, 0.1 s) were honoured

    bodies = [d.json() for d in receiver.wait_for(3)]
    assert [b["attempt"] for b in bodies] == [1, 2, 3]
    assert {b["id"] for b in bodies} == {result.event_id}
    assert result.succeeded and result.finished
    assert [(a.number, a.status_code, a.succeeded) for a in result.attempts] == [
        (1, 500, False),
        (2, 503, False),
        (3, 200, True),
    ]

    logs = commerce.get(f"/v2/integrations/{integration_id}/logs").json()
    assert logs["results"]["total"] == 3
    newest_first = [(log["attempt"], log["succeeded"], log["status_code"]) for log in logs["data"]]
    assert newest_first == [(3, True, 200), (2, False, 503), (1, False, 500)]
    failed = logs["data"][2]
    assert "HTTP 500" in failed["error_detail"]
    assert failed["body"] == '{"received": false}'
    assert failed["processing_time"] >= 0
    assert failed["meta"]["timestamps"]["created_at"].endswith("Z")
    assert failed["relationships"]["integration"]["data"]["id"] == integration_id
    assert failed["relationships"]["job"]["data"] == {
        "type": "integration-job",
        "id": result.job_id,
    }
    assert {log["type"] for log in logs["data"]} == {"integration"}

    jobs = commerce.get(f"/v2/integrations/{integration_id}/jobs").json()
    assert [(j["id"], j["status"], j["attempts"]) for j in jobs["data"]] == [
        (result.job_id, "succeeded", 3)
    ]
    job_logs = commerce.get(f"/v2/integrations/{integration_id}/jobs/{result.job_id}/logs")
    assert job_logs.json()["data"] == logs["data"]
    assert commerce.get(f"/v2/integrations/{integration_id}/jobs/nope/logs").status_code == 404
    assert commerce.get("/v2/integrations/logs").json()["data"] == logs["data"]


def test_a_receiver_that_always_fails_exhausts_the_attempts(
    sandbox: Sandbox, receiver: Receiver, commerce: httpx.Client
) -> None:
    integration_id = _hook(sandbox, receiver, ["order.refunded"])
    receiver.script = [(500, 0.0)] * 5
    (result,) = sandbox.commerce.fire("order.refunded", wait=True, timeout=5)
    assert result.finished and not result.succeeded
    assert [a.number for a in result.attempts] == [1, 2, 3]  # two retry delays: three attempts
    time.sleep(0.15)
    assert len(receiver.received) == 3
    (job,) = commerce.get(f"/v2/integrations/{integration_id}/jobs").json()["data"]
    assert job["status"] == "failed"


def test_an_unreachable_receiver_is_logged_as_a_failure(
    sandbox: Sandbox, commerce: httpx.Client
) -> None:
    created = sandbox.commerce.create_integration(
        webhook("http://127.0.0.1:9/nothing-listens", ["order.paid"], enabled=True)
    )
    (result,) = sandbox.commerce.fire("order.paid", wait=True, timeout=5)
    assert not result.succeeded
    logs = commerce.get(f"/v2/integrations/{created['id']}/logs").json()["data"]
    assert len(logs) == 3
    assert all("status_code" not in log for log in logs)  # an integer, or no key at all
    assert all("Could not reach" in log["error_detail"] for log in logs)


def test_a_reply_slower_than_the_timeout_is_a_failure(receiver: Receiver) -> None:
    with Sandbox.start(webhook_timeout=0.3, retry_delays=(0.01,)) as sandbox:
        _hook(sandbox, receiver, ["order.paid"])
        receiver.script = [(200, 0.6)]  # answers, but too late
        (result,) = sandbox.commerce.fire("order.paid", wait=True, timeout=5)
        assert result.succeeded
        first, second = result.attempts
        assert not first.succeeded and "within 0.3 seconds" in first.error_detail
        assert second.succeeded
        assert [d.json()["attempt"] for d in receiver.wait_for(2)] == [1, 2]


def test_fire_returns_before_delivery_finishes(sandbox: Sandbox, receiver: Receiver) -> None:
    _hook(sandbox, receiver, ["order.paid"])
    receiver.script = [(200, 0.4)]
    started = time.monotonic()
    (result,) = sandbox.commerce.fire("order.paid")
    assert time.monotonic() - started < 0.2
    assert not result.finished
    assert sandbox.commerce.wait_idle(5)
    assert result.succeeded


def test_logs_are_paged(sandbox: Sandbox, receiver: Receiver, commerce: httpx.Client) -> None:
    integration_id = _hook(sandbox, receiver, ["order.updated"])
    for _ in range(5):
        sandbox.commerce.fire("order.updated")
    assert sandbox.commerce.wait_idle(5)
    page = commerce.get(
        f"/v2/integrations/{integration_id}/logs", params={"page[limit]": 2, "page[offset]": 2}
    ).json()
    assert len(page["data"]) == 2
    # documented: meta.total counts pages, results.total (beside meta) records
    assert page["meta"] == {"limit": 2, "offset": 2, "current": 2, "total": 3}
    assert page["results"] == {"total": 5}
    jobs = commerce.get(f"/v2/integrations/{integration_id}/jobs").json()
    assert jobs["results"]["total"] == 5
    assert {job["type"] for job in jobs["data"]} == {"integration-job"}


def test_control_endpoint_fires_events(
    sandbox: Sandbox, receiver: Receiver, http: httpx.Client
) -> None:
    _hook(sandbox, receiver, ["order.cancelled", "order.paid"])
    order = sandbox.commerce.store.orders[4]
    response = http.post(
        f"{sandbox.commerce_url}/sandbox/events",
        json={"event": "order.cancelled", "order_id": order["id"], "wait": True},
    )
    assert response.status_code == 200
    (result,) = response.json()["data"]
    assert result["succeeded"] is True and result["attempts"][0]["status_code"] == 200
    assert receiver.wait_for(1)[0].json()["payload"]["data"]["id"] == order["id"]

    given = http.post(
        f"{sandbox.commerce_url}/sandbox/events",
        json={"event": "order.paid", "resource": {"type": "order", "id": "given"}},
    )
    assert given.status_code == 202
    assert sandbox.commerce.wait_idle(5)
    assert receiver.wait_for(2)[1].json()["payload"]["data"]["id"] == "given"

    for bad, status in [
        ({"event": "order.paid", "order_id": "missing"}, 404),
        ({"event": "nonsense"}, 422),
        ({"event": "cart.updated"}, 422),  # no seeded carts, no resource given
        ({"resource": {}}, 422),
    ]:
        response = http.post(f"{sandbox.commerce_url}/sandbox/events", json=bad)
        assert response.status_code == status, bad
        assert response.json()["errors"][0]["detail"]
