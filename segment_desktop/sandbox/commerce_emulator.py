"""The Commerce emulator's state: tokens, integrations, delivery logs, the demo store, faults.

Everything here is plain Python guarded by one lock, shared between the HTTP handlers (on the
server's thread) and the test or app that drives it (``fire``, ``revoke_tokens``, ``faults``).
The HTTP layer is ``commerce_app.py``; the rules live here and in ``integrations.py`` (validation,
limits) and ``webhooks.py`` (what a delivery looks like), so the Python API and the HTTP API
cannot disagree.
"""

from __future__ import annotations

import copy
import secrets
import threading
import time
import uuid
from collections import Counter, deque
from collections.abc import Sequence
from typing import Any, NamedTuple

from segment_desktop.sandbox.delivery import Attempt, Delivery, DeliveryResult, DeliveryWorker
from segment_desktop.sandbox.demo import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, DEMO_STORE_ID
from segment_desktop.sandbox.faults import Faults
from segment_desktop.sandbox.integrations import (
    EVENT_NAME,
    INTEGRATION_LIMIT,
    check_configuration,
    data_of,
    for_create,
    now_iso,
    validated,
)
from segment_desktop.sandbox.problems import ApiProblem
from segment_desktop.sandbox.sqs_delivery import SqsSender, cloud_event, event_data
from segment_desktop.sandbox.store import Store, build_store
from segment_desktop.sandbox.webhooks import event_payload, request_factory

#: Resource types of logs and jobs, as the Integrations API documents them (docs/API_FACTS.md).
LOG_TYPE = "integration"
JOB_TYPE = "integration-job"
#: The integration types the emulator delivers (STOMP integrations are kept, never delivered).
DELIVERED_TYPES = ("webhook", "aws_sqs")
#: A CloudEvent's ``source`` before the sandbox knows its own address.
SOURCE_FALLBACK = "http://127.0.0.1"


class RequestRecord(NamedTuple):
    """One request to the emulated API; a tuple, so ``("GET", "/v2/x", 200) in log`` works."""

    method: str
    path: str
    status: int


def _same(given: str, expected: str) -> bool:
    """Constant-time comparison that also copes with non-ASCII input (bytes, not str)."""
    return secrets.compare_digest(given.encode(), expected.encode())


class CommerceEmulator:
    """State and behaviour of the emulated Commerce store.

    For tests and the app's sandbox mode:

    - ``fire(event, resource=None, *, resource_id=None, wait=False)`` delivers a webhook to every
      enabled integration observing the event; ``wait_idle(timeout)`` waits for all deliveries;
    - ``integrations``, ``logs(integration_id=None, job_id=None)``, ``jobs(integration_id)``;
    - ``set_token_ttl(seconds)``, ``revoke_tokens()``;
    - ``request_log`` (``(method, path, status)`` tuples), ``requests(method, prefix)``,
      ``request_counts()``, ``write_count()``, ``clear_request_log()``;
    - ``faults`` (see ``faults.py``), ``store`` (the seeded orders and customers), ``reset()``.
    """

    #: The request log keeps this many entries (a sandbox left running must not grow forever).
    MAX_REQUEST_LOG = 100_000

    def __init__(
        self,
        *,
        token_ttl: int = 3600,
        webhook_timeout: float = 10.0,
        retry_delays: Sequence[float] = (1.0, 5.0, 15.0),
        client_id: str = DEMO_CLIENT_ID,
        client_secret: str = DEMO_CLIENT_SECRET,
    ) -> None:
        if token_ttl < 0:
            raise ValueError("token_ttl cannot be negative.")
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
        self._requests: deque[RequestRecord] = deque(maxlen=self.MAX_REQUEST_LOG)
        self._sqs = SqsSender(timeout=webhook_timeout)
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
        id_ok = _same(form.get("client_id", ""), self.client_id)
        secret_ok = _same(form.get("client_secret", ""), self.client_secret)
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

    def request_counts(self) -> Counter[tuple[str, str]]:
        """How many requests each (method, path) received."""
        return Counter((r.method, r.path) for r in self.request_log)

    def write_count(self, prefix: str = "/v2/") -> int:
        """POST, PUT, PATCH and DELETE requests under ``prefix`` (token requests excluded)."""
        writes = {"POST", "PUT", "PATCH", "DELETE"}
        return sum(1 for r in self.requests(prefix=prefix) if r.method in writes)

    def clear_request_log(self) -> None:
        with self._lock:
            self._requests.clear()

    def reset(self) -> None:
        """Back to a fresh store: no integrations, logs, jobs, requests or faults.

        Issued tokens stay valid. Deliveries already under way still finish (and are logged).
        """
        with self._lock:
            self._integrations.clear()
            self._jobs.clear()
            self._logs.clear()
            self._requests.clear()
        self.faults.clear()

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
        attributes = for_create(data_of(body))
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
        data = data_of(body)
        attributes = validated(data)
        with self._lock:
            stored = self._integrations.get(integration_id)
            if stored is None:
                raise ApiProblem(
                    404, "Not Found", f"No integration with id {integration_id!r} exists"
                )
            merged = {**stored, **attributes}
            check_configuration(merged["integration_type"], merged["configuration"])
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
            "job": {"data": {"type": JOB_TYPE, "id": result.job_id}},
        }
        log: dict[str, Any] = {
            "id": str(uuid.uuid4()),
            "type": LOG_TYPE,
            "succeeded": attempt.succeeded,
            "attempt": attempt.number,
            "body": attempt.body,
            "error_detail": attempt.error_detail,
            "processing_time": attempt.processing_time,
            "meta": {"timestamps": {"created_at": created}},
            "relationships": relationships,
            "_integration": result.integration_id,
            "_job": result.job_id,
        }
        if attempt.status_code is not None:  # an integer when present; no answer, no key
            log["status_code"] = attempt.status_code
        with self._lock:
            job = self._jobs.get(result.job_id)
            if job is None:  # the store was reset while this delivery was under way
                return
            self._logs.append(log)
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
        """Deliver ``event_name`` to every enabled integration observing it: a webhook POST, or
        a CloudEvent put on the queue of an ``aws_sqs`` integration.

        ``resource`` is the order or customer (or a whole ``{"data", "included"}`` payload);
        without it a seeded one is used (``resource_id`` picks it). Returns one handle per
        integration at once; with ``wait=True`` only after every delivery has finished.
        """
        if not EVENT_NAME.match(event_name):
            raise ValueError(f"{event_name!r} is not a Commerce event name such as 'order.paid'.")
        payload, resources = event_payload(self.store, event_name, resource, resource_id)
        event_id = str(uuid.uuid4())
        with self._lock:
            targets = [
                copy.deepcopy(i)
                for i in self._integrations.values()
                if i["enabled"]
                and i["integration_type"] in DELIVERED_TYPES
                and event_name in i["observes"]
            ]
            results = []
            for integration in targets:
                job_id = str(uuid.uuid4())
                moment = now_iso()
                self._jobs[job_id] = {
                    "id": job_id,
                    "type": JOB_TYPE,
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
            self._worker.submit(
                self._delivery(result, event_id, event_name, integration, payload, resources)
            )
        if wait:
            deadline = None if timeout is None else time.monotonic() + timeout
            for result in results:
                left = None if deadline is None else max(0.0, deadline - time.monotonic())
                result.wait(left)
        return results

    def _delivery(
        self,
        result: DeliveryResult,
        event_id: str,
        event_name: str,
        integration: dict[str, Any],
        payload: dict[str, Any],
        resources: Any,
    ) -> Delivery:
        if integration["integration_type"] == "aws_sqs":
            message = cloud_event(
                event_id,
                event_name,
                integration["id"],
                event_data(payload),
                store_id=DEMO_STORE_ID,
                source=self.base_url or SOURCE_FALLBACK,
            )
            return Delivery(result, send=self._sqs.sender(integration["configuration"], message))
        build = request_factory(event_id, event_name, integration, payload, resources)
        return Delivery(result, build=build)

    def wait_idle(self, timeout: float | None = 30.0) -> bool:
        """Wait until no delivery is pending (retries included); ``False`` on timeout."""
        return self._worker.wait_idle(timeout)

    def close(self) -> None:
        """Stop delivering; pending retries are dropped."""
        self._worker.close()


def _public(entry: dict[str, Any]) -> dict[str, Any]:
    return {k: copy.deepcopy(v) for k, v in entry.items() if not k.startswith("_")}
