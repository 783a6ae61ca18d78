"""Repositories: accounts, workspaces, profiles, contracts, operator keys."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Table, bindparam, delete, func, insert, select, true, update

from seatledger.adapters.db import tables as t
from seatledger.adapters.db.rows import as_values, party_json, party_of
from seatledger.domain.accounts import Account, Profile, Workspace
from seatledger.domain.audit import Head
from seatledger.domain.contracts import Contract, PoolTerms
from seatledger.domain.users import DELETED


def _account(row: Any) -> Account:
    return Account(
        id=row.id,
        name=row.name,
        currency=row.currency,
        tax_rate=row.tax_rate,
        payment_method=row.payment_method,
        billing_email=row.billing_email,
        payment_terms_days=row.payment_terms_days,
        locale=row.locale,
        billing=party_of(row.billing),
        test_clock=row.test_clock,
        clock_now=row.clock_now,
        created_at=row.created_at,
    )


# NOTE: statements on the seat path are built once (see repositories/seats.py).
# The account lock, with the head of the account's audit chain as it is under the
# lock (an account's head moves only under its lock: UnitOfWork._write_audit).
# SQLite: an UPDATE, which takes the database's write lock before it reads.
_h = t.audit_heads.c
_LOCK_SQLITE = (
    update(t.accounts)
    .where(t.accounts.c.id == bindparam("b_account"))
    .values(lock_version=t.accounts.c.lock_version + 1)
    .returning(
        *t.accounts.c,
        select(_h.position).where(_h.chain == t.accounts.c.id).scalar_subquery().label("h_pos"),
        select(_h.hash).where(_h.chain == t.accounts.c.id).scalar_subquery().label("h_hash"),
    )
)
# PostgreSQL: the account's row, then its head's, locked FOR NO KEY UPDATE (the lock
# an UPDATE takes), in that order (the head's subquery is LATERAL to the account's):
# a locked row is read as the transaction that held it left it, both rows alike.
_locked_account = (
    select(t.accounts)
    .where(t.accounts.c.id == bindparam("b_account"))
    .with_for_update(key_share=True)
    .subquery("a")
)
_locked_head = (
    select(_h.position.label("h_pos"), _h.hash.label("h_hash"))
    .where(_h.chain == _locked_account.c.id)
    .with_for_update(key_share=True)
    .lateral("h")
)
_LOCK_POSTGRES = select(_locked_account, _locked_head.c.h_pos, _locked_head.c.h_hash).select_from(
    _locked_account.outerjoin(_locked_head, true())
)
_PROFILE_WITH_MODULES = (
    select(
        t.profiles.c.id,
        t.profiles.c.account_id,
        t.profiles.c.name,
        t.profiles.c.all_modules,
        t.profiles.c.is_default,
        t.profile_modules.c.module,
    )
    .select_from(t.profiles.outerjoin(t.profile_modules))
    .where(
        t.profiles.c.id == bindparam("b_profile"), t.profiles.c.account_id == bindparam("b_account")
    )
)
_LATEST_END = (
    select(t.contracts.c.end_date)
    .where(t.contracts.c.account_id == bindparam("b_account"))
    .order_by(t.contracts.c.version.desc())
    .limit(1)
)


class Accounts:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def add(self, account: Account) -> None:
        values = as_values(account)
        self.conn.execute(
            insert(t.accounts).values(**{**values, "billing": party_json(account.billing)})
        )

    def get(self, account_id: str) -> Account | None:
        row = self.conn.execute(select(t.accounts).where(t.accounts.c.id == account_id)).first()
        return _account(row) if row else None

    def lock(self, account_id: str) -> tuple[Account, Head | None] | None:
        """The account lock, and the head of the account's audit chain as it is
        under the lock (None: the chain has no head row). The write lock on SQLite
        (an UPDATE), a row lock on PostgreSQL (of the account's row and then of its
        head's); it must be the transaction's first statement."""
        statement = _LOCK_POSTGRES if self.conn.dialect.name == "postgresql" else _LOCK_SQLITE
        row = self.conn.execute(statement, {"b_account": account_id}).first()
        if row is None:
            return None
        head = Head(row.h_pos, row.h_hash) if row.h_pos is not None else None
        return _account(row), head

    def lock_real_clock(self, account_ids: list[str]) -> list[Account]:
        """The account locks of those of ``account_ids`` that exist and are on the
        real clock, in one statement, taken in id order (FOR UPDATE of the ordered
        rows, PostgreSQL): two transactions locking overlapping sets never wait on
        each other in two orders. Unknown ids are skipped. First statement of the
        transaction, like ``lock``."""
        a = t.accounts.c
        ordered = (
            select(a.id)
            .where(a.id.in_(account_ids), a.test_clock.is_(False))
            .order_by(a.id)
            .with_for_update()
        )
        rows = self.conn.execute(
            update(t.accounts)
            .where(a.id.in_(ordered.scalar_subquery()))
            .values(lock_version=a.lock_version + 1)
            .returning(*t.accounts.c)
        ).all()
        return sorted((_account(r) for r in rows), key=lambda account: account.id)

    def lock_owner(self, table: Table, column: str, value: str) -> Account | None:
        """The account lock of the account owning the row of ``table`` whose
        ``column`` is ``value`` (an invoice, a seat request, an invitation): one
        statement, so that it is still the transaction's first."""
        owner = select(table.c.account_id).where(table.c[column] == value).scalar_subquery()
        row = self.conn.execute(
            update(t.accounts)
            .where(t.accounts.c.id == owner)
            .values(lock_version=t.accounts.c.lock_version + 1)
            .returning(*t.accounts.c)
        ).first()
        return _account(row) if row else None

    def list(self, *, limit: int, after: str | None) -> list[Account]:
        q = select(t.accounts).order_by(t.accounts.c.id).limit(limit)
        if after:
            q = q.where(t.accounts.c.id > after)
        return [_account(r) for r in self.conn.execute(q)]

    def save(self, account: Account) -> None:
        """The fields an update may change (PATCH /v1/accounts/{id})."""
        self.conn.execute(
            update(t.accounts)
            .where(t.accounts.c.id == account.id)
            .values(
                name=account.name,
                tax_rate=account.tax_rate,
                payment_method=account.payment_method,
                billing_email=account.billing_email,
                payment_terms_days=account.payment_terms_days,
                locale=account.locale,
                billing=party_json(account.billing),
            )
        )

    def set_clock(self, account_id: str, now: datetime) -> None:
        self.conn.execute(
            update(t.accounts).where(t.accounts.c.id == account_id).values(clock_now=now)
        )


def _workspace(r: Any) -> Workspace:
    return Workspace(
        r.id,
        r.account_id,
        r.name,
        r.is_default,
        external_id=r.external_id,
        created_at=r.created_at,
        updated_at=r.updated_at or r.created_at,
    )


class Workspaces:
    """Deleted workspaces (``deleted_at``) are history: no read here finds them."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def add(self, ws: Workspace, *, at: datetime) -> None:
        self.conn.execute(
            insert(t.workspaces).values(
                id=ws.id,
                account_id=ws.account_id,
                name=ws.name,
                is_default=ws.is_default,
                external_id=ws.external_id,
                created_at=at,
            )
        )
        ws.created_at = ws.updated_at = at

    def _live(self, account_id: str) -> Any:
        c = t.workspaces.c
        return select(t.workspaces).where(c.account_id == account_id, c.deleted_at.is_(None))

    def list(self, account_id: str) -> list[Workspace]:
        rows = self.conn.execute(
            self._live(account_id).order_by(t.workspaces.c.created_at, t.workspaces.c.id)
        )
        return [_workspace(r) for r in rows]

    def get(self, account_id: str, workspace_id: str) -> Workspace | None:
        row = self.conn.execute(
            self._live(account_id).where(t.workspaces.c.id == workspace_id)
        ).first()
        return _workspace(row) if row else None

    def page(
        self,
        account_id: str,
        *,
        name: str | None = None,
        external_id: str | None = None,
        offset: int,
        limit: int,
    ) -> tuple[int, list[Workspace]]:
        """The workspaces but the default one, oldest first, with this name (any
        case) or external id if given: how many match, and ``limit`` of them from
        ``offset`` (SCIM Groups)."""
        c = t.workspaces.c
        match = [c.account_id == account_id, c.deleted_at.is_(None), c.is_default.is_(False)]
        if name is not None:
            match.append(func.lower(c.name) == name.lower())
        if external_id is not None:
            match.append(c.external_id == external_id)
        total = self.conn.execute(select(func.count()).where(*match)).scalar_one()
        rows = self.conn.execute(
            select(t.workspaces)
            .where(*match)
            .order_by(c.created_at, c.id)
            .offset(offset)
            .limit(limit)
        )
        return total, [_workspace(r) for r in rows]

    def members(self, workspace_ids: list[str]) -> dict[str, list[str]]:
        """Each workspace's users, deleted users left out, by user id."""
        found: dict[str, list[str]] = {w: [] for w in workspace_ids}
        if not workspace_ids:
            return found
        uw, u = t.user_workspaces.c, t.users.c
        rows = self.conn.execute(
            select(uw.workspace_id, uw.user_id)
            .select_from(t.user_workspaces.join(t.users, u.id == uw.user_id))
            .where(uw.workspace_id.in_(workspace_ids), u.status != DELETED)
            .order_by(uw.workspace_id, uw.user_id)
        )
        for r in rows:
            found[r.workspace_id].append(r.user_id)
        return found

    def save(self, ws: Workspace, *, at: datetime) -> None:
        self.conn.execute(
            update(t.workspaces)
            .where(t.workspaces.c.id == ws.id)
            .values(name=ws.name, external_id=ws.external_id, updated_at=at)
        )
        ws.updated_at = at

    def add_members(self, workspace_id: str, user_ids: list[str]) -> None:
        """The users join the workspace (none of them in it yet): one statement."""
        if user_ids:
            self.conn.execute(
                insert(t.user_workspaces),
                [{"user_id": u, "workspace_id": workspace_id} for u in user_ids],
            )

    def remove_members(self, workspace_id: str, user_ids: list[str]) -> None:
        """The users leave the workspace: one statement."""
        if user_ids:
            uw = t.user_workspaces.c
            self.conn.execute(
                delete(t.user_workspaces).where(
                    uw.workspace_id == workspace_id, uw.user_id.in_(user_ids)
                )
            )

    def mark_deleted(self, workspace_id: str, *, at: datetime) -> None:
        """Its memberships go (deleted users' too); the row stays, deleted."""
        self.conn.execute(
            delete(t.user_workspaces).where(t.user_workspaces.c.workspace_id == workspace_id)
        )
        self.conn.execute(
            update(t.workspaces)
            .where(t.workspaces.c.id == workspace_id)
            .values(deleted_at=at, updated_at=at)
        )

    def existing_ids(self, account_id: str, ids: Iterable[str]) -> set[str]:
        ids = list(ids)
        if not ids:
            return set()
        rows = self.conn.execute(self._live(account_id).where(t.workspaces.c.id.in_(ids)))
        return {r.id for r in rows}

    def default_id(self, account_id: str) -> str:
        return self.conn.execute(
            select(t.workspaces.c.id).where(
                t.workspaces.c.account_id == account_id, t.workspaces.c.is_default
            )
        ).scalar_one()


class Profiles:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def add(self, profile: Profile, *, at: datetime) -> None:
        self.conn.execute(
            insert(t.profiles).values(
                id=profile.id,
                account_id=profile.account_id,
                name=profile.name,
                all_modules=profile.modules is None,
                is_default=profile.is_default,
                created_at=at,
            )
        )
        if profile.modules:
            self.conn.execute(
                insert(t.profile_modules),
                [{"profile_id": profile.id, "module": m} for m in sorted(profile.modules)],
            )

    def get(self, account_id: str, profile_id: str) -> Profile | None:
        rows = self.conn.execute(
            _PROFILE_WITH_MODULES, {"b_profile": profile_id, "b_account": account_id}
        ).all()
        if not rows:
            return None
        first = rows[0]
        return Profile(
            id=first.id,
            account_id=first.account_id,
            name=first.name,
            is_default=first.is_default,
            modules=None if first.all_modules else frozenset(r.module for r in rows if r.module),
        )

    def default(self, account_id: str) -> Profile:
        row = self.conn.execute(
            select(t.profiles).where(t.profiles.c.account_id == account_id, t.profiles.c.is_default)
        ).one()
        return self._load([row])[0]

    def list(self, account_id: str) -> list[Profile]:
        rows = list(
            self.conn.execute(
                select(t.profiles)
                .where(t.profiles.c.account_id == account_id)
                .order_by(t.profiles.c.created_at, t.profiles.c.id)
            )
        )
        return self._load(rows)

    def _load(self, rows: list[Any]) -> list[Profile]:
        ids = [r.id for r in rows if not r.all_modules]
        modules: dict[str, set[str]] = {i: set() for i in ids}
        if ids:
            for m in self.conn.execute(
                select(t.profile_modules).where(t.profile_modules.c.profile_id.in_(ids))
            ):
                modules[m.profile_id].add(m.module)
        return [
            Profile(
                id=r.id,
                account_id=r.account_id,
                name=r.name,
                is_default=r.is_default,
                modules=None if r.all_modules else frozenset(modules[r.id]),
            )
            for r in rows
        ]


class Contracts:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def add(self, c: Contract, *, at: datetime, applied: bool) -> None:
        self.conn.execute(
            insert(t.contracts).values(
                id=c.id,
                account_id=c.account_id,
                version=c.version,
                start_date=c.start_date,
                end_date=c.end_date,
                billing_interval=c.billing_interval,
                increase_approval=c.increase_approval,
                applied=applied,
                created_at=at,
                billing_anchor=c.billing_anchor,
                trial_end=c.trial_end,
                renewal_capacity=c.renewal_capacity,
                minimum_spend=c.minimum_spend,
            )
        )
        if c.pools:
            self.conn.execute(
                insert(t.contract_pools),
                [
                    {
                        "contract_id": c.id,
                        "module": p.module,
                        "capacity": p.capacity,
                        "minimum": p.minimum,
                        "unit_price": p.unit_price,
                        "policy": p.policy,
                        "charge_timing": p.charge_timing,
                        "proration": p.proration,
                    }
                    for p in c.pools
                ],
            )

    def next_version(self, account_id: str) -> int:
        return (
            self.conn.execute(
                select(func.max(t.contracts.c.version)).where(
                    t.contracts.c.account_id == account_id
                )
            ).scalar()
            or 0
        ) + 1

    def mark_applied(self, contract_id: str) -> None:
        self.conn.execute(
            update(t.contracts).where(t.contracts.c.id == contract_id).values(applied=True)
        )

    def all(self, account_id: str) -> list[Contract]:
        rows = list(
            self.conn.execute(
                select(t.contracts)
                .where(t.contracts.c.account_id == account_id)
                .order_by(t.contracts.c.version)
            )
        )
        return self._load(rows)

    def of_accounts(self, account_ids: list[str]) -> dict[str, list[Contract]]:
        """Every version of each account, in version order (two queries)."""
        rows = list(
            self.conn.execute(
                select(t.contracts)
                .where(t.contracts.c.account_id.in_(account_ids))
                .order_by(t.contracts.c.account_id, t.contracts.c.version)
            )
        )
        found: dict[str, list[Contract]] = {a: [] for a in account_ids}
        for contract in self._load(rows):
            found[contract.account_id].append(contract)
        return found

    def in_force(self, account_id: str) -> Contract | None:
        """The newest applied version."""
        row = self.conn.execute(
            select(t.contracts)
            .where(t.contracts.c.account_id == account_id, t.contracts.c.applied)
            .order_by(t.contracts.c.version.desc())
            .limit(1)
        ).first()
        return self._load([row])[0] if row else None

    def latest_end(self, account_id: str) -> tuple[bool, Any]:
        """(has a contract, end_date of the newest version) — for access checks."""
        row = self.conn.execute(_LATEST_END, {"b_account": account_id}).first()
        return (row is not None, row.end_date if row else None)

    def _load(self, rows: list[Any]) -> list[Contract]:
        if not rows:
            return []
        terms: dict[str, list[PoolTerms]] = {r.id: [] for r in rows}
        for p in self.conn.execute(
            select(t.contract_pools)
            .where(t.contract_pools.c.contract_id.in_(list(terms)))
            .order_by(t.contract_pools.c.module)
        ):
            terms[p.contract_id].append(
                PoolTerms(
                    module=p.module,
                    capacity=p.capacity,
                    minimum=p.minimum,
                    unit_price=p.unit_price,
                    policy=p.policy,
                    charge_timing=p.charge_timing,
                    proration=p.proration,
                )
            )
        return [
            Contract(
                id=r.id,
                account_id=r.account_id,
                version=r.version,
                start_date=r.start_date,
                end_date=r.end_date,
                billing_interval=r.billing_interval,
                increase_approval=r.increase_approval,
                pools=terms[r.id],
                billing_anchor=r.billing_anchor,
                trial_end=r.trial_end,
                renewal_capacity=r.renewal_capacity,
                minimum_spend=r.minimum_spend,
                recorded_at=r.created_at,
                applied=r.applied,
            )
            for r in rows
        ]
