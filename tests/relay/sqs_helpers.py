"""Helpers for tests of the relay's SQS worker, on the shared ``moto_sqs`` server.

Each test makes its own queues (unique names), so tests never see each other's messages.
Clients use dummy keys: that server does not check them (``auth_enforcing_sqs`` starts one
that does).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import httpx
import pytest

from segment_desktop.core.cloudevent import cloudevent_of
from segment_desktop.core.samples import list_samples
from tests.relay.helpers import free_port

REGION = "us-east-1"
ACCESS_KEY_ID = "AKIDTESTING"
SECRET_ACCESS_KEY = "testing-secret"
INTEGRATION_ID = "1a2b3c4d-0000-4000-8000-00000000beef"


@pytest.fixture
def auth_enforcing_sqs() -> Iterator[str]:
    """A moto server (its own process) that checks credentials against its IAM users: any key
    it never issued is refused as AWS refuses one, ``InvalidClientTokenId``."""
    port = free_port()
    env = dict(os.environ, INITIAL_NO_AUTH_ACTION_COUNT="0")
    proc = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(url + "/moto-api/", timeout=1)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise AssertionError("moto server did not start") from None
                time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        proc.wait(10)


def sqs_client(endpoint: str) -> Any:
    return boto3.session.Session().client(
        "sqs",
        region_name=REGION,
        endpoint_url=endpoint,
        aws_access_key_id=ACCESS_KEY_ID,
        aws_secret_access_key=SECRET_ACCESS_KEY,
    )


def make_queue(
    endpoint: str, *, visibility: int = 30, max_receives: int | None = None
) -> tuple[str, str | None]:
    """A fresh queue (and its dead-letter queue with ``max_receives``): (url, dlq url)."""
    client = sqs_client(endpoint)
    name = f"commerce-{uuid.uuid4().hex[:12]}"
    attributes = {"VisibilityTimeout": str(visibility)}
    dlq_url = None
    if max_receives is not None:
        dlq_url = client.create_queue(QueueName=f"{name}-dlq")["QueueUrl"]
        arn = client.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])
        policy = {"deadLetterTargetArn": arn["Attributes"]["QueueArn"],
                  "maxReceiveCount": max_receives}  # fmt: skip
        attributes["RedrivePolicy"] = json.dumps(policy)
    url = client.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
    return str(url), dlq_url


def cloudevent(event: str, event_id: str, name: str | None = None) -> dict[str, Any]:
    samples = [s for s in list_samples(event) if name is None or s.name == name]
    body = json.loads(samples[0].text())
    body["id"] = event_id
    return cloudevent_of(body, integration_id=INTEGRATION_ID, store_id="store-1")


def put(endpoint: str, url: str, bodies: list[str]) -> None:
    client = sqs_client(endpoint)
    for start in range(0, len(bodies), 10):
        entries = [
            {"Id": str(i), "MessageBody": body} for i, body in enumerate(bodies[start : start + 10])
        ]
        answer = client.send_message_batch(QueueUrl=url, Entries=entries)
        assert not answer.get("Failed"), answer


def counts(endpoint: str, url: str) -> tuple[int, int]:
    """(visible, in flight) on the queue."""
    names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    attributes = sqs_client(endpoint).get_queue_attributes(QueueUrl=url, AttributeNames=names)
    values = attributes["Attributes"]
    return int(values[names[0]]), int(values[names[1]])
