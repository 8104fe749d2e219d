"""CommerceClient against the Commerce emulator on 127.0.0.1 (real sockets), plus a few odd
answers no emulator gives, through ``httpx.MockTransport``."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from segment_desktop.commerce import CommerceClient, normalise_base_url
from segment_desktop.core.envelope import to_event
from segment_desktop.core.errors import (
    AuthenticationError,
    ConflictError,
    EventLimitError,
    InvalidURLError,
    NetworkError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitedError,
    ServerError,
    ServiceError,
    ValidationError,
)
from segment_desktop.sandbox.runner import Sandbox

FAST = httpx.Timeout(2.0, connect=1.0)


class Sleeps(list[float]):
    """A ``sleep`` that records instead of waiting."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def make_client(sandbox: Sandbox, **options: Any) -> CommerceClient:
    options.setdefault("timeout", FAST)
    options.setdefault("sleep", Sleeps())
    options.setdefault("backoff_base", 0.01)
    return CommerceClient(sandbox.commerce_url, sandbox.client_id, sandbox.client_secret, **options)


@pytest.fixture
def client(sandbox: Sandbox) -> Iterator[CommerceClient]:
    with make_client(sandbox) as c:
        yield c


def calls(sandbox: Sandbox) -> list[tuple[str, str, int]]:
    """The emulator's request log once it has settled.

    The emulator records a request after its response has gone out, so the last entry can
    lag a moment behind the answer our client already has.
    """
    log = sandbox.commerce.request_log
    deadline = time.monotonic() + 2.0
    while time.monotonic() < deadline:
        time.sleep(0.03)
        again = sandbox.commerce.request_log
        if len(again) == len(log):
            break
        log = again
    return [(r.method, r.path, r.status) for r in log]


def webhook(url: str, **extra: Any) -> dict[str, Any]:
    return {
        "name": "Test hook",
        "description": "made by a test",
        "integration_type": "webhook",
        "enabled": True,
        "observes": ["order.paid"],
        "configuration": {"url": url, "secret_key": "s" * 40},
        **extra,
    }


# -- base URL ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("https://euwest.api.elasticpath.com/", "https://euwest.api.elasticpath.com"),
        ("https://useast.api.elasticpath.com/v2", "https://useast.api.elasticpath.com"),
        ("https://useast.api.elasticpath.com/v2/", "https://useast.api.elasticpath.com"),
        (
            "https://euwest.api.elasticpath.com/oauth/access_token",
            "https://euwest.api.elasticpath.com",
        ),
        ("  euwest.api.elasticpath.com ", "https://euwest.api.elasticpath.com"),
        ("http://127.0.0.1:8123/v2", "http://127.0.0.1:8123"),
        ("http://localhost:9/", "http://localhost:9"),
        ("http://[::1]:9", "http://[::1]:9"),
    ],
)
def test_base_url_forms_are_normalised_silently(typed: str, expected: str) -> None:
    assert normalise_base_url(typed) == (expected, None)


def test_commerce_manager_url_becomes_the_api_host_with_a_note() -> None:
    url, note = normalise_base_url("https://euwest.cm.elasticpath.com/app/dashboard")
    assert url == "https://euwest.api.elasticpath.com"
    assert note is not None and "Commerce Manager" in note and "euwest.api" in note


def test_a_pasted_api_address_is_cut_back_to_the_base_with_a_note() -> None:
    url, note = normalise_base_url("https://useast.api.elasticpath.com/v2/integrations/abc")
    assert url == "https://useast.api.elasticpath.com"
    assert note is not None and "/v2/integrations/abc" in note


def test_deprecated_moltin_host_is_kept_with_a_note_suggesting_euwest() -> None:
    url, note = normalise_base_url("https://api.moltin.com/v2")
    assert url == "https://api.moltin.com"
    assert note is not None and "https://euwest.api.elasticpath.com" in note


@pytest.mark.parametrize(
    "typed", ["http://euwest.api.elasticpath.com", "http://10.0.0.5:8080", "ftp://x.example", ""]
)
def test_unsafe_or_unusable_urls_are_refused(typed: str) -> None:
    with pytest.raises(InvalidURLError) as caught:
        normalise_base_url(typed)
    assert str(caught.value)


def test_plain_http_to_a_remote_host_is_refused_before_any_request() -> None:
    with pytest.raises(InvalidURLError, match="https://"):
        CommerceClient("http://euwest.api.elasticpath.com", "id", "secret-value-xyz")


# -- token -----------------------------------------------------------------------------------


def test_authenticate_returns_a_client_credentials_token(client: CommerceClient) -> None:
    info = client.authenticate()
    assert info.identifier == "client_credentials"
    assert info.can_manage_integrations
    assert info.token_type == "Bearer"
    assert 3500 < info.expires_at - time.time() <= 3601


def test_wrong_secret_is_an_authentication_error_pointing_at_the_secret(sandbox: Sandbox) -> None:
    wrong = "definitely-not-the-secret-123"
    with (
        CommerceClient(sandbox.commerce_url, sandbox.client_id, wrong, timeout=FAST) as c,
        pytest.raises(AuthenticationError) as caught,
    ):
        c.list_integrations()
    assert caught.value.field == "client_secret"
    assert "client ID and client secret" in str(caught.value)
    assert wrong not in str(caught.value) and wrong not in repr(c)
    # refused at the token endpoint: the API itself was never called
    assert calls(sandbox) == [("POST", "/oauth/access_token", 401)]


def test_token_is_reused_then_silently_refreshed_before_it_expires(sandbox: Sandbox) -> None:
    now = [time.time()]
    with make_client(sandbox, clock=lambda: now[0]) as c:
        c.list_integrations()
        c.list_integrations()
        now[0] += 3600 - 30  # inside the last minute of the token's life
        c.list_integrations()
    assert calls(sandbox) == [
        ("POST", "/oauth/access_token", 200),
        ("GET", "/v2/integrations", 200),
        ("GET", "/v2/integrations", 200),
        ("POST", "/oauth/access_token", 200),
        ("GET", "/v2/integrations", 200),
    ]


def test_a_401_mid_session_signs_in_again_once_and_retries(
    sandbox: Sandbox, client: CommerceClient
) -> None:
    client.list_integrations()
    sandbox.commerce.revoke_tokens()
    assert client.list_integrations() == []
    assert calls(sandbox)[1:] == [
        ("GET", "/v2/integrations", 200),
        ("GET", "/v2/integrations", 401),
        ("POST", "/oauth/access_token", 200),
        ("GET", "/v2/integrations", 200),
    ]


def test_a_token_refused_twice_is_an_error_not_a_loop(
    sandbox: Sandbox, client: CommerceClient
) -> None:
    sandbox.commerce.set_token_ttl(0)  # every token is born expired
    with pytest.raises(AuthenticationError, match="even after signing in again"):
        client.list_integrations()
    assert [c[2] for c in calls(sandbox)] == [200, 401, 200, 401]


def test_token_wrapped_in_data_is_accepted() -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.path)
        if request.url.path == "/oauth/access_token":
            form = dict(x.split("=") for x in request.content.decode().split("&"))
            assert form["grant_type"] == "client_credentials"
            assert request.headers["content-type"] == "application/x-www-form-urlencoded"
            token = {"access_token": "tok", "expires_in": 3600, "identifier": "client_credentials"}
            return httpx.Response(200, json={"data": token})
        assert request.headers["authorization"] == "Bearer tok"
        return httpx.Response(200, json={"data": []})

    with CommerceClient(
        "https://x.example", "id", "sec", transport=httpx.MockTransport(handler)
    ) as c:
        assert c.list_integrations() == []
        info = c.auth.info
    assert info is not None and 3590 < info.expires_at - time.time() <= 3600
    assert seen == ["/oauth/access_token", "/v2/integrations"]


def test_token_answer_without_a_token_is_a_clear_error() -> None:
    transport = httpx.MockTransport(lambda r: httpx.Response(200, json={"hello": "world"}))
    with (
        CommerceClient("https://x.example", "id", "sec", transport=transport) as c,
        pytest.raises(ServiceError, match="without an access token"),
    ):
        c.authenticate()


# -- mapped failures ----------------------------------------------------------------------------


def test_unknown_integration_is_not_found(client: CommerceClient) -> None:
    with pytest.raises(NotFoundError) as caught:
        client.get_integration("00000000-0000-0000-0000-000000000000")
    assert caught.value.status_code == 404
    assert "/v2/integrations/00000000" in str(caught.value)
    assert "No integration with id" in caught.value.detail


@pytest.mark.invalid_requests
def test_validation_error_carries_the_servers_title_and_detail(
    sandbox: Sandbox, client: CommerceClient
) -> None:
    with pytest.raises(ValidationError) as caught:
        client.create_integration(webhook("not a url"))
    err = caught.value
    assert err.status_code == 422 and not isinstance(err, EventLimitError)
    assert "Failed Validation" in str(err) and "configuration.url" in str(err)
    assert err.field == "data.configuration.url"


@pytest.mark.invalid_requests
def test_more_than_five_events_is_the_event_limit_error(client: CommerceClient) -> None:
    six = ["order.created", "order.paid", "order.updated", "order.refunded", "order.cancelled"]
    with pytest.raises(EventLimitError, match="at most 5 events") as caught:
        client.create_integration(
            webhook("https://h.example/x", observes=[*six, "order.fulfilled"])
        )
    assert "integration event limit of 5" in caught.value.detail


def test_429_is_retried_after_the_servers_retry_after(sandbox: Sandbox) -> None:
    sandbox.commerce.faults.rate_limit(prefix="/v2/integrations", retry_after=2)
    sleeps = Sleeps()
    with make_client(sandbox, sleep=sleeps) as c:
        assert c.list_integrations() == []
    assert sleeps and sleeps[0] >= 2.0
    assert [s for _, _, s in calls(sandbox)] == [200, 429, 200]


def test_429_when_retries_run_out_says_how_long_to_wait(sandbox: Sandbox) -> None:
    sandbox.commerce.faults.rate_limit(prefix="/v2/integrations", count=5, retry_after=7)
    with make_client(sandbox, max_retries=1) as c, pytest.raises(RateLimitedError) as caught:
        c.list_integrations()
    assert caught.value.retry_after == 7
    assert "7 s" in str(caught.value) and caught.value.status_code == 429


def test_500_is_retried_then_succeeds(sandbox: Sandbox) -> None:
    sandbox.commerce.faults.server_error(prefix="/v2/", count=2, status=500)
    sleeps = Sleeps()
    with make_client(sandbox, sleep=sleeps) as c:
        assert c.list_integrations() == []
    assert len(sleeps) == 2


def test_500_that_persists_is_a_server_error(sandbox: Sandbox) -> None:
    sandbox.commerce.faults.server_error(prefix="/v2/", count=10, status=500)
    with make_client(sandbox, max_retries=2) as c, pytest.raises(ServerError) as caught:
        c.list_integrations()
    assert caught.value.status_code == 500 and "try again" in str(caught.value)
    assert [s for _, p, s in calls(sandbox) if p.startswith("/v2")] == [500, 500, 500]


def test_5xx_on_the_token_endpoint_is_retried_too(sandbox: Sandbox) -> None:
    sandbox.commerce.faults.server_error(prefix="/oauth", count=1)
    with make_client(sandbox) as c:
        assert c.authenticate().identifier == "client_credentials"
    assert [s for _, _, s in calls(sandbox)] == [503, 200]


def test_malformed_body_is_reported_not_crashed_on(sandbox: Sandbox) -> None:
    with make_client(sandbox) as c:
        c.authenticate()
        sandbox.commerce.faults.malformed(prefix="/v2/integrations")
        with pytest.raises(ServiceError, match="not JSON"):
            c.list_integrations()


@pytest.mark.parametrize("status", [403, "403"])
def test_403_says_a_client_credentials_token_is_needed(status: int | str) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/oauth/access_token":
            return httpx.Response(200, json={"access_token": "t", "expires_in": 3600})
        return httpx.Response(403, json={"errors": [{"status": status, "title": "Forbidden"}]})

    with (
        CommerceClient(
            "https://x.example", "id", "sec", transport=httpx.MockTransport(handler)
        ) as c,
        pytest.raises(PermissionDeniedError) as caught,
    ):
        c.list_integrations()
    assert "client-credentials token" in str(caught.value)
    assert caught.value.status_code == 403


def test_409_is_a_conflict_and_not_retried() -> None:
    hits: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/oauth/access_token":
            return httpx.Response(200, json={"access_token": "t", "expires_in": 3600})
        hits.append(request.method)
        body = {"errors": [{"status": "409", "title": "Conflict", "detail": "Write conflict"}]}
        return httpx.Response(409, json=body)

    with (
        CommerceClient(
            "https://x.example", "id", "sec", transport=httpx.MockTransport(handler)
        ) as c,
        pytest.raises(ConflictError, match="Write conflict"),
    ):
        c.update_integration("abc", {"enabled": False})
    assert hits == ["PUT"]


def test_a_post_that_timed_out_is_not_repeated() -> None:
    """The server may have created the integration: repeating would create it twice."""
    posts: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/oauth/access_token":
            return httpx.Response(200, json={"access_token": "t", "expires_in": 3600})
        posts.append(request.method)
        raise httpx.ReadTimeout("timed out", request=request)

    with (
        CommerceClient(
            "https://x.example", "id", "sec", transport=httpx.MockTransport(handler), sleep=Sleeps()
        ) as c,
        pytest.raises(NetworkError, match=r"x\.example did not answer in time"),
    ):
        c.create_integration(webhook("https://h.example/x"))
    assert posts == ["POST"]


def test_dns_failure_names_the_host() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        try:
            raise socket.gaierror(-2, "Name or service not known")
        except socket.gaierror as err:
            raise httpx.ConnectError(str(err), request=request) from err

    with (
        CommerceClient(
            "https://nowhere.example",
            "id",
            "sec",
            transport=httpx.MockTransport(handler),
            sleep=Sleeps(),
        ) as c,
        pytest.raises(NetworkError) as caught,
    ):
        c.authenticate()
    assert "nowhere.example could not be found (DNS)" in str(caught.value)


def test_connection_refused_names_the_host(unused_port: int) -> None:
    url = f"http://127.0.0.1:{unused_port}"
    with (
        CommerceClient(url, "id", "sec", timeout=FAST, max_retries=1, sleep=Sleeps()) as c,
        pytest.raises(NetworkError) as caught,
    ):
        c.authenticate()
    assert f"127.0.0.1:{unused_port} refused the connection" in str(caught.value)


def test_a_server_that_never_answers_times_out_quickly(silent_server: int) -> None:
    started = time.monotonic()
    with (
        CommerceClient(
            f"http://127.0.0.1:{silent_server}",
            "id",
            "sec",
            timeout=httpx.Timeout(0.3),
            max_retries=1,
            sleep=Sleeps(),
        ) as c,
        pytest.raises(NetworkError) as caught,
    ):
        c.list_integrations()
    assert f"127.0.0.1:{silent_server} did not answer in time" in str(caught.value)
    assert time.monotonic() - started < 3


def test_tls_to_a_plain_http_server_is_a_tls_error(sandbox: Sandbox) -> None:
    url = sandbox.commerce_url.replace("http://", "https://")
    with (
        CommerceClient(url, "id", "sec", timeout=FAST, max_retries=0) as c,
        pytest.raises(NetworkError, match=r"secure \(TLS\) connection"),
    ):
        c.authenticate()


def test_the_secret_never_appears_in_repr_or_errors(sandbox: Sandbox) -> None:
    secret = "a-secret-that-must-not-leak-42"
    c = CommerceClient(sandbox.commerce_url, sandbox.client_id, secret, timeout=FAST)
    try:
        with pytest.raises(AuthenticationError) as caught:
            c.authenticate()
        texts = [repr(c), repr(c.auth), str(caught.value), repr(caught.value)]
        assert all(secret not in t for t in texts)
    finally:
        c.close()


# -- integrations ----------------------------------------------------------------------------


def test_integration_crud_round_trip(sandbox: Sandbox, client: CommerceClient) -> None:
    created = client.create_integration(webhook("https://hooks.example/commerce"))
    assert created["id"] and created["enabled"] is True
    assert client.get_integration(created["id"])["name"] == "Test hook"

    updated = client.update_integration(created["id"], {"enabled": False})
    assert updated["enabled"] is False and updated["name"] == "Test hook"  # partial update

    assert [i["id"] for i in client.list_integrations()] == [created["id"]]
    client.delete_integration(created["id"])
    assert client.list_integrations() == []
    with pytest.raises(NotFoundError):
        client.delete_integration(created["id"])


def test_update_sends_only_the_given_attributes() -> None:
    bodies: list[bytes] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/oauth/access_token":
            return httpx.Response(200, json={"access_token": "t", "expires_in": 3600})
        bodies.append(request.content)
        return httpx.Response(200, json={"data": {"id": "abc"}})

    with CommerceClient(
        "https://x.example", "id", "sec", transport=httpx.MockTransport(handler)
    ) as c:
        assert c.update_integration("abc", {"enabled": False}) == {"id": "abc"}
    assert [json.loads(b) for b in bodies] == [{"data": {"type": "integration", "enabled": False}}]


def test_delete_accepts_200_with_a_body() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/oauth/access_token":
            return httpx.Response(200, json={"access_token": "t", "expires_in": 3600})
        return httpx.Response(200, json={"data": {"type": "integration", "id": "abc"}})

    with CommerceClient(
        "https://x.example", "id", "sec", transport=httpx.MockTransport(handler)
    ) as c:
        c.delete_integration("abc")  # no exception


def test_ids_cannot_escape_the_integrations_path(client: CommerceClient) -> None:
    with pytest.raises(InvalidURLError):
        client.get_integration("../orders")


# -- delivery history --------------------------------------------------------------------------


def test_logs_and_jobs_after_a_delivery(sandbox: Sandbox, client: CommerceClient) -> None:
    target = f"{sandbox.segment_url}/v1/track"  # any 2xx receiver will do
    hook = client.create_integration(webhook(target, observes=["order.paid", "order.created"]))
    sandbox.commerce.fire("order.paid", wait=True)
    sandbox.commerce.fire("order.created", wait=True)

    logs = client.integration_logs(hook["id"], limit=1)
    assert logs.total == 2 and len(logs.items) == 1 and logs.next_offset == 1
    assert logs.items[0]["succeeded"] is True
    second = client.integration_logs(hook["id"], limit=1, offset=1)
    assert second.next_offset is None and second.items[0]["id"] != logs.items[0]["id"]

    jobs = client.integration_jobs(hook["id"])
    assert {j["triggered_by"] for j in jobs.items} == {"order.paid", "order.created"}
    job_logs = client.job_logs(hook["id"], jobs.items[0]["id"])
    assert [entry["attempt"] for entry in job_logs.items] == [1]
    assert client.all_logs().total == 2
    assert len(list(client.iter_logs(page_size=1))) == 2


# -- recent data -------------------------------------------------------------------------------


def test_recent_orders_are_webhook_shaped_with_their_own_items(client: CommerceClient) -> None:
    bodies = client.recent_orders(3, event="order.created")
    assert len(bodies) == 3
    for body in bodies:
        order = body["payload"]["data"]
        assert body["id"] == f"recent-{order['id']}"
        assert body["triggered_by"] == "order.created" and body["attempt"] == 1
        wanted = [ref["id"] for ref in order["relationships"]["items"]["data"]]
        assert [i["id"] for i in body["payload"]["included"]["items"]] == wanted
        assert json.loads(body["resources"]) == body["payload"]
        event = to_event(body)  # the renderer's own reader accepts it
        assert event.triggered_by == "order.created"
        assert event.body["payload"]["data"]["id"] == order["id"]


def test_recent_customers_are_webhook_shaped(client: CommerceClient) -> None:
    bodies = client.recent_events("customers", 2)
    assert len(bodies) == 2
    assert bodies[0]["triggered_by"] == "customer.created"
    assert bodies[0]["payload"]["data"]["email"]
    assert bodies[0]["id"] == "recent-" + bodies[0]["payload"]["data"]["id"]


# -- fixtures --------------------------------------------------------------------------------------


@pytest.fixture
def unused_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A socket that accepts connections (the kernel's backlog) and never answers."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(8)
    try:
        yield s.getsockname()[1]
    finally:
        s.close()


def _paging_server(
    total: int, *, honours_paging: bool
) -> tuple[httpx.MockTransport, list[httpx.URL]]:
    everything = [{"id": f"i-{n}", "name": f"hook {n}"} for n in range(total)]
    seen: list[httpx.URL] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/oauth/access_token":
            return httpx.Response(200, json={"access_token": "t", "expires_in": 3600})
        seen.append(request.url)
        if not honours_paging:
            return httpx.Response(200, json={"data": everything})
        limit = int(request.url.params["page[limit]"])
        offset = int(request.url.params["page[offset]"])
        body = {"data": everything[offset : offset + limit], "meta": {"results": {"total": total}}}
        return httpx.Response(200, json=body)

    return httpx.MockTransport(handler), seen


def test_integrations_on_several_pages_are_all_listed() -> None:
    transport, seen = _paging_server(150, honours_paging=True)
    with CommerceClient("https://x.example", "id", "sec", transport=transport) as c:
        listed = c.list_integrations()
    assert [i["id"] for i in listed] == [f"i-{n}" for n in range(150)]
    assert [u.params["page[offset]"] for u in seen] == ["0", "100"]


def test_a_server_ignoring_paging_does_not_loop() -> None:
    transport, seen = _paging_server(100, honours_paging=False)
    with CommerceClient("https://x.example", "id", "sec", transport=transport) as c:
        assert len(c.list_integrations()) == 100
    assert len(seen) == 2  # the second page brought nothing new


def test_a_create_answered_500_is_not_repeated(sandbox: Sandbox) -> None:
    """A 500 may come after the integration was stored: repeating could create it twice."""
    sandbox.commerce.faults.add(
        "server_error", prefix="/v2/integrations", method="POST", status=500
    )
    with make_client(sandbox) as c, pytest.raises(ServerError):
        c.create_integration(webhook("https://h.example/x"))
    assert [s for m, _, s in calls(sandbox) if m == "POST" and s != 200] == [500]
    assert [p for m, p, _ in calls(sandbox) if m == "POST"].count("/v2/integrations") == 1


def test_a_create_answered_503_is_repeated(sandbox: Sandbox) -> None:
    sandbox.commerce.faults.add(
        "server_error", prefix="/v2/integrations", method="POST", status=503
    )
    with make_client(sandbox) as c:
        created = c.create_integration(webhook("https://h.example/x"))
    assert [i["id"] for i in sandbox.commerce.integrations] == [created["id"]]


def test_a_redirect_is_explained_not_followed() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(301, headers={"Location": "https://elsewhere.example/"})

    with (
        CommerceClient(
            "https://x.example", "id", "sec", transport=httpx.MockTransport(handler)
        ) as c,
        pytest.raises(
            ServiceError, match=r"redirected POST /oauth/access_token to https://elsewhere"
        ),
    ):
        c.authenticate()


def test_a_skewed_server_clock_does_not_cause_a_token_per_request() -> None:
    tokens: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/oauth/access_token":
            tokens.append("issued")
            skewed = int(time.time()) - 7200  # the server's clock is two hours behind
            return httpx.Response(
                200, json={"access_token": "t", "expires_in": 3600, "expires": skewed}
            )
        return httpx.Response(200, json={"data": []})

    with CommerceClient(
        "https://x.example", "id", "sec", transport=httpx.MockTransport(handler)
    ) as c:
        c.list_integrations()
        c.list_integrations()
    assert tokens == ["issued"]


def test_missing_credentials_are_refused_before_any_request() -> None:
    with pytest.raises(AuthenticationError) as caught:
        CommerceClient("https://x.example", " ", "sec")
    assert caught.value.field == "client_id" and "client ID" in str(caught.value)
    with pytest.raises(AuthenticationError) as caught:
        CommerceClient("https://x.example", "id", "")
    assert caught.value.field == "client_secret"


# -- answers in the documented shapes, and servers that page badly ---------------------------


def _token_or(answer: Any) -> httpx.MockTransport:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/oauth/access_token":
            return httpx.Response(200, json={"access_token": "t", "expires_in": 3600})
        return answer(request)

    return httpx.MockTransport(handler)


def test_a_log_lists_record_count_is_read_from_results_total_not_meta_total() -> None:
    """Documented: ``meta.total`` counts pages, ``results.total`` (beside ``meta``) records."""

    def logs(request: httpx.Request) -> httpx.Response:
        body = {
            "data": [{"id": "log-1", "type": "integration"}],
            "meta": {"limit": 1, "offset": 0, "current": 1, "total": 3},
            "results": {"total": 3},
        }
        return httpx.Response(200, json=body)

    with CommerceClient("https://x.example", "id", "sec", transport=_token_or(logs)) as c:
        page = c.all_logs(limit=1)
    assert page.total == 3 and page.next_offset == 1


def test_a_paged_read_ends_when_the_server_ignores_the_offset_and_gives_no_total() -> None:
    asked: list[str] = []

    def same_page(request: httpx.Request) -> httpx.Response:
        asked.append(str(request.url.params.get("page[offset]")))
        data = [{"id": f"log-{n}"} for n in range(3)]
        return httpx.Response(200, json={"data": data})

    with CommerceClient("https://x.example", "id", "sec", transport=_token_or(same_page)) as c:
        logs = list(c.iter_logs(page_size=3))
        integrations = c.list_integrations()
    assert [log["id"] for log in logs] == ["log-0", "log-1", "log-2"]
    assert [i["id"] for i in integrations] == ["log-0", "log-1", "log-2"]
    assert asked == ["0", "3", "0"]  # logs: one repeated page, then stop; integrations: one page


def test_the_token_request_carries_the_clients_user_agent() -> None:
    agents: dict[str, str] = {}

    def handler(request: httpx.Request) -> httpx.Response:
        agents[request.url.path] = request.headers.get("user-agent", "")
        if request.url.path == "/oauth/access_token":
            return httpx.Response(200, json={"access_token": "t", "expires_in": 3600})
        return httpx.Response(200, json={"data": []})

    with CommerceClient(
        "https://x.example", "id", "sec", transport=httpx.MockTransport(handler)
    ) as c:
        c.list_integrations()
    assert agents["/oauth/access_token"].startswith("segment-desktop/")
    assert agents["/oauth/access_token"] == agents["/v2/integrations"]
