"""Errors as application/problem+json (RFC 9457), mapped in this one place."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import DataError, IntegrityError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from starlette.exceptions import HTTPException as StarletteHTTPException

from seatledger.domain import errors

PROBLEM_BASE = "https://seatledger.dev/problems/"
# A 503 is temporary (every connection busy, the database restarting): the
# client may retry after this many seconds.
RETRY_AFTER_SECONDS = 5
log = logging.getLogger("seatledger.api")

# NOTE: the one mapping from domain error codes to HTTP statuses.
STATUS_BY_CODE: dict[str, int] = {
    errors.InvalidInput.code: 422,
    errors.RuleRefusal.code: 422,
    errors.NotFound.code: 404,
    errors.Conflict.code: 409,
    errors.DuplicateEmail.code: 409,
    errors.SeatLimitReached.code: 409,
    errors.AdminRuleViolation.code: 409,
    errors.ContractEnded.code: 409,
    errors.Gone.code: 410,
    errors.Unauthorized.code: 401,
    errors.Forbidden.code: 403,
    errors.BodyTooLarge.code: 413,
    errors.UnsupportedMediaType.code: 415,
    errors.RateLimited.code: 429,
    errors.Unavailable.code: 503,
}
TITLES = {
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    410: "Gone",
    413: "Content too large",
    415: "Unsupported media type",
    422: "Invalid request",
    429: "Too many requests",
    500: "Internal error",
    503: "Service unavailable",
}


def problem(status: int, slug: str, detail: str, **extra: Any) -> JSONResponse:
    body = {
        "type": PROBLEM_BASE + slug,
        "title": TITLES.get(status, "Error"),
        "status": status,
        "detail": detail,
        **{k: v for k, v in extra.items() if v is not None},
    }
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse(
        body, status_code=status, media_type="application/problem+json", headers=headers
    )


def _unavailable(detail: str) -> JSONResponse:
    response = problem(503, "unavailable", detail)
    response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def _field_of(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    out = ""
    for p in parts:
        out += f"[{p}]" if p.isdigit() else (f".{p}" if out else p)
    return out or "body"


def for_domain_error(exc: errors.DomainError) -> JSONResponse:
    status = STATUS_BY_CODE.get(exc.code, 400)
    response = problem(
        status,
        exc.code.replace("_", "-"),
        exc.message,
        code=exc.code,
        field=exc.field,
        **exc.extra,
    )
    if isinstance(exc, errors.RateLimited):
        response.headers["Retry-After"] = str(exc.extra["retry_after"])
    elif status == 503:
        response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def refusal(error: errors.DomainError, scope: Any) -> Response:
    """The answer to a request refused before routing (limits.BodyLimits), in the
    form of its path's errors."""
    dialect = _dialect(scope["app"], scope["path"])
    return dialect(error) if dialect is not None else for_domain_error(error)


def _dialect(app: Any, path: str) -> Callable[[Exception], Response] | None:
    for prefix, respond in getattr(app.state, "error_dialects", {}).items():
        if path == prefix or path.startswith(prefix + "/"):
            return respond
    return None


def install(
    app: FastAPI, *, dialects: Mapping[str, Callable[[Exception], Response]] | None = None
) -> None:
    """Every error as problem+json, except under the path prefixes of
    ``dialects``, whose every error (these handlers' exceptions, all of them) is
    answered by that prefix's function (``/scim/v2``: the SCIM error schema)."""
    app.state.error_dialects = dict(dialects or {})

    def handles(exc_class: type[Exception]) -> Callable[[Any], Any]:
        def register(answer: Callable[[Request, Any], Awaitable[Response]]) -> Any:
            async def handler(request: Request, exc: Exception) -> Response:
                dialect = _dialect(request.app, request.url.path)
                if dialect is not None:
                    return dialect(exc)
                return await answer(request, exc)

            app.add_exception_handler(exc_class, handler)
            return answer

        return register

    @handles(errors.DomainError)
    async def domain_error(_: Request, exc: errors.DomainError) -> JSONResponse:
        return for_domain_error(exc)

    @handles(RequestValidationError)
    async def validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
        items = []
        for err in exc.errors():
            field = _field_of(tuple(err.get("loc", ())))
            message = err.get("msg", "invalid")
            if err.get("type") == "extra_forbidden":
                message = "unknown or read-only field"
            items.append({"field": field, "message": message})
        detail = "; ".join(f"{i['field']}: {i['message']}" for i in items)
        return problem(
            422,
            "invalid-input",
            detail,
            code="invalid_input",
            field=items[0]["field"] if items else None,
            errors=items,
        )

    @handles(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 400:
            # FastAPI's answer to a body it cannot parse as JSON: bad input, a 422
            # naming the body like every other.
            detail = "the body is not valid JSON"
            return problem(422, "invalid-input", detail, code="invalid_input", field="body")
        slug = {404: "not-found", 405: "method-not-allowed"}.get(exc.status_code, "error")
        return problem(exc.status_code, slug, str(exc.detail))

    @handles(IntegrityError)
    async def integrity_error(_: Request, exc: IntegrityError) -> JSONResponse:
        log.warning("integrity error reached the API: %s", exc.orig)
        return problem(
            409, "conflict", "the request conflicts with the current state", code="conflict"
        )

    @handles(DataError)
    async def data_error(_: Request, exc: DataError) -> JSONResponse:
        # A value the database cannot store (PostgreSQL: a NUL character in a
        # string, a number out of its column's range): the request's fault, a 422
        # like any invalid input, never a 500.
        log.warning("data error reached the API: %s", exc.orig)
        return problem(
            422, "invalid-input", "a value in the request cannot be stored", code="invalid_input"
        )

    @handles(Exception)
    async def unexpected_error(_: Request, exc: Exception) -> JSONResponse:
        # Starlette's last-resort handler: without it a bug answers text/plain,
        # breaking the problem+json promise. The exception is still re-raised
        # by the server and logged there.
        return problem(500, "internal-error", "an unexpected error occurred")

    @handles(OperationalError)
    async def operational_error(_: Request, exc: OperationalError) -> JSONResponse:
        log.error("database unavailable: %s", exc.orig)
        return _unavailable("the database is unavailable; retry later")

    @handles(PoolTimeoutError)
    async def pool_timeout(_: Request, exc: PoolTimeoutError) -> JSONResponse:
        # Every connection of this process's pool stayed checked out for the
        # whole pool timeout (SEATLEDGER_DB_POOL_TIMEOUT): overload, not a bug.
        log.warning("no database connection became free in time: %s", exc)
        return _unavailable("the server is busy; retry later")
