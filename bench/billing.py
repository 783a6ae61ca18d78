#!/usr/bin/env python
"""seatledger billing benchmark: prints figures, asserts nothing.

1. The planner alone, in memory (no database): one realistic account (10 pools of
   mixed policies: block, true_up, auto_purchase with next_invoice purchases,
   metered; 200 users holding about 3 modules each; a few thousand seat ledger
   entries over 36 months of a monthly contract, tax 20 %) planned over its whole
   history from an empty ``BillingState``: ``domain.planner.plan(inputs, until)``.
   Figure: invoice lines of the documents it returns per CPU second of this one
   process (one core), next to a floor measured in the same run: building as
   many ``invoicing.Line`` objects from the same Decimal products
   (quantity × unit_price × days / D in MONEY_CONTEXT, ``money.round_line``).
   Goal: >= 100,000 lines/s.

2. A billing run's statements per account, on SQLite and PostgreSQL: N accounts on
   the real clock with a monthly contract (block, true_up, auto_purchase
   next_invoice, metered; tax 20 %; a fixed term to 2027-12-31, so that no
   renewal falls in the billed month) and a seat history of 1 month or 36 months,
   seeded through the services (users created, then activated and deactivated at
   past instants). One ``services.billing.run_billing`` (``as_of`` and ``now``
   explicit) bills everything up to the start of the last month; seats then change
   during the last month; then ONE further run bills the last month (its close,
   the next period invoice). During that run every SQL statement is counted
   (``before_cursor_execute``) and attributed to the account being billed (the
   run's ``on_account`` callback), and the ledger entries the service loaded are
   counted (``Ledger.entries``). Last, a run in which nothing is due: its
   statements in total. Goal: the SELECTs and ledger rows read per account do not
   grow from 1 to 36 months of history (only the billed month's rows are read);
   the writes follow what falls due (a first true-up); a run with nothing due is
   ~1 statement (2 on SQLite: BEGIN and the query).

Databases: SQLite in a temp file; PostgreSQL in a scratch database
``seatledger_bench_billing_<pid>`` created from SEATLEDGER_BENCH_POSTGRES_URL
(default postgresql+psycopg://postgres@127.0.0.1:5432/test) and dropped at the end.

    .venv/bin/python bench/billing.py              # full run, about 75 s
    .venv/bin/python bench/billing.py --quick      # under 30 s
    .venv/bin/python bench/billing.py --only planner --profile
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import io
import os
import pstats
import random
import shutil
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal, localcontext
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from seatledger.adapters.db import repositories as repo
from seatledger.adapters.db import tables as t
from seatledger.adapters.db.engine import make_engine, migrate
from seatledger.domain.contracts import Contract, PoolTerms
from seatledger.domain.errors import DomainError
from seatledger.domain.invoicing import Line
from seatledger.domain.ledger import (
    CAPACITY_CHANGED,
    CAUSE_AUTO_PURCHASE,
    CAUSE_CONTRACT,
    SEAT_RELEASED,
    SEAT_TAKEN,
    LedgerEntry,
)
from seatledger.domain.money import MONEY_CONTEXT, round_line
from seatledger.domain.periods import add_months, instant
from seatledger.domain.planner import BillingState, PlanInputs, plan
from seatledger.domain.seat_policies import AUTO_PURCHASE, BLOCK, METERED, TRUE_UP
from seatledger.services import accounts, billing, users
from seatledger.services.unit_of_work import UnitOfWork

DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
ACTOR = "operator:bench"
PLANNER_GOAL = 100_000  # invoice lines per second, one core
TAX_RATE = Decimal("20")
WRITES = ("INSERT", "UPDATE", "DELETE")
# part 2: every account's contract is a fixed term ending then, so that no renewal
# falls in the measured month of one history length and not of the other
TERM_END = date(2027, 12, 31)


def log(msg: str) -> None:
    print(f"  .. {msg}", file=sys.stderr, flush=True)


# =========================================================================== part 1


@dataclass
class PlannerAccount:
    inputs: PlanInputs
    until: datetime
    users: int
    pools: list[PoolTerms]
    entries: Counter[str] = field(default_factory=Counter)


def planner_account(
    *, months: int = 36, n_users: int = 200, changes_per_month: int = 30, seed: int = 1
) -> PlannerAccount:
    """One account in memory: 10 pools (3 block, 3 true_up, 2 auto_purchase, 2
    metered), ``n_users`` users each needing ~3 modules, 3/4 of them active from
    the start, then ``changes_per_month`` activations or deactivations a month at
    random instants. The ledger is what the seat services would have appended
    (contract capacities, seats taken and released, auto-purchases), with the
    policies applied: a take that finds a block pool full is refused as a whole;
    an auto_purchase pool grows by one first when full; a true_up pool lets it
    through (the planner trues it up at the month close)."""
    rng = random.Random(seed)
    start = date(2023, 1, 1)
    policies = [BLOCK, TRUE_UP, AUTO_PURCHASE, METERED, BLOCK, TRUE_UP, AUTO_PURCHASE]
    policies += [METERED, BLOCK, TRUE_UP]
    capacity = {BLOCK: 50, TRUE_UP: 30, AUTO_PURCHASE: 32, METERED: 0}
    pools = [
        PoolTerms(
            module=f"module_{i}",
            capacity=capacity[policy],
            minimum=5,
            unit_price=Decimal("12.50") + i,
            policy=policy,
            charge_timing="next_invoice" if policy == AUTO_PURCHASE else "immediate",
        )
        for i, policy in enumerate(policies)
    ]
    contract = Contract(
        id="ctr_bench",
        account_id="acc_bench",
        version=1,
        start_date=start,
        end_date=None,
        billing_interval="month",
        increase_approval="automatic",
        pools=pools,
        recorded_at=instant(start),
    )
    policy_of = {p.module: p.policy for p in pools}
    cap = {p.module: p.capacity for p in pools}
    in_use = dict.fromkeys(cap, 0)
    entries: list[LedgerEntry] = []

    def append(module: str, kind: str, delta: int, at: datetime, cause: str, **kw: Any) -> None:
        entries.append(
            LedgerEntry(
                account_id="acc_bench",
                module=module,
                kind=kind,
                delta=delta,
                in_use_after=in_use[module],
                capacity_after=cap[module],
                at=at,
                actor=ACTOR,
                cause=cause,
                id=len(entries) + 1,
                **kw,
            )
        )

    t0 = instant(start)
    for p in pools:
        if p.capacity:
            append(p.module, CAPACITY_CHANGED, p.capacity, t0, CAUSE_CONTRACT)
    needs = {
        f"usr_{i}": sorted(
            {f"module_{i % 10}", f"module_{(i * 3 + 1) % 10}", f"module_{(i * 7 + 2) % 10}"}
        )
        for i in range(n_users)
    }
    active: set[str] = set()

    def take(user: str, at: datetime) -> None:
        modules = needs[user]
        if any(policy_of[m] == BLOCK and in_use[m] >= cap[m] for m in modules):
            return  # refused: SeatLimitReached, nothing appended
        for m in modules:
            if policy_of[m] == AUTO_PURCHASE and in_use[m] >= cap[m]:
                cap[m] += 1
                append(m, CAPACITY_CHANGED, 1, at, CAUSE_AUTO_PURCHASE, purchased=True)
            in_use[m] += 1
            append(m, SEAT_TAKEN, 1, at, "activate", user_id=user)
        active.add(user)

    def release(user: str, at: datetime) -> None:
        for m in needs[user]:
            in_use[m] -= 1
            append(m, SEAT_RELEASED, -1, at, "deactivate", user_id=user)
        active.discard(user)

    for i, user in enumerate(list(needs)[: n_users * 3 // 4]):
        take(user, t0 + timedelta(minutes=i))
    names = list(needs)
    for month in range(months):
        first, last = instant(add_months(start, month)), instant(add_months(start, month + 1))
        seconds = int((last - first).total_seconds())
        for at in sorted(
            first + timedelta(seconds=rng.randrange(seconds)) for _ in range(changes_per_month)
        ):
            user = rng.choice(names)
            (release if user in active else take)(user, at)
    inputs = PlanInputs(
        currency="EUR",
        tax_rate=TAX_RATE,
        contracts=[contract],
        state=BillingState(),
        ledger=entries,
        done=frozenset(),
        issued=[],
        scheduled=[],
        applied=frozenset({contract.id}),
    )
    return PlannerAccount(
        inputs,
        instant(add_months(start, months)),
        n_users,
        pools,
        Counter(e.kind for e in entries),
    )


def floor_lines(products: list[tuple[Line, int, int]]) -> int:
    """The floor of what a line costs: its exact amount from the same Decimal
    product (quantity × unit_price × n / D, in MONEY_CONTEXT), rounded once, and
    the ``Line`` built."""
    built = 0
    for line, n, d in products:
        with localcontext(MONEY_CONTEXT):
            exact = line.quantity * line.unit_price * n / d
        Line(
            line.kind,
            line.module,
            line.description,
            line.quantity,
            line.unit_price,
            round_line(exact, "EUR"),
            line.period_start,
            line.period_end,
        )
        built += 1
    return built


@dataclass
class Timing:
    cpu: list[float]  # CPU seconds of this process, per repetition

    @property
    def best_cpu(self) -> float:
        return min(self.cpu)

    @property
    def median_cpu(self) -> float:
        return statistics.median(self.cpu)


def timed(fn: Callable[[], Any], seconds: float, min_reps: int) -> Timing:
    """Repeat ``fn`` for at least ``seconds`` and ``min_reps`` times."""
    cpu: list[float] = []
    deadline = time.perf_counter() + seconds
    while len(cpu) < min_reps or time.perf_counter() < deadline:
        c0 = time.process_time()
        fn()
        cpu.append(time.process_time() - c0)
    return Timing(cpu)


def bench_planner(seconds: float, profile: bool) -> None:
    log("planner: building the account in memory")
    account = planner_account()
    inputs, until = account.inputs, account.until
    planned = plan(inputs, until)
    documents = planned.documents
    lines = [ln for d in documents for ln in d.lines]
    n_lines = len(lines)
    kinds = Counter(ln.kind for ln in lines)
    log(f"planner: timing plan() for {seconds:g}s")
    planner = timed(lambda: plan(inputs, until), seconds, 3)

    # the floor: the same products (a line's own days over its month's days; tax
    # lines: the subtotal × rate / 100, as one product)
    products = []
    for ln in lines:
        if ln.period_start and ln.period_end:
            n = (ln.period_end - ln.period_start).days
            d = (
                add_months(ln.period_start.replace(day=1), 1) - ln.period_start.replace(day=1)
            ).days
        else:
            n, d = int(TAX_RATE), 100
        products.append((ln, n, d))
    log(f"planner: timing the floor for {seconds:g}s")
    floor_reps = max(1, 20_000 // max(1, n_lines))
    floor = timed(lambda: [floor_lines(products) for _ in range(floor_reps)], seconds, 3)

    ledger = len(inputs.ledger)
    print()
    print(
        "Planner, in memory, one process (one core): plan(inputs, until) over the whole "
        "history from an empty BillingState"
    )
    print(
        f"  account: {len(account.pools)} pools "
        f"({', '.join(f'{n} {p}' for p, n in Counter(p.policy for p in account.pools).items())}), "
        f"{account.users} users, {ledger} ledger entries over 36 months "
        f"({', '.join(f'{n} {k}' for k, n in account.entries.items())})"
    )
    print(
        f"  plan: {len(planned.steps)} steps, {len(documents)} documents, {n_lines} lines "
        f"({', '.join(f'{n} {k}' for k, n in kinds.most_common())})"
    )
    per = f"ms / {n_lines} lines"
    head = f"  {'':<34} {'lines/s (best)':>15} {'lines/s (median)':>17} {per:>16} {'reps':>5}"
    print(head)
    print("  " + "-" * (len(head) - 2))
    for label, timing, per_rep in (
        ("plan()", planner, n_lines),
        ("floor: Line + round_line", floor, n_lines * floor_reps),
    ):
        best = per_rep / timing.best_cpu if timing.best_cpu else float("inf")
        median = per_rep / timing.median_cpu if timing.median_cpu else float("inf")
        ms = timing.median_cpu * 1000 * n_lines / per_rep
        print(f"  {label:<34} {best:>15,.0f} {median:>17,.0f} {ms:>16.2f} {len(timing.cpu):>5}")
    rate = n_lines / planner.best_cpu
    floor_rate = n_lines * floor_reps / floor.best_cpu
    verdict = "met" if rate >= PLANNER_GOAL else "BELOW"
    print(
        f"  goal >= {PLANNER_GOAL:,} lines/s: {verdict} ({rate:,.0f}); the planner runs at "
        f"{rate / floor_rate:.1%} of the floor; {planner.best_cpu * 1e6 / ledger:.1f} µs of "
        "CPU per ledger entry"
    )
    print("  (CPU time of this process; lines/s = lines of the returned documents / CPU s)")
    if profile:
        prof = cProfile.Profile()
        prof.enable()
        plan(inputs, until)
        prof.disable()
        out = io.StringIO()
        pstats.Stats(prof, stream=out).sort_stats("tottime").print_stats(12)
        print("\n  cProfile of one plan(), by own time:")
        print("\n".join("    " + s for s in out.getvalue().strip().splitlines()))


# =========================================================================== part 2


@contextlib.contextmanager
def sqlite_database(tmp: Path) -> Iterator[str]:
    url = f"sqlite:///{tmp / 'billing.db'}"
    migrate(url)
    yield url


@contextlib.contextmanager
def postgres_database(admin_url: str) -> Iterator[str]:
    """A scratch database, created and dropped as tests/conftest.py does."""
    name = f"seatledger_bench_billing_{os.getpid()}"
    admin = create_engine(
        admin_url,
        poolclass=NullPool,
        isolation_level="AUTOCOMMIT",
        connect_args={"connect_timeout": 5},
    )
    try:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            url = make_url(admin_url).set(database=name).render_as_string(hide_password=False)
            migrate(url)
            yield url
        finally:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


class Meter:
    """Counts the statements sent on an engine and the ledger entries the
    repositories load, into the bucket of the account being billed."""

    def __init__(self, engine: Engine) -> None:
        self.on = False
        self.bucket = Counter[str]()
        self.buckets: dict[str, Counter[str]] = {}
        self.kinds = Counter[str]()
        self.statements: list[str] = []  # of the current bucket, for --show-sql
        event.listen(engine, "before_cursor_execute", self._statement)
        self._entries = repo.Ledger.entries
        meter = self

        def entries(ledger: repo.Ledger, account_id: str, **kw: Any) -> list[LedgerEntry]:
            found = meter._entries(ledger, account_id, **kw)
            if meter.on:
                meter.bucket["ledger_rows"] += len(found)
            return found

        repo.Ledger.entries = entries  # type: ignore[method-assign]

    def close(self) -> None:
        repo.Ledger.entries = self._entries  # type: ignore[method-assign]

    def _statement(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if not self.on:
            return
        self.bucket["statements"] += 1
        words = statement.split(None, 3)
        verb = words[0].upper() if words else "?"
        self.kinds[verb] += 1
        self.bucket["reads" if verb == "SELECT" else "writes" if verb in WRITES else "other"] += 1
        if verb == "SELECT" and "seat_ledger" in statement:
            self.bucket["ledger_selects"] += 1
        self.statements.append(" ".join(statement.split())[:160])

    @contextlib.contextmanager
    def counting(self) -> Iterator[None]:
        self.on, self.bucket, self.buckets, self.statements = True, Counter(), {}, []
        self.kinds = Counter()
        try:
            yield
        finally:
            self.on = False

    def close_bucket(self, name: str) -> list[str]:
        """The statements since the last bucket belong to ``name``."""
        self.buckets[name], self.bucket = self.bucket, Counter()
        statements, self.statements = self.statements, []
        return statements


@dataclass
class Seeded:
    account_id: str
    months: int
    users: list[str]
    active: set[str]
    rng: random.Random


BILLING_POOLS = [
    {"module": "console", "capacity": 40, "policy": BLOCK, "unit_price": "30.00"},
    {"module": "analytics", "capacity": 8, "policy": TRUE_UP, "unit_price": "12.00"},
    {
        "module": "reports",
        "capacity": 8,
        "policy": AUTO_PURCHASE,
        "unit_price": "9.00",
        "charge_timing": "next_invoice",
    },
    {"module": "api", "capacity": 0, "minimum": 2, "policy": METERED, "unit_price": "20.00"},
]


def seat_changes(
    uow: Callable[[], UnitOfWork], seeded: Seeded, first: datetime, last: datetime, n: int
) -> int:
    """``n`` activations or deactivations at random instants in ``[first, last)``."""
    seconds = int((last - first).total_seconds())
    done = 0
    for at in sorted(first + timedelta(seconds=seeded.rng.randrange(seconds)) for _ in range(n)):
        user = seeded.rng.choice(seeded.users)
        try:
            if user in seeded.active:
                users.deactivate_user(
                    uow(), account_id=seeded.account_id, user_id=user, at=at, actor=ACTOR
                )
                seeded.active.discard(user)
            else:
                users.activate_user(
                    uow(), account_id=seeded.account_id, user_id=user, at=at, actor=ACTOR
                )
                seeded.active.add(user)
            done += 1
        except DomainError:
            pass  # refused (a full pool): nothing appended
    return done


def seed_account(
    uow: Callable[[], UnitOfWork],
    *,
    label: str,
    months: int,
    last_month: date,
    n_users: int,
    changes: int,
    seed: int,
) -> Seeded:
    """A real-clock account whose monthly contract (a fixed term to ``TERM_END``)
    started ``months`` − 1 months before ``last_month``, with its seat history up to
    ``last_month`` (excluded): ``n_users`` users created at the start (4/5 active),
    then ``changes`` activations or deactivations a month."""
    start = add_months(last_month, -(months - 1))
    created = instant(start) - timedelta(days=1)
    account = accounts.create_account(
        uow(), name=f"Bench {label}", currency="EUR", tax_rate=str(TAX_RATE), at=created
    )
    accounts.create_contract(
        uow(),
        account_id=account.id,
        start_date=start,
        end_date=TERM_END,
        billing_interval="month",
        pools=BILLING_POOLS,
        at=created,
        actor=ACTOR,
    )
    seeded = Seeded(account.id, months, [], set(), random.Random(seed))
    for i in range(n_users):
        active = i < n_users * 4 // 5
        result = users.create_user(
            uow(),
            account_id=account.id,
            email=f"{label}-{i}@bench.example",
            first_name="Bench",
            last_name=f"User {chr(65 + i % 26)}",
            at=instant(start) + timedelta(minutes=i + 1),
            actor=ACTOR,
            active=active,
        )
        seeded.users.append(result.user.id)
        if active:
            seeded.active.add(result.user.id)
    for month in range(months - 1):
        first = instant(add_months(start, month)) + timedelta(hours=1)
        seat_changes(uow, seeded, first, instant(add_months(start, month + 1)), changes)
    return seeded


@dataclass
class GroupFigures:
    backend: str
    months: int
    accounts: int
    statements: list[int]
    reads: list[int]
    writes: list[int]
    ledger_rows: list[int]
    ledger_selects: list[int]
    month_rows: list[int]  # ledger rows of the billed month (what must be read)
    history_rows: list[int]  # every ledger row of the account
    documents: list[int]
    seconds: list[float]


@dataclass
class BackendFigures:
    backend: str
    groups: list[GroupFigures]
    idle_statements: int
    idle_sql: list[str]
    idle_seconds: float
    run_overhead: int  # statements of the measured run outside any account
    kinds: Counter[str]
    seeding_seconds: float
    first_run_seconds: float
    shown: dict[int, list[str]] = field(default_factory=dict)


def bench_billing(
    backend: str, url: str, n_accounts: int, n_users: int, changes: int, show_sql: bool
) -> BackendFigures:
    engine = make_engine(url)
    meter = Meter(engine)

    def uow() -> UnitOfWork:
        return UnitOfWork(engine)

    try:
        last_month = date(2026, 1, 1)
        as_of_first = instant(last_month)
        as_of = instant(add_months(last_month, 1))
        t0 = time.perf_counter()
        seeded: list[Seeded] = []
        for months in (1, 36):
            log(f"{backend}: seeding {n_accounts} accounts with {months} month(s) of history")
            for k in range(n_accounts):
                seeded.append(
                    seed_account(
                        uow,
                        label=f"m{months}-{k}",
                        months=months,
                        last_month=last_month,
                        n_users=n_users,
                        changes=changes,
                        seed=k,
                    )
                )
        seeding = time.perf_counter() - t0
        log(f"{backend}: billing up to {as_of_first.date()} (the first run)")
        t0 = time.perf_counter()
        first = billing.run_billing(uow, as_of=as_of_first, now=as_of_first + timedelta(hours=1))
        first_run = time.perf_counter() - t0
        if first.failures:
            raise RuntimeError(f"first run failures: {first.failures[:3]}")
        log(f"{backend}: seat changes during {last_month:%B %Y}")
        for s in seeded:
            seat_changes(uow, s, as_of_first + timedelta(hours=1), as_of, changes)
        with engine.connect() as conn:
            c = t.seat_ledger.c
            rows = dict(
                conn.execute(
                    select(c.account_id, func.count())
                    .where(c.at >= as_of_first)
                    .group_by(c.account_id)
                ).all()
            )
            history = dict(
                conn.execute(select(c.account_id, func.count()).group_by(c.account_id)).all()
            )

        log(f"{backend}: the measured run, as of {as_of.date()}")
        per_account: dict[str, tuple[int, float]] = {}
        shown: dict[int, list[str]] = {}
        months_of = {s.account_id: s.months for s in seeded}
        clock = [time.perf_counter()]

        def on_start(total: int) -> None:
            meter.close_bucket("run")
            clock[0] = time.perf_counter()

        def on_account(account_id: str, issued: int) -> None:
            statements = meter.close_bucket(account_id)
            now = time.perf_counter()
            per_account[account_id] = (issued, now - clock[0])
            clock[0] = now
            if show_sql and months_of[account_id] not in shown:
                shown[months_of[account_id]] = statements

        with meter.counting():
            run = billing.run_billing(
                uow,
                as_of=as_of,
                now=as_of + timedelta(hours=1),
                on_start=on_start,
                on_account=on_account,
            )
            buckets, kinds = meter.buckets, meter.kinds
        if run.failures:
            raise RuntimeError(f"measured run failures: {run.failures[:3]}")
        log(f"{backend}: a run with nothing due")
        t0 = time.perf_counter()
        with meter.counting():
            idle = billing.run_billing(uow, as_of=as_of, now=as_of + timedelta(hours=2))
            idle_sql = meter.close_bucket("idle")
            idle_statements = meter.buckets["idle"]["statements"]
        idle_seconds = time.perf_counter() - t0
        if idle.accounts:
            print(f"  ! {backend}: the idle run billed {idle.accounts} accounts")

        groups = []
        for months in (1, 36):
            ids = [s.account_id for s in seeded if s.months == months]
            missing = [a for a in ids if a not in buckets]
            if missing:
                print(f"  ! {backend}: {len(missing)} accounts of {months} month(s) not billed")
            ids = [a for a in ids if a in buckets]
            groups.append(
                GroupFigures(
                    backend=backend,
                    months=months,
                    accounts=len(ids),
                    statements=[buckets[a]["statements"] for a in ids],
                    reads=[buckets[a]["reads"] for a in ids],
                    writes=[buckets[a]["writes"] for a in ids],
                    ledger_rows=[buckets[a]["ledger_rows"] for a in ids],
                    ledger_selects=[buckets[a]["ledger_selects"] for a in ids],
                    month_rows=[rows.get(a, 0) for a in ids],
                    history_rows=[history.get(a, 0) for a in ids],
                    documents=[per_account[a][0] for a in ids],
                    seconds=[per_account[a][1] for a in ids],
                )
            )
        return BackendFigures(
            backend=backend,
            groups=groups,
            idle_statements=idle_statements,
            idle_sql=idle_sql,
            idle_seconds=idle_seconds,
            run_overhead=buckets.get("run", Counter())["statements"],
            kinds=kinds,
            seeding_seconds=seeding,
            first_run_seconds=first_run,
            shown=shown,
        )
    finally:
        meter.close()
        engine.dispose()


def _mean(values: list[int] | list[float]) -> float:
    return statistics.fmean(values) if values else float("nan")


def _ratio(a: float, b: float) -> float:
    return a / b if b else float("nan")


def _span(values: list[int]) -> str:
    if not values:
        return "-"
    lo, hi = min(values), max(values)
    return f"{lo}" if lo == hi else f"{lo}–{hi}"


def print_billing_table(results: list[BackendFigures], n_users: int, changes: int) -> None:
    print()
    print(
        "A billing run that bills the last month, per account (real-clock accounts, "
        "services.billing.run_billing with as_of and now explicit)"
    )
    print(
        f"  each account: monthly contract, 4 pools (block, true_up, auto_purchase "
        f"next_invoice, metered), {n_users} users, {changes} seat changes a month; "
        "goal: per-account figures do not grow from 1 to 36 months"
    )
    head = (
        f"  {'backend':<9} {'history':>8} {'accts':>5} {'statements':>10} {'min–max':>8} "
        f"{'SELECTs':>8} {'writes':>7} {'ledger rows read':>17} {'rows of the month':>18} "
        f"{'rows in history':>16} {'docs':>5} {'ms/acct':>8}"
    )
    print(head)
    print("  " + "-" * (len(head) - 2))
    for r in results:
        for g in r.groups:
            print(
                f"  {r.backend:<9} {str(g.months) + ' mo':>8} {g.accounts:>5} "
                f"{_mean(g.statements):>10.1f} {_span(g.statements):>8} "
                f"{_mean(g.reads):>8.1f} {_mean(g.writes):>7.1f} "
                f"{_mean(g.ledger_rows):>17.1f} {_mean(g.month_rows):>18.1f} "
                f"{_mean(g.history_rows):>16.1f} {_mean(g.documents):>5.1f} "
                f"{_mean(g.seconds) * 1000:>8.1f}"
            )
        one, many = r.groups
        reads = _ratio(_mean(many.reads), _mean(one.reads))
        statements = _ratio(_mean(many.statements), _mean(one.statements))
        # NOTE: only the billed month's rows should be read: what was read beyond them
        beyond = max(
            (
                read - month
                for g in r.groups
                for read, month in zip(g.ledger_rows, g.month_rows, strict=True)
            ),
            default=0,
        )
        selects = max((n for g in r.groups for n in g.ledger_selects), default=0)
        verdict = "met" if reads <= 1.0 and beyond <= 0 else "NOT MET"
        print(
            f"  {r.backend:<9} 36 mo / 1 mo: SELECTs ×{reads:.2f}, statements ×{statements:.2f}; "
            f"ledger rows read beyond the billed month: {beyond} (in at most {selects} "
            f"ledger SELECT per account): {verdict}"
        )
    print(
        "  (statements: every one sent while the account was billed, BEGIN included; "
        "writes depend on what falls due — a first true-up, a new maximum — not on history)"
    )
    print()
    print("A billing run with nothing due (statements in total, whatever the accounts)")
    for r in results:
        n = sum(g.accounts for g in r.groups)
        # NOTE: on SQLite the run's read opens a transaction: BEGIN, then the query.
        verdict = "met" if r.idle_statements <= 2 else "NOT MET"
        print(
            f"  {r.backend:<9} {r.idle_statements} statement(s) for {n} accounts, "
            f"{r.idle_seconds * 1000:.1f} ms: goal ~1 in total, {verdict}"
        )
        for statement in r.idle_sql:
            print(f"    {statement[:110]}")
    print()
    for r in results:
        kinds = ", ".join(f"{n} {k}" for k, n in r.kinds.most_common())
        print(
            f"  {r.backend}: the measured run sent {kinds} ({r.run_overhead} outside the "
            f"accounts); seeding {r.seeding_seconds:.1f}s, first run {r.first_run_seconds:.1f}s"
        )
        for months, statements in sorted(r.shown.items()):
            print(f"\n  {r.backend}: the statements of one {months}-month account:")
            for s in statements:
                print(f"    {s}")


# =========================================================================== main


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--quick", action="store_true", help="a fast run (under 30 s)")
    p.add_argument(
        "--seconds",
        type=float,
        default=None,
        help="seconds each planner measurement repeats for (default 3; 1 with --quick)",
    )
    p.add_argument(
        "--accounts",
        type=int,
        default=None,
        help="accounts per history length in part 2 (default 20; 4 with --quick)",
    )
    p.add_argument("--users", type=int, default=15, help="users per account in part 2 (15)")
    p.add_argument(
        "--changes",
        type=int,
        default=None,
        help="seat changes per account and month in part 2 (default 8; 3 with --quick)",
    )
    p.add_argument(
        "--backends",
        default="sqlite,postgres",
        help="comma-separated: sqlite, postgres (default both)",
    )
    p.add_argument("--only", choices=("planner", "billing"), default=None, help="one part only")
    p.add_argument("--profile", action="store_true", help="also cProfile one plan()")
    p.add_argument(
        "--show-sql", action="store_true", help="print the statements of one account per group"
    )
    p.add_argument(
        "--postgres-url",
        default=os.environ.get("SEATLEDGER_BENCH_POSTGRES_URL") or DEFAULT_POSTGRES_URL,
        help="maintenance database to create the scratch database from",
    )
    args = p.parse_args(argv)
    args.seconds = args.seconds or (1.0 if args.quick else 3.0)
    args.accounts = args.accounts or (4 if args.quick else 20)
    args.changes = args.changes if args.changes is not None else (3 if args.quick else 8)
    args.backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    unknown = set(args.backends) - {"sqlite", "postgres"}
    if unknown:
        p.error(f"unknown backend(s): {', '.join(sorted(unknown))}")
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    started = time.perf_counter()
    print(
        f"seatledger billing bench — load average {os.getloadavg()[0]:.2f} at start; "
        f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs"
        + ("" if args.only == "planner" else f", backends {','.join(args.backends)}")
    )
    if args.only in (None, "planner"):
        bench_planner(args.seconds, args.profile)
    if args.only in (None, "billing"):
        tmp = Path(tempfile.mkdtemp(prefix="seatledger-bench-billing-"))
        results: list[BackendFigures] = []
        try:
            for name in args.backends:
                cm = (
                    sqlite_database(tmp)
                    if name == "sqlite"
                    else postgres_database(args.postgres_url)
                )
                try:
                    with cm as url:
                        results.append(
                            bench_billing(
                                name, url, args.accounts, args.users, args.changes, args.show_sql
                            )
                        )
                except Exception as exc:  # noqa: BLE001 - report and go on with the next backend
                    print(f"\n! {name}: benchmark failed: {exc!r}", flush=True)
            if results:
                print_billing_table(results, args.users, args.changes)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    print(
        f"\n(total {time.perf_counter() - started:.0f}s; load average "
        f"{os.getloadavg()[0]:.2f} at the end: other processes on this machine skew the "
        "timings, not the counts)"
    )


if __name__ == "__main__":
    main()
