"""The Segment emulator: answers, limits, and what it records."""

from __future__ import annotations

import base64
import gzip
import json
from typing import Any

import httpx

from segment_desktop.core.spec import MAX_CALL_BYTES
from segment_desktop.core.spec import call_size as call_bytes
from segment_desktop.sandbox.runner import Sandbox


def _track(n: int = 0, **extra: Any) -> dict[str, Any]:
    return {"type": "track", "event": "Order Completed", "userId": f"user-{n}", **extra}


def _send(
    http: httpx.Client, sandbox: Sandbox, body: Any, *, key: str | None = None, path: str = "batch"
) -> httpx.Response:
    auth = (key, "") if key is not None else None
    return http.post(f"{sandbox.segment_url}/v1/{path}", json=body, auth=auth)


def test_a_batch_is_accepted_and_recorded(sandbox: Sandbox, http: httpx.Client) -> None:
    body = {
        "batch": [_track(1), {"type": "identify", "userId": "user-1", "traits": {"a": 1}}],
        "sentAt": "2026-11-29T05:00:00.000Z",
        "writeKey": sandbox.write_key,
    }
    response = _send(http, sandbox, body, key=sandbox.write_key)
    assert response.status_code == 200
    assert response.json() == {"success": True}
    (batch,) = sandbox.segment.received_batches
    assert batch.write_key == batch.key == sandbox.write_key
    assert batch.body_write_key == sandbox.write_key
    assert batch.sent_at == batch.sentAt == "2026-11-29T05:00:00.000Z"
    assert batch.calls == body["batch"]
    assert sandbox.segment.received_calls() == body["batch"]


def test_an_unknown_or_missing_write_key_still_gets_200(
    sandbox: Sandbox, http: httpx.Client
) -> None:
    assert _send(http, sandbox, {"batch": [_track()]}, key="wrong-key").status_code == 200
    assert _send(http, sandbox, {"batch": [_track()]}).status_code == 200
    odd = http.post(
        f"{sandbox.segment_url}/v1/batch",
        json={"batch": [_track()]},
        headers={"Authorization": "Basic !!!not-base64"},
    )
    assert odd.status_code == 200
    keys = [b.write_key for b in sandbox.segment.received_batches]
    assert keys == ["wrong-key", None, None]


def test_the_basic_username_is_the_key_and_the_password_is_ignored(
    sandbox: Sandbox, http: httpx.Client
) -> None:
    token = base64.b64encode(f"{sandbox.write_key}:ignored".encode()).decode()
    http.post(
        f"{sandbox.segment_url}/v1/batch",
        json={"batch": [_track()]},
        headers={"Authorization": f"Basic {token}"},
    )
    assert sandbox.segment.received_batches[0].write_key == sandbox.write_key


def test_invalid_json_is_400(sandbox: Sandbox, http: httpx.Client) -> None:
    for raw in (b"{nope", b"[1, 2]", b'{"batch": "x"}', b'{"batch": [1]}'):
        response = http.post(
            f"{sandbox.segment_url}/v1/batch",
            content=raw,
            headers={"Content-Type": "application/json"},
        )
        assert response.status_code == 400, raw
        assert response.json()["success"] is False
    assert sandbox.segment.received_batches == []
    assert len(sandbox.segment.rejected) == 4


def test_a_call_over_32_kb_is_400(sandbox: Sandbox, http: httpx.Client) -> None:
    filler = "x" * (MAX_CALL_BYTES - call_bytes(_track(properties={"f": ""})))
    at_limit = _track(properties={"f": filler})
    assert call_bytes(at_limit) == MAX_CALL_BYTES
    assert _send(http, sandbox, {"batch": [at_limit]}).status_code == 200
    over = _track(properties={"f": filler + "y"})
    response = _send(http, sandbox, {"batch": [_track(), over]})
    assert response.status_code == 400
    assert "Call 1" in response.json()["message"] and "32 KB" in response.json()["message"]
    assert len(sandbox.segment.received_batches) == 1  # nothing of the refused batch is kept


def test_a_batch_over_500_kb_is_400(sandbox: Sandbox, http: httpx.Client) -> None:
    calls = [_track(n, properties={"f": "x" * 20_000}) for n in range(26)]
    response = _send(http, sandbox, {"batch": calls})
    assert response.status_code == 400
    assert "500 KB" in response.json()["message"]
    assert _send(http, sandbox, {"batch": calls[:23]}).status_code == 200


def test_more_than_2500_calls_is_200_and_the_rest_is_dropped(
    sandbox: Sandbox, http: httpx.Client
) -> None:
    """Segment documents 2,500 calls a batch, answers 200 to more and drops what is past it."""
    calls = [
        {"type": "track", "event": "e", "userId": "u", "messageId": f"m{n}"} for n in range(2501)
    ]
    response = _send(http, sandbox, {"batch": calls})
    assert response.status_code == 200 and response.json() == {"success": True}
    assert sandbox.segment.received_calls() == calls[:2500]
    assert sandbox.segment.discarded_calls() == calls[2500:]
    assert sandbox.segment.rejected == []


def test_a_call_of_32_kib_is_accepted(sandbox: Sandbox, http: httpx.Client) -> None:
    """Segment's libraries send calls up to 32 × 1024 bytes: 32,638 bytes is within that."""
    call = _track(properties={"f": ""})
    call["properties"]["f"] = "x" * (32_638 - call_bytes(call))
    assert call_bytes(call) == 32_638
    assert _send(http, sandbox, {"batch": [call]}).status_code == 200


def test_single_call_endpoints_record_a_batch_of_one(sandbox: Sandbox, http: httpx.Client) -> None:
    for kind in ("track", "identify", "page", "screen", "group", "alias"):
        call = {"userId": "u1", "event": "X"} if kind == "track" else {"userId": "u1"}
        assert _send(http, sandbox, call, key=sandbox.write_key, path=kind).status_code == 200
    calls = sandbox.segment.received_calls()
    assert [c["type"] for c in calls] == ["track", "identify", "page", "screen", "group", "alias"]
    assert {b.path for b in sandbox.segment.received_batches} == {
        f"/v1/{k}" for k in ("track", "identify", "page", "screen", "group", "alias")
    }


def test_a_gzip_body_is_accepted(sandbox: Sandbox, http: httpx.Client) -> None:
    raw = gzip.compress(json.dumps({"batch": [_track(7)]}).encode())
    response = http.post(
        f"{sandbox.segment_url}/v1/batch",
        content=raw,
        headers={"Content-Type": "application/json", "Content-Encoding": "gzip"},
    )
    assert response.status_code == 200
    assert sandbox.segment.received_calls() == [_track(7)]
    broken = http.post(
        f"{sandbox.segment_url}/v1/batch",
        content=b"not gzip",
        headers={"Content-Encoding": "gzip"},
    )
    assert broken.status_code == 400


def test_calls_segment_would_drop_later_are_accepted_but_listed(
    sandbox: Sandbox, http: httpx.Client
) -> None:
    no_id = {"type": "track", "event": "Order Completed"}
    no_event = {"type": "track", "userId": "u"}
    anonymous = {"type": "identify", "anonymousId": "anon-1"}
    assert _send(http, sandbox, {"batch": [no_id, no_event, anonymous]}).status_code == 200
    assert sandbox.segment.discarded_calls() == [no_id, no_event]


def test_control_endpoints_show_and_reset(sandbox: Sandbox, http: httpx.Client) -> None:
    _send(http, sandbox, {"batch": [_track(3)], "sentAt": "t"}, key="k")
    shown = http.get(f"{sandbox.segment_url}/sandbox/received").json()
    (batch,) = shown["batches"]
    assert batch["write_key"] == "k"
    assert batch["calls"] == [_track(3)]
    assert batch["sentAt"] == "t"
    assert http.post(f"{sandbox.segment_url}/sandbox/reset").status_code == 204
    assert sandbox.segment.received_batches == []
    assert http.get(f"{sandbox.segment_url}/sandbox/received").json() == {"batches": []}


def test_unknown_paths_and_methods(sandbox: Sandbox, http: httpx.Client) -> None:
    assert http.post(f"{sandbox.segment_url}/v1/nothing", json={}).status_code == 404
    assert http.get(f"{sandbox.segment_url}/v1/batch").status_code == 405
