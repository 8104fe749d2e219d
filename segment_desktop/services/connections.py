"""Signing in to Commerce and checking Segment, as the setup pages and the studio need them."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import TYPE_CHECKING

from segment_desktop.core.config import Config
from segment_desktop.core.errors import PermissionDeniedError, ServiceError

if TYPE_CHECKING:
    import httpx

    from segment_desktop.commerce import CommerceClient
    from segment_desktop.http_util import AttemptListener
    from segment_desktop.segment import SegmentClient

#: The user id of the event "Send test event" sends, easy to find in Segment's debugger.
TEST_USER_ID = "segment-desktop-test"


@dataclass(frozen=True)
class CommerceConnection:
    """A successful Commerce sign-in: the base URL as normalised, and a note if it changed."""

    base_url: str
    note: str | None


@dataclass(frozen=True)
class SegmentCheck:
    """The honest Segment connection test: did the host answer, and what that does not prove.
    ``field`` names the field at fault when it failed (``host``, ``path`` or ``write_key``)."""

    ok: bool
    summary: str
    field: str = ""


#: The connection check's failing step → the field the user should look at.
CHECK_FIELDS = {"reach": "host", "path": "path", "write_key": "write_key"}


def commerce_client(
    base_url: str, client_id: str, client_secret: str, timeout: httpx.Timeout | None = None
) -> CommerceClient:
    """A Commerce client; ``timeout`` ``None`` is the clients' default."""
    from segment_desktop.commerce import CommerceClient
    from segment_desktop.http_util import DEFAULT_TIMEOUT

    return CommerceClient(
        base_url,
        client_id,
        client_secret,
        timeout=timeout if timeout is not None else DEFAULT_TIMEOUT,
    )


def interactive_client(
    base_url: str,
    client_id: str,
    client_secret: str,
    timeout: httpx.Timeout | None = None,
    on_retry: AttemptListener | None = None,
) -> CommerceClient:
    """A Commerce client for a test a person watches: ``http_util.INTERACTIVE`` (gives up
    within about 20 s, no retry of an unknown host or a refused connection), telling
    ``on_retry`` of each retry. ``timeout`` replaces the policy's own."""
    import dataclasses

    from segment_desktop.commerce import CommerceClient
    from segment_desktop.http_util import INTERACTIVE

    patience = INTERACTIVE if timeout is None else dataclasses.replace(INTERACTIVE, timeout=timeout)
    return CommerceClient(base_url, client_id, client_secret, patience=patience, on_retry=on_retry)


def address_note(url: str) -> str | None:
    """What the app changed in a typed Commerce address, or ``None``: e.g. that it uses the
    region's API host for a Commerce Manager address. An error about the address names the
    host actually called, so it must come with this note."""
    from segment_desktop.commerce import normalise_base_url
    from segment_desktop.core.errors import SegmentDesktopError

    try:
        return normalise_base_url(url)[1]
    except SegmentDesktopError:
        return None


def sign_in(client: CommerceClient) -> CommerceConnection:
    """Obtain a real token with ``client``; refuse a key that cannot manage integrations.

    Raises ``InvalidURLError``/``NetworkError`` (the URL is at fault), ``AuthenticationError``
    (``.field`` names the ID or the secret), ``PermissionDeniedError`` for a read-only key.
    """
    info = client.authenticate()
    if not info.can_manage_integrations:
        raise PermissionDeniedError(
            "This key only gives a read-only (implicit) token; registering webhooks needs a "
            "client-credentials key. Create one in Commerce Manager (System › Application "
            "Keys).",
            status_code=403,
            service="Commerce",
            field="client_secret",
        )
    return CommerceConnection(client.base_url, client.note)


def check_segment(host: str, path: str, write_key: str, *, sandbox: bool) -> SegmentCheck:
    """Prove the host answers at the path; say plainly that the key itself is unproven (and,
    for the sandbox's emulator, where its calls can be seen instead of Segment's Debugger)."""
    with _watched_segment_client(host, path, write_key) as client:
        report = client.check_connection()
    if sandbox and report.ok:
        return SegmentCheck(
            ok=True,
            summary="The sandbox's Segment emulator answered. Like Segment, it does not "
            "validate write keys; Send test event shows a call arriving, and the main window "
            "lists what the emulator received.",
        )
    failing = next((c for c in report.checks if c.level == "error"), None)
    field = CHECK_FIELDS.get(failing.name, "") if failing is not None and not report.ok else ""
    if field == "path" and report.status_code in (401, 403):
        field = "write_key"  # refused the key: the host and path are right
    return SegmentCheck(ok=report.ok, summary=report.summary, field=field)


def send_test_event(host: str, path: str, write_key: str, *, sandbox: bool) -> str:
    """Send one clearly named track call; raise ``ServiceError`` with Segment's reason."""
    from segment_desktop.segment import TEST_EVENT_NAME

    with _watched_segment_client(host, path, write_key) as client:
        outcome = client.send_test_event(TEST_USER_ID)
    if not outcome.ok:
        raise ServiceError(f"The test event was not accepted: {outcome.reason}", service="Segment")
    accepted = f'Segment accepted a track call "{TEST_EVENT_NAME}" for user {TEST_USER_ID}.'
    if sandbox:
        return (
            f"{accepted} It went to the sandbox's Segment emulator on this computer, not to a "
            "Segment workspace."
        )
    return (
        f"{accepted} Look for it in your source's Debugger in Segment: if it is not there, the "
        "write key or the region is wrong."
    )


def _watched_segment_client(host: str, path: str, write_key: str) -> SegmentClient:
    """A Segment client for a test a person watches: two tries with the interactive timeouts
    (``http_util.INTERACTIVE``), so an unanswered test gives up within about 20 seconds."""
    from segment_desktop.http_util import INTERACTIVE
    from segment_desktop.segment import SegmentClient

    return SegmentClient(
        host, path, write_key, timeout=INTERACTIVE.timeout, max_attempts=2, backoff_cap=2.0
    )


def segment_client(config: Config, write_key: str | None) -> SegmentClient | None:
    """A Segment client for the saved settings, or ``None`` when the host or key is missing."""
    from segment_desktop.segment import SegmentClient

    if not (config.segment.host and write_key):
        return None
    with contextlib.suppress(ServiceError):
        return SegmentClient(config.segment.host, config.segment.path, write_key)
    return None
