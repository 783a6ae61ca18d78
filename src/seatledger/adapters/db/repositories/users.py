"""Repositories: users, invitations, and the access check's one query."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import (
    Connection,
    and_,
    bindparam,
    delete,
    func,
    insert,
    literal_column,
    select,
    update,
)

from seatledger.adapters.db import tables as t
from seatledger.adapters.db.pipeline import NO_WAIT
from seatledger.domain.users import ACTIVE, DELETED, PRIVILEGED_ROLES, ListedEmail, User

# NOTE: statements on the seat path are built once (see repositories/seats.py).
# A user with its workspaces (ids joined by spaces: ids have none) and a row per
# seat it holds (or one row with none). The separator is SQL, not a parameter.
_SPACE = literal_column("' '")
_WORKSPACE_IDS = (
    select(func.aggregate_strings(t.user_workspaces.c.workspace_id, _SPACE))
    .where(t.user_workspaces.c.user_id == t.users.c.id)
    .scalar_subquery()
)
_USER_WITH_SEATS = (
    select(
        t.users,
        _WORKSPACE_IDS.label("joined_workspace_ids"),
        t.seats.c.module.label("seat_module"),
        t.seats.c.pool_id.label("seat_pool_id"),
    )
    .select_from(t.users.outerjoin(t.seats, t.seats.c.user_id == t.users.c.id))
    .where(t.users.c.id == bindparam("b_user"), t.users.c.account_id == bindparam("b_account"))
)
_SAVED_COLUMNS = (
    "email",
    "email_key",
    "first_name",
    "last_name",
    "department",
    "role",
    "status",
    "profile_id",
    "valid_to",
    "updated_at",
    "external_id",
    "listed_emails",
)
_USER_SAVE = (
    update(t.users)
    .where(t.users.c.id == bindparam("b_id"))
    .values({name: bindparam(f"b_{name}") for name in _SAVED_COLUMNS})
    .execution_options(**NO_WAIT)  # PostgreSQL: sent without waiting (pipeline.py)
)


def _listed_emails_json(emails: tuple[ListedEmail, ...]) -> str | None:
    return json.dumps([asdict(e) for e in emails]) if emails else None


def _listed_emails(text: str | None) -> tuple[ListedEmail, ...]:
    return tuple(ListedEmail(**e) for e in json.loads(text)) if text else ()


def _user(r: Any, workspace_ids: list[str]) -> User:
    return User(
        id=r.id,
        account_id=r.account_id,
        email=r.email,
        first_name=r.first_name,
        last_name=r.last_name,
        role=r.role,
        status=r.status,
        department=r.department,
        profile_id=r.profile_id,
        workspace_ids=workspace_ids,
        valid_to=r.valid_to,
        created_at=r.created_at,
        external_id=r.external_id,
        listed_emails=_listed_emails(r.listed_emails),
    )


class Users:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def add(self, user: User, *, at: datetime, setup_token_hash: str | None = None) -> None:
        self.conn.execute(
            insert(t.users).values(
                id=user.id,
                account_id=user.account_id,
                email=user.email,
                email_key=user.email.casefold(),
                first_name=user.first_name,
                last_name=user.last_name,
                department=user.department,
                role=user.role,
                status=user.status,
                profile_id=user.profile_id,
                valid_to=user.valid_to,
                setup_token_hash=setup_token_hash,
                created_at=at,
                updated_at=at,
                external_id=user.external_id,
                listed_emails=_listed_emails_json(user.listed_emails),
            )
        )
        self.set_workspaces(user.id, user.workspace_ids)

    def save(self, user: User, *, at: datetime) -> None:
        self.save_all([user], at=at)

    def save_all(self, users: list[User], *, at: datetime) -> None:
        """The users as they are, changed ``at``: one statement (an executemany)."""
        if not users:
            return
        self.conn.execute(
            _USER_SAVE,
            [
                {
                    "b_id": user.id,
                    "b_email": user.email,
                    "b_email_key": user.email.casefold(),
                    "b_first_name": user.first_name,
                    "b_last_name": user.last_name,
                    "b_department": user.department,
                    "b_role": user.role,
                    "b_status": user.status,
                    "b_profile_id": user.profile_id,
                    "b_valid_to": user.valid_to,
                    "b_updated_at": at,
                    "b_external_id": user.external_id,
                    "b_listed_emails": _listed_emails_json(user.listed_emails),
                }
                for user in users
            ],
        )

    def set_password(self, user_id: str, password_hash: str) -> None:
        self.conn.execute(
            update(t.users)
            .where(t.users.c.id == user_id)
            .values(password_hash=password_hash, setup_token_hash=None)
        )

    def set_workspaces(self, user_id: str, workspace_ids: list[str]) -> None:
        self.conn.execute(delete(t.user_workspaces).where(t.user_workspaces.c.user_id == user_id))
        if workspace_ids:
            self.conn.execute(
                insert(t.user_workspaces),
                [{"user_id": user_id, "workspace_id": w} for w in workspace_ids],
            )

    def get(self, account_id: str, user_id: str) -> User | None:
        found = self.with_seats(account_id, user_id)
        return found[0] if found else None

    def with_seats(self, account_id: str, user_id: str) -> tuple[User, dict[str, str]] | None:
        """The user and the seats it holds (module → pool id), in one query."""
        rows = self.conn.execute(
            _USER_WITH_SEATS, {"b_user": user_id, "b_account": account_id}
        ).all()
        if not rows:
            return None
        first = rows[0]
        workspace_ids = sorted((first.joined_workspace_ids or "").split())
        held = {r.seat_module: r.seat_pool_id for r in rows if r.seat_module is not None}
        return _user(first, workspace_ids), held

    def credentials(self, account_id: str, email_key: str) -> Any:
        """The ``user_id`` and ``password_hash`` of the user with this email (sign-in):
        the live (not deleted) one, else the newest deleted one."""
        return self.conn.execute(
            select(t.users.c.id.label("user_id"), t.users.c.password_hash)
            .where(t.users.c.account_id == account_id, t.users.c.email_key == email_key)
            .order_by((t.users.c.status == DELETED).asc(), t.users.c.created_at.desc())
            .limit(1)
        ).first()

    def email_taken(self, account_id: str, email_key: str, *, except_id: str | None = None) -> bool:
        q = select(t.users.c.id).where(
            t.users.c.account_id == account_id,
            t.users.c.email_key == email_key,
            t.users.c.status != DELETED,
        )
        if except_id:
            q = q.where(t.users.c.id != except_id)
        return self.conn.execute(q.limit(1)).first() is not None

    def by_setup_token(self, token_hash: str) -> User | None:
        row = self.conn.execute(
            select(t.users).where(t.users.c.setup_token_hash == token_hash)
        ).first()
        return self._with_workspaces([row])[0] if row else None

    def list(
        self,
        account_id: str,
        *,
        status: str | None,
        include_deleted: bool,
        limit: int | None,
        after: str | None,
        search: str | None = None,
    ) -> list[User]:
        """A page of users (``limit`` None: all of them, for a use case that must
        act on each, such as a contract version adding a module); ``search``: only
        those whose email or name contains it, in any case."""
        c = t.users.c
        q = select(t.users).where(c.account_id == account_id).order_by(c.id).limit(limit)
        if status:
            q = q.where(c.status == status)
        elif not include_deleted:
            q = q.where(c.status != DELETED)
        if search:
            term = search.lower()
            q = q.where(
                c.email_key.contains(term, autoescape=True)
                | func.lower(c.first_name + " " + c.last_name).contains(term, autoescape=True)
            )
        if after:
            q = q.where(c.id > after)
        return self._with_workspaces(list(self.conn.execute(q)))

    def page(
        self,
        account_id: str,
        *,
        email_key: str | None = None,
        external_id: str | None = None,
        offset: int,
        limit: int,
    ) -> tuple[int, list[tuple[User, datetime]]]:
        """The users not deleted, oldest first, with this email or external id if
        given: how many match, and ``limit`` of them from ``offset`` (SCIM lists),
        each with its last change (SCIM meta.lastModified)."""
        c = t.users.c
        match = [c.account_id == account_id, c.status != DELETED]
        if email_key is not None:
            match.append(c.email_key == email_key)
        if external_id is not None:
            match.append(c.external_id == external_id)
        total = self.conn.execute(select(func.count()).where(*match)).scalar_one()
        rows = self.conn.execute(
            select(t.users).where(*match).order_by(c.created_at, c.id).offset(offset).limit(limit)
        ).all()
        users = self._with_workspaces(rows)
        return total, [(user, row.updated_at) for user, row in zip(users, rows, strict=True)]

    def live(self, account_id: str, user_ids: list[str]) -> list[User]:
        """The users of the account not deleted among ``user_ids``, by id, with their
        workspaces: one query however many."""
        return [user for user, _ in self.live_modified(account_id, user_ids)]

    def live_modified(self, account_id: str, user_ids: list[str]) -> list[tuple[User, datetime]]:
        """``live``, each user with its last change (SCIM meta.lastModified), in the
        same query: a row per workspace of each user (one row for none)."""
        if not user_ids:
            return []
        u, uw = t.users.c, t.user_workspaces.c
        rows = self.conn.execute(
            select(t.users, uw.workspace_id)
            .select_from(t.users.outerjoin(t.user_workspaces))
            .where(u.account_id == account_id, u.id.in_(user_ids), u.status != DELETED)
            .order_by(u.id, uw.workspace_id)
        )
        found: dict[str, tuple[Any, list[str]]] = {}
        for r in rows:
            _, workspace_ids = found.setdefault(r.id, (r, []))
            if r.workspace_id is not None:
                workspace_ids.append(r.workspace_id)
        return [(_user(r, workspace_ids), r.updated_at) for r, workspace_ids in found.values()]

    def count_active_privileged(self, account_id: str) -> int:
        c = t.users.c
        return self.conn.execute(
            select(func.count()).where(
                c.account_id == account_id, c.status == ACTIVE, c.role.in_(PRIVILEGED_ROLES)
            )
        ).scalar_one()

    def count_by_status(self, account_id: str) -> dict[str, int]:
        c = t.users.c
        rows = self.conn.execute(
            select(c.status, func.count()).where(c.account_id == account_id).group_by(c.status)
        )
        return {r[0]: r[1] for r in rows}

    def with_profile(self, account_id: str, profile_ids: Iterable[str]) -> list[User]:
        ids = list(profile_ids)
        rows = list(
            self.conn.execute(
                select(t.users).where(
                    t.users.c.account_id == account_id,
                    t.users.c.profile_id.in_(ids),
                    t.users.c.status == ACTIVE,
                )
            )
        )
        return self._with_workspaces(rows)

    def _with_workspaces(self, rows: list[Any]) -> list[User]:
        ids = [r.id for r in rows]
        ws: dict[str, list[str]] = {i: [] for i in ids}
        if ids:
            for r in self.conn.execute(
                select(t.user_workspaces)
                .where(t.user_workspaces.c.user_id.in_(ids))
                .order_by(t.user_workspaces.c.workspace_id)
            ):
                ws[r.user_id].append(r.workspace_id)
        return [_user(r, ws[r.id]) for r in rows]


@dataclass(frozen=True)
class AccessFacts:
    account_found: bool
    test_clock: bool = False
    clock_now: datetime | None = None
    user: User | None = None
    has_contract: bool = False
    end_date: Any = None
    holds_seat: bool = False
    module_known: bool = True


@cache
def _access_statement(by_id: bool, with_module: bool) -> Any:
    """Built once per shape (by id / by email, with / without a module)."""
    a, u, c = t.accounts.c, t.users.c, t.contracts.c
    latest = (
        select(c.end_date)
        .where(c.account_id == a.id)
        .order_by(c.version.desc())
        .limit(1)
        .scalar_subquery()
    )
    has_contract = select(c.id).where(c.account_id == a.id).exists()
    module = bindparam("b_module")
    holds = (
        select(t.seats.c.user_id)
        .where(t.seats.c.user_id == u.id, t.seats.c.module == module)
        .exists()
    )
    known = (
        select(t.pools.c.id)
        .where(
            t.pools.c.account_id == a.id, t.pools.c.module == module, t.pools.c.retired.is_(False)
        )
        .exists()
    )
    user_match = (u.id == bindparam("b_user")) if by_id else (u.email_key == bindparam("b_email"))
    return (
        select(
            a.test_clock,
            a.clock_now,
            u.id.label("uid"),
            u.status,
            u.valid_to,
            u.email,
            u.role,
            latest.label("end_date"),
            has_contract.label("has_contract"),
            *([holds.label("holds"), known.label("known")] if with_module else []),
        )
        .select_from(t.accounts.outerjoin(t.users, (u.account_id == a.id) & user_match))
        .where(a.id == bindparam("b_account"))
        .order_by((u.status == DELETED).asc(), u.created_at.desc())
        .limit(1)
    )


def access_facts(
    conn: Connection,
    *,
    account_id: str,
    user_id: str | None,
    email_key: str | None,
    module: str | None,
) -> AccessFacts:
    """Everything an access check needs, in one statement (the hot path)."""
    params = {"b_account": account_id, "b_user": user_id, "b_email": email_key, "b_module": module}
    row = conn.execute(_access_statement(user_id is not None, module is not None), params).first()
    if row is None:
        return AccessFacts(account_found=False)
    user = None
    if row.uid is not None:
        user = User(
            id=row.uid,
            account_id=account_id,
            email=row.email,
            first_name="",
            last_name="",
            role=row.role,
            status=row.status,
            valid_to=row.valid_to,
        )
    return AccessFacts(
        True,
        row.test_clock,
        row.clock_now,
        user,
        bool(row.has_contract),
        row.end_date,
        bool(module and row.holds),
        module_known=bool(row.known) if module else True,
    )


class Invitations:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def add(
        self,
        *,
        id: str,
        account_id: str,
        user_id: str,
        workspace_id: str,
        token_hash: str,
        expires_at: datetime,
        at: datetime,
    ) -> None:
        self.conn.execute(
            insert(t.invitations).values(
                id=id,
                account_id=account_id,
                user_id=user_id,
                workspace_id=workspace_id,
                token_hash=token_hash,
                status="open",
                expires_at=expires_at,
                created_at=at,
            )
        )

    def by_token(self, token_hash: str) -> Any:
        return self.conn.execute(
            select(t.invitations).where(t.invitations.c.token_hash == token_hash)
        ).first()

    def close(self, invitation_id: str, *, status: str, at: datetime) -> None:
        self.conn.execute(
            update(t.invitations)
            .where(t.invitations.c.id == invitation_id)
            .values(status=status, accepted_at=at)
        )

    def close_open_for_user(self, user_id: str, *, status: str, at: datetime) -> None:
        self.conn.execute(
            update(t.invitations)
            .where(and_(t.invitations.c.user_id == user_id, t.invitations.c.status == "open"))
            .values(status=status, accepted_at=at)
        )
