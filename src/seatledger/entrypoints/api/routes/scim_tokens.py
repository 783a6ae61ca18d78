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
from seatledger.services.scim import ScimToken

router = APIRouter(prefix="/v1", tags=["scim tokens"])


def _public(token: ScimToken) -> ScimTokenPublic:
    return ScimTokenPublic(
        id=token.id,
        name=token.name,
        created_at=token.created_at,
        created_by=token.created_by,
        last_used_at=token.last_used_at,
        revoked_at=token.revoked_at,
    )


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
    return ScimTokenCreated(**_public(issued).model_dump(), token=issued.token)


@router.get("/accounts/{account_id}/scim-tokens", response_model=Page[ScimTokenPublic])
def list_scim_tokens(account_id: str, uow: Uow, page: Paging, _: CurrentPrincipal) -> dict:  # type: ignore[type-arg]
    tokens = scim.list_scim_tokens(
        uow, account_id=account_id, limit=page.limit + 1, after=page.after
    )
    return page.respond([_public(t) for t in tokens], [t.id for t in tokens])


@router.delete("/accounts/{account_id}/scim-tokens/{token_id}", response_model=ScimTokenPublic)
def revoke_scim_token(
    account_id: str, token_id: str, uow: Uow, now: Now, _: CurrentPrincipal
) -> ScimTokenPublic:
    """The token is refused (401) from the next request on, in every server process."""
    return _public(scim.revoke_scim_token(uow, account_id=account_id, token_id=token_id, at=now))
