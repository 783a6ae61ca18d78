"""Repositories: rows in, domain objects out. Thin; no business rule here."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, and_, delete, func, insert, select, update

from seatledger.adapters.db import tables as t
from seatledger.domain.accounts import Account, Profile, Workspace
from seatledger.domain.contracts import Contract, PoolTerms
from seatledger.domain.invoicing import IssuedInvoice, Line
from seatledger.domain.ledger import LedgerEntry
from seatledger.domain.pools import Pool
from seatledger.domain.seat_policies import CAPPED_POLICIES
from seatledger.domain.seat_requests import SeatRequest
from seatledger.domain.users import ACTIVE, DELETED, PRIVILEGED_ROLES, User


def _account(row: Any) -> Account:
    return Account(
        id=row.id,
        name=row.name,
        currency=row.currency,
        tax_rate=row.tax_rate,
        payment_method=row.payment_method,
        billing_email=row.billing_email,
        test_clock=row.test_clock,
        clock_now=row.clock_now,
        created_at=row.created_at,
    )


class Accounts:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def add(self, account: Account) -> None:
        self.conn.execute(
            insert(t.accounts).values(
                id=account.id,
                name=account.name,
                currency=account.currency,
                tax_rate=account.tax_rate,
                payment_method=account.payment_method,
                billing_email=account.billing_email,
                test_clock=account.test_clock,
                clock_now=account.clock_now,
                created_at=account.created_at,
            )
        )

    def get(self, account_id: str) -> Account | None:
        row = self.conn.execute(select(t.accounts).where(t.accounts.c.id == account_id)).first()
        return _account(row) if row else None

    def lock(self, account_id: str) -> Account | None:
        """The account lock: an UPDATE, so it is the write lock on SQLite and a
        row lock on PostgreSQL; it must be the transaction's first statement."""
        row = self.conn.execute(
            update(t.accounts)
            .where(t.accounts.c.id == account_id)
            .values(lock_version=t.accounts.c.lock_version + 1)
            .returning(*t.accounts.c)
        ).first()
        return _account(row) if row else None

    def list(self, *, limit: int, after: str | None) -> list[Account]:
        q = select(t.accounts).order_by(t.accounts.c.id).limit(limit)
        if after:
            q = q.where(t.accounts.c.id > after)
        return [_account(r) for r in self.conn.execute(q)]

    def set_clock(self, account_id: str, now: datetime) -> None:
        self.conn.execute(
            update(t.accounts).where(t.accounts.c.id == account_id).values(clock_now=now)
        )


class Workspaces:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def add(self, ws: Workspace, *, at: datetime) -> None:
        self.conn.execute(
            insert(t.workspaces).values(
                id=ws.id,
                account_id=ws.account_id,
                name=ws.name,
                is_default=ws.is_default,
                created_at=at,
            )
        )

    def list(self, account_id: str) -> list[Workspace]:
        rows = self.conn.execute(
            select(t.workspaces)
            .where(t.workspaces.c.account_id == account_id)
            .order_by(t.workspaces.c.created_at, t.workspaces.c.id)
        )
        return [Workspace(r.id, r.account_id, r.name, r.is_default) for r in rows]

    def existing_ids(self, account_id: str, ids: Iterable[str]) -> set[str]:
        ids = list(ids)
        if not ids:
            return set()
        rows = self.conn.execute(
            select(t.workspaces.c.id).where(
                t.workspaces.c.account_id == account_id, t.workspaces.c.id.in_(ids)
            )
        )
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
        row = self.conn.execute(
            select(t.profiles).where(
                t.profiles.c.id == profile_id, t.profiles.c.account_id == account_id
            )
        ).first()
        return self._load([row])[0] if row else None

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
        row = self.conn.execute(
            select(t.contracts.c.end_date)
            .where(t.contracts.c.account_id == account_id)
            .order_by(t.contracts.c.version.desc())
            .limit(1)
        ).first()
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
            )
            for r in rows
        ]


def _pool(r: Any) -> Pool:
    return Pool(
        id=r.id,
        account_id=r.account_id,
        module=r.module,
        capacity=r.capacity,
        minimum=r.minimum,
        unit_price=r.unit_price,
        policy=r.policy,
        charge_timing=r.charge_timing,
        proration=r.proration,
        in_use=r.in_use,
        committed_capacity=r.committed_capacity,
        retired=r.retired,
    )


class Pools:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def live(self, account_id: str) -> dict[str, Pool]:
        rows = self.conn.execute(
            select(t.pools)
            .where(t.pools.c.account_id == account_id, t.pools.c.retired.is_(False))
            .order_by(t.pools.c.module)
        )
        return {r.module: _pool(r) for r in rows}

    def all(self, account_id: str) -> dict[str, Pool]:
        rows = self.conn.execute(select(t.pools).where(t.pools.c.account_id == account_id))
        return {r.module: _pool(r) for r in rows}

    def add(self, pool: Pool) -> None:
        self.conn.execute(
            insert(t.pools).values(
                id=pool.id,
                account_id=pool.account_id,
                module=pool.module,
                capacity=pool.capacity,
                minimum=pool.minimum,
                unit_price=pool.unit_price,
                policy=pool.policy,
                charge_timing=pool.charge_timing,
                proration=pool.proration,
                in_use=pool.in_use,
                committed_capacity=pool.committed_capacity,
                retired=pool.retired,
            )
        )

    def save_terms(self, pool: Pool) -> None:
        self.conn.execute(
            update(t.pools)
            .where(t.pools.c.id == pool.id)
            .values(
                capacity=pool.capacity,
                minimum=pool.minimum,
                unit_price=pool.unit_price,
                policy=pool.policy,
                charge_timing=pool.charge_timing,
                proration=pool.proration,
                committed_capacity=pool.committed_capacity,
                retired=pool.retired,
            )
        )

    def take_seat(self, pool_id: str) -> tuple[int, int] | None:
        """+1 in use, guarded: a capped pool only moves while a seat is free.
        Returns (in_use, capacity) after, or None when the guard refused."""
        c = t.pools.c
        row = self.conn.execute(
            update(t.pools)
            .where(c.id == pool_id, (c.policy.not_in(CAPPED_POLICIES)) | (c.in_use < c.capacity))
            .values(in_use=c.in_use + 1)
            .returning(c.in_use, c.capacity)
        ).first()
        return (row.in_use, row.capacity) if row else None

    def release_seat(self, pool_id: str) -> tuple[int, int]:
        c = t.pools.c
        row = self.conn.execute(
            update(t.pools)
            .where(c.id == pool_id)
            .values(in_use=c.in_use - 1)
            .returning(c.in_use, c.capacity)
        ).one()
        return row.in_use, row.capacity

    def change_capacity(self, pool_id: str, delta: int, *, commit_floor: bool) -> tuple[int, int]:
        c = t.pools.c
        values: dict[str, Any] = {"capacity": c.capacity + delta}
        if commit_floor:
            values["committed_capacity"] = c.capacity + delta
        row = self.conn.execute(
            update(t.pools).where(c.id == pool_id).values(**values).returning(c.in_use, c.capacity)
        ).one()
        return row.in_use, row.capacity


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
            )
        )
        self.set_workspaces(user.id, user.workspace_ids)

    def save(self, user: User, *, at: datetime) -> None:
        self.conn.execute(
            update(t.users)
            .where(t.users.c.id == user.id)
            .values(
                email=user.email,
                email_key=user.email.casefold(),
                first_name=user.first_name,
                last_name=user.last_name,
                department=user.department,
                role=user.role,
                status=user.status,
                profile_id=user.profile_id,
                valid_to=user.valid_to,
                updated_at=at,
            )
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
        row = self.conn.execute(
            select(t.users).where(t.users.c.id == user_id, t.users.c.account_id == account_id)
        ).first()
        return self._with_workspaces([row])[0] if row else None

    def by_email(self, account_id: str, email_key: str) -> User | None:
        """The live (not deleted) user with this email, else the newest deleted one."""
        row = self.conn.execute(
            select(t.users)
            .where(t.users.c.account_id == account_id, t.users.c.email_key == email_key)
            .order_by((t.users.c.status == DELETED).asc(), t.users.c.created_at.desc())
            .limit(1)
        ).first()
        return self._with_workspaces([row])[0] if row else None

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
        limit: int,
        after: str | None,
    ) -> list[User]:
        c = t.users.c
        q = select(t.users).where(c.account_id == account_id).order_by(c.id).limit(limit)
        if status:
            q = q.where(c.status == status)
        elif not include_deleted:
            q = q.where(c.status != DELETED)
        if after:
            q = q.where(c.id > after)
        return self._with_workspaces(list(self.conn.execute(q)))

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


def access_facts(
    conn: Connection,
    *,
    account_id: str,
    user_id: str | None,
    email_key: str | None,
    module: str | None,
) -> AccessFacts:
    """Everything an access check needs, in one statement (the hot path)."""
    a, u, c = t.accounts.c, t.users.c, t.contracts.c
    latest = (
        select(c.end_date)
        .where(c.account_id == a.id)
        .order_by(c.version.desc())
        .limit(1)
        .scalar_subquery()
    )
    has_contract = select(c.id).where(c.account_id == a.id).exists()
    holds = (
        select(t.seats.c.user_id)
        .where(t.seats.c.user_id == u.id, t.seats.c.module == module)
        .exists()
        if module
        else None
    )
    known = (
        select(t.pools.c.id)
        .where(
            t.pools.c.account_id == a.id, t.pools.c.module == module, t.pools.c.retired.is_(False)
        )
        .exists()
        if module
        else None
    )
    user_match = (u.id == user_id) if user_id is not None else (u.email_key == email_key)
    q = (
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
            *([holds.label("holds"), known.label("known")] if module else []),
        )
        .select_from(t.accounts.outerjoin(t.users, (u.account_id == a.id) & user_match))
        .where(a.id == account_id)
        .order_by((u.status == DELETED).asc(), u.created_at.desc())
        .limit(1)
    )
    row = conn.execute(q).first()
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


class Seats:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def held(self, user_id: str) -> dict[str, str]:
        """module → pool id of the seats the user holds."""
        rows = self.conn.execute(
            select(t.seats.c.module, t.seats.c.pool_id).where(t.seats.c.user_id == user_id)
        )
        return {r.module: r.pool_id for r in rows}

    def holds(self, user_id: str, module: str) -> bool:
        return (
            self.conn.execute(
                select(t.seats.c.user_id).where(
                    t.seats.c.user_id == user_id, t.seats.c.module == module
                )
            ).first()
            is not None
        )

    def held_by_users(self, user_ids: list[str]) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {u: [] for u in user_ids}
        if user_ids:
            for r in self.conn.execute(
                select(t.seats.c.user_id, t.seats.c.module)
                .where(t.seats.c.user_id.in_(user_ids))
                .order_by(t.seats.c.module)
            ):
                out[r.user_id].append(r.module)
        return out

    def add(
        self, *, user_id: str, module: str, pool_id: str, account_id: str, at: datetime
    ) -> None:
        self.conn.execute(
            insert(t.seats).values(
                user_id=user_id, module=module, pool_id=pool_id, account_id=account_id, taken_at=at
            )
        )

    def remove(self, user_id: str, module: str) -> None:
        self.conn.execute(
            delete(t.seats).where(t.seats.c.user_id == user_id, t.seats.c.module == module)
        )

    def count_by_pool(self, account_id: str) -> dict[str, int]:
        rows = self.conn.execute(
            select(t.seats.c.pool_id, func.count())
            .where(t.seats.c.account_id == account_id)
            .group_by(t.seats.c.pool_id)
        )
        return {r[0]: r[1] for r in rows}


class Ledger:
    """Append-only: this class has no update and no delete, by design."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def append(self, entry: LedgerEntry, *, pool_id: str) -> int:
        return self.conn.execute(
            insert(t.seat_ledger)
            .returning(t.seat_ledger.c.id)
            .values(
                account_id=entry.account_id,
                pool_id=pool_id,
                module=entry.module,
                kind=entry.kind,
                user_id=entry.user_id,
                delta=entry.delta,
                in_use_after=entry.in_use_after,
                capacity_after=entry.capacity_after,
                purchased=entry.purchased,
                at=entry.at,
                actor=entry.actor,
                cause=entry.cause,
            )
        ).scalar_one()

    def entries(
        self, account_id: str, *, module: str | None = None, until: datetime | None = None
    ) -> list[LedgerEntry]:
        c = t.seat_ledger.c
        q = select(t.seat_ledger).where(c.account_id == account_id).order_by(c.id)
        if module:
            q = q.where(c.module == module)
        if until is not None:
            q = q.where(c.at <= until)
        return [
            LedgerEntry(
                account_id=r.account_id,
                module=r.module,
                kind=r.kind,
                delta=r.delta,
                in_use_after=r.in_use_after,
                capacity_after=r.capacity_after,
                at=r.at,
                actor=r.actor,
                cause=r.cause,
                user_id=r.user_id,
                purchased=r.purchased,
                id=r.id,
            )
            for r in self.conn.execute(q)
        ]


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


def _request(r: Any) -> SeatRequest:
    return SeatRequest(
        id=r.id,
        account_id=r.account_id,
        module=r.module,
        from_capacity=r.from_capacity,
        target_capacity=r.target_capacity,
        delta=r.delta,
        status=r.status,
        message=r.message,
        effective=r.effective,
        reason=r.reason,
        created_at=r.created_at,
        decided_at=r.decided_at,
    )


class SeatRequests:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def add(self, req: SeatRequest, *, pool_id: str, requested_by: str) -> None:
        self.conn.execute(
            insert(t.seat_requests).values(
                id=req.id,
                account_id=req.account_id,
                pool_id=pool_id,
                module=req.module,
                from_capacity=req.from_capacity,
                target_capacity=req.target_capacity,
                delta=req.delta,
                status=req.status,
                message=req.message,
                effective=req.effective,
                reason=req.reason,
                requested_by=requested_by,
                created_at=req.created_at,
                decided_at=req.decided_at,
            )
        )

    def get(self, request_id: str) -> SeatRequest | None:
        row = self.conn.execute(
            select(t.seat_requests).where(t.seat_requests.c.id == request_id)
        ).first()
        return _request(row) if row else None

    def save(self, req: SeatRequest) -> None:
        self.conn.execute(
            update(t.seat_requests)
            .where(t.seat_requests.c.id == req.id)
            .values(
                status=req.status,
                effective=req.effective,
                reason=req.reason,
                decided_at=req.decided_at,
            )
        )

    def list(
        self, *, account_id: str | None, status: str | None, limit: int, after: str | None
    ) -> list[SeatRequest]:
        c = t.seat_requests.c
        q = select(t.seat_requests).order_by(c.id).limit(limit)
        if account_id:
            q = q.where(c.account_id == account_id)
        if status:
            q = q.where(c.status == status)
        if after:
            q = q.where(c.id > after)
        return [_request(r) for r in self.conn.execute(q)]


class OperatorKeys:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def add(self, *, id: str, name: str, key_hash: str, at: datetime) -> None:
        self.conn.execute(
            insert(t.operator_keys).values(id=id, name=name, key_hash=key_hash, created_at=at)
        )

    def by_hash(self, key_hash: str) -> Any:
        return self.conn.execute(
            select(t.operator_keys).where(t.operator_keys.c.key_hash == key_hash)
        ).first()


class Invoices:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def next_sequence(self, name: str) -> int:
        """Gapless: the increment commits or rolls back with the document."""
        if self.conn.dialect.name == "postgresql":
            from sqlalchemy.dialects.postgresql import insert as upsert
        else:
            from sqlalchemy.dialects.sqlite import insert as upsert
        stmt = upsert(t.number_sequences).values(name=name, last=1)
        stmt = stmt.on_conflict_do_update(
            index_elements=["name"], set_={"last": t.number_sequences.c.last + 1}
        ).returning(t.number_sequences.c.last)
        return int(self.conn.execute(stmt).scalar_one())

    def add(self, inv: IssuedInvoice) -> None:
        self.conn.execute(
            insert(t.invoices).values(
                id=inv.id,
                account_id=inv.account_id,
                key=inv.key,
                number=inv.number,
                type=inv.type,
                kind=inv.kind,
                status=inv.status,
                issued_at=inv.issued_at,
                period_start=inv.period_start,
                period_end=inv.period_end,
                currency=inv.currency,
                subtotal=inv.subtotal,
                tax=inv.tax,
                total=inv.total,
                credited_invoice_id=inv.credited_invoice_id,
                reason=inv.reason,
            )
        )
        if not inv.lines:
            return  # NOTE: a period invoice is issued even with nothing to bill (0.00)
        self.conn.execute(
            insert(t.invoice_lines),
            [
                {
                    "invoice_id": inv.id,
                    "position": i,
                    "kind": ln.kind,
                    "module": ln.module,
                    "description": ln.description,
                    "quantity": ln.quantity,
                    "unit_price": ln.unit_price,
                    "amount": ln.amount,
                    "period_start": ln.period_start,
                    "period_end": ln.period_end,
                }
                for i, ln in enumerate(inv.lines)
            ],
        )

    def keys(self, account_id: str) -> set[str]:
        return set(
            self.conn.execute(
                select(t.invoices.c.key).where(t.invoices.c.account_id == account_id)
            ).scalars()
        )

    def get(self, invoice_id: str) -> IssuedInvoice | None:
        row = self.conn.execute(select(t.invoices).where(t.invoices.c.id == invoice_id)).first()
        return self._load([row])[0] if row else None

    def list(self, account_id: str, *, limit: int, after: str | None) -> list[IssuedInvoice]:
        c = t.invoices.c
        q = select(t.invoices).where(c.account_id == account_id).order_by(c.id).limit(limit)
        if after:
            q = q.where(c.id > after)
        return self._load(list(self.conn.execute(q)))

    def all_for(self, account_id: str | None = None) -> list[IssuedInvoice]:
        c = t.invoices.c
        q = select(t.invoices).order_by(c.issued_at, c.number)
        if account_id:
            q = q.where(c.account_id == account_id)
        return self._load(list(self.conn.execute(q)))

    def credited_total(self, invoice_id: str) -> Decimal:
        rows = self.conn.execute(
            select(t.invoices.c.total).where(t.invoices.c.credited_invoice_id == invoice_id)
        )
        return sum((r.total for r in rows), Decimal(0))

    def set_status(self, invoice_id: str, status: str, *, at: datetime) -> None:
        self.conn.execute(
            update(t.invoices)
            .where(t.invoices.c.id == invoice_id)
            .values(status=status, status_changed_at=at)
        )

    def _load(self, rows: list[Any]) -> list[IssuedInvoice]:
        ids = [r.id for r in rows]
        lines: dict[str, list[Line]] = {i: [] for i in ids}
        if ids:
            for ln in self.conn.execute(
                select(t.invoice_lines)
                .where(t.invoice_lines.c.invoice_id.in_(ids))
                .order_by(t.invoice_lines.c.invoice_id, t.invoice_lines.c.position)
            ):
                lines[ln.invoice_id].append(
                    Line(
                        ln.kind,
                        ln.module,
                        ln.description,
                        ln.quantity,
                        ln.unit_price,
                        ln.amount,
                        ln.period_start,
                        ln.period_end,
                    )
                )
        return [
            IssuedInvoice(
                id=r.id,
                account_id=r.account_id,
                number=r.number,
                key=r.key,
                type=r.type,
                kind=r.kind,
                status=r.status,
                issued_at=r.issued_at,
                currency=r.currency,
                lines=tuple(lines[r.id]),
                subtotal=r.subtotal,
                tax=r.tax,
                total=r.total,
                period_start=r.period_start,
                period_end=r.period_end,
                credited_invoice_id=r.credited_invoice_id,
                reason=r.reason,
            )
            for r in rows
        ]


class BillingMarkers:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def done(self, account_id: str) -> set[str]:
        return set(
            self.conn.execute(
                select(t.billing_markers.c.key).where(t.billing_markers.c.account_id == account_id)
            ).scalars()
        )

    def add(self, account_id: str, key: str, *, at: datetime) -> None:
        self.conn.execute(
            insert(t.billing_markers).values(account_id=account_id, key=key, done_at=at)
        )
