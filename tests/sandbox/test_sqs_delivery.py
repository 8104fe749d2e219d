"""``aws_sqs`` integrations: the Commerce emulator puts each event on the queue as a CloudEvent,
through real boto3 calls to an SQS-compatible server (moto's) on 127.0.0.1."""

from __future__ import annotations

import json
import uuid
from typing import Any

import boto3
import httpx

from segment_desktop.sandbox.demo import DEMO_STORE_ID
from segment_desktop.sandbox.runner import Sandbox
from tests.contract.contracts import problems
from tests.sandbox.conftest import webhook

REGION = "eu-west-1"
KEYS = {"aws_access_key_id": "AKIAEXAMPLEKEY", "aws_secret_access_key": "example-secret"}


def sqs_client(endpoint: str) -> Any:
    return boto3.session.Session().client("sqs", endpoint_url=endpoint, region_name=REGION, **KEYS)


def new_queue(endpoint: str) -> str:
    url: str = sqs_client(endpoint).create_queue(QueueName=f"commerce-{uuid.uuid4().hex[:12]}")[
        "QueueUrl"
    ]
    return url


def sqs_integration(queue_url: str, observes: list[str]) -> dict[str, Any]:
    body = webhook(queue_url, observes, enabled=True)
    body["data"].update(
        integration_type="aws_sqs",
        name="Segment Desktop: orders (queue)",
        configuration={"url": queue_url, "region": REGION, **KEYS},
    )
    return body


def receive_all(endpoint: str, queue_url: str, expected: int) -> list[dict[str, Any]]:
    client = sqs_client(endpoint)
    messages: list[dict[str, Any]] = []
    for _ in range(10):
        answer = client.receive_message(
            QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1
        )
        messages += [json.loads(m["Body"]) for m in answer.get("Messages", [])]
        if len(messages) >= expected:
            break
    return messages


def test_an_event_is_put_on_the_queue_as_a_cloudevent(sandbox: Sandbox, moto_sqs: str) -> None:
    queue = new_queue(moto_sqs)
    created = sandbox.commerce.create_integration(
        sqs_integration(queue, ["order.paid", "customer.deleted"])
    )
    (paid,) = sandbox.commerce.fire("order.paid", wait=True, timeout=10)
    customer = sandbox.commerce.store.customers[1]
    (deleted,) = sandbox.commerce.fire(
        "customer.deleted", resource_id=customer["id"], wait=True, timeout=10
    )
    assert paid.succeeded and deleted.succeeded

    first, second = sorted(receive_all(moto_sqs, queue, 2), key=lambda m: m["type"])
    assert problems("commerce_cloudevent", first) == []
    assert problems("commerce_cloudevent", second) == []
    assert first["type"] == "customer.deleted" and first["id"] == deleted.event_id
    assert first["data"] == {"type": "customer", "id": customer["id"]}
    assert second["type"] == "order.paid" and second["id"] == paid.event_id
    order = second["data"]
    assert order["type"] == "order" and order["payment"] == "paid"  # the order itself
    assert second["integrationid"] == created["id"] and second["storeid"] == DEMO_STORE_ID
    assert second["specversion"] == "1.0" and second["datacontenttype"] == "application/json"
    assert second["source"] == sandbox.commerce_url


def test_a_put_the_queue_refuses_is_logged_and_retried(
    sandbox: Sandbox, moto_sqs: str, commerce: httpx.Client
) -> None:
    missing = f"{moto_sqs}/123456789012/no-such-queue-{uuid.uuid4().hex[:8]}"
    created = sandbox.commerce.create_integration(sqs_integration(missing, ["order.paid"]))
    (result,) = sandbox.commerce.fire("order.paid", wait=True, timeout=10)
    assert not result.succeeded and len(result.attempts) == 3
    logs = commerce.get(f"/v2/integrations/{created['id']}/logs").json()
    assert [log["attempt"] for log in logs["data"]] == [3, 2, 1]
    assert all("queue refused" in log["error_detail"] for log in logs["data"])
    assert all(log["succeeded"] is False for log in logs["data"])


def test_a_disabled_queue_integration_gets_nothing(sandbox: Sandbox, moto_sqs: str) -> None:
    queue = new_queue(moto_sqs)
    body = sqs_integration(queue, ["order.paid"])
    body["data"]["enabled"] = False
    sandbox.commerce.create_integration(body)
    assert sandbox.commerce.fire("order.paid", wait=True, timeout=5) == []
