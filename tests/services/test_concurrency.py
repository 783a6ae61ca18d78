"""Rule §2.2 under load: under `block` and `inactive_when_full`, seats in use
never exceed capacity — with many concurrent clients, on SQLite and
PostgreSQL, and with no spurious failure ("database is locked", deadlock,
serialization failure, IntegrityError): concurrent requests wait their turn.

Every client is a thread with its own connection from the shared engine.
``SEATLEDGER_STRESS=1`` multiplies the work by 10 for heavy runs.
"""

from __future__ import annotations

import os
import random
import threading
import time
import traceback
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import Engine, func, select

from seatledger.adapters.db import tables as t
from seatledger.domain.errors import Conflict, SeatLimitReached
from seatledger.domain.ledger import limit_breaches, replay
from seatledger.domain.seat_policies import INACTIVE_WHEN_FULL_WARNING
from seatledger.services import accounts, users
from seatledger.services.unit_of_work import UnitOfWork

STRESS = 10 if os.environ.get("SEATLEDGER_STRESS", "").strip() not in ("", "0") else 1
CLIENTS = 32
# Tuned on the 2-core CI machine: one op is ~2 ms on SQLite and ~5 ms on
# PostgreSQL (each op waits its turn on the account lock, so the rate does not
# grow with clients); 3200 attempts take 6–20 s, under 60 s even when the
# machine is shared.
OPS_PER_CLIENT = {"sqlite": 100 * STRESS, "postgres": 100 * STRESS}
CAPACITY = 10
INITIAL_USERS = 60
INITIAL_ACTIVE = 6
RACE_CLIENTS = 32
RACE_TRIALS = 20 * STRESS
MODULE = "console"
OPERATOR = "operator:load"

Uow = Callable[[], UnitOfWork]


def now() -> datetime:
    return datetime.now(UTC)


def make_account(uow: Uow, policy: str) -> str:
    account = accounts.create_account(uow(), name="Load", currency="EUR", at=now())
    accounts.create_contract(
        uow(),
        account_id=account.id,
        start_date=date(2026, 1, 1),
        billing_interval="month",
        pools=[{"module": MODULE, "capacity": CAPACITY, "unit_price": "30.00", "policy": policy}],
        at=now(),
        actor=OPERATOR,
    )
    return account.id


def new_user(uow: Uow, account_id: str, email: str, *, active: bool = True) -> users.UserResult:
    return users.create_user(
        uow(),
        account_id=account_id,
        email=email,
        first_name="Load",
        last_name="Client",
        at=now(),
        actor=OPERATOR,
        active=active,
    )


@dataclass
class Figures:
    attempts: Counter[str] = field(default_factory=Counter)
    successes: Counter[str] = field(default_factory=Counter)
    refusals: Counter[str] = field(default_factory=Counter)
    saved_inactive: int = 0
    conflicts: int = 0
    errors: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def check_pool_against_ledger(engine: Engine, account_id: str) -> tuple[int, int]:
    """(a) the ledger never shows in_use > capacity nor drift from its recorded
    numbers; (b) pools.in_use == replay == seats rows == active users.
    Returns (in_use, capacity)."""
    with UnitOfWork(engine) as uow:
        pool = uow.pools.live(account_id)[MODULE]
        entries = uow.ledger.entries(account_id)
        breaches = limit_breaches(entries, {MODULE})
        counted = replay(entries)[MODULE]
        seat_rows = uow.seats.count_by_pool(account_id).get(pool.id, 0)
        active = uow.users.count_by_status(account_id).get("active", 0)
        holders = set(
            uow.conn.execute(
                select(t.seats.c.user_id).where(t.seats.c.pool_id == pool.id)
            ).scalars()
        )
        active_ids = set(
            uow.conn.execute(
                select(t.users.c.id).where(
                    t.users.c.account_id == account_id, t.users.c.status == "active"
                )
            ).scalars()
        )
        ledger_ids = [e.id for e in entries]
    assert breaches == [], (
        f"{len(breaches)} ledger entries break the limit or drift: {breaches[:3]}"
    )
    assert ledger_ids == sorted(ledger_ids)
    assert (counted.in_use, counted.capacity) == (pool.in_use, pool.capacity)
    assert pool.in_use == seat_rows == active == len(holders)
    assert holders == active_ids
    assert pool.in_use <= pool.capacity == CAPACITY
    return pool.in_use, pool.capacity


def run_clients(count: int, target: Callable[[int, threading.Barrier], None]) -> float:
    """Start ``count`` threads together (a barrier); returns the wall time."""
    barrier = threading.Barrier(count + 1)
    threads = [
        threading.Thread(target=target, args=(n, barrier), name=f"client-{n}") for n in range(count)
    ]
    for thread in threads:
        thread.start()
    barrier.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join(timeout=300)
        assert not thread.is_alive(), f"{thread.name} did not finish (deadlock?)"
    return time.perf_counter() - started


@pytest.mark.timeout(300 * STRESS)
@pytest.mark.parametrize("policy", ["block", "inactive_when_full"])
def test_many_clients_hammering_a_capped_pool_never_exceed_its_capacity(
    engine, uow_factory, backend, policy
):
    account_id = make_account(uow_factory, policy)
    user_ids = [
        new_user(uow_factory, account_id, f"seed{n}@example.com", active=n < INITIAL_ACTIVE).user.id
        for n in range(INITIAL_USERS)
    ]
    known_active = set(user_ids[:INITIAL_ACTIVE])
    shared = threading.Lock()
    figures = Figures()
    seed = random.randrange(2**32)
    ops = OPS_PER_CLIENT[backend]

    def client(n: int, barrier: threading.Barrier) -> None:
        rng = random.Random(seed + n)
        barrier.wait()
        for i in range(ops):
            roll = rng.random()
            with shared:
                if roll < 0.45:
                    op, user_id = "activate", rng.choice(user_ids)
                elif roll < 0.85:
                    op = "deactivate"
                    pool = sorted(known_active) if known_active and rng.random() < 0.8 else user_ids
                    user_id = rng.choice(pool)
                else:
                    op, user_id = "create", None
            try:
                if op == "activate":
                    users.activate_user(
                        UnitOfWork(engine),
                        account_id=account_id,
                        user_id=user_id,
                        at=now(),
                        actor=f"client:{n}",
                    )
                    with shared:
                        known_active.add(user_id)
                elif op == "deactivate":
                    users.deactivate_user(
                        UnitOfWork(engine),
                        account_id=account_id,
                        user_id=user_id,
                        at=now(),
                        actor=f"client:{n}",
                    )
                    with shared:
                        known_active.discard(user_id)
                else:
                    result = users.create_user(
                        UnitOfWork(engine),
                        account_id=account_id,
                        email=f"client{n}.op{i}@example.com",
                        first_name="New",
                        last_name="Comer",
                        at=now(),
                        actor=f"client:{n}",
                    )
                    with shared:
                        user_ids.append(result.user.id)
                        if result.user.status == "active":
                            known_active.add(result.user.id)
                    if result.user.status != "active":
                        assert result.warnings == [INACTIVE_WHEN_FULL_WARNING]
                        with figures.lock:
                            figures.saved_inactive += 1
                with figures.lock:
                    figures.attempts[op] += 1
                    figures.successes[op] += 1
            except SeatLimitReached:
                with figures.lock:
                    figures.attempts[op] += 1
                    figures.refusals[op] += 1
            except Conflict:
                with figures.lock:
                    figures.attempts[op] += 1
                    figures.conflicts += 1
            except BaseException as exc:  # noqa: BLE001 - every other failure is a bug
                with figures.lock:
                    figures.attempts[op] += 1
                    figures.errors.append(
                        f"client {n} op {i} {op}: {type(exc).__name__}: {exc}\n"
                        + "".join(traceback.format_exception(exc)[-3:])
                    )

    seconds = run_clients(CLIENTS, client)

    total = sum(figures.attempts.values())
    successes = sum(figures.successes.values())
    refusals = sum(figures.refusals.values())
    print(
        f"\n[{backend}/{policy}] seed={seed} clients={CLIENTS} attempts={total} "
        f"successes={successes} refusals={refusals} saved_inactive={figures.saved_inactive} "
        f"conflicts={figures.conflicts} errors={len(figures.errors)} seconds={seconds:.2f} "
        f"({total / seconds:.0f} ops/s) by op: attempts={dict(figures.attempts)} "
        f"refused={dict(figures.refusals)}"
    )
    assert figures.errors == [], "\n".join(figures.errors[:5])
    assert total == CLIENTS * ops
    in_use, capacity = check_pool_against_ledger(engine, account_id)
    # (c) the clients really contended: some seats were taken, some refused
    assert successes > 0
    assert figures.refusals["activate"] > 0
    if policy == "block":
        assert figures.refusals["create"] > 0
    else:
        assert figures.saved_inactive > 0 and figures.refusals["create"] == 0
    assert in_use <= capacity


@pytest.mark.timeout(300 * STRESS)
@pytest.mark.parametrize(
    ("policy", "operation"),
    [
        ("block", "activate"),
        ("inactive_when_full", "activate"),
        ("block", "create"),
        ("inactive_when_full", "create"),
    ],
)
def test_clients_racing_for_the_last_seat_leave_exactly_one_winner(
    engine, uow_factory, backend, policy, operation
):
    account_id = make_account(uow_factory, policy)
    holders = [
        new_user(uow_factory, account_id, f"holder{n}@example.com").user.id
        for n in range(CAPACITY - 1)
    ]
    contenders = [
        new_user(uow_factory, account_id, f"contender{n}@example.com", active=False).user.id
        for n in range(RACE_CLIENTS)
    ]
    assert len(holders) == CAPACITY - 1
    started = time.perf_counter()

    for trial in range(RACE_TRIALS):
        winners: list[str] = []
        refused: list[int] = []
        inactive: list[int] = []
        errors: list[str] = []
        lock = threading.Lock()

        def contend(
            n: int,
            barrier: threading.Barrier,
            trial: int = trial,
            lock: threading.Lock = lock,
            winners: list[str] = winners,
            inactive: list[int] = inactive,
            refused: list[int] = refused,
            errors: list[str] = errors,
        ) -> None:
            barrier.wait()
            try:
                if operation == "activate":
                    result = users.activate_user(
                        UnitOfWork(engine),
                        account_id=account_id,
                        user_id=contenders[n],
                        at=now(),
                        actor=f"client:{n}",
                    )
                else:
                    result = users.create_user(
                        UnitOfWork(engine),
                        account_id=account_id,
                        email=f"t{trial}.c{n}@example.com",
                        first_name="Race",
                        last_name="Runner",
                        at=now(),
                        actor=f"client:{n}",
                    )
                with lock:
                    if result.user.status == "active":
                        winners.append(result.user.id)
                    else:
                        inactive.append(n)
            except SeatLimitReached:
                with lock:
                    refused.append(n)
            except BaseException as exc:  # noqa: BLE001
                with lock:
                    errors.append(f"{type(exc).__name__}: {exc}")

        run_clients(RACE_CLIENTS, contend)

        assert errors == [], errors[:5]
        assert len(winners) == 1, f"trial {trial}: {len(winners)} winners"
        if policy == "inactive_when_full" and operation == "create":
            assert (len(inactive), len(refused)) == (RACE_CLIENTS - 1, 0)
        else:
            assert (len(refused), len(inactive)) == (RACE_CLIENTS - 1, 0)
        assert check_pool_against_ledger(engine, account_id) == (CAPACITY, CAPACITY)
        # free the last seat again for the next trial
        users.deactivate_user(
            uow_factory(), account_id=account_id, user_id=winners[0], at=now(), actor=OPERATOR
        )

    seconds = time.perf_counter() - started
    with UnitOfWork(engine) as uow:
        taken = uow.conn.execute(
            select(func.count())
            .select_from(t.seat_ledger)
            .where(t.seat_ledger.c.account_id == account_id, t.seat_ledger.c.kind == "seat_taken")
        ).scalar_one()
    assert taken == CAPACITY - 1 + RACE_TRIALS
    print(
        f"\n[{backend}/{policy}/{operation}] last-seat race: clients={RACE_CLIENTS} "
        f"trials={RACE_TRIALS} attempts={RACE_CLIENTS * RACE_TRIALS} "
        f"winners per trial=1 seconds={seconds:.2f}"
    )
