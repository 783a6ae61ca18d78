"""Who is calling: an operator key or a user token.

``Principal`` is what every route receives (``CurrentPrincipal``); who may
call which route is roles.py's table, checked before every route. A user
token resolves to a Principal with the user's current ``role`` and its
``account_id``; it is checked against the database on every request (never
cached), so a deactivation, deletion, ``valid_to`` or role
change is seen at once by every server process.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool

from seatledger.domain.errors import Unauthorized
from seatledger.services.auth import authenticate_token, is_user_token
from seatledger.services.operator_keys import cached_operator, find_operator
from seatledger.services.scim import authenticate_scim_token
from seatledger.services.secrets import hash_token
from seatledger.services.unit_of_work import UnitOfWork

ROLE_RANK = {"member": 1, "admin": 2, "owner": 3}


@dataclass(frozen=True)
class Principal:
    kind: str  # "operator" | "user" | "scim" (a SCIM token: its account's /scim/v2 only)
    id: str
    account_id: str | None = None
    role: str | None = None

    @property
    def actor(self) -> str:
        return f"{self.kind}:{self.id}"

    def may_act_on(self, account_id: str, minimum_role: str) -> bool:
        if self.kind == "operator":
            return True
        return (
            self.account_id == account_id
            and ROLE_RANK.get(self.role or "", 0) >= ROLE_RANK[minimum_role]
        )


def bearer_token(request: Request) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("missing bearer token")
    return token.strip()


async def authenticate(request: Request) -> Principal:
    """A user token is never cached: each request reads its row (by a unique
    index) in the threadpool, so a deactivated user is refused by the next
    request in every process. An operator key is kept in the app's read cache
    (adapters/db/read_cache.py), so the access check's hot path reads nothing:
    a revoked key is refused by the next request of the process that revoked
    it, and within ``LIVE_SECONDS`` (half a second) in every other."""
    return await principal_of(request, bearer_token(request))


async def principal_of(request: Request, token: str) -> Principal:
    """Whom ``token`` speaks for now (the bearer token, or the console's session
    cookie, entrypoints/console/session.py); Unauthorized when nobody."""
    if is_user_token(token):
        holder = await run_in_threadpool(
            authenticate_token,
            UnitOfWork(request.app.state.engine),
            token=token,
            at=request.app.state.clock.now(),
        )
        return Principal(
            kind="user", id=holder.user_id, account_id=holder.account_id, role=holder.role
        )
    state = request.app.state
    at = state.clock.now()
    # NOTE: a kept key is answered without a thread hop (the access check's hot path).
    operator = cached_operator(state.read_cache, key_hash=hash_token(token), at=at)
    if operator is None:
        operator = await run_in_threadpool(
            find_operator, UnitOfWork(state.engine), key=token, at=at, cache=state.read_cache
        )
    if operator is None:
        raise Unauthorized("unknown or revoked token")
    return Principal(kind="operator", id=operator.id)


async def rate_counted(request: Request) -> Principal:
    """Every authenticated request counts against its token's rate (limits.py):
    over it, 429. Authenticated and counted once per request, however many ask:
    the role check (roles.py) first, then the route's own dependencies."""
    principal: Principal | None = getattr(request.state, "principal", None)
    if principal is None:
        principal = await authenticate(request)
        request.app.state.rate_limiter.hit(principal.kind, principal.id)
        request.state.principal = principal
    return principal


CurrentPrincipal = Annotated[Principal, Depends(rate_counted)]


async def scim_counted(request: Request) -> Principal:
    """The caller of a /scim/v2 route: a SCIM token, which selects its account
    (``kind`` "scim", ``id`` the token's, actor "scim:<id>"), counted against the
    SCIM rate; no other token is one (401)."""
    principal: Principal | None = getattr(request.state, "principal", None)
    if principal is not None and principal.kind != "scim":
        raise Unauthorized("this endpoint takes a SCIM token of the account")
    if principal is None:
        token = await run_in_threadpool(
            authenticate_scim_token,
            UnitOfWork(request.app.state.engine),
            token=bearer_token(request),
            at=request.app.state.clock.now(),
        )
        principal = Principal(kind="scim", id=token.id, account_id=token.account_id)
        request.app.state.rate_limiter.hit(principal.kind, principal.id)
        request.state.principal = principal
    return principal
