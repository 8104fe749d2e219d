"""The emulated Integrations API: CRUD, defaults, partial updates, validation and limits."""

from __future__ import annotations

import time

import httpx

from segment_desktop.sandbox.runner import Sandbox
from tests.sandbox.conftest import webhook

HOOK = "http://127.0.0.1:9/hooks"
ORDER_EVENTS = ["order.created", "order.paid", "order.updated", "order.refunded", "order.cancelled"]


def test_create_returns_200_with_defaults_links_and_timestamps(
    sandbox: Sandbox, commerce: httpx.Client
) -> None:
    response = commerce.post("/v2/integrations", json=webhook(HOOK, ["order.paid"]))
    assert response.status_code == 200  # documented: 200, not 201
    data = response.json()["data"]
    assert data["type"] == "integration"
    assert data["enabled"] is False  # not sent: Commerce defaults to disabled
    assert data["description"] == "Sends order events to Segment"
    assert data["observes"] == ["order.paid"]
    assert data["configuration"] == {"url": HOOK, "secret_key": "whsec-test-0123456789"}
    assert data["links"]["self"] == f"{sandbox.commerce_url}/v2/integrations/{data['id']}"
    stamps = data["meta"]["timestamps"]
    assert stamps["created_at"] == stamps["updated_at"]
    assert stamps["created_at"].endswith("Z")

    fetched = commerce.get(f"/v2/integrations/{data['id']}")
    assert fetched.status_code == 200
    assert fetched.json()["data"] == data
    listed = commerce.get("/v2/integrations").json()["data"]
    assert [i["id"] for i in listed] == [data["id"]]


def test_description_defaults_to_empty_and_enabled_is_kept(commerce: httpx.Client) -> None:
    body = webhook(HOOK, ["customer.created"], enabled=True)
    del body["data"]["description"]
    data = commerce.post("/v2/integrations", json=body).json()["data"]
    assert data["description"] == ""
    assert data["enabled"] is True


def test_missing_required_fields_are_422_naming_the_field(commerce: httpx.Client) -> None:
    for field in ("name", "type", "integration_type", "observes", "configuration"):
        body = webhook(HOOK, ["order.paid"])
        del body["data"][field]
        response = commerce.post("/v2/integrations", json=body)
        assert response.status_code == 422, field
        error = response.json()["errors"][0]
        assert error["source"] == f"data.{field}"
        assert field in error["detail"]

    no_url = webhook(HOOK, ["order.paid"])
    no_url["data"]["configuration"] = {"secret_key": "x"}
    response = commerce.post("/v2/integrations", json=no_url)
    assert response.status_code == 422
    assert response.json()["errors"][0]["source"] == "data.configuration.url"


def test_other_invalid_bodies(commerce: httpx.Client) -> None:
    cases = [
        {"name": "x"},  # not wrapped in data
        webhook(HOOK, ["order.paid"], type="webhook"),
        webhook(HOOK, ["order.paid"], name="  "),
        webhook(HOOK, ["order.paid"], enabled="yes"),
        webhook(HOOK, ["order.paid"], integration_type="email"),
        webhook(HOOK, []),
        webhook(HOOK, ["paid"]),
        webhook("ftp://example.com", ["order.paid"]),
    ]
    for body in cases:
        response = commerce.post("/v2/integrations", json=body)
        assert response.status_code == 422, body
        assert response.json()["errors"][0]["status"] == 422
    assert commerce.get("/v2/integrations").json()["data"] == []

    broken = commerce.post(
        "/v2/integrations", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert broken.status_code == 400
    assert broken.json()["errors"][0]["title"] == "Bad Request"


def test_more_than_five_events_is_refused_with_the_documented_body(
    commerce: httpx.Client,
) -> None:
    response = commerce.post(
        "/v2/integrations", json=webhook(HOOK, [*ORDER_EVENTS, "order.fulfilled"])
    )
    assert response.status_code == 422
    assert response.json() == {
        "errors": [
            {
                "status": 422,
                "title": "Unprocessable Entity",
                "detail": "You have reached the integration event limit of 5",
            }
        ]
    }
    assert commerce.post("/v2/integrations", json=webhook(HOOK, ORDER_EVENTS)).status_code == 200


def test_put_is_a_partial_update(commerce: httpx.Client) -> None:
    created = commerce.post("/v2/integrations", json=webhook(HOOK, ["order.paid"])).json()["data"]
    time.sleep(0.002)
    response = commerce.put(
        f"/v2/integrations/{created['id']}",
        json={"data": {"type": "integration", "enabled": True}},
    )
    assert response.status_code == 200
    updated = response.json()["data"]
    assert updated["enabled"] is True
    for unchanged in ("name", "description", "observes", "configuration", "integration_type"):
        assert updated[unchanged] == created[unchanged]
    stamps = updated["meta"]["timestamps"]
    assert stamps["created_at"] == created["meta"]["timestamps"]["created_at"]
    assert stamps["updated_at"] > stamps["created_at"]

    observes = commerce.put(
        f"/v2/integrations/{created['id']}",
        json={"data": {"type": "integration", "observes": ["order.paid", "order.refunded"]}},
    ).json()["data"]
    assert observes["observes"] == ["order.paid", "order.refunded"]
    assert observes["enabled"] is True  # the earlier change stays

    off = {"data": {"type": "integration", "enabled": False}}
    disabled = commerce.put(f"/v2/integrations/{created['id']}", json=off).json()["data"]
    assert disabled["enabled"] is False
    assert commerce.get(f"/v2/integrations/{created['id']}").json()["data"] == disabled


def test_put_validates_what_it_changes(commerce: httpx.Client) -> None:
    created = commerce.post("/v2/integrations", json=webhook(HOOK, ["order.paid"])).json()["data"]
    url = f"/v2/integrations/{created['id']}"
    too_many = commerce.put(
        url, json={"data": {"type": "integration", "observes": [*ORDER_EVENTS, "order.fulfilled"]}}
    )
    assert too_many.status_code == 422
    assert "event limit of 5" in too_many.json()["errors"][0]["detail"]
    no_url = commerce.put(url, json={"data": {"type": "integration", "configuration": {}}})
    assert no_url.status_code == 422
    assert commerce.get(url).json()["data"]["observes"] == ["order.paid"]


def test_unknown_ids_are_404(commerce: httpx.Client) -> None:
    missing = "/v2/integrations/00000000-0000-4000-8000-000000000000"
    for response in (
        commerce.get(missing),
        commerce.put(missing, json={"data": {"type": "integration", "enabled": True}}),
        commerce.delete(missing),
        commerce.get(f"{missing}/logs"),
        commerce.get(f"{missing}/jobs"),
    ):
        assert response.status_code == 404
        assert response.json()["errors"][0]["title"] == "Not Found"


def test_delete_answers_200_and_removes(commerce: httpx.Client) -> None:
    created = commerce.post("/v2/integrations", json=webhook(HOOK, ["order.paid"])).json()["data"]
    response = commerce.delete(f"/v2/integrations/{created['id']}")
    assert response.status_code == 200  # documented: 200, not 204
    assert response.content == b""
    assert commerce.get(f"/v2/integrations/{created['id']}").status_code == 404
    assert commerce.get("/v2/integrations").json()["data"] == []


def test_a_store_holds_at_most_100_integrations(sandbox: Sandbox, commerce: httpx.Client) -> None:
    for index in range(100):
        sandbox.commerce.create_integration(webhook(f"{HOOK}/{index}", ["order.paid"]))
    response = commerce.post("/v2/integrations", json=webhook(HOOK, ["order.paid"]))
    assert response.status_code == 422
    assert "integration limit of 100" in response.json()["errors"][0]["detail"]
    listed = commerce.get("/v2/integrations", params={"page[limit]": 100}).json()
    assert len(listed["data"]) == 100 and listed["meta"]["results"]["total"] == 100


def test_request_log_counts_writes_by_method_and_path(
    sandbox: Sandbox, commerce: httpx.Client
) -> None:
    created = commerce.post("/v2/integrations", json=webhook(HOOK, ["order.paid"])).json()["data"]
    commerce.get("/v2/integrations")
    commerce.put(
        f"/v2/integrations/{created['id']}", json={"data": {"type": "integration", "enabled": True}}
    )
    commerce.post("/v2/integrations", json=webhook(HOOK, []))  # refused, still a write attempt
    log = sandbox.commerce.request_log
    assert (log[0].method, log[0].path, log[0].status) == ("POST", "/oauth/access_token", 200)
    assert [(r.method, r.status) for r in log[1:]] == [
        ("POST", 200),
        ("GET", 200),
        ("PUT", 200),
        ("POST", 422),
    ]
    assert sandbox.commerce.write_count() == 3
    assert len(sandbox.commerce.requests("GET", "/v2/integrations")) == 1

    # a "second run" that only reads makes zero writes
    sandbox.commerce.clear_request_log()
    commerce.get("/v2/integrations")
    assert sandbox.commerce.write_count() == 0
    control = httpx.get(f"{sandbox.commerce_url}/sandbox/requests", trust_env=False).json()
    assert control == {"data": [["GET", "/v2/integrations", 200]], "meta": {"writes": 0}}


def test_request_log_entries_are_plain_tuples(sandbox: Sandbox, commerce: httpx.Client) -> None:
    commerce.get("/v2/integrations")
    assert ("GET", "/v2/integrations", 200) in sandbox.commerce.request_log


def test_request_counts_and_reset(
    sandbox: Sandbox, commerce: httpx.Client, http: httpx.Client
) -> None:
    commerce.post("/v2/integrations", json=webhook(HOOK, ["order.paid"]))
    commerce.get("/v2/integrations")
    commerce.get("/v2/integrations")
    counts = sandbox.commerce.request_counts()
    assert counts[("GET", "/v2/integrations")] == 2
    assert counts[("POST", "/v2/integrations")] == 1
    sandbox.commerce.faults.server_error("/v2/orders")

    assert http.post(f"{sandbox.commerce_url}/sandbox/reset").status_code == 204
    assert sandbox.commerce.integrations == []
    assert sandbox.commerce.request_log == []
    assert sandbox.commerce.faults.pending() == []
    assert commerce.get("/v2/integrations").json()["data"] == []  # the token still works


def test_non_ascii_credentials_are_refused_not_crashed(
    sandbox: Sandbox, http: httpx.Client
) -> None:
    response = http.post(
        f"{sandbox.commerce_url}/oauth/access_token",
        data={"grant_type": "client_credentials", "client_id": "clïent", "client_secret": "sécret"},
    )
    assert response.status_code == 401


def test_the_list_is_paged_with_links_and_meta(commerce: httpx.Client) -> None:
    for index in range(3):
        commerce.post("/v2/integrations", json=webhook(f"{HOOK}/{index}", ["order.paid"]))
    first = commerce.get("/v2/integrations", params={"page[limit]": 1}).json()
    assert len(first["data"]) == 1
    assert first["meta"]["results"]["total"] == 3
    assert first["meta"]["page"] == {"limit": 1, "offset": 0, "current": 1, "total": 3}
    assert first["links"]["next"] is not None and first["links"]["prev"] is None
    last = commerce.get("/v2/integrations", params={"page[limit]": 1, "page[offset]": 2}).json()
    assert len(last["data"]) == 1 and last["links"]["next"] is None
    assert last["data"][0]["id"] != first["data"][0]["id"]


def test_405_names_every_method_of_the_path(commerce: httpx.Client) -> None:
    created = commerce.post("/v2/integrations", json=webhook(HOOK, ["order.paid"])).json()["data"]
    listing = commerce.patch("/v2/integrations", json={})
    assert listing.status_code == 405
    assert set(listing.headers["allow"].split(", ")) >= {"GET", "POST"}
    one = commerce.post(f"/v2/integrations/{created['id']}", json={})
    assert one.status_code == 405
    assert set(one.headers["allow"].split(", ")) >= {"GET", "PUT", "DELETE"}


def test_put_without_data_type_is_422(commerce: httpx.Client) -> None:
    created = commerce.post("/v2/integrations", json=webhook(HOOK, ["order.paid"])).json()["data"]
    response = commerce.put(f"/v2/integrations/{created['id']}", json={"data": {"enabled": True}})
    assert response.status_code == 422
    assert response.json()["errors"][0]["source"] == "data.type"
    assert commerce.get(f"/v2/integrations/{created['id']}").json()["data"]["enabled"] is False


QUEUE = "https://sqs.eu-west-1.amazonaws.com/123456789012/commerce-events"
SQS_CONFIGURATION = {
    "url": QUEUE,
    "aws_access_key_id": "AKIAEXAMPLE",
    "aws_secret_access_key": "example-secret",
    "region": "eu-west-1",
}


def sqs(configuration: dict[str, object]) -> dict[str, object]:
    body = webhook(QUEUE, ["order.paid"])
    body["data"].update(integration_type="aws_sqs", configuration=configuration)
    return body


def test_an_aws_sqs_integration_needs_its_four_settings(commerce: httpx.Client) -> None:
    for missing in SQS_CONFIGURATION:
        configuration = {k: v for k, v in SQS_CONFIGURATION.items() if k != missing}
        response = commerce.post("/v2/integrations", json=sqs(configuration))
        assert response.status_code == 422, missing
        assert response.json()["errors"][0]["source"] == f"data.configuration.{missing}"
    assert commerce.post("/v2/integrations", json=sqs({})).status_code == 422
    created = commerce.post("/v2/integrations", json=sqs(SQS_CONFIGURATION))
    assert created.status_code == 200
    assert created.json()["data"]["configuration"] == SQS_CONFIGURATION


def test_a_stomp_integration_needs_a_url(commerce: httpx.Client) -> None:
    body = webhook(HOOK, ["order.paid"])
    body["data"].update(integration_type="stomp", configuration={"username": "u"})
    response = commerce.post("/v2/integrations", json=body)
    assert response.status_code == 422
    assert response.json()["errors"][0]["source"] == "data.configuration.url"
    body["data"]["configuration"] = {"url": "stomp+ssl://mq.example:61614", "username": "u"}
    assert commerce.post("/v2/integrations", json=body).status_code == 200


def test_a_configuration_update_is_checked_against_the_integrations_own_type(
    commerce: httpx.Client,
) -> None:
    created = commerce.post("/v2/integrations", json=sqs(SQS_CONFIGURATION)).json()["data"]
    # a webhook's configuration is not enough for a queue
    response = commerce.put(
        f"/v2/integrations/{created['id']}",
        json={"data": {"type": "integration", "configuration": {"url": QUEUE}}},
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["source"] == "data.configuration.aws_access_key_id"
    changed = {**SQS_CONFIGURATION, "region": "us-east-1"}
    response = commerce.put(
        f"/v2/integrations/{created['id']}",
        json={"data": {"type": "integration", "configuration": changed}},
    )
    assert response.status_code == 200 and response.json()["data"]["configuration"] == changed
