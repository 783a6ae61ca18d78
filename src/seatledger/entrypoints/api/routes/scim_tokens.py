"""Routes: an account's SCIM tokens (owners and operators), issued, listed and
revoked. A SCIM token is the bearer token of the account's /scim/v2 endpoint
(entrypoints/api/scim), shown once and stored hashed."""

from __future__ import annotations

from fastapi import APIRouter, status

from seatledger.entrypoints.api.auth import CurrentPrincipal
from seatledger.entrypoints.api.deps import Now, Paging, Uow
from seatledger.entrypoints.api.schemas import (
    Page,
    ScimTokenCreate,
    ScimTokenCreated,
    ScimTokenPublic,
)
from seatledger.services import scim

router = APIRouter(prefix="/v1", tags=["scim tokens"])


@router.post(
    "/accounts/{account_id}/scim-tokens",
    status_code=status.HTTP_201_CREATED,
    response_model=ScimTokenCreated,
)
def issue_scim_token(
    account_id: str, body: ScimTokenCreate, uow: Uow, now: Now, principal: CurrentPrincipal
) -> ScimTokenCreated:
    """The token is shown only in this answer."""
    issued = scim.issue_scim_token(
        uow, account_id=account_id, at=now, created_by=principal.actor, name=body.name
    )
    return ScimTokenCreated.model_validate(issued, from_attributes=True)


@router.get("/accounts/{account_id}/scim-tokens", response_model=Page[ScimTokenPublic])
def list_scim_tokens(account_id: str, uow: Uow, page: Paging, _: CurrentPrincipal) -> dict:  # type: ignore[type-arg]
    tokens = scim.list_scim_tokens(
        uow, account_id=account_id, limit=page.limit + 1, after=page.after
    )
    public = [ScimTokenPublic.model_validate(t, from_attributes=True) for t in tokens]
    return page.respond(public, [t.id for t in tokens])


@router.delete("/accounts/{account_id}/scim-tokens/{token_id}", response_model=ScimTokenPublic)
def revoke_scim_token(
    account_id: str, token_id: str, uow: Uow, now: Now, _: CurrentPrincipal
) -> ScimTokenPublic:
    """The token is refused (401) from the next request on, in every server process."""
    revoked = scim.revoke_scim_token(uow, account_id=account_id, token_id=token_id, at=now)
    return ScimTokenPublic.model_validate(revoked, from_attributes=True)
