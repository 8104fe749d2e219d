"""The delivery page's "Check queue": the SQS queue answers and accepts the keys typed."""

from __future__ import annotations

from segment_desktop.core.delivery import queue_region


def check_queue(url: str, region: str, access_key_id: str, secret_access_key: str) -> str:
    """A one-line summary when the queue answered with these keys; a ``ConfigError`` saying
    what to fix otherwise (an unknown queue, keys AWS refuses, an endpoint that cannot be
    reached; one attempt, given up within 20 s). A queue URL outside Amazon (an
    SQS-compatible server) is called at its own origin.
    """
    from segment_desktop.relay.sqs_queue import QueueSettings, check_queue
    from segment_desktop.sandbox.sqs_delivery import endpoint_for

    settings = QueueSettings(
        url=url.strip(),
        region=queue_region(url, region),
        endpoint_url=endpoint_for(url.strip()) or "",
        access_key_id=access_key_id.strip(),
    )
    info = check_queue(settings, secret_access_key, interactive=True)
    dead_letters = (
        f"failed messages go to its dead-letter queue after {info.max_receives} receives"
        if info.max_receives
        else "it has no dead-letter queue, so failing messages are parked by the relay"
    )
    return (
        f"The queue answered and accepted the keys ({settings.region_name()}; visibility "
        f"timeout {info.visibility_timeout} s; {dead_letters})."
    )
