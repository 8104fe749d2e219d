"""The Commerce emulator's HTTP face (Starlette): token, integrations, logs, orders, customers.

The rules live in ``CommerceEmulator``; this module maps requests onto it and its ``ApiProblem``
errors onto Commerce's ``{"errors": [...]}`` bodies. ``/sandbox/...`` are control endpoints for
tests and for trying the app (fire an event, arm a fault, expire tokens), never faulted or logged.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Match, Route

from segment_desktop.sandbox.commerce_emulator import CommerceEmulator
from segment_desktop.sandbox.faults import (
    CONTROL_PREFIX,
    ASGIApp,
    FaultMiddleware,
    Receive,
    Scope,
    Send,
    add_from_json,
)
from segment_desktop.sandbox.paging import page_params, paged, paged_logs
from segment_desktop.sandbox.problems import ApiProblem

Handler = Callable[[Request], Awaitable[Response]]


def error_body(status: int, title: str) -> bytes:
    return json.dumps({"errors": [{"status": status, "title": title}]}).encode()


def problem_response(problem: ApiProblem) -> JSONResponse:
    return JSONResponse(problem.body(), status_code=problem.status)


async def json_body(request: Request) -> Any:
    raw = await request.body()
    try:
        return json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise ApiProblem(400, "Bad Request", "The request body is not valid JSON") from None


class RequestLog:
    """ASGI middleware writing (method, path, status) of each API request to the emulator."""

    def __init__(self, app: ASGIApp, emulator: CommerceEmulator) -> None:
        self.app = app
        self.emulator = emulator

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope.get("path", "")
        if scope["type"] != "http" or path.startswith(CONTROL_PREFIX):
            await self.app(scope, receive, send)
            return
        recorded = False

        async def capture(message: Any) -> None:
            nonlocal recorded
            if message["type"] == "http.response.start" and not recorded:
                # recorded before the answer leaves, so a client that has its answer can
                # already see its request in the log
                recorded = True
                self.emulator.record_request(scope["method"], path, message["status"])
            await send(message)

        try:
            await self.app(scope, receive, capture)
        finally:
            if not recorded:
                self.emulator.record_request(scope["method"], path, 500)


def build_commerce_app(emulator: CommerceEmulator) -> ASGIApp:
    """The ASGI application serving ``emulator``: request log ⟶ faults ⟶ routes."""
    e = emulator

    def api(handler: Handler) -> Handler:
        """Wrap a handler with the bearer-token check: orders, customers and integrations are
        back-office data that only a client-credentials token may read."""

        async def checked(request: Request) -> Response:
            e.check_token(request.headers.get("authorization"), manage=True)
            return await handler(request)

        return checked

    def list_url(request: Request) -> str:
        return f"{e.base_url or str(request.base_url).rstrip('/')}{request.url.path}"

    def page_of(request: Request, items: list[Any], extra_query: str = "") -> dict[str, Any]:
        limit, offset = page_params(request.query_params)
        return paged(
            items, limit=limit, offset=offset, url=list_url(request), extra_query=extra_query
        )

    def log_page_of(request: Request, items: list[Any]) -> dict[str, Any]:
        limit, offset = page_params(request.query_params)
        return paged_logs(items, limit=limit, offset=offset)

    async def token(request: Request) -> Response:
        # Parsed by hand: Starlette's form parser needs python-multipart, which we do not ship.
        raw = (await request.body()).decode("utf-8", errors="replace")
        values = dict(parse_qsl(raw, keep_blank_values=True))
        return JSONResponse(e.issue_token(values))

    @api
    async def list_integrations(request: Request) -> Response:
        return JSONResponse(page_of(request, e.integrations))

    @api
    async def create_integration(request: Request) -> Response:
        created = e.create_integration(await json_body(request))
        return JSONResponse({"data": created})  # 200, as documented (not 201)

    @api
    async def get_integration(request: Request) -> Response:
        return JSONResponse({"data": e.get_integration(request.path_params["id"])})

    @api
    async def update_integration(request: Request) -> Response:
        updated = e.update_integration(request.path_params["id"], await json_body(request))
        return JSONResponse({"data": updated})

    @api
    async def delete_integration(request: Request) -> Response:
        e.delete_integration(request.path_params["id"])
        return Response(status_code=200)  # documented: 200 with no body (not 204)

    @api
    async def all_logs(request: Request) -> Response:
        return JSONResponse(log_page_of(request, e.logs()))

    @api
    async def integration_logs(request: Request) -> Response:
        return JSONResponse(log_page_of(request, e.logs(request.path_params["id"])))

    @api
    async def integration_jobs(request: Request) -> Response:
        return JSONResponse(log_page_of(request, e.jobs(request.path_params["id"])))

    @api
    async def job_logs(request: Request) -> Response:
        logs = e.logs(request.path_params["id"], request.path_params["job"])
        return JSONResponse(log_page_of(request, logs))

    def wants_items(request: Request) -> bool:
        return "items" in request.query_params.get("include", "").split(",")

    @api
    async def list_orders(request: Request) -> Response:
        include = wants_items(request)
        body = page_of(request, e.store.orders, "include=items" if include else "")
        if include:
            body["included"] = {
                "items": [item for order in body["data"] for item in e.store.items[order["id"]]]
            }
        return JSONResponse(body)

    @api
    async def get_order(request: Request) -> Response:
        order = e.store.order(request.path_params["id"])
        if order is None:
            raise ApiProblem(404, "Not Found", "No order with this id exists")
        body: dict[str, Any] = {"data": order}
        if wants_items(request):
            body["included"] = {"items": e.store.items[order["id"]]}
        return JSONResponse(body)

    @api
    async def order_items(request: Request) -> Response:
        order = e.store.order(request.path_params["id"])
        if order is None:
            raise ApiProblem(404, "Not Found", "No order with this id exists")
        return JSONResponse({"data": e.store.items[order["id"]]})

    @api
    async def list_customers(request: Request) -> Response:
        return JSONResponse(page_of(request, e.store.customers))

    @api
    async def get_customer(request: Request) -> Response:
        customer = e.store.customer(request.path_params["id"])
        if customer is None:
            raise ApiProblem(404, "Not Found", "No customer with this id exists")
        return JSONResponse({"data": customer})

    # -- control endpoints ----------------------------------------------------------------

    async def control_fire(request: Request) -> Response:
        body = await json_body(request)
        if not isinstance(body, dict) or not isinstance(body.get("event"), str):
            raise ApiProblem(422, "Failed Validation", 'Send {"event": "order.paid", ...}.')
        resource = body.get("resource")
        if resource is not None and not isinstance(resource, dict):
            raise ApiProblem(422, "Failed Validation", '"resource" must be an object.')
        resource_id = body.get("order_id") or body.get("customer_id") or body.get("id")
        wait = body.get("wait") is True
        try:
            results = await run_in_threadpool(
                e.fire, body["event"], resource, resource_id=resource_id, wait=wait
            )
        except LookupError as err:
            raise ApiProblem(404, "Not Found", str(err).strip("'\"")) from None
        except ValueError as err:
            raise ApiProblem(422, "Failed Validation", str(err)) from None
        return JSONResponse(
            {"data": [r.as_dict() for r in results]}, status_code=200 if wait else 202
        )

    async def control_faults(request: Request) -> Response:
        if request.method == "DELETE":
            e.faults.clear()
            return Response(status_code=204)
        if request.method == "POST":
            try:
                fault = add_from_json(e.faults, await json_body(request))
            except (TypeError, ValueError) as err:
                raise ApiProblem(422, "Failed Validation", str(err)) from None
            return JSONResponse({"data": fault.as_dict()}, status_code=201)
        return JSONResponse({"data": [f.as_dict() for f in e.faults.pending()]})

    async def control_tokens(request: Request) -> Response:
        body = await json_body(request)
        if not isinstance(body, dict):
            raise ApiProblem(422, "Failed Validation", 'Send {"ttl": 60} and/or {"revoke": true}.')
        ttl = body.get("ttl")
        if ttl is not None:
            if not isinstance(ttl, int) or isinstance(ttl, bool) or ttl < 0:
                raise ApiProblem(422, "Failed Validation", '"ttl" is a whole number of seconds.')
            e.set_token_ttl(ttl)
        if body.get("revoke") is True:
            e.revoke_tokens()
        return JSONResponse({"data": {"ttl": e.token_ttl}})

    async def control_reset(request: Request) -> Response:
        e.reset()
        return Response(status_code=204)

    async def control_requests(request: Request) -> Response:
        records = [[r.method, r.path, r.status] for r in e.request_log]
        return JSONResponse({"data": records, "meta": {"writes": e.write_count()}})

    routes = [
        Route("/oauth/access_token", token, methods=["POST"]),
        Route("/v2/integrations", list_integrations, methods=["GET"]),
        Route("/v2/integrations", create_integration, methods=["POST"]),
        Route("/v2/integrations/logs", all_logs, methods=["GET"]),
        Route("/v2/integrations/{id}", get_integration, methods=["GET"]),
        Route("/v2/integrations/{id}", update_integration, methods=["PUT"]),
        Route("/v2/integrations/{id}", delete_integration, methods=["DELETE"]),
        Route("/v2/integrations/{id}/logs", integration_logs, methods=["GET"]),
        Route("/v2/integrations/{id}/jobs", integration_jobs, methods=["GET"]),
        Route("/v2/integrations/{id}/jobs/{job}/logs", job_logs, methods=["GET"]),
        Route("/v2/orders", list_orders, methods=["GET"]),
        Route("/v2/orders/{id}", get_order, methods=["GET"]),
        Route("/v2/orders/{id}/items", order_items, methods=["GET"]),
        Route("/v2/customers", list_customers, methods=["GET"]),
        Route("/v2/customers/{id}", get_customer, methods=["GET"]),
        Route("/sandbox/events", control_fire, methods=["POST"]),
        Route("/sandbox/faults", control_faults, methods=["GET", "POST", "DELETE"]),
        Route("/sandbox/tokens", control_tokens, methods=["POST"]),
        Route("/sandbox/requests", control_requests, methods=["GET"]),
        Route("/sandbox/reset", control_reset, methods=["POST"]),
    ]

    async def on_problem(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, ApiProblem)
        return problem_response(exc)

    async def on_http(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        titles = {404: "Not Found", 405: "Method Not Allowed"}
        title = titles.get(exc.status_code, str(exc.detail))
        headers = dict(exc.headers or {})
        if exc.status_code == 405:  # every method of the path, not only the first route's
            headers["Allow"] = ", ".join(allowed_methods(request.scope))
        return JSONResponse(
            {"errors": [{"status": exc.status_code, "title": title}]},
            status_code=exc.status_code,
            headers=headers,
        )

    def allowed_methods(scope: Scope) -> list[str]:
        methods = {
            method
            for route in routes
            if route.matches(scope)[0] != Match.NONE
            for method in route.methods or ()
        }
        return sorted(methods)

    app = Starlette(
        routes=routes,
        exception_handlers={ApiProblem: on_problem, HTTPException: on_http},
    )
    return RequestLog(FaultMiddleware(app, e.faults, error_body), e)
