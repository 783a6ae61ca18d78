"""Billing: the planner's speed, and a billing run's statements per account.

1. The planner alone, in memory (no database): one realistic account (10 pools
   of mixed policies: block, true_up, auto_purchase with next_invoice purchases,
   metered; 200 users holding about 3 modules each; a few thousand seat ledger
   entries over 36 months of a monthly contract, tax 20 %) planned over its
   whole history from an empty ``BillingState``: ``domain.planner.plan(inputs,
   until)``. Figure: invoice lines of the returned documents per CPU second of
   this process (one core), beside a floor measured in the same run: building
   as many ``invoicing.Line`` objects from the same Decimal products (quantity ×
   unit_price × days / D in MONEY_CONTEXT, ``money.round_line``). Goal: ≥ 100,000
   lines/s.

2. A billing run's statements per account, on SQLite and PostgreSQL: N accounts
   on the real clock with a monthly contract (block, true_up, auto_purchase
   next_invoice, metered; tax 20 %; a fixed term to 2027-12-31, so that no
   renewal falls in the billed month) and a seat history of 1 month or 36
   months, seeded through the services. One ``services.billing.run_billing``
   bills everything up to the start of the last month; seats then change during
   the last month; then ONE further run bills the last month, its accounts of 1
   month and of 36 months in a batch each (a batch reads its accounts' inputs
   together). During each batch every SQL statement is counted
   (``before_cursor_execute``) and shared by the batch's accounts, and the
   ledger entries the batch loaded are counted (``Ledger.since_billing_state``,
   what a batch reads the ledger with). Figures: the
   SELECTs per account at 36 months beside those at 1 month (goal: ratio ≤ 1,
   history does not cost reads); the ledger rows read per account beside the
   rows of the billed month (goal ≤ 1: only the billed month is read); a run
   with nothing due over every account beside one over no account (goal ≤ 1: it
   does not grow with accounts; ~1 statement, 2 on SQLite: BEGIN and the query).
"""

from __future__ import annotations

import contextlib
import random
import statistics
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal, localcontext
from typing import Any

from runner import ACTOR, Backend, Figure, Goal, Run, log, pyinstrument_profile
from sqlalchemy import Engine, event, func, select

from seatledger.adapters.db import repositories as repo
from seatledger.adapters.db import tables as t
from seatledger.adapters.db.engine import make_engine
from seatledger.domain.billing_runs import Batch
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

NAME = "billing"
PLANNER_GOAL = 100_000  # invoice lines per second, one core
TAX_RATE = Decimal("20")
WRITES = ("INSERT", "UPDATE", "DELETE")
# part 2: every account's contract is a fixed term ending then, so that no renewal
# falls in the measured month of one history length and not of the other
TERM_END = date(2027, 12, 31)

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


def measure_once(run: Run) -> list[Figure]:
    """The planner, in memory, one process (one core)."""
    seconds = run.pick(2.0, 5.0)
    log("billing: the planner's account, in memory")
    account = planner_account()
    inputs, until = account.inputs, account.until
    planned = plan(inputs, until)
    lines = [ln for d in planned.documents for ln in d.lines]
    n_lines = len(lines)
    log(f"billing: timing plan() and its floor, {seconds:g} s each")
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
    floor_reps = max(1, 20_000 // max(1, n_lines))
    floor = timed(lambda: [floor_lines(products) for _ in range(floor_reps)], seconds, 3)
    if run.profile:
        pyinstrument_profile(
            run, "planner, plan() 20 times", lambda: [plan(inputs, until) for _ in range(20)]
        )
    return [
        Figure(
            id="billing.planner",
            name="planner: invoice lines per CPU second",
            value=n_lines / planner.best_cpu,
            unit="lines/s",
            baseline_name="floor (Line + round_line)",
            baseline_value=n_lines * floor_reps / floor.best_cpu,
            goal=Goal(">=", PLANNER_GOAL, on="value"),
            details={
                "pools": len(account.pools),
                "users": account.users,
                "ledger_entries": len(inputs.ledger),
                "entries_by_kind": dict(account.entries),
                "documents": len(planned.documents),
                "lines": n_lines,
                "lines_by_kind": dict(Counter(ln.kind for ln in lines)),
                "median_lines_per_s": n_lines / planner.median_cpu,
                "reps": len(planner.cpu),
                "cpu_us_per_ledger_entry": planner.best_cpu * 1e6 / len(inputs.ledger),
            },
        )
    ]


def measure(run: Run, backend: Backend) -> list[Figure]:
    """A billing run's statements per account (part 2)."""
    n_accounts = run.pick(5, 20)
    changes = run.pick(4, 8)
    n_users = 15
    found = bench_billing(backend.name, backend.url, n_accounts, n_users, changes)
    one, many = found.groups
    details = {
        "accounts_per_group": n_accounts,
        "users": n_users,
        "changes_a_month": changes,
        "groups": {f"{g.months} months": group_summary(g) for g in found.groups},
        "measured_run_statements": dict(found.kinds),
        "seeding_seconds": round(found.seeding_seconds, 1),
        "first_run_seconds": round(found.first_run_seconds, 1),
    }
    rows_read = sum(sum(g.ledger_rows) for g in found.groups)
    rows_of_month = sum(sum(g.month_rows) for g in found.groups)
    accounts_billed = sum(g.accounts for g in found.groups)
    return [
        Figure(
            id=f"billing.selects.{backend.name}",
            name=f"billing run SELECTs per account, 36 mo, {backend.name}",
            value=_mean(many.reads),
            unit="SELECTs",
            baseline_name="the same at 1 month of history",
            baseline_value=_mean(one.reads),
            goal=Goal("<=", 1.0),
            details=details,
        ),
        Figure(
            id=f"billing.ledger_rows.{backend.name}",
            name=f"billing run ledger rows read per acct, {backend.name}",
            value=rows_read / accounts_billed if accounts_billed else 0.0,
            unit="rows",
            baseline_name="rows of the billed month",
            baseline_value=rows_of_month / accounts_billed if accounts_billed else 0.0,
            goal=Goal("<=", 1.0),
        ),
        Figure(
            id=f"billing.idle.{backend.name}",
            name=f"billing run, nothing due, {accounts_billed} accts, {backend.name}",
            value=found.idle_statements,
            unit="statements",
            baseline_name="the same over no account",
            baseline_value=found.empty_statements,
            goal=Goal("<=", 1.0),
            details={"statements": found.idle_sql, "ms": round(found.idle_seconds * 1000, 1)},
        ),
    ]


def group_summary(g: GroupFigures) -> dict[str, Any]:
    return {
        "accounts": g.accounts,
        "statements": _mean(g.statements),
        "selects": _mean(g.reads),
        "writes": _mean(g.writes),
        "ledger_rows_read": _mean(g.ledger_rows),
        "rows_of_the_month": _mean(g.month_rows),
        "rows_in_history": _mean(g.history_rows),
        "ledger_selects_max": max(g.ledger_selects, default=0),
        "documents": _mean(g.documents),
        "ms_per_account": _mean(g.seconds) * 1000,
    }


def _mean(values: list[int] | list[float]) -> float:
    return statistics.fmean(values) if values else 0.0


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
        self._since = repo.Ledger.since_billing_state
        meter = self

        def since_billing_state(
            ledger: repo.Ledger, account_ids: list[str]
        ) -> dict[str, list[LedgerEntry]]:
            found = meter._since(ledger, account_ids)
            if meter.on:
                meter.bucket["ledger_rows"] += sum(len(entries) for entries in found.values())
            return found

        repo.Ledger.since_billing_state = since_billing_state  # type: ignore[method-assign]

    def close(self) -> None:
        repo.Ledger.since_billing_state = self._since  # type: ignore[method-assign]

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
    # a batch's counts shared by its accounts: the same share for each
    statements: list[float]
    reads: list[float]
    writes: list[float]
    ledger_rows: list[float]
    ledger_selects: list[int]  # the batch's SELECTs of the ledger
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
    empty_statements: int = 0  # a run with nothing due, before any account


def bench_billing(
    backend: str, url: str, n_accounts: int, n_users: int, changes: int
) -> BackendFigures:
    engine = make_engine(url)
    meter = Meter(engine)

    def uow() -> UnitOfWork:
        return UnitOfWork(engine)

    try:
        last_month = date(2026, 1, 1)
        as_of_first = instant(last_month)
        as_of = instant(add_months(last_month, 1))
        with meter.counting():  # the baseline: a run with nothing due over no account
            billing.run_billing(uow, as_of=as_of, now=as_of + timedelta(hours=2))
            meter.close_bucket("empty")
            empty_statements = meter.buckets["empty"]["statements"]
        t0 = time.perf_counter()
        seeded: list[Seeded] = []
        for months in (1, 36):
            log(f"billing, {backend}: seeding {n_accounts} accounts, {months} month(s) of history")
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
        log(f"billing, {backend}: billing up to {as_of_first.date()} (the first run)")
        t0 = time.perf_counter()
        first = billing.run_billing(uow, as_of=as_of_first, now=as_of_first + timedelta(hours=1))
        first_run = time.perf_counter() - t0
        if first.failures:
            raise RuntimeError(f"first run failures: {first.failures[:3]}")
        log(f"billing, {backend}: seat changes during {last_month:%B %Y}")
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

        log(f"billing, {backend}: the measured run, as of {as_of.date()}")
        per_account: dict[str, tuple[int, float]] = {}  # documents, seconds (its share)
        shares: dict[int, Counter[str]] = {}  # months -> the batch's counts per account
        now = as_of + timedelta(hours=1)
        with meter.counting():
            # NOTE: a batch of each group (the run's own batches mix them, in id order)
            started, work = billing.start_run(
                uow(), as_of=as_of, now=now, queue=False, batch_size=n_accounts
            )
            due = {a for b in work for a in b.account_ids}
            meter.close_bucket("run")
            for number, months in enumerate((1, 36)):
                ids = tuple(sorted(s.account_id for s in seeded if s.months == months))
                issued: dict[str, int] = {}
                t0 = time.perf_counter()
                billing.bill_batch(
                    uow,
                    Batch(started.id, number, started.as_of, ids, started.requested_by),
                    at=now,
                    on_account=issued.__setitem__,
                )
                seconds = time.perf_counter() - t0
                meter.close_bucket(f"batch of {months}")
                counted = meter.buckets[f"batch of {months}"]
                shares[months] = Counter({k: v / len(ids) for k, v in counted.items()})
                for account_id in ids:
                    per_account[account_id] = (issued.get(account_id, 0), seconds / len(ids))
            run = billing.get_run(uow(), run_id=started.id)
            kinds, measured = meter.kinds, meter.buckets
        if due != set(per_account):
            log(f"! {backend}: due {len(due)} accounts, billed {len(per_account)}")
        if run.failures:
            raise RuntimeError(f"measured run failures: {run.failures[:3]}")
        log(f"billing, {backend}: a run with nothing due")
        t0 = time.perf_counter()
        with meter.counting():
            idle = billing.run_billing(uow, as_of=as_of, now=as_of + timedelta(hours=2))
            idle_sql = meter.close_bucket("idle")
            idle_statements = meter.buckets["idle"]["statements"]
        idle_seconds = time.perf_counter() - t0
        if idle.accounts:
            log(f"! {backend}: the idle run billed {idle.accounts} accounts")

        groups = []
        for months in (1, 36):
            ids = [s.account_id for s in seeded if s.months == months]
            share = shares[months]
            groups.append(
                GroupFigures(
                    backend=backend,
                    months=months,
                    accounts=len(ids),
                    statements=[share["statements"]] * len(ids),
                    reads=[share["reads"]] * len(ids),
                    writes=[share["writes"]] * len(ids),
                    ledger_rows=[share["ledger_rows"]] * len(ids),
                    ledger_selects=[int(measured[f"batch of {months}"]["ledger_selects"])],
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
            run_overhead=measured["run"]["statements"],
            kinds=kinds,
            seeding_seconds=seeding,
            first_run_seconds=first_run,
            empty_statements=empty_statements,
        )
    finally:
        meter.close()
        engine.dispose()
