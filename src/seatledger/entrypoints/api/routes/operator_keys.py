"""Routes: operator keys (vendor staff), created, listed with their last use,
and revoked; operators only."""

from __future__ import annotations

from fastapi import APIRouter, status

from seatledger.entrypoints.api.auth import CurrentPrincipal
from seatledger.entrypoints.api.deps import Now, Paging, Uow
from seatledger.entrypoints.api.schemas import (
    OperatorKeyCreate,
    OperatorKeyCreated,
    OperatorKeyPublic,
    Page,
)
from seatledger.services import operator_keys

router = APIRouter(prefix="/v1", tags=["operator keys"])


@router.post(
    "/operator-keys", status_code=status.HTTP_201_CREATED, response_model=OperatorKeyCreated
)
def create_operator_key(
    body: OperatorKeyCreate, uow: Uow, now: Now, _: CurrentPrincipal
) -> OperatorKeyCreated:
    key = operator_keys.create_operator_key(uow, name=body.name, at=now)
    return OperatorKeyCreated.model_validate(key, from_attributes=True)


@router.get("/operator-keys", response_model=Page[OperatorKeyPublic])
def list_operator_keys(uow: Uow, page: Paging, _: CurrentPrincipal) -> dict:  # type: ignore[type-arg]
    keys = operator_keys.list_operator_keys(uow, limit=page.limit + 1, after=page.after)
    public = [OperatorKeyPublic.model_validate(k, from_attributes=True) for k in keys]
    return page.respond(public, [k.id for k in keys])


@router.delete("/operator-keys/{key_id}", response_model=OperatorKeyPublic)
def revoke_operator_key(key_id: str, uow: Uow, now: Now, _: CurrentPrincipal) -> OperatorKeyPublic:
    """The key is 401 from the next request on, in every server process."""
    revoked = operator_keys.revoke_operator_key(uow, key_id=key_id, at=now)
    return OperatorKeyPublic.model_validate(revoked, from_attributes=True)
