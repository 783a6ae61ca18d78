"""Steps: a workspace renamed, its members changed, the workspace deleted
(services/accounts.py creates and lists them), for the SCIM Group use cases
(services/scim.py). Each works inside an open unit of work, after the account
lock, and never commits.

Members join and leave through ``users.join_or_leave_workspace_step``, so each
change runs the seat policies and the audit log as an update of the user would:
joining a first workspace takes seats (a full ``block`` pool refuses the whole
change), a user left in no workspace releases them (PRODUCT.md §1, §3).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from seatledger.domain.accounts import Account, Workspace
from seatledger.domain.errors import Conflict, InvalidInput
from seatledger.domain.names import check_display_name, check_external_id
from seatledger.services.unit_of_work import UnitOfWork
from seatledger.services.unset import UNSET
from seatledger.services.users import join_or_leave_workspace_step


@dataclass(frozen=True)
class WorkspaceMembers:
    workspace: Workspace
    member_ids: list[str]  # its users, deleted ones left out, by id


def update_workspace_step(
    uow: UnitOfWork,
    account: Account,
    current: WorkspaceMembers,
    *,
    at: datetime,
    actor: str,
    name: Any = UNSET,
    external_id: Any = UNSET,
    member_ids: Any = UNSET,
) -> WorkspaceMembers:
    """Changes what is given of ``current`` (the workspace as read under the
    lock); ``member_ids``: the workspace's users from now on (live users of the
    account), all or nothing."""
    at = account.time_at(at)
    workspace = replace(current.workspace)
    if name is not UNSET:
        workspace.name = check_display_name(name, field="name")
    if external_id is not UNSET:
        workspace.external_id = check_external_id(external_id)
    members = list(current.member_ids)
    if member_ids is not UNSET:
        members = _check_member_ids(member_ids)
        were, are = set(current.member_ids), set(members)
        # NOTE: the users who join or leave, read in one go; members are live users.
        users = {u.id: u for u in uow.users.live(account.id, sorted(were ^ are))}
        for user_id in sorted(are - were):
            if user_id not in users:
                raise InvalidInput(f"user {user_id} is not a user of this account", field="members")
        join_or_leave_workspace_step(
            uow,
            account,
            workspace_id=workspace.id,
            joining=[users[u] for u in members if u not in were],
            leaving=[users[u] for u in current.member_ids if u not in are],
            at=at,
            actor=actor,
        )
    if workspace != current.workspace or members != current.member_ids:
        uow.workspaces.save(workspace, at=at)
        uow.record(
            "workspace.updated",
            subject=f"workspace:{workspace.id}",
            account_id=account.id,
            at=at,
            before={"workspace": current.workspace, "member_ids": current.member_ids},
            after={"workspace": workspace, "member_ids": members},
        )
    return WorkspaceMembers(workspace, members)


def delete_workspace_step(
    uow: UnitOfWork, account: Account, current: WorkspaceMembers, *, at: datetime, actor: str
) -> None:
    """Its members leave it; those left in no workspace release their seats. The
    default workspace is never deleted."""
    at = account.time_at(at)
    workspace = current.workspace
    if workspace.is_default:
        raise Conflict("the default workspace cannot be deleted", field="workspace_id")
    join_or_leave_workspace_step(
        uow,
        account,
        workspace_id=workspace.id,
        joining=[],
        leaving=uow.users.live(account.id, current.member_ids),
        at=at,
        actor=actor,
    )
    uow.workspaces.mark_deleted(workspace.id, at=at)
    uow.record(
        "workspace.deleted",
        subject=f"workspace:{workspace.id}",
        account_id=account.id,
        at=at,
        before={"workspace": workspace, "member_ids": current.member_ids},
    )


def _check_member_ids(member_ids: Any) -> list[str]:
    """The ids, each once, in order."""
    if not isinstance(member_ids, list) or not all(isinstance(m, str) for m in member_ids):
        raise InvalidInput("members must be a list of user ids", field="members")
    return sorted(set(member_ids))
