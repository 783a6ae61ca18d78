"""Routes: signing in and out, user tokens (operators mint them for
integrations) and who is calling."""

from __future__ import annotations

from fastapi import APIRouter, Request, status

from seatledger.domain.errors import Forbidden
from seatledger.entrypoints.api.auth import CurrentPrincipal, bearer_token
from seatledger.entrypoints.api.deps import Now, Uow
from seatledger.entrypoints.api.schemas import CallerOut, SignInIn, TokenOut
from seatledger.services import auth

router = APIRouter(prefix="/v1", tags=["auth"])


@router.post(
    "/accounts/{account_id}/users/{user_id}/tokens",
    status_code=status.HTTP_201_CREATED,
    response_model=TokenOut,
)
def mint_user_token(
    account_id: str, user_id: str, uow: Uow, now: Now, principal: CurrentPrincipal
) -> TokenOut:
    issued = auth.mint_token(
        uow, account_id=account_id, user_id=user_id, at=now, created_by=principal.actor
    )
    return TokenOut(token=issued.token, expires_at=issued.expires_at)


@router.post("/auth/token", status_code=status.HTTP_201_CREATED, response_model=TokenOut)
def sign_in(body: SignInIn, request: Request, uow: Uow, now: Now) -> TokenOut:
    """Anyone: an active user's email and password give a token (12 hours).
    A wrong password and an unknown email get the same 401; five failures for
    one email within a minute make the next attempts 429 with Retry-After."""
    issued = auth.sign_in(
        uow,
        account_id=body.account_id,
        email=body.email,
        password=body.password,
        at=now,
        throttle=request.app.state.sign_in_throttle,
    )
    return TokenOut(token=issued.token, expires_at=issued.expires_at)


@router.get("/auth/token", response_model=CallerOut)
def current_caller(principal: CurrentPrincipal) -> CallerOut:
    """Any valid bearer token: whom it speaks for now."""
    return CallerOut(
        kind=principal.kind, id=principal.id, account_id=principal.account_id, role=principal.role
    )


@router.delete("/auth/token", status_code=status.HTTP_204_NO_CONTENT)
def sign_out(request: Request, uow: Uow, now: Now, principal: CurrentPrincipal) -> None:
    """The token's holder: the token stops working for every later request."""
    if principal.kind != "user":
        raise Forbidden("an operator key is revoked with DELETE /v1/operator-keys/{id}")
    auth.revoke_token(uow, token=bearer_token(request), at=now)
