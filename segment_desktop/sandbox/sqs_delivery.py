"""Delivery to Amazon SQS, as Commerce does it for ``aws_sqs`` integrations: a CloudEvent each.

Commerce puts each event on the integration's queue as a CloudEvents 1.0 JSON object (the shape is
in docs/API_FACTS.md, "Delivery to Amazon SQS"). The emulator sends it with boto3 to the queue URL
with the integration's own region and keys, so any SQS-compatible server works: Amazon's, or a
local one (moto's server in the tests). A failed put is retried like a failed webhook.
"""

from __future__ import annotations

import json
import threading
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from collections.abc import Callable

#: What a send answers: (status code or ``None``, the answer in words, the error or "").
SendOutcome = tuple[int | None, str, str]

SPEC_VERSION = "1.0"
CONTENT_TYPE = "application/json"


def cloud_event(
    event_id: str,
    event_name: str,
    integration_id: str,
    data: dict[str, Any],
    *,
    store_id: str,
    source: str,
) -> dict[str, Any]:
    """The CloudEvent Commerce puts on a queue; ``data`` is the resource itself (for a delete,
    only its ``type`` and ``id``), not a webhook's ``{"data", "included"}`` payload."""
    return {
        "id": event_id,
        "type": event_name,
        "data": data,
        "integrationid": integration_id,
        "storeid": store_id,
        "source": source,
        "specversion": SPEC_VERSION,
        "datacontenttype": CONTENT_TYPE,
    }


def event_data(payload: dict[str, Any]) -> dict[str, Any]:
    """The resource a CloudEvent carries, from the webhook payload of the same event."""
    resource = payload.get("data", payload)
    return resource if isinstance(resource, dict) else payload


def endpoint_for(queue_url: str) -> str | None:
    """The SQS endpoint to call for a queue URL: its own origin unless it is Amazon's (where
    boto3 picks the regional endpoint itself)."""
    parts = urlsplit(queue_url)
    if parts.hostname is None or parts.hostname.endswith(".amazonaws.com"):
        return None
    return f"{parts.scheme}://{parts.netloc}"


class SqsSender:
    """Puts messages on queues, one boto3 client per (endpoint, region, key) reused across sends."""

    def __init__(self, *, timeout: float) -> None:
        self._timeout = timeout
        self._clients: dict[tuple[str | None, str, str, str], Any] = {}
        self._lock = threading.Lock()

    def _client(self, configuration: dict[str, Any]) -> Any:
        url = str(configuration["url"])
        key = (
            endpoint_for(url),
            str(configuration["region"]),
            str(configuration["aws_access_key_id"]),
            str(configuration["aws_secret_access_key"]),
        )
        with self._lock:
            client = self._clients.get(key)
            if client is None:
                import boto3  # loads in ~0.3 s: only when a queue is first used
                from botocore.config import Config

                client = boto3.session.Session().client(
                    "sqs",
                    endpoint_url=key[0],
                    region_name=key[1],
                    aws_access_key_id=key[2],
                    aws_secret_access_key=key[3],
                    config=Config(
                        connect_timeout=self._timeout,
                        read_timeout=self._timeout,
                        retries={"max_attempts": 1, "mode": "standard"},
                    ),
                )
                self._clients[key] = client
        return client

    def sender(
        self, configuration: dict[str, Any], message: dict[str, Any]
    ) -> Callable[[int], SendOutcome]:
        """What sends ``message`` to the queue of ``configuration``, once per attempt."""
        body = json.dumps(message, ensure_ascii=False)

        def send(_attempt: int) -> SendOutcome:
            from botocore.exceptions import BotoCoreError, ClientError

            try:
                answer = self._client(configuration).send_message(
                    QueueUrl=configuration["url"], MessageBody=body
                )
            except ClientError as err:
                status = err.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
                code = err.response.get("Error", {}).get("Code", "error")
                return status, "", f"The queue refused the event: {code}."
            except BotoCoreError as err:
                return None, "", f"Could not reach the queue: {type(err).__name__}."
            status = answer.get("ResponseMetadata", {}).get("HTTPStatusCode")
            return status, json.dumps({"MessageId": answer.get("MessageId")}), ""

        return send
