"""The OpenAPI document as a contract for generated clients (API.md Conventions).

Built once from the routes, then completed by walking them:

- each operation's ``operationId`` is its route function's name (unique, checked
  here), its summary that name in words;
- every error status an operation can answer is declared under
  ``application/problem+json`` with the ``Problem`` schema (409 also the seat-limit
  problem with the pool's numbers), in place of FastAPI's ``HTTPValidationError``;
  which statuses follows from what the route takes: a token (401, 403, 404), a
  body (413, 415, 422), any input (404, 422), a change (409, 422), an
  invitation token (410); any operation may be rate-limited or throttled (429)
  or meet a busy database (503);
- the bearer scheme is declared and required by every operation that
  authenticates, so ``/docs`` can authorize;
- every POST takes the optional ``Idempotency-Key`` header (idempotency.py);
- ``webhooks`` (OpenAPI 3.1) has one entry per webhook event type, with the
  body an endpoint receives (webhook_schemas.py).

``/docs`` serves Swagger UI from this package (static/swagger-ui), not a CDN.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.openapi.utils import get_openapi
from fastapi.responses import HTMLResponse
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.staticfiles import StaticFiles

from seatledger.entrypoints.api import idempotency
from seatledger.entrypoints.api.auth import authenticate, rate_counted
from seatledger.entrypoints.api.schemas import Problem, SeatLimitProblem
from seatledger.entrypoints.api.webhook_schemas import webhooks_section

SWAGGER_UI = Path(__file__).parent / "static" / "swagger-ui"
SWAGGER_UI_URL = "/static/swagger-ui"
PROBLEM_JSON = "application/problem+json"
CHANGING_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
BEARER = "bearer"
# A route that depends on one of these reads the bearer token.
AUTHENTICATING = {authenticate, rate_counted}

DESCRIPTIONS = {
    401: "No token, or a token that is unknown, expired or revoked, or whose user is no "
    "longer active",
    403: "The caller's role may not do this",
    404: "An id that is malformed, unknown, or another account's",
    409: "The request conflicts with the current state (a seat limit: the pool's numbers)",
    410: "The invitation was used, revoked or has expired",
    413: "The body is over 1 MiB",
    415: "The body is not JSON",
    422: "Invalid input: `field` names it, `errors` lists every invalid field",
    429: "Over the token's rate: retry after `Retry-After` seconds",
    503: "The database is busy or unavailable: retry after `Retry-After` seconds",
}
RETRY_AFTER = {"Retry-After": {"description": "seconds to wait", "schema": {"type": "integer"}}}


def operation_id(route: APIRoute) -> str:
    """``generate_unique_id_function``: the route function's name."""
    return route.name


def install(app: FastAPI) -> None:
    """Replace ``app.openapi`` and serve ``/docs`` with local assets (create the
    app with ``docs_url=None, redoc_url=None``)."""

    def document() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = _contract(app)
        return app.openapi_schema

    app.openapi = document  # type: ignore[method-assign]
    app.mount(SWAGGER_UI_URL, StaticFiles(directory=SWAGGER_UI), name="swagger-ui")

    @app.get("/docs", include_in_schema=False)
    async def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=app.openapi_url or "/openapi.json",
            title=f"{app.title} API",
            swagger_js_url=f"{SWAGGER_UI_URL}/swagger-ui-bundle.js",
            swagger_css_url=f"{SWAGGER_UI_URL}/swagger-ui.css",
            swagger_favicon_url=f"{SWAGGER_UI_URL}/favicon-32x32.png",
            swagger_ui_parameters={"persistAuthorization": True},
        )


def _api_routes(app: FastAPI) -> list[Any]:
    return [
        route
        for route in iter_route_contexts(app.routes)
        if getattr(route, "dependant", None) is not None and route.include_in_schema
    ]


def _dependants(dependant: Any) -> list[Any]:
    """``dependant`` and every dependency under it."""
    found = [dependant]
    for sub in dependant.dependencies:
        found += _dependants(sub)
    return found


def _calls(dependant: Any) -> set[Any]:
    return {d.call for d in _dependants(dependant)}


def error_statuses(route: Any) -> list[int]:
    """The error statuses ``route`` can answer, from what it takes."""
    path_params = set(route.param_convertors)
    authenticates = bool(AUTHENTICATING & _calls(route.dependant))
    takes_query = any(d.query_params for d in _dependants(route.dependant))
    has_input = bool(path_params or takes_query or route.body_field)
    statuses = {429, 503}
    if authenticates:
        statuses |= {401, 403}
    if authenticates or has_input:
        # An id in the path or the body, or a thing the route reads (the seller).
        statuses.add(404)
    if route.body_field is not None:
        statuses |= {413, 415, 422}
    changes = bool(CHANGING_METHODS & set(route.methods))
    if has_input or changes:
        statuses.add(422)
    if changes:
        statuses.add(409)
    if "token" in path_params:
        statuses.add(410)
    return sorted(statuses)


def _problem_response(status: int) -> dict[str, Any]:
    problem = {"$ref": "#/components/schemas/Problem"}
    schema = (
        {"anyOf": [{"$ref": "#/components/schemas/SeatLimitProblem"}, problem]}
        if status == 409
        else problem
    )
    response: dict[str, Any] = {
        "description": DESCRIPTIONS[status],
        "content": {PROBLEM_JSON: {"schema": schema}},
    }
    if status in (429, 503):
        response["headers"] = RETRY_AFTER
    return response


def _summary(route: Any) -> str:
    """The operation id read as words ("create_user": "Create user"); the
    docstring stays the description."""
    return str(route.name).replace("_", " ").capitalize()


def _contract(app: FastAPI) -> dict[str, Any]:
    routes = _api_routes(app)
    repeated = [name for name, n in Counter(r.name for r in routes).items() if n > 1]
    if repeated:
        raise RuntimeError(f"operation ids must be unique; repeated: {repeated}")
    document = get_openapi(
        title=app.title,
        version=app.version,
        description=app.description,
        routes=app.routes,
    )
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    for model in (Problem, SeatLimitProblem):
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        schemas.update(schema.pop("$defs", {}))
        schemas[model.__name__] = schema
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)
    document["webhooks"] = webhooks_section(schemas)
    document["components"]["securitySchemes"] = {
        BEARER: {
            "type": "http",
            "scheme": "bearer",
            "description": "an operator key or a user token: `Authorization: Bearer <token>`",
        }
    }
    for route in routes:
        for method in route.methods:
            operation = document["paths"][route.path_format][method.lower()]
            operation["summary"] = route.summary or _summary(route)
            responses = operation["responses"]
            for status in error_statuses(route):
                responses[str(status)] = _problem_response(status)
            if AUTHENTICATING & _calls(route.dependant):
                operation["security"] = [{BEARER: []}]
            if method == "POST":
                operation.setdefault("parameters", []).append(idempotency.PARAMETER)
    return document
