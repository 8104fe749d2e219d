"""The Commerce emulator's state: tokens, integrations, delivery logs, the demo store, faults.

Everything here is plain Python guarded by one lock, shared between the HTTP handlers (on the
server's thread) and the test or app that drives it (``fire``, ``revoke_tokens``, ``faults``).
The HTTP layer is ``commerce_app.py``; the rules (validation, limits, error bodies) live here so
the Python API and the HTTP API cannot disagree.
"""

from __future__ import annotations

import copy
import json
import re
import secrets
import threading
import time
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, NamedTuple

from segment_desktop.sandbox.delivery import Attempt, Delivery, DeliveryResult, DeliveryWorker
from segment_desktop.sandbox.demo import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, DEMO_STORE_ID
from segment_desktop.sandbox.faults import Faults
from segment_desktop.sandbox.store import Store, build_store

EVENT_LIMIT = 5
INTEGRATION_LIMIT = 100
INTEGRATION_TYPES = ("webhook", "aws_sqs", "stomp")
EVENT_NAME = re.compile(r"^[a-z][a-z_-]*\.[a-z][a-z_-]*$")
EVENT_LIMIT_DETAIL = f"You have reached the integration event limit of {EVENT_LIMIT}"

#: Which seeded order best fits an order event when no resource is given.
ORDER_PICKS: dict[str, tuple[str, str]] = {
    "created": ("status", "incomplete"),
    "paid": ("payment", "paid"),
    "authorized": ("payment", "authorized"),
    "fulfilled": ("shipping", "fulfilled"),
    "cancelled": ("status", "cancelled"),
    "refunded": ("payment", "refunded"),
}


class ApiProblem(Exception):
    """A Commerce error answer: status plus one entry of the ``errors`` list."""

    def __init__(
        self,
        status: int,
        title: str,
        detail: str | None = None,
        *,
        source: str | None = None,
        string_status: bool = False,
    ) -> None:
        super().__init__(detail or title)
        self.status = status
        self.title = title
        self.detail = detail
        self.source = source
        self.string_status = string_status  # Commerce is inconsistent; we reproduce it

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {
            "status": str(self.status) if self.string_status else self.status,
            "title": self.title,
        }
        if self.detail is not None:
            error["detail"] = self.detail
        if self.source is not None:
            error["source"] = self.source
        return {"errors": [error]}


def invalid(field: str, detail: str) -> ApiProblem:
    return ApiProblem(422, "Failed Validation", detail, source=field)


def now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class RequestRecord(NamedTuple):
    """One request to the emulated API; a tuple, so ``("GET", "/v2/x", 200) in log`` works."""

    method: str
    path: str
    status: int


class CommerceEmulator:
    """State and behaviour of the emulated Commerce store."""

    def __init__(
        self,
        *,
        token_ttl: int = 3600,
        webhook_timeout: float = 10.0,
        retry_delays: Sequence[float] = (1.0, 5.0, 15.0),
        client_id: str = DEMO_CLIENT_ID,
        client_secret: str = DEMO_CLIENT_SECRET,
    ) -> None:
        self.client_id = client_id
        self.client_secret = client_secret
        self.base_url = ""
        """Set by the sandbox once the port is known; used for ``links``."""
        self.faults = Faults()
        self.store: Store = build_store()
        self._lock = threading.RLock()
        self._token_ttl = token_ttl
        self._tokens: dict[str, tuple[float, str]] = {}  # token → (expires, identifier)
        self._integrations: dict[str, dict[str, Any]] = {}
        self._jobs: dict[str, dict[str, Any]] = {}
        self._logs: list[dict[str, Any]] = []
        self._requests: list[RequestRecord] = []
        self._worker = DeliveryWorker(
            timeout=webhook_timeout, retry_delays=retry_delays, on_attempt=self._record_attempt
        )

    # -- tokens ---------------------------------------------------------------------------

    @property
    def token_ttl(self) -> int:
        return self._token_ttl

    def set_token_ttl(self, seconds: int) -> None:
        """Lifetime of tokens issued from now on (0 issues tokens that are already expired)."""
        if seconds < 0:
            raise ValueError("A token lifetime cannot be negative.")
        with self._lock:
            self._token_ttl = seconds

    def revoke_tokens(self) -> None:
        """Invalidate every issued token: the next call with one gets a 401."""
        with self._lock:
            self._tokens.clear()

    def issue_token(self, form: dict[str, str]) -> dict[str, Any]:
        grant = form.get("grant_type")
        if not grant:
            raise ApiProblem(400, "Bad Request", "grant_type is required", string_status=True)
        if grant not in ("client_credentials", "implicit"):
            raise ApiProblem(
                400, "Bad Request", f"Unsupported grant_type {grant!r}", string_status=True
            )
        id_ok = secrets.compare_digest(form.get("client_id", ""), self.client_id)
        secret_ok = secrets.compare_digest(form.get("client_secret", ""), self.client_secret)
        if not id_ok or (grant == "client_credentials" and not secret_ok):
            raise ApiProblem(401, "Unauthorized", string_status=True)
        token = secrets.token_hex(20)
        with self._lock:
            ttl = self._token_ttl
            expires = time.time() + ttl
            self._tokens[token] = (expires, grant)
        return {
            "access_token": token,
            "token_type": "Bearer",
            "expires_in": ttl,
            "expires": int(expires),
            "identifier": grant,
        }

    def check_token(self, authorization: str | None, *, manage: bool = False) -> None:
        """Raise the 401 (or 403 for a read-only implicit token) Commerce would answer."""
        scheme, _, token = (authorization or "").partition(" ")
        with self._lock:
            entry = self._tokens.get(token.strip()) if scheme.lower() == "bearer" else None
        if entry is None or entry[0] <= time.time():
            raise ApiProblem(401, "Unable to validate access token")
        if manage and entry[1] != "client_credentials":
            raise ApiProblem(
                403,
                "Forbidden",
                "This operation needs a client_credentials token; an implicit token is read-only",
            )

    # -- request log ------------------------------------------------------------------------

    def record_request(self, method: str, path: str, status: int) -> None:
        with self._lock:
            self._requests.append(RequestRecord(method, path, status))

    @property
    def request_log(self) -> list[RequestRecord]:
        """Every request to the emulated API (not ``/sandbox``): (method, path, status)."""
        with self._lock:
            return list(self._requests)

    def requests(self, method: str | None = None, prefix: str = "/") -> list[RequestRecord]:
        return [
            r
            for r in self.request_log
            if r.path.startswith(prefix) and (method is None or r.method == method.upper())
        ]

    def write_count(self, prefix: str = "/v2/") -> int:
        """POST, PUT, PATCH and DELETE requests under ``prefix`` (token requests excluded)."""
        writes = {"POST", "PUT", "PATCH", "DELETE"}
        return sum(1 for r in self.requests(prefix=prefix) if r.method in writes)

    def clear_request_log(self) -> None:
        with self._lock:
            self._requests.clear()

    # -- integrations ---------------------------------------------------------------------

    @property
    def integrations(self) -> list[dict[str, Any]]:
        """Copies of the integrations, oldest first."""
        with self._lock:
            return [self._render(i) for i in self._integrations.values()]

    def get_integration(self, integration_id: str) -> dict[str, Any]:
        with self._lock:
            stored = self._integrations.get(integration_id)
            if stored is None:
                raise ApiProblem(
                    404, "Not Found", f"No integration with id {integration_id!r} exists"
                )
            return self._render(stored)

    def create_integration(self, body: object) -> dict[str, Any]:
        data = _data(body)
        for name in ("type", "name", "integration_type", "observes", "configuration"):
            if name not in data:
                raise invalid(f"data.{name}", f"The data.{name} field is required.")
        attributes = _validated(data)
        attributes.setdefault("description", "")
        attributes.setdefault("enabled", False)
        moment = now_iso()
        integration = {
            "id": str(uuid.uuid4()),
            "type": "integration",
            **attributes,
            "meta": {"timestamps": {"created_at": moment, "updated_at": moment}},
        }
        with self._lock:
            if len(self._integrations) >= INTEGRATION_LIMIT:
                raise ApiProblem(
                    422,
                    "Unprocessable Entity",
                    f"You have reached the integration limit of {INTEGRATION_LIMIT}",
                )
            self._integrations[integration["id"]] = integration
            return self._render(integration)

    def update_integration(self, integration_id: str, body: object) -> dict[str, Any]:
        """Partial update: only the attributes sent change."""
        data = _data(body)
        attributes = _validated(data)
        with self._lock:
            stored = self._integrations.get(integration_id)
            if stored is None:
                raise ApiProblem(
                    404, "Not Found", f"No integration with id {integration_id!r} exists"
                )
            merged = {**stored, **attributes}
            if merged["integration_type"] == "webhook":
                _check_url(merged["configuration"])
            stored.update(attributes)
            stored["meta"]["timestamps"]["updated_at"] = now_iso()
            return self._render(stored)

    def delete_integration(self, integration_id: str) -> None:
        with self._lock:
            if self._integrations.pop(integration_id, None) is None:
                raise ApiProblem(
                    404, "Not Found", f"No integration with id {integration_id!r} exists"
                )

    def _render(self, integration: dict[str, Any]) -> dict[str, Any]:
        rendered = copy.deepcopy(integration)
        rendered["links"] = {"self": f"{self.base_url}/v2/integrations/{integration['id']}"}
        return rendered

    # -- logs and jobs ------------------------------------------------------------------------

    def logs(
        self, integration_id: str | None = None, job_id: str | None = None
    ) -> list[dict[str, Any]]:
        """Delivery logs, newest first, optionally for one integration and job."""
        with self._lock:
            if integration_id is not None and integration_id not in self._integrations:
                raise ApiProblem(
                    404, "Not Found", f"No integration with id {integration_id!r} exists"
                )
            if job_id is not None and self._jobs.get(job_id, {}).get("_integration") != (
                integration_id
            ):
                raise ApiProblem(404, "Not Found", f"No job with id {job_id!r} exists")
            chosen = [
                log
                for log in reversed(self._logs)
                if (integration_id is None or log["_integration"] == integration_id)
                and (job_id is None or log["_job"] == job_id)
            ]
            return [_public(log) for log in chosen]

    def jobs(self, integration_id: str) -> list[dict[str, Any]]:
        """An integration's jobs (one per event delivered to it), newest first."""
        with self._lock:
            if integration_id not in self._integrations:
                raise ApiProblem(
                    404, "Not Found", f"No integration with id {integration_id!r} exists"
                )
            chosen = [j for j in self._jobs.values() if j["_integration"] == integration_id]
            return [_public(job) for job in reversed(chosen)]

    def _record_attempt(self, result: DeliveryResult, attempt: Attempt) -> None:
        created = attempt.at.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        relationships = {
            "integration": {"data": {"type": "integration", "id": result.integration_id}},
            "job": {"data": {"type": "job", "id": result.job_id}},
        }
        log = {
            "id": str(uuid.uuid4()),
            "type": "log",
            "succeeded": attempt.succeeded,
            "attempt": attempt.number,
            "status_code": attempt.status_code,
            "body": attempt.body,
            "error_detail": attempt.error_detail,
            "processing_time": attempt.processing_time,
            "meta": {"timestamps": {"created_at": created}},
            "relationships": relationships,
            "_integration": result.integration_id,
            "_job": result.job_id,
        }
        with self._lock:
            self._logs.append(log)
            job = self._jobs[result.job_id]
            job["attempts"] = attempt.number
            if attempt.succeeded:
                job["status"] = "succeeded"
            elif attempt.number >= result.max_attempts:
                job["status"] = "failed"
            else:
                job["status"] = "retrying"
            job["meta"]["timestamps"]["updated_at"] = created

    # -- webhook delivery ---------------------------------------------------------------------

    def fire(
        self,
        event_name: str,
        resource: dict[str, Any] | None = None,
        *,
        resource_id: str | None = None,
        wait: bool = False,
        timeout: float | None = 30.0,
    ) -> list[DeliveryResult]:
        """Deliver ``event_name`` to every enabled webhook integration observing it.

        ``resource`` is the order or customer (or a whole ``{"data", "included"}`` payload);
        without it a seeded one is used (``resource_id`` picks it). Returns one handle per
        integration at once; with ``wait=True`` only after every delivery has finished.
        """
        if not EVENT_NAME.match(event_name):
            raise ValueError(f"{event_name!r} is not a Commerce event name such as 'order.paid'.")
        payload, resources = self._event_payload(event_name, resource, resource_id)
        event_id = str(uuid.uuid4())
        with self._lock:
            targets = [
                copy.deepcopy(i)
                for i in self._integrations.values()
                if i["enabled"]
                and i["integration_type"] == "webhook"
                and event_name in i["observes"]
            ]
            results = []
            for integration in targets:
                job_id = str(uuid.uuid4())
                moment = now_iso()
                self._jobs[job_id] = {
                    "id": job_id,
                    "type": "job",
                    "triggered_by": event_name,
                    "event_id": event_id,
                    "status": "pending",
                    "attempts": 0,
                    "meta": {"timestamps": {"created_at": moment, "updated_at": moment}},
                    "relationships": {
                        "integration": {"data": {"type": "integration", "id": integration["id"]}}
                    },
                    "_integration": integration["id"],
                }
                results.append(
                    DeliveryResult(
                        event_id=event_id,
                        event_name=event_name,
                        integration_id=integration["id"],
                        job_id=job_id,
                        url=integration["configuration"]["url"],
                        max_attempts=self._worker.max_attempts,
                    )
                )
        for result, integration in zip(results, targets, strict=True):
            build = _request_factory(event_id, event_name, integration, payload, resources)
            self._worker.submit(Delivery(result=result, build=build))
        if wait:
            deadline = None if timeout is None else time.monotonic() + timeout
            for result in results:
                left = None if deadline is None else max(0.0, deadline - time.monotonic())
                result.wait(left)
        return results

    def wait_idle(self, timeout: float | None = 30.0) -> bool:
        """Wait until no delivery is pending (retries included); ``False`` on timeout."""
        return self._worker.wait_idle(timeout)

    def close(self) -> None:
        """Stop delivering; pending retries are dropped."""
        self._worker.close()

    def _event_payload(
        self, event_name: str, resource: dict[str, Any] | None, resource_id: str | None
    ) -> tuple[dict[str, Any], Any]:
        kind, action = event_name.split(".", 1)
        if resource is None:
            resource = self._seeded(kind, action, resource_id)
        if action == "deleted":
            target = resource.get("data", resource)
            if not isinstance(target, dict) or "id" not in target:
                raise ValueError("A delete event needs a resource with an 'id'.")
            reference = {"type": target.get("type", kind), "id": target["id"]}
            return reference, dict(reference)
        if "data" in resource:
            payload = copy.deepcopy(resource)
        elif kind == "order":
            items = self.store.items.get(str(resource.get("id")), [])
            payload = {"data": copy.deepcopy(resource), "included": {"items": copy.deepcopy(items)}}
        else:
            payload = {"data": copy.deepcopy(resource)}
        return payload, json.dumps(payload, ensure_ascii=False)

    def _seeded(self, kind: str, action: str, resource_id: str | None) -> dict[str, Any]:
        if kind == "order":
            if resource_id is not None:
                order = self.store.order(resource_id)
                if order is None:
                    raise LookupError(f"The demo store has no order {resource_id!r}.")
                return self.store.order_payload(order)
            field, value = ORDER_PICKS.get(action, ("", ""))
            order = next(
                (o for o in self.store.orders if o.get(field) == value), self.store.orders[0]
            )
            return self.store.order_payload(order)
        if kind == "customer":
            if resource_id is not None:
                customer = self.store.customer(resource_id)
                if customer is None:
                    raise LookupError(f"The demo store has no customer {resource_id!r}.")
                return {"data": customer}
            return {"data": self.store.customers[0]}
        raise ValueError(
            f"The demo store has no {kind} resources; pass the resource for {kind}.{action}."
        )


def _request_factory(
    event_id: str,
    event_name: str,
    integration: dict[str, Any],
    payload: dict[str, Any],
    resources: Any,
) -> Any:
    configuration = integration["configuration"]
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "Elastic Path Integrations (segment-desktop sandbox)",
        "X-MOLTIN-INTEGRATION-TRIGGER": event_name,
    }
    secret = configuration.get("secret_key")
    if secret:
        headers["X-MOLTIN-SECRET-KEY"] = str(secret)

    def build(attempt: int) -> tuple[bytes, dict[str, str]]:
        body = {
            "id": event_id,
            "triggered_by": event_name,
            "attempt": attempt,
            "integration": {
                "id": integration["id"],
                "integration_type": integration["integration_type"],
                "name": integration["name"],
                "description": integration["description"],
            },
            "payload": payload,
            "resources": resources,
            "configuration": configuration,
            "store_id": DEMO_STORE_ID,
        }
        return json.dumps(body, ensure_ascii=False).encode(), headers

    return build


def _public(entry: dict[str, Any]) -> dict[str, Any]:
    return {k: copy.deepcopy(v) for k, v in entry.items() if not k.startswith("_")}


def _data(body: object) -> dict[str, Any]:
    if not isinstance(body, dict) or not isinstance(body.get("data"), dict):
        raise invalid("data", 'The request body must be a JSON object {"data": {...}}.')
    data: dict[str, Any] = body["data"]
    return data


def _validated(data: dict[str, Any]) -> dict[str, Any]:
    """The writable attributes present in ``data``, checked; raises ``ApiProblem`` (422)."""
    if "type" in data and data["type"] != "integration":
        raise invalid("data.type", 'The data.type field must be "integration".')
    out: dict[str, Any] = {}
    if "name" in data:
        if not isinstance(data["name"], str) or not data["name"].strip():
            raise invalid("data.name", "The data.name field must be a non-empty string.")
        out["name"] = data["name"]
    if "description" in data:
        if not isinstance(data["description"], str):
            raise invalid("data.description", "The data.description field must be a string.")
        out["description"] = data["description"]
    if "enabled" in data:
        if not isinstance(data["enabled"], bool):
            raise invalid("data.enabled", "The data.enabled field must be true or false.")
        out["enabled"] = data["enabled"]
    if "integration_type" in data:
        if data["integration_type"] not in INTEGRATION_TYPES:
            choices = ", ".join(INTEGRATION_TYPES)
            raise invalid(
                "data.integration_type", f"The data.integration_type must be one of: {choices}."
            )
        out["integration_type"] = data["integration_type"]
    if "observes" in data:
        observes = data["observes"]
        if not isinstance(observes, list) or not observes:
            raise invalid("data.observes", "The data.observes field must be a list of events.")
        for name in observes:
            if not isinstance(name, str) or not EVENT_NAME.match(name):
                raise invalid("data.observes", f"{name!r} is not an observable event.")
        if len(observes) > EVENT_LIMIT:
            raise ApiProblem(422, "Unprocessable Entity", EVENT_LIMIT_DETAIL)
        out["observes"] = list(observes)
    if "configuration" in data:
        configuration = data["configuration"]
        if not isinstance(configuration, dict):
            raise invalid("data.configuration", "The data.configuration field must be an object.")
        if out.get("integration_type", "webhook") == "webhook":
            _check_url(configuration)
        out["configuration"] = copy.deepcopy(configuration)
    return out


def _check_url(configuration: dict[str, Any]) -> None:
    url = configuration.get("url")
    if not isinstance(url, str) or not re.match(r"^https?://[^\s/]+", url):
        raise invalid(
            "data.configuration.url",
            "The data.configuration.url field is required: the http(s) URL to deliver to.",
        )
