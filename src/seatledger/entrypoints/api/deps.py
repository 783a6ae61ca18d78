"""Typed dependencies shared by the routes."""

from __future__ import annotations

import base64
import binascii
from datetime import datetime
from typing import Annotated

from fastapi import Depends, Query, Request

from seatledger.domain.errors import InvalidInput, NotFound
from seatledger.domain.ids import is_id, is_token
from seatledger.entrypoints.api.idempotency import claim_of
from seatledger.services.unit_of_work import UnitOfWork

ANONYMOUS = "anonymous"  # the actor of a route anyone may call (sign-in, invitations)


async def get_uow(request: Request) -> UnitOfWork:
    """The route's unit of work; with an ``Idempotency-Key`` its commit claims the
    key in the same transaction as the effect (entrypoints/api/idempotency.py).
    Its changes go to the audit log as the caller's (authenticated before any
    route dependency, roles.py; "anonymous" on the routes anyone may call) with
    the request's id (request_ids.py)."""
    principal = getattr(request.state, "principal", None)
    return UnitOfWork(
        request.app.state.engine,
        idempotency=claim_of(request),
        actor=principal.actor if principal is not None else ANONYMOUS,
        request_id=getattr(request.state, "request_id", None),
    )


async def get_now(request: Request) -> datetime:
    """The only place the API reads time: the app's clock (tests inject one)."""
    return request.app.state.clock.now()


async def path_ids_well_formed(request: Request) -> None:
    """A path id of a form no id has (a NUL, a quote, a wrong alphabet or length)
    names nothing: 404 like an unknown id (API.md), before any query.

    The app runs this for every route, so no malformed id reaches a database
    (PostgreSQL refuses a NUL in a string where SQLite would only find no row).
    ``token`` is an invitation token; ``id`` and ``*_id`` are ids.
    """
    for name, value in request.path_params.items():
        if name == "token":
            well_formed = is_token(value)
        elif name == "id" or name.endswith("_id"):
            well_formed = is_id(value)
        else:
            continue
        if not well_formed:
            raise NotFound(f"{name} not found", field=name)


Uow = Annotated[UnitOfWork, Depends(get_uow)]
Now = Annotated[datetime, Depends(get_now)]


class Page:
    def __init__(
        self,
        limit: Annotated[int, Query(ge=1, le=500)] = 100,
        cursor: Annotated[str | None, Query()] = None,
    ) -> None:
        self.limit = limit
        self.after = decode_cursor(cursor) if cursor else None

    def respond(self, items: list, ids: list[str]) -> dict:  # type: ignore[type-arg]
        """``items`` fetched with limit + 1 tell whether there is a next page."""
        more = len(items) > self.limit
        data = items[: self.limit]
        return {"data": data, "next_cursor": encode_cursor(ids[self.limit - 1]) if more else None}


def encode_cursor(last_id: str) -> str:
    return base64.urlsafe_b64encode(last_id.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> str:
    try:
        # validate=True: characters outside the alphabet are an error, not skipped
        # (otherwise "%%%" decodes to "" and silently restarts the list).
        decoded = base64.b64decode(
            cursor + "=" * (-len(cursor) % 4), altchars=b"-_", validate=True
        ).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise InvalidInput("cursor is not valid", field="cursor") from None
    if not decoded:
        raise InvalidInput("cursor is not valid", field="cursor")
    return decoded


Paging = Annotated[Page, Depends()]
