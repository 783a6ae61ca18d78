"""Errors under /scim/v2 in the SCIM error schema (RFC 7644 §3.12), mapped in this
one place: ``schemas`` the Error URN, ``status`` a string, ``scimType`` where
RFC 7644 defines one, as ``application/scim+json`` (never problem+json).

problems.py hands every error of a request under ``PREFIX`` to ``respond``:
the route's refusals (domain errors; scim2-models' exceptions come through
``install``), the role check's 401, an unknown path's 404, a method's 405, a body's
413 or 415, a rate's 429 and the database's 503.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from scim2_models import Error, SCIMException
from sqlalchemy.exc import DataError, IntegrityError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from starlette.exceptions import HTTPException as StarletteHTTPException

from seatledger.domain import errors

PREFIX = "/scim/v2"
SCIM_JSON = "application/scim+json"
RETRY_AFTER_SECONDS = 5
log = logging.getLogger("seatledger.scim")

# NOTE: the one mapping from domain error codes to SCIM statuses and scimTypes.
_BY_CODE: dict[str, tuple[int, str | None]] = {
    errors.InvalidInput.code: (400, "invalidValue"),
    errors.RuleRefusal.code: (400, "invalidValue"),
    errors.NotFound.code: (404, None),
    errors.Conflict.code: (409, None),
    errors.DuplicateEmail.code: (409, "uniqueness"),
    errors.SeatLimitReached.code: (409, None),
    errors.AdminRuleViolation.code: (409, None),
    errors.ContractEnded.code: (409, None),
    errors.Gone.code: (404, None),
    errors.Unauthorized.code: (401, None),
    errors.Forbidden.code: (403, None),
    errors.BodyTooLarge.code: (413, None),
    errors.UnsupportedMediaType.code: (415, None),
    errors.RateLimited.code: (429, None),
    errors.Unavailable.code: (503, None),
}


def install(app: FastAPI) -> None:
    """scim2-models' exceptions, which only the SCIM routes raise, as SCIM errors
    (problems.py hands every other error under PREFIX to ``respond``)."""

    async def scim_exception(_: Request, exc: Exception) -> JSONResponse:
        return respond(exc)

    app.add_exception_handler(SCIMException, scim_exception)


def invalid(exc: ValidationError) -> SCIMException:
    """A payload scim2-models refused, as the SCIM exception it stands for."""
    return SCIMException.from_error(Error.from_validation_errors(exc)[0])


def scim_error(status: int, detail: str, scim_type: str | None = None) -> JSONResponse:
    body = Error(status=status, scim_type=scim_type, detail=detail).model_dump()
    headers = {"WWW-Authenticate": 'Bearer realm="SCIM"'} if status == 401 else None
    return JSONResponse(body, status_code=status, media_type=SCIM_JSON, headers=headers)


def respond(exc: Exception) -> JSONResponse:
    """The SCIM answer to any error met while serving a SCIM request."""
    response = scim_error(*_describe(exc))
    if isinstance(exc, errors.RateLimited):
        response.headers["Retry-After"] = str(exc.extra["retry_after"])
    elif response.status_code == 503:
        response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def _describe(exc: Exception) -> tuple[int, str, str | None]:
    """(status, detail, scimType)."""
    if isinstance(exc, errors.DomainError):
        status, scim_type = _BY_CODE.get(exc.code, (400, None))
        detail = exc.message
        if exc.field and status == 400:
            detail = f"{detail} ({_attribute(exc.field)})"
        return status, detail, scim_type
    if isinstance(exc, SCIMException):
        error = exc.to_error()
        return error.status or 400, error.detail or "invalid request", error.scim_type
    if isinstance(exc, RequestValidationError):
        first: dict[str, Any] = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ()) if p not in ("query", "path"))
        return 400, f"{where}: {first.get('msg', 'invalid')}", "invalidValue"
    if isinstance(exc, StarletteHTTPException):
        detail = {404: "no such SCIM endpoint", 405: "the endpoint does not take this method"}
        return exc.status_code, detail.get(exc.status_code, str(exc.detail)), None
    if isinstance(exc, IntegrityError):
        log.warning("integrity error reached SCIM: %s", exc.orig)
        return 409, "the request conflicts with the current state", None
    if isinstance(exc, DataError):
        log.warning("data error reached SCIM: %s", exc.orig)
        return 400, "a value in the request cannot be stored", "invalidValue"
    if isinstance(exc, OperationalError | PoolTimeoutError):
        log.error("database unavailable or busy: %s", exc)
        return 503, "the database is busy or unavailable; retry later", None
    return 500, "an unexpected error occurred", None


def _attribute(field: str) -> str:
    """The SCIM attribute a use case's input field stands for."""
    return _ATTRIBUTES.get(field, field)


_ATTRIBUTES = {
    "email": "userName",
    "first_name": "name.givenName",
    "last_name": "name.familyName",
    "external_id": "externalId",
    "department": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department",
    "name": "displayName",
}
