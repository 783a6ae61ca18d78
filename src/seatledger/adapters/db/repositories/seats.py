"""Repositories: pools, seats, the append-only seat ledger, seat requests."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal, overload

from sqlalchemy import (
    Connection,
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
from seatledger.adapters.db.rows import as_values, from_row
from seatledger.domain.accounts import Profile
from seatledger.domain.ledger import LedgerEntry
from seatledger.domain.pools import Pool
from seatledger.domain.seat_policies import CAPPED_POLICIES
from seatledger.domain.seat_requests import SeatRequest

# NOTE: the seat path's statements are built once: building a Core statement per
# call cost ~0.1 ms of Python each, more than the database round trip.
_p = t.pools.c
_LIVE_POOLS = (
    select(t.pools)
    .where(_p.account_id == bindparam("b_account"), _p.retired.is_(False))
    .order_by(_p.module)
)
_TAKE_SEAT = (
    update(t.pools)
    .where(
        _p.id == bindparam("b_pool"), _p.policy.not_in(CAPPED_POLICIES) | (_p.in_use < _p.capacity)
    )
    .values(in_use=_p.in_use + 1)
    .returning(_p.in_use, _p.capacity)
)
_RELEASE_SEAT = (
    update(t.pools)
    .where(_p.id == bindparam("b_pool"))
    .values(in_use=_p.in_use - 1)
    .returning(_p.in_use, _p.capacity)
)
_CHANGE_CAPACITY = (
    update(t.pools)
    .where(_p.id == bindparam("b_pool"))
    .values(capacity=_p.capacity + bindparam("b_delta"))
    .returning(_p.in_use, _p.capacity)
)
# the same, the new capacity also the committed floor (a renewal's)
_CHANGE_CAPACITY_COMMITTED = _CHANGE_CAPACITY.values(
    committed_capacity=_p.capacity + bindparam("b_delta")
)
_SEATS_HELD = select(t.seats.c.module, t.seats.c.pool_id).where(
    t.seats.c.user_id == bindparam("b_user")
)
# NOTE: NO_WAIT: writes whose result is never read, sent without waiting on
# PostgreSQL (adapters/db/pipeline.py).
_SEAT_ADD = insert(t.seats).execution_options(**NO_WAIT)
_SEAT_REMOVE = (
    delete(t.seats)
    .where(t.seats.c.user_id == bindparam("b_user"), t.seats.c.module == bindparam("b_module"))
    .execution_options(**NO_WAIT)
)
# (inline: no RETURNING of the new id, which SQLAlchemy would add on PostgreSQL)
_LEDGER_APPEND = insert(t.seat_ledger).inline().execution_options(**NO_WAIT)
_LEDGER_APPEND_ID = insert(t.seat_ledger).returning(t.seat_ledger.c.id)
# What the seat policies need to seat one user (SeatTerms), in one query: the live
# pools, each with the user's profile (module names joined by spaces: they have
# none) and the newest contract version's end.
_SPACE = literal_column("' '")
_pr = t.profiles.c
_PROFILE_MODULES = (
    select(func.aggregate_strings(t.profile_modules.c.module, _SPACE))
    .where(t.profile_modules.c.profile_id == bindparam("b_profile"))
    .scalar_subquery()
)
_CONTRACT_END = (
    select(t.contracts.c.end_date)
    .where(t.contracts.c.account_id == bindparam("b_account"))
    .order_by(t.contracts.c.version.desc())
    .limit(1)
    .scalar_subquery()
)
_SEAT_TERMS = (
    select(
        t.pools,
        _pr.id.label("profile_id"),
        _pr.name.label("profile_name"),
        _pr.all_modules.label("profile_all_modules"),
        _pr.is_default.label("profile_is_default"),
        _PROFILE_MODULES.label("profile_modules"),
        _CONTRACT_END.label("contract_end"),
    )
    .select_from(
        t.pools.outerjoin(
            t.profiles, (_pr.id == bindparam("b_profile")) & (_pr.account_id == _p.account_id)
        )
    )
    .where(_p.account_id == bindparam("b_account"), _p.retired.is_(False))
    .order_by(_p.module)
)


@dataclass(frozen=True)
class SeatTerms:
    """The account's live pools (by module), the user's profile (None: not
    found) and the end of the newest contract version. No live pool: nothing
    else is read, as no seat can be taken."""

    pools: dict[str, Pool]
    profile: Profile | None
    contract_end: date | None


def _pool(r: Any) -> Pool:
    return from_row(Pool, r)


class Pools:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def live(self, account_id: str) -> dict[str, Pool]:
        rows = self.conn.execute(_LIVE_POOLS, {"b_account": account_id})
        return {r.module: _pool(r) for r in rows}

    def seat_terms(self, account_id: str, profile_id: str) -> SeatTerms:
        rows = self.conn.execute(
            _SEAT_TERMS, {"b_account": account_id, "b_profile": profile_id}
        ).all()
        if not rows:
            return SeatTerms({}, None, None)
        first = rows[0]
        profile = None
        if first.profile_id is not None:
            profile = Profile(
                id=first.profile_id,
                account_id=account_id,
                name=first.profile_name,
                modules=None
                if first.profile_all_modules
                else frozenset((first.profile_modules or "").split()),
                is_default=first.profile_is_default,
            )
        return SeatTerms({r.module: _pool(r) for r in rows}, profile, first.contract_end)

    def all(self, account_id: str) -> dict[str, Pool]:
        rows = self.conn.execute(select(t.pools).where(t.pools.c.account_id == account_id))
        return {r.module: _pool(r) for r in rows}

    def live_of_accounts(self, account_ids: list[str]) -> dict[str, list[Pool]]:
        """The live pools of each account (by module), in one query."""
        found: dict[str, list[Pool]] = {a: [] for a in account_ids}
        if not account_ids:
            return found
        rows = self.conn.execute(
            select(t.pools)
            .where(_p.account_id.in_(account_ids), _p.retired.is_(False))
            .order_by(_p.account_id, _p.module)
        )
        for r in rows:
            found[r.account_id].append(_pool(r))
        return found

    def add(self, pool: Pool) -> None:
        self.conn.execute(insert(t.pools).values(**as_values(pool)))

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
        row = self.conn.execute(_TAKE_SEAT, {"b_pool": pool_id}).first()
        return (row.in_use, row.capacity) if row else None

    def release_seat(self, pool_id: str) -> tuple[int, int]:
        row = self.conn.execute(_RELEASE_SEAT, {"b_pool": pool_id}).one()
        return row.in_use, row.capacity

    def change_capacity(self, pool_id: str, delta: int, *, commit_floor: bool) -> tuple[int, int]:
        statement = _CHANGE_CAPACITY_COMMITTED if commit_floor else _CHANGE_CAPACITY
        row = self.conn.execute(statement, {"b_pool": pool_id, "b_delta": delta}).one()
        return row.in_use, row.capacity


class Seats:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def held(self, user_id: str) -> dict[str, str]:
        """module → pool id of the seats the user holds."""
        rows = self.conn.execute(_SEATS_HELD, {"b_user": user_id})
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

    def held_by_each(self, user_ids: list[str]) -> dict[str, dict[str, str]]:
        """Each user's seats, module → pool id, in one query."""
        out: dict[str, dict[str, str]] = {u: {} for u in user_ids}
        if user_ids:
            c = t.seats.c
            for r in self.conn.execute(
                select(c.user_id, c.module, c.pool_id).where(c.user_id.in_(user_ids))
            ):
                out[r.user_id][r.module] = r.pool_id
        return out

    def held_by_users(self, user_ids: list[str]) -> dict[str, list[str]]:
        """Each user's modules held, in order (``held_by_each``'s modules)."""
        return {u: sorted(held) for u, held in self.held_by_each(user_ids).items()}

    def add(
        self, *, user_id: str, module: str, pool_id: str, account_id: str, at: datetime
    ) -> None:
        self.conn.execute(
            _SEAT_ADD,
            {
                "user_id": user_id,
                "module": module,
                "pool_id": pool_id,
                "account_id": account_id,
                "taken_at": at,
            },
        )

    def remove(self, user_id: str, module: str) -> None:
        self.conn.execute(_SEAT_REMOVE, {"b_user": user_id, "b_module": module})

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

    @overload
    def append(
        self, entry: LedgerEntry, *, pool_id: str, id_wanted: Literal[True] = True
    ) -> int: ...

    @overload
    def append(self, entry: LedgerEntry, *, pool_id: str, id_wanted: Literal[False]) -> None: ...

    def append(self, entry: LedgerEntry, *, pool_id: str, id_wanted: bool = True) -> int | None:
        """The entry's id if ``id_wanted``, else None (then it is sent without
        waiting, on PostgreSQL)."""
        result = self.conn.execute(
            _LEDGER_APPEND_ID if id_wanted else _LEDGER_APPEND,
            {
                "account_id": entry.account_id,
                "pool_id": pool_id,
                "module": entry.module,
                "kind": entry.kind,
                "user_id": entry.user_id,
                "delta": entry.delta,
                "in_use_after": entry.in_use_after,
                "capacity_after": entry.capacity_after,
                "purchased": entry.purchased,
                "at": entry.at,
                "actor": entry.actor,
                "cause": entry.cause,
            },
        )
        return result.scalar_one() if id_wanted else None

    def last_before(self, account_id: str, moment: datetime) -> list[LedgerEntry]:
        """Per module, the last entry before ``moment``: its ``*_after`` numbers are
        the pool's as ``moment`` begins (one query)."""
        c = t.seat_ledger.c
        last = (
            select(func.max(c.id))
            .where(c.account_id == account_id, c.at < moment)
            .group_by(c.module)
            .scalar_subquery()
        )
        rows = self.conn.execute(select(t.seat_ledger).where(c.id.in_(last)).order_by(c.module))
        return [_entry(r) for r in rows]

    def since_billing_state(self, account_ids: list[str]) -> dict[str, list[LedgerEntry]]:
        """Each account's entries at or after its billing state's ``since`` (all
        when it has none), in append order: one query for many accounts."""
        c, b = t.seat_ledger.c, t.billing_states.c
        q = (
            select(t.seat_ledger)
            .outerjoin(t.billing_states, b.account_id == c.account_id)
            .where(c.account_id.in_(account_ids), b.since.is_(None) | (c.at >= b.since))
            .order_by(c.id)
        )
        found: dict[str, list[LedgerEntry]] = {a: [] for a in account_ids}
        for r in self.conn.execute(q):
            found[r.account_id].append(_entry(r))
        return found

    def entries(
        self,
        account_id: str,
        *,
        module: str | None = None,
        until: datetime | None = None,
        since: datetime | None = None,
    ) -> list[LedgerEntry]:
        """In append order; ``since``: only the entries at or after it."""
        c = t.seat_ledger.c
        q = select(t.seat_ledger).where(c.account_id == account_id).order_by(c.id)
        if module:
            q = q.where(c.module == module)
        if until is not None:
            q = q.where(c.at <= until)
        if since is not None:
            q = q.where(c.at >= since)
        return [_entry(r) for r in self.conn.execute(q)]


def _entry(r: Any) -> LedgerEntry:
    return LedgerEntry(
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


def _request(r: Any) -> SeatRequest:
    return from_row(SeatRequest, r)


class SeatRequests:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def add(self, req: SeatRequest, *, pool_id: str, requested_by: str) -> None:
        self.conn.execute(
            insert(t.seat_requests).values(
                **as_values(req), pool_id=pool_id, requested_by=requested_by
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

    def scheduled(self, account_ids: list[str]) -> dict[str, list[SeatRequest]]:
        """Every decrease of each account approved for a renewal (one query)."""
        c = t.seat_requests.c
        q = select(t.seat_requests).where(c.account_id.in_(account_ids), c.status == "scheduled")
        found: dict[str, list[SeatRequest]] = {a: [] for a in account_ids}
        for r in self.conn.execute(q.order_by(c.id)):
            found[r.account_id].append(_request(r))
        return found

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
