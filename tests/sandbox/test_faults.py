"""Fault injection on both emulators: 429 with Retry-After, 5xx, slow answers, broken JSON."""

from __future__ import annotations

import json
import time

import httpx
import pytest

from segment_desktop.sandbox.faults import FaultKind, Faults
from segment_desktop.sandbox.runner import Sandbox


def test_rate_limit_for_the_next_n_requests_on_a_prefix(
    sandbox: Sandbox, commerce: httpx.Client
) -> None:
    sandbox.commerce.faults.rate_limit("/v2/integrations", count=2, retry_after=3)
    assert commerce.get("/v2/orders").status_code == 200  # another prefix: untouched
    for _ in range(2):
        response = commerce.get("/v2/integrations")
        assert response.status_code == 429
        assert response.headers["Retry-After"] == "3"
        assert response.json()["errors"][0]["status"] == 429
    assert commerce.get("/v2/integrations").status_code == 200
    statuses = [r.status for r in sandbox.commerce.requests(prefix="/v2/integrations")]
    assert statuses == [429, 429, 200]  # faulted answers are in the request log too


def test_server_errors_and_method_filter(sandbox: Sandbox, commerce: httpx.Client) -> None:
    sandbox.commerce.faults.add(
        "server_error", prefix="/v2/integrations", method="POST", status=502
    )
    assert commerce.get("/v2/integrations").status_code == 200
    body = {"data": {"type": "integration"}}
    assert commerce.post("/v2/integrations", json=body).status_code == 502
    assert commerce.post("/v2/integrations", json=body).status_code == 422  # back to normal
    assert sandbox.commerce.faults.pending() == []


def test_a_faulted_write_changes_nothing(sandbox: Sandbox, commerce: httpx.Client) -> None:
    sandbox.commerce.faults.server_error("/v2/integrations")
    body = {
        "data": {
            "type": "integration",
            "name": "n",
            "integration_type": "webhook",
            "observes": ["order.paid"],
            "configuration": {"url": "http://127.0.0.1:9/"},
        }
    }
    assert commerce.post("/v2/integrations", json=body).status_code == 503
    assert sandbox.commerce.integrations == []


def test_slow_answers_are_late_but_real(sandbox: Sandbox, commerce: httpx.Client) -> None:
    sandbox.commerce.faults.slow("/v2/customers", delay=0.3)
    started = time.monotonic()
    response = commerce.get("/v2/customers")
    assert time.monotonic() - started >= 0.3
    assert response.status_code == 200
    assert len(response.json()["data"]) == 15
    with pytest.raises(httpx.ReadTimeout):
        sandbox.commerce.faults.slow("/v2/customers", delay=0.5)
        commerce.get("/v2/customers", timeout=0.1)


def test_malformed_json(sandbox: Sandbox, commerce: httpx.Client) -> None:
    sandbox.commerce.faults.malformed("/v2/orders")
    response = commerce.get("/v2/orders")
    assert response.status_code == 200
    with pytest.raises(json.JSONDecodeError):
        response.json()
    assert commerce.get("/v2/orders").json()["meta"]["results"]["total"] == 30


def test_the_token_endpoint_can_be_faulted(sandbox: Sandbox, http: httpx.Client) -> None:
    sandbox.commerce.faults.rate_limit("/oauth", retry_after=0.5)
    response = http.post(
        f"{sandbox.commerce_url}/oauth/access_token",
        data={
            "grant_type": "client_credentials",
            "client_id": sandbox.client_id,
            "client_secret": sandbox.client_secret,
        },
    )
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "0.5"


def test_control_endpoints_arm_list_and_clear_faults(
    sandbox: Sandbox, commerce: httpx.Client, http: httpx.Client
) -> None:
    url = f"{sandbox.commerce_url}/sandbox/faults"
    armed = http.post(url, json={"kind": "rate_limit", "prefix": "/v2/orders", "count": 3})
    assert armed.status_code == 201
    assert armed.json()["data"]["remaining"] == 3
    assert commerce.get("/v2/orders").status_code == 429
    (pending,) = http.get(url).json()["data"]
    assert (pending["kind"], pending["remaining"]) == ("rate_limit", 2)
    assert http.delete(url).status_code == 204
    assert commerce.get("/v2/orders").status_code == 200
    for bad in (
        {"kind": "explode"},
        {"kind": "rate_limit", "count": 0},
        {"kind": "server_error", "status": 404},
        {"kind": "slow", "delay": "long"},
        {"kind": "slow", "when": "now"},
        {"prefix": "/v2"},
        ["rate_limit"],
    ):
        response = http.post(url, json=bad)
        assert response.status_code == 422, bad
        assert response.json()["errors"][0]["detail"]
    # control endpoints are never faulted themselves
    http.post(url, json={"kind": "server_error", "prefix": "/", "count": 5})
    assert http.get(url).status_code == 200


def test_segment_faults_refuse_without_recording(sandbox: Sandbox, http: httpx.Client) -> None:
    batch = {"batch": [{"type": "track", "event": "e", "userId": "u"}]}
    sandbox.segment.faults.rate_limit("/v1", count=1, retry_after=2)
    sandbox.segment.faults.server_error("/v1/batch", count=1, status=500)
    first = http.post(f"{sandbox.segment_url}/v1/batch", json=batch)
    assert first.status_code == 429 and first.headers["Retry-After"] == "2"
    assert http.post(f"{sandbox.segment_url}/v1/batch", json=batch).status_code == 500
    assert http.post(f"{sandbox.segment_url}/v1/batch", json=batch).status_code == 200
    assert len(sandbox.segment.received_batches) == 1

    armed = http.post(f"{sandbox.segment_url}/sandbox/faults", json={"kind": "slow", "delay": 0.2})
    assert armed.status_code == 201
    started = time.monotonic()
    assert http.post(f"{sandbox.segment_url}/v1/batch", json=batch).status_code == 200
    assert time.monotonic() - started >= 0.2
    assert len(sandbox.segment.received_batches) == 2
    bad = http.post(f"{sandbox.segment_url}/sandbox/faults", json={"kind": "nope"})
    assert bad.status_code == 422

    sandbox.segment.faults.server_error("/v1")
    sandbox.segment.reset()  # also disarms
    assert http.post(f"{sandbox.segment_url}/v1/batch", json=batch).status_code == 200


def test_faults_are_consumed_in_the_order_armed() -> None:
    faults = Faults()
    first = faults.rate_limit("/v2", count=1)
    second = faults.server_error("/v2", count=2)
    taken = [faults.take("GET", "/v2/x") for _ in range(4)]
    assert [f.id if f else None for f in taken] == [first.id, second.id, second.id, None]
    assert [f.kind if f else None for f in taken][:3] == [
        FaultKind.RATE_LIMIT,
        FaultKind.SERVER_ERROR,
        FaultKind.SERVER_ERROR,
    ]
    with pytest.raises(ValueError, match="prefix"):
        faults.add("slow", prefix="v2")
