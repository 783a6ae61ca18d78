"""Use cases: SCIM provisioning (RFC 7643/7644) by an identity provider.

A SCIM token (one account's, stored hashed) lets an identity provider manage that
account's users and groups. A SCIM request is one use case: it enters the unit
of work once, locks the account, runs the steps of the user and workspace use
cases (``*_step`` in services/users.py, services/accounts.py and
services/workspaces.py) and commits once, so the seat policies, the administrator
rule and the audit log apply as to any other caller, and a refused step undoes
the steps before it (PRODUCT.md §7):

- a SCIM User is a user of the account, member of the default workspace with the
  default profile when created; ``active`` is its status;
- a SCIM Group is any other workspace; the default workspace is no Group;
- the provider is the authority: a deactivation or deletion of an owner or admin
  removes the role in the same change, except for the last one (§2 rule 3).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from seatledger.domain.accounts import Workspace
from seatledger.domain.errors import NotFound, Unauthorized
from seatledger.domain.ids import new_id, new_token
from seatledger.domain.names import check_display_name
from seatledger.domain.users import ACTIVE, ListedEmail, User
from seatledger.services import accounts, users, workspaces
from seatledger.services.secrets import hash_token
from seatledger.services.unit_of_work import UnitOfWork
from seatledger.services.workspaces import WorkspaceMembers

SCIM_TOKEN_PREFIX = "slscim"  # SCIM tokens read "slscim_…"
# A token's last use is written at most once per this much time.
LAST_USE_PRECISION = timedelta(minutes=1)


# --- tokens ------------------------------------------------------------------------


@dataclass(frozen=True)
class ScimToken:
    id: str
    account_id: str
    name: str | None
    created_at: datetime
    created_by: str
    last_used_at: datetime | None = None  # to within LAST_USE_PRECISION
    revoked_at: datetime | None = None
    token: str | None = None  # only when just issued: shown once


def _token(row: Any) -> ScimToken:
    return ScimToken(
        row.id,
        row.account_id,
        row.name,
        row.created_at,
        row.created_by,
        row.last_used_at,
        row.revoked_at,
    )


def is_scim_token(token: str) -> bool:
    return token.startswith(SCIM_TOKEN_PREFIX + "_")


def issue_scim_token(
    uow: UnitOfWork, *, account_id: str, at: datetime, created_by: str, name: str | None = None
) -> ScimToken:
    """A bearer token for the account's SCIM endpoint; only its hash is kept."""
    name = check_display_name(name, field="name") if name is not None else None
    token = new_token(SCIM_TOKEN_PREFIX)
    issued = ScimToken(new_id("sct"), account_id, name, at, created_by, token=token)
    with uow:
        account = uow.lock_account(account_id)
        uow.scim_tokens.add(
            id=issued.id,
            account_id=account_id,
            token_hash=hash_token(token),
            name=name,
            at=at,
            created_by=created_by,
        )
        uow.record(
            "scim_token.issued",
            subject=f"scim_token:{issued.id}",
            account_id=account_id,
            at=account.time_at(at),
            after=issued,
        )
        uow.commit()
    return issued


def list_scim_tokens(
    uow: UnitOfWork, *, account_id: str, limit: int = 100, after: str | None = None
) -> list[ScimToken]:
    with uow:
        uow.read_account(account_id)
        return [_token(r) for r in uow.scim_tokens.list(account_id, limit=limit, after=after)]


def revoke_scim_token(
    uow: UnitOfWork, *, account_id: str, token_id: str, at: datetime
) -> ScimToken:
    """From the next request on the token is refused (401) in every process;
    revoking it again changes nothing."""
    with uow:
        account = uow.lock_account(account_id)
        before = uow.scim_tokens.get(account_id, token_id)
        if before is None:
            raise NotFound(f"SCIM token {token_id} not found", field="token_id")
        revoked = uow.scim_tokens.revoke(token_id, at=at)
        if revoked is not None:
            uow.record(
                "scim_token.revoked",
                subject=f"scim_token:{token_id}",
                account_id=account_id,
                at=account.time_at(at),
                before=_token(before),
                after=_token(revoked),
            )
        row = uow.scim_tokens.get(account_id, token_id)
        uow.commit()
    return _token(row)


def authenticate_scim_token(uow: UnitOfWork, *, token: str, at: datetime) -> ScimToken:
    """One autocommit read by the unique hash index (never cached, so a
    revocation holds at once), and a write of ``last_used_at`` only when the
    recorded one is a minute old."""
    row = uow.scim_token(hash_token(token)) if is_scim_token(token) else None
    if row is None or row.revoked_at is not None:
        raise Unauthorized("unknown or revoked SCIM token")
    stale_from = at - LAST_USE_PRECISION
    if row.last_used_at is None or row.last_used_at <= stale_from:
        with uow:
            uow.scim_tokens.record_use(row.id, at=at, stale_from=stale_from)
            uow.commit()
    return _token(row)


# --- users ---------------------------------------------------------------------------


@dataclass(frozen=True)
class UserState:
    """What the identity provider says of a user (a SCIM User)."""

    email: str  # userName
    first_name: str
    last_name: str
    active: bool
    external_id: str | None = None
    department: str | None = None
    listed_emails: tuple[ListedEmail, ...] = ()


@dataclass(frozen=True)
class ScimUser:
    user: User
    modified_at: datetime


@dataclass(frozen=True)
class Page:
    """``total`` matches; ``items``: the page of them asked for."""

    total: int
    items: list[Any]


def _scim_user(uow: UnitOfWork, account_id: str, user_id: str) -> ScimUser:
    """Inside the caller's unit of work, in one query; a deleted user is NotFound
    (RFC 7644 §3.6)."""
    found = uow.users.live_modified(account_id, [user_id])
    if not found:
        raise NotFound(f"user {user_id} not found", field="user_id")
    return ScimUser(*found[0])


def create_user(
    uow: UnitOfWork, *, account_id: str, state: UserState, at: datetime, actor: str
) -> ScimUser:
    """Under the pools' policies as any create: a full ``block`` pool refuses it,
    a full ``inactive_when_full`` pool saves it inactive."""
    with uow:
        account = uow.lock_account(account_id)
        created = users.create_user_step(
            uow,
            account,
            email=state.email,
            first_name=state.first_name,
            last_name=state.last_name,
            department=state.department,
            external_id=state.external_id,
            listed_emails=state.listed_emails,
            active=state.active,
            at=at,
            actor=actor,
        )
        result = _scim_user(uow, account_id, created.user.id)
        uow.commit()
    return result


def get_user(uow: UnitOfWork, *, account_id: str, user_id: str) -> ScimUser:
    with uow:
        uow.read_account(account_id)
        return _scim_user(uow, account_id, user_id)


def list_users(
    uow: UnitOfWork,
    *,
    account_id: str,
    offset: int,
    limit: int,
    email: str | None = None,
    external_id: str | None = None,
) -> Page:
    """The users not deleted (``email``: any case), oldest first."""
    with uow:
        uow.read_account(account_id)
        total, found = uow.users.page(
            account_id,
            email_key=email.casefold() if email is not None else None,
            external_id=external_id,
            offset=offset,
            limit=limit,
        )
        return Page(total, [ScimUser(user, modified) for user, modified in found])


def change_user(
    uow: UnitOfWork,
    *,
    account_id: str,
    user_id: str,
    at: datetime,
    actor: str,
    change: Callable[[ScimUser], UserState],
) -> ScimUser:
    """``change`` gives the user's new state from its state now (a PUT or a
    PATCH), read under the account's lock: concurrent changes apply one after
    the other, each in full or not at all."""
    with uow:
        account = uow.lock_account(account_id)
        current = _scim_user(uow, account_id, user_id)
        wanted = change(current)
        user = current.user
        given = {
            "email": wanted.email,
            "first_name": wanted.first_name,
            "last_name": wanted.last_name,
            "department": wanted.department,
            "external_id": wanted.external_id,
            "listed_emails": wanted.listed_emails,
        }
        changed = {name: v for name, v in given.items() if v != getattr(user, name)}
        ids = {"user_id": user_id, "at": at, "actor": actor}
        if changed:
            users.update_user_step(uow, account, **ids, **changed)
        if wanted.active and user.status != ACTIVE:
            users.activate_user_step(uow, account, **ids)
        elif not wanted.active and user.status == ACTIVE:
            users.deactivate_user_step(uow, account, **ids, by_identity_provider=True)
        result = _scim_user(uow, account_id, user_id)
        uow.commit()
    return result


def delete_user(
    uow: UnitOfWork, *, account_id: str, user_id: str, at: datetime, actor: str
) -> None:
    """The user is deleted (it stays in the ledger); an owner or admin loses the
    role with it, except the last one."""
    with uow:
        account = uow.lock_account(account_id)
        _scim_user(uow, account_id, user_id)
        users.delete_user_step(
            uow,
            account,
            user_id=user_id,
            at=at,
            actor=actor,
            by_identity_provider=True,
        )
        uow.commit()


# --- groups --------------------------------------------------------------------------


@dataclass(frozen=True)
class GroupState:
    """What the identity provider says of a group (a SCIM Group)."""

    name: str  # displayName
    external_id: str | None = None
    member_ids: tuple[str, ...] = ()


def _group(uow: UnitOfWork, account_id: str, group_id: str) -> WorkspaceMembers:
    """Inside the caller's unit of work: a workspace other than the default one."""
    workspace = uow.workspaces.get(account_id, group_id)
    if workspace is None or workspace.is_default:
        raise NotFound(f"group {group_id} not found", field="group_id")
    return WorkspaceMembers(workspace, uow.workspaces.members([group_id])[group_id])


def create_group(
    uow: UnitOfWork, *, account_id: str, state: GroupState, at: datetime, actor: str
) -> WorkspaceMembers:
    """A new workspace with these members, all or nothing under the seat policies."""
    with uow:
        account = uow.lock_account(account_id)
        workspace = accounts.create_workspace_step(
            uow, account, name=state.name, external_id=state.external_id, at=at
        )
        created = WorkspaceMembers(workspace, [])
        if state.member_ids:
            created = workspaces.update_workspace_step(
                uow, account, created, at=at, actor=actor, member_ids=list(state.member_ids)
            )
        uow.commit()
    return created


def get_group(uow: UnitOfWork, *, account_id: str, group_id: str) -> WorkspaceMembers:
    with uow:
        uow.read_account(account_id)
        return _group(uow, account_id, group_id)


def list_groups(
    uow: UnitOfWork,
    *,
    account_id: str,
    offset: int,
    limit: int,
    name: str | None = None,
    external_id: str | None = None,
) -> Page:
    """The workspaces but the default one (``name``: any case), oldest first."""
    with uow:
        uow.read_account(account_id)
        total, found = uow.workspaces.page(
            account_id, name=name, external_id=external_id, offset=offset, limit=limit
        )
        members = uow.workspaces.members([w.id for w in found])
        return Page(total, [WorkspaceMembers(w, members[w.id]) for w in found])


def change_group(
    uow: UnitOfWork,
    *,
    account_id: str,
    group_id: str,
    at: datetime,
    actor: str,
    change: Callable[[WorkspaceMembers], GroupState],
) -> WorkspaceMembers:
    """``change`` gives the group's new state from its state now (a PUT or a
    PATCH), read under the account's lock; members join and leave all or
    nothing under the seat policies."""
    with uow:
        account = uow.lock_account(account_id)
        current = _group(uow, account_id, group_id)
        wanted = change(current)
        workspace: Workspace = current.workspace
        changed: dict[str, Any] = {}
        if wanted.name != workspace.name:
            changed["name"] = wanted.name
        if wanted.external_id != workspace.external_id:
            changed["external_id"] = wanted.external_id
        if sorted(set(wanted.member_ids)) != current.member_ids:
            changed["member_ids"] = list(wanted.member_ids)
        result = current
        if changed:
            result = workspaces.update_workspace_step(
                uow, account, current, at=at, actor=actor, **changed
            )
        uow.commit()
    return result


def delete_group(
    uow: UnitOfWork, *, account_id: str, group_id: str, at: datetime, actor: str
) -> None:
    """Its members leave the workspace; those left in no workspace release their
    seats."""
    with uow:
        account = uow.lock_account(account_id)
        current = _group(uow, account_id, group_id)
        workspaces.delete_workspace_step(uow, account, current, at=at, actor=actor)
        uow.commit()
