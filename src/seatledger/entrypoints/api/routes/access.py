"""Routes: the access check, the vendor application's hot path."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from seatledger.entrypoints.api.auth import CurrentPrincipal
from seatledger.entrypoints.api.deps import Now, Uow
from seatledger.entrypoints.api.schemas import AccessCheckIn, AccessCheckOut
from seatledger.services import access

router = APIRouter(prefix="/v1", tags=["access"])


@router.post("/access/check", response_model=AccessCheckOut)
async def check_access(
    body: AccessCheckIn, uow: Uow, now: Now, _: CurrentPrincipal, request: Request
) -> AccessCheckOut:
    # NOTE: most checks are answered before this route, from the read cache
    # (access_fast_path.py); here the facts are read (one thread hop) and kept.
    answer = await run_in_threadpool(
        access.check_access,
        uow,
        account_id=body.account_id,
        user_id=body.user_id,
        email=body.email,
        module=body.module,
        at=now,
        cache=request.app.state.read_cache,
    )
    return AccessCheckOut(allowed=answer.allowed, reason=answer.reason, user_id=answer.user_id)


@router.get("/health", tags=["operations"])
def health() -> dict[str, str]:
    """Liveness; also the trivial endpoint the access-check benchmark compares with."""
    return {"status": "ok"}
