"""The emulated token endpoint: flat body, 401 on wrong credentials, expiry and revocation."""

from __future__ import annotations

import time

import httpx

from segment_desktop.sandbox.runner import Sandbox
from tests.sandbox.conftest import get_token


def _token_request(http: httpx.Client, sandbox: Sandbox, **form: str) -> httpx.Response:
    return http.post(f"{sandbox.commerce_url}/oauth/access_token", data=form)


def _credentials(sandbox: Sandbox) -> dict[str, str]:
    return {
        "grant_type": "client_credentials",
        "client_id": sandbox.client_id,
        "client_secret": sandbox.client_secret,
    }


def _list(http: httpx.Client, sandbox: Sandbox, token: str) -> httpx.Response:
    return http.get(
        f"{sandbox.commerce_url}/v2/integrations", headers={"Authorization": f"Bearer {token}"}
    )


def test_client_credentials_give_a_flat_bearer_token(sandbox: Sandbox, http: httpx.Client) -> None:
    before = time.time()
    response = _token_request(http, sandbox, **_credentials(sandbox))
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"access_token", "token_type", "expires_in", "expires", "identifier"}
    assert body["token_type"] == "Bearer"
    assert body["identifier"] == "client_credentials"
    assert body["expires_in"] == 3600
    assert before + 3598 <= body["expires"] <= time.time() + 3601
    assert _list(http, sandbox, body["access_token"]).status_code == 200


def test_wrong_credentials_are_refused_with_401(sandbox: Sandbox, http: httpx.Client) -> None:
    for client_id, secret in [
        (sandbox.client_id, "not-the-secret"),
        ("someone-else", sandbox.client_secret),
        (sandbox.client_id, ""),
    ]:
        response = _token_request(
            http,
            sandbox,
            grant_type="client_credentials",
            client_id=client_id,
            client_secret=secret,
        )
        assert response.status_code == 401
        assert response.json() == {"errors": [{"title": "Unauthorized", "status": "401"}]}


def test_missing_grant_type_is_a_400(sandbox: Sandbox, http: httpx.Client) -> None:
    form = _credentials(sandbox)
    del form["grant_type"]
    response = _token_request(http, sandbox, **form)
    assert response.status_code == 400
    assert response.json()["errors"][0]["detail"] == "grant_type is required"


def test_a_json_body_is_not_accepted_as_the_form(sandbox: Sandbox, http: httpx.Client) -> None:
    response = http.post(f"{sandbox.commerce_url}/oauth/access_token", json=_credentials(sandbox))
    assert response.status_code == 400


def test_missing_wrong_or_malformed_token_is_401(sandbox: Sandbox, http: httpx.Client) -> None:
    url = f"{sandbox.commerce_url}/v2/integrations"
    for headers in [{}, {"Authorization": "Bearer nope"}, {"Authorization": "Basic abc"}]:
        response = http.get(url, headers=headers)
        assert response.status_code == 401
        assert response.json()["errors"][0]["title"] == "Unable to validate access token"


def test_tokens_expire_after_the_ttl(sandbox: Sandbox, http: httpx.Client) -> None:
    sandbox.commerce.set_token_ttl(1)
    response = _token_request(http, sandbox, **_credentials(sandbox))
    assert response.json()["expires_in"] == 1
    token = response.json()["access_token"]
    assert _list(http, sandbox, token).status_code == 200
    time.sleep(1.05)
    assert _list(http, sandbox, token).status_code == 401


def test_ttl_zero_issues_already_expired_tokens(sandbox: Sandbox, http: httpx.Client) -> None:
    sandbox.commerce.set_token_ttl(0)
    assert _list(http, sandbox, get_token(sandbox, http)).status_code == 401
    sandbox.commerce.set_token_ttl(3600)
    assert _list(http, sandbox, get_token(sandbox, http)).status_code == 200


def test_revoking_forces_a_401_mid_session_and_a_new_token_works(
    sandbox: Sandbox, http: httpx.Client
) -> None:
    token = get_token(sandbox, http)
    assert _list(http, sandbox, token).status_code == 200
    sandbox.commerce.revoke_tokens()
    assert _list(http, sandbox, token).status_code == 401
    assert _list(http, sandbox, get_token(sandbox, http)).status_code == 200


def test_control_endpoint_sets_ttl_and_revokes(sandbox: Sandbox, http: httpx.Client) -> None:
    token = get_token(sandbox, http)
    response = http.post(f"{sandbox.commerce_url}/sandbox/tokens", json={"ttl": 60, "revoke": True})
    assert response.json() == {"data": {"ttl": 60}}
    assert sandbox.commerce.token_ttl == 60
    assert _list(http, sandbox, token).status_code == 401


def test_an_implicit_token_cannot_read_back_office_data(
    sandbox: Sandbox, http: httpx.Client
) -> None:
    response = _token_request(http, sandbox, grant_type="implicit", client_id=sandbox.client_id)
    assert response.status_code == 200
    body = response.json()
    assert body["identifier"] == "implicit"
    listing = _list(http, sandbox, body["access_token"])
    assert listing.status_code == 403
    assert "client_credentials" in listing.json()["errors"][0]["detail"]
    orders = http.get(
        f"{sandbox.commerce_url}/v2/orders",
        headers={"Authorization": f"Bearer {body['access_token']}"},
    )
    assert orders.status_code == 403
