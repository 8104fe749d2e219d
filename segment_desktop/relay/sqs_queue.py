"""The Amazon SQS queue a relay worker consumes: boto3 behind our own types and errors.

Only this module talks to boto3. Its errors become ours: credentials AWS refuses, a queue that
does not exist or an endpoint that cannot be reached stop a worker at start with a
:class:`~segment_desktop.core.errors.ConfigError` (exit 2) saying what to fix; once running, a
failing call is a :class:`QueueUnavailable` the worker waits out.

Credentials: the access key id from the settings with its secret access key from the keyring
(or ``AWS_SECRET_ACCESS_KEY``), else boto3's standard chain (environment, shared credentials
file, the instance's or container's role), so a worker on AWS needs no key at all.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from segment_desktop.core.errors import ConfigError, SegmentDesktopError

if TYPE_CHECKING:
    from botocore.client import BaseClient

log = logging.getLogger(__name__)

#: SQS hands out at most 10 messages per receive and takes at most 10 entries per batch call.
MAX_MESSAGES = 10
#: The longest long poll SQS allows.
MAX_WAIT_SECONDS = 20
#: The longest visibility timeout SQS allows (12 hours).
MAX_VISIBILITY_SECONDS = 43_200

_XML_CODE = re.compile(r"<Code>([^<]{1,100})</Code>")
_XML_MESSAGE = re.compile(r"<Message>([^<]{0,500})</Message>")
_NO_QUEUE = frozenset({"AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist"})
_REFUSED = frozenset(
    {
        "InvalidClientTokenId",
        "SignatureDoesNotMatch",
        "UnrecognizedClientException",
        "InvalidAccessKeyId",
        "AccessDenied",
        "AccessDeniedException",
        "ExpiredToken",
        "AuthFailure",
    }
)


class QueueUnavailable(SegmentDesktopError):
    """A call to SQS failed for now (network, throttling, a 5xx); the worker tries again."""


@dataclass(frozen=True)
class QueueSettings:
    """Where the queue is and who the worker is to AWS (never the secret access key)."""

    url: str
    region: str = ""
    endpoint_url: str = ""
    """Another SQS-compatible endpoint (a local one for tests); empty: AWS's own."""
    access_key_id: str = ""

    def region_name(self) -> str:
        """The region given, else the one in a standard queue URL
        (``https://sqs.<region>.amazonaws.com/<account>/<name>``)."""
        if self.region:
            return self.region
        host = self.url.split("//", 1)[-1].split("/", 1)[0]
        parts = host.split(".")
        if len(parts) >= 4 and parts[0] == "sqs":
            return parts[1]
        return ""


@dataclass(frozen=True)
class QueueInfo:
    """What the worker needs to know about the queue, read once at start."""

    visibility_timeout: int
    max_receives: int | None
    """The redrive policy's ``maxReceiveCount``; ``None`` without a dead-letter queue."""
    dead_letter_arn: str = ""


@dataclass(frozen=True)
class Message:
    """One received message."""

    message_id: str
    receipt: str = field(repr=False)
    body: str = field(repr=False)
    receive_count: int
    sent_at: float
    """When it was put on the queue (epoch seconds; SQS's ``SentTimestamp``)."""


@dataclass(frozen=True)
class Depth:
    """The queue's approximate counts (SQS's own, which lag by up to a minute)."""

    visible: int
    in_flight: int
    delayed: int


def make_client(
    settings: QueueSettings, secret_access_key: str | None = None, *, interactive: bool = False
) -> BaseClient:
    """A boto3 SQS client for ``settings``; explicit keys only when both halves are known.
    ``interactive``: one attempt that gives up within 20 s (someone is waiting for it)."""
    import boto3
    from botocore.config import Config as BotoConfig

    attempts, read_timeout = (1, 15) if interactive else (3, MAX_WAIT_SECONDS + 10)
    options: dict[str, Any] = {
        "config": BotoConfig(retries={"max_attempts": attempts, "mode": "standard"},
                             connect_timeout=5, read_timeout=read_timeout),
    }  # fmt: skip
    region = settings.region_name()
    if region:
        options["region_name"] = region
    if settings.endpoint_url:
        options["endpoint_url"] = settings.endpoint_url
    if settings.access_key_id and secret_access_key:
        options["aws_access_key_id"] = settings.access_key_id
        options["aws_secret_access_key"] = secret_access_key
    try:
        return boto3.session.Session().client("sqs", **options)
    except Exception as err:  # botocore's NoRegionError and its kind
        raise ConfigError(_start_problem(settings, err)) from None


def check_queue(
    settings: QueueSettings, secret_access_key: str | None = None, *, interactive: bool = False
) -> QueueInfo:
    """Prove the queue and the credentials (a delivery page's connection test): its settings,
    or a :class:`ConfigError` saying what to fix. Reading the queue's attributes needs
    ``sqs:GetQueueAttributes``, which the workers' credentials have (Commerce's need only
    ``sqs:SendMessage``). ``interactive``: see :func:`make_client`."""
    client = make_client(settings, secret_access_key, interactive=interactive)
    queue = Queue(client, settings)
    try:
        return queue.check()
    finally:
        queue.close()


class Queue:
    """One SQS queue, through a boto3 client."""

    def __init__(self, client: BaseClient, settings: QueueSettings) -> None:
        self.client = client
        self.settings = settings
        self.url = settings.url

    def close(self) -> None:
        self.client.close()

    def check(self) -> QueueInfo:
        """Read the queue's attributes: proves the credentials and the queue. ConfigError."""
        try:
            answer = self.client.get_queue_attributes(QueueUrl=self.url, AttributeNames=["All"])
        except Exception as err:
            raise ConfigError(_start_problem(self.settings, err)) from None
        attributes = answer.get("Attributes", {})
        max_receives: int | None = None
        arn = ""
        policy = attributes.get("RedrivePolicy")
        if policy:
            try:
                redrive = json.loads(policy)
                max_receives = int(redrive["maxReceiveCount"])
                arn = str(redrive.get("deadLetterTargetArn", ""))
            except (ValueError, KeyError, TypeError):
                log.warning("The queue's redrive policy cannot be read: %s", policy[:200])
        return QueueInfo(int(attributes.get("VisibilityTimeout", 30)), max_receives, arn)

    def receive(self, wait_seconds: int, visibility: int | None = None) -> list[Message]:
        """Up to :data:`MAX_MESSAGES` messages, waiting up to ``wait_seconds`` for the first."""
        options: dict[str, Any] = {
            "QueueUrl": self.url,
            "MaxNumberOfMessages": MAX_MESSAGES,
            "WaitTimeSeconds": max(0, min(MAX_WAIT_SECONDS, wait_seconds)),
            "MessageSystemAttributeNames": ["ApproximateReceiveCount", "SentTimestamp"],
        }
        if visibility is not None:
            options["VisibilityTimeout"] = visibility
        answer = self._call("receive_message", **options)
        messages = []
        for raw in answer.get("Messages", []):
            attributes = raw.get("Attributes", {})
            messages.append(
                Message(
                    message_id=str(raw["MessageId"]),
                    receipt=str(raw["ReceiptHandle"]),
                    body=str(raw.get("Body", "")),
                    receive_count=int(attributes.get("ApproximateReceiveCount", 1)),
                    sent_at=int(attributes.get("SentTimestamp", 0)) / 1000.0,
                )
            )
        return messages

    def delete(self, messages: Sequence[Message]) -> list[Message]:
        """Delete ``messages``; returns those SQS did not delete (they come back: harmless,
        as Segment drops what it receives twice by ``messageId``)."""
        failed: list[Message] = []
        for chunk in _chunks(messages):
            entries = [{"Id": str(i), "ReceiptHandle": m.receipt} for i, m in enumerate(chunk)]
            answer = self._call("delete_message_batch", QueueUrl=self.url, Entries=entries)
            failed += [chunk[int(f["Id"])] for f in answer.get("Failed", [])]
        return failed

    def hide(self, messages: Sequence[Message], seconds: int) -> None:
        """Keep ``messages`` from other workers for ``seconds`` more, from now."""
        seconds = max(0, min(MAX_VISIBILITY_SECONDS, int(seconds)))
        for chunk in _chunks(messages):
            entries = [
                {"Id": str(i), "ReceiptHandle": m.receipt, "VisibilityTimeout": seconds}
                for i, m in enumerate(chunk)
            ]
            self._call("change_message_visibility_batch", QueueUrl=self.url, Entries=entries)

    def depth(self) -> Depth:
        names = [
            "ApproximateNumberOfMessages",
            "ApproximateNumberOfMessagesNotVisible",
            "ApproximateNumberOfMessagesDelayed",
        ]
        answer = self._call("get_queue_attributes", QueueUrl=self.url, AttributeNames=names)
        values = answer.get("Attributes", {})
        return Depth(*(int(values.get(name, 0)) for name in names))

    def _call(self, operation: str, **options: Any) -> Any:
        try:
            return getattr(self.client, operation)(**options)
        except Exception as err:
            raise QueueUnavailable(f"SQS {operation} failed: {_describe(err)}") from None


def _chunks(messages: Sequence[Message]) -> list[Sequence[Message]]:
    return [messages[i : i + MAX_MESSAGES] for i in range(0, len(messages), MAX_MESSAGES)]


def _error(err: BaseException) -> tuple[str, str, int]:
    """(code, message, HTTP status) of a botocore ``ClientError``; empty for anything else.

    An error answered in the query protocol's XML to a client speaking SQS's JSON protocol
    (some SQS-compatible servers do, for authentication failures) reaches botocore as the
    HTTP status for a code and the XML for a message: the code and message are read from it.
    """
    response = getattr(err, "response", None)
    if not isinstance(response, dict):
        return "", "", 0
    error = response.get("Error", {})
    code, message = str(error.get("Code", "")), str(error.get("Message", ""))
    status = int(response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
    found = _XML_CODE.search(message)
    if found:
        code = found.group(1)
        text = _XML_MESSAGE.search(message)
        message = text.group(1) if text else ""
    return code, message, status


def _error_code(err: BaseException) -> str:
    return _error(err)[0]


def _describe(err: BaseException) -> str:
    code, message, _ = _error(err)
    if code:
        return f"{code}: {message}".rstrip(": ")
    return f"{type(err).__name__}: {err}"


def _start_problem(settings: QueueSettings, err: BaseException) -> str:
    """Why the worker cannot start, for the user (never a key: boto3 does not put one in)."""
    from botocore.exceptions import (
        EndpointConnectionError,
        NoCredentialsError,
        NoRegionError,
        PartialCredentialsError,
    )

    queue = settings.url
    if isinstance(err, NoCredentialsError | PartialCredentialsError):
        return (
            f"No AWS credentials to read the queue {queue}: save the access key id and secret "
            "access key in Segment Desktop, or set AWS_ACCESS_KEY_ID and "
            "AWS_SECRET_ACCESS_KEY, or give this machine an IAM role."
        )
    if isinstance(err, NoRegionError):
        return (
            f"No AWS region for the queue {queue}: pass --sqs-region (such as us-east-1) or "
            "set AWS_DEFAULT_REGION."
        )
    if isinstance(err, EndpointConnectionError):
        return f"Cannot reach SQS for the queue {queue} ({err}). Check the URL and the network."
    code, _, status = _error(err)
    if code in _NO_QUEUE:
        region = settings.region_name() or "the configured region"
        return (
            f"There is no queue {queue} in {region} for these credentials. Check the queue "
            "URL (copy it from the SQS console) and the region."
        )
    if code in _REFUSED or status in (401, 403):
        return (
            f"AWS refused the credentials for the queue {queue} ({_describe(err)}). Check the "
            "access key id and secret access key, and that they may receive and delete "
            "messages on this queue (sqs:ReceiveMessage, sqs:DeleteMessage, "
            "sqs:ChangeMessageVisibility, sqs:GetQueueAttributes)."
        )
    return f"Cannot use the queue {queue}: {_describe(err)}."
