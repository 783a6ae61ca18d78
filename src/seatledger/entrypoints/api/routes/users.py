"""Routes: users, invitations, password setup."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, status

from seatledger.entrypoints.api.auth import CurrentPrincipal
from seatledger.entrypoints.api.deps import Now, Paging, Uow
from seatledger.entrypoints.api.roles import may_manage_owners
from seatledger.entrypoints.api.schemas import (
    ActivateIn,
    InvitationAccept,
    InvitationCreate,
    InvitationPublic,
    Page,
    SetupIn,
    UserCreate,
    UserCreated,
    UserPublic,
    UserUpdate,
)
from seatledger.services import users

router = APIRouter(prefix="/v1", tags=["users"])


@router.post(
    "/accounts/{account_id}/users", status_code=status.HTTP_201_CREATED, response_model=UserCreated
)
def create_user(
    account_id: str, body: UserCreate, uow: Uow, now: Now, principal: CurrentPrincipal
) -> UserCreated:
    result = users.create_user(
        uow,
        account_id=account_id,
        at=now,
        actor=principal.actor,
        by_owner=may_manage_owners(principal, account_id),
        **body.model_dump(),
    )
    return UserCreated(**UserPublic.of(result).model_dump(), setup_token=result.setup_token)


@router.get("/accounts/{account_id}/users", response_model=Page[UserPublic])
def list_users(
    account_id: str,
    uow: Uow,
    page: Paging,
    _: CurrentPrincipal,
    status_: Annotated[
        Literal["invited", "active", "inactive", "deleted"] | None, Query(alias="status")
    ] = None,
    include_deleted: bool = False,
) -> dict:  # type: ignore[type-arg]
    items = users.list_users(
        uow,
        account_id=account_id,
        status=status_,
        include_deleted=include_deleted,
        limit=page.limit + 1,
        after=page.after,
    )
    return page.respond([UserPublic.of(r) for r in items], [r.user.id for r in items])


@router.get("/accounts/{account_id}/users/{user_id}", response_model=UserPublic)
def get_user(account_id: str, user_id: str, uow: Uow, _: CurrentPrincipal) -> UserPublic:
    """Admins read any user of the account, a member only itself (roles.py)."""
    return UserPublic.of(users.get_user(uow, account_id=account_id, user_id=user_id))


@router.patch("/accounts/{account_id}/users/{user_id}", response_model=UserPublic)
def update_user(
    account_id: str, user_id: str, body: UserUpdate, uow: Uow, now: Now, principal: CurrentPrincipal
) -> UserPublic:
    changes = body.model_dump(exclude_unset=True)
    return UserPublic.of(
        users.update_user(
            uow,
            account_id=account_id,
            user_id=user_id,
            at=now,
            actor=principal.actor,
            by_owner=may_manage_owners(principal, account_id),
            **changes,
        )
    )


@router.post("/accounts/{account_id}/users/{user_id}/activate", response_model=UserPublic)
def activate_user(
    account_id: str,
    user_id: str,
    uow: Uow,
    now: Now,
    principal: CurrentPrincipal,
    body: ActivateIn | None = None,
) -> UserPublic:
    return UserPublic.of(
        users.activate_user(
            uow,
            account_id=account_id,
            user_id=user_id,
            at=now,
            actor=principal.actor,
            add_license=bool(body and body.add_license),
        )
    )


@router.post("/accounts/{account_id}/users/{user_id}/deactivate", response_model=UserPublic)
def deactivate_user(
    account_id: str, user_id: str, uow: Uow, now: Now, principal: CurrentPrincipal
) -> UserPublic:
    return UserPublic.of(
        users.deactivate_user(
            uow, account_id=account_id, user_id=user_id, at=now, actor=principal.actor
        )
    )


@router.delete("/accounts/{account_id}/users/{user_id}", response_model=UserPublic)
def delete_user(
    account_id: str, user_id: str, uow: Uow, now: Now, principal: CurrentPrincipal
) -> UserPublic:
    return UserPublic.of(
        users.delete_user(
            uow, account_id=account_id, user_id=user_id, at=now, actor=principal.actor
        )
    )


@router.post(
    "/accounts/{account_id}/invitations",
    status_code=status.HTTP_201_CREATED,
    response_model=InvitationPublic,
)
def invite_user(
    account_id: str, body: InvitationCreate, uow: Uow, now: Now, principal: CurrentPrincipal
) -> InvitationPublic:
    inv = users.invite_user(
        uow,
        account_id=account_id,
        at=now,
        actor=principal.actor,
        by_owner=may_manage_owners(principal, account_id),
        **body.model_dump(),
    )
    return InvitationPublic(
        id=inv.id, token=inv.token, expires_at=inv.expires_at, user_id=inv.user.id
    )


@router.post("/invitations/{token}/accept", response_model=UserPublic)
def accept_invitation(token: str, body: InvitationAccept, uow: Uow, now: Now) -> UserPublic:
    """Anyone holding the token; no bearer token needed."""
    return UserPublic.of(users.accept_invitation(uow, token=token, at=now, **body.model_dump()))


@router.post("/auth/setup", status_code=status.HTTP_204_NO_CONTENT)
def setup_password(body: SetupIn, uow: Uow, now: Now) -> None:
    users.set_password_with_setup_token(uow, token=body.token, password=body.password, at=now)
