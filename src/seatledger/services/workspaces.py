"""Use cases: a workspace renamed, its members changed, the workspace deleted
(services/accounts.py creates and lists them).

Members change through ``update_user`` (services/users.py), in this use case's
transaction, so each change runs the seat policies and the audit log as any
other: joining a first workspace takes seats (a full ``block`` pool refuses the
whole change), a user left in no workspace releases them (PRODUCT.md §1, §3).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from seatledger.domain.accounts import Workspace
from seatledger.domain.errors import Conflict, InvalidInput, NotFound
from seatledger.domain.names import check_display_name, check_external_id
from seatledger.services.unit_of_work import UnitOfWork
from seatledger.services.unset import UNSET
from seatledger.services.users import update_user


@dataclass(frozen=True)
class WorkspaceMembers:
    workspace: Workspace
    member_ids: list[str]  # its users, deleted ones left out, by id


def load_workspace(uow: UnitOfWork, account_id: str, workspace_id: str) -> WorkspaceMembers:
    """Inside the caller's unit of work; a deleted workspace is NotFound."""
    workspace = uow.workspaces.get(account_id, workspace_id)
    if workspace is None:
        raise NotFound(f"workspace {workspace_id} not found", field="workspace_id")
    return WorkspaceMembers(workspace, uow.workspaces.members([workspace_id])[workspace_id])


def update_workspace(
    uow: UnitOfWork,
    *,
    account_id: str,
    workspace_id: str,
    at: datetime,
    actor: str,
    name: Any = UNSET,
    external_id: Any = UNSET,
    member_ids: Any = UNSET,
) -> WorkspaceMembers:
    """Changes what is given; ``member_ids``: the workspace's users from now on
    (live users of the account), all or nothing."""
    with uow:
        at = uow.lock_account(account_id).time_at(at)
        current = load_workspace(uow, account_id, workspace_id)
        workspace = replace(current.workspace)
        if name is not UNSET:
            workspace.name = check_display_name(name, field="name")
        if external_id is not UNSET:
            workspace.external_id = check_external_id(external_id)
        members = list(current.member_ids)
        if member_ids is not UNSET:
            members = _check_members(uow, account_id, member_ids)
            _move_members(uow, workspace, set(members) - set(current.member_ids), at, actor)
            _move_members(uow, workspace, set(current.member_ids) - set(members), at, actor)
        if workspace != current.workspace or members != current.member_ids:
            uow.workspaces.save(workspace, at=at)
            uow.record(
                "workspace.updated",
                subject=f"workspace:{workspace.id}",
                account_id=account_id,
                at=at,
                before={"workspace": current.workspace, "member_ids": current.member_ids},
                after={"workspace": workspace, "member_ids": members},
            )
        result = WorkspaceMembers(workspace, members)
        uow.commit()
    return result


def delete_workspace(
    uow: UnitOfWork, *, account_id: str, workspace_id: str, at: datetime, actor: str
) -> None:
    """Its members leave it; those left in no workspace release their seats. The
    default workspace is never deleted."""
    with uow:
        at = uow.lock_account(account_id).time_at(at)
        current = load_workspace(uow, account_id, workspace_id)
        if current.workspace.is_default:
            raise Conflict("the default workspace cannot be deleted", field="workspace_id")
        _move_members(uow, current.workspace, set(current.member_ids), at, actor)
        uow.workspaces.mark_deleted(workspace_id, at=at)
        uow.record(
            "workspace.deleted",
            subject=f"workspace:{workspace_id}",
            account_id=account_id,
            at=at,
            before={"workspace": current.workspace, "member_ids": current.member_ids},
        )
        uow.commit()


def _check_members(uow: UnitOfWork, account_id: str, member_ids: Any) -> list[str]:
    if not isinstance(member_ids, list) or not all(isinstance(m, str) for m in member_ids):
        raise InvalidInput("members must be a list of user ids", field="members")
    wanted = sorted(set(member_ids))
    found = uow.users.live_ids(account_id, wanted)
    for user_id in wanted:
        if user_id not in found:
            raise InvalidInput(f"user {user_id} is not a user of this account", field="members")
    return wanted


def _move_members(
    uow: UnitOfWork, workspace: Workspace, user_ids: set[str], at: datetime, actor: str
) -> None:
    """Each user joins ``workspace`` if not in it, else leaves it."""
    for user_id in sorted(user_ids):
        user = uow.users.get(workspace.account_id, user_id)
        assert user is not None  # a member, or checked by _check_members
        joined = [w for w in user.workspace_ids if w != workspace.id]
        if workspace.id not in user.workspace_ids:
            joined.append(workspace.id)
        update_user(
            uow,
            account_id=workspace.account_id,
            user_id=user_id,
            at=at,
            actor=actor,
            workspace_ids=joined,
        )
