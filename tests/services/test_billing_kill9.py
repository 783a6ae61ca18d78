"""Exactly-once billing under kill -9 (PRODUCT.md §5: "a run killed at any point
and run again equals one uninterrupted run"), on SQLite (a file) and PostgreSQL.

One database of many real-clock accounts, contracts back-dated to 2025 (monthly
and yearly, every seat policy, true-up pools over capacity, metered users,
purchases, a renewal with a scheduled decrease, a contract version starting
during the run's span), is copied twice. ``seatledger bill --as-of 2026-06-01``
runs as a subprocess on copy A without interruption; on copy B it is killed with
SIGKILL at random moments and started again until it completes. Then both copies
must hold the same invoices (account, key, number, amounts, lines), the same
ledger and markers, no duplicate key, and gapless numbers per sequence.

CI: a few kills (at least 3, one of them mid-run). ``SEATLEDGER_STRESS=1``: many
more, with shorter delays. ``SEATLEDGER_KILL9_SEED`` replays a run's kill times.
"""

from __future__ import annotations

import os
import random
import secrets
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, event, func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from seatledger.adapters.db import tables as t
from seatledger.adapters.db.engine import make_engine, migrate
from seatledger.services import access, accounts, seat_requests, users
from seatledger.services.unit_of_work import UnitOfWork

AS_OF = "2026-06-01"
STRESS = os.environ.get("SEATLEDGER_STRESS", "").strip() not in ("", "0")
ACCOUNTS = 160 if STRESS else 40  # a bigger book leaves room for many more kills
MIN_KILLS = 30 if STRESS else 3
MAX_KILLS = 200 if STRESS else 12  # more only while no kill has landed mid-run yet
DELAY = (0.05, 1.0) if STRESS else (0.2, 2.0)
RUN_TIMEOUT = 120.0
OPERATOR = "operator:kill9"

Uow = Callable[[], UnitOfWork]


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


# ------------------------------------------------------------------------ the book


def populate(uow: Uow, *, accounts_count: int = ACCOUNTS, seed: int = 2025) -> list[str]:
    """Real-clock accounts with a history from late 2024 to spring 2026 and
    nothing billed yet (only the immediate purchases of that history)."""
    rng = random.Random(seed)
    ids: list[str] = []
    setup = utc(2024, 12, 10)
    for k in range(accounts_count):
        currency, tax = [("EUR", "20"), ("USD", None), ("JPY", "10"), ("BHD", "5"), ("GBP", None)][
            k % 5
        ]
        unit = {"JPY": "3300", "BHD": "11.250"}.get(currency, "30.00")
        yearly = k % 3 == 0
        price = {"JPY": "39600", "BHD": "135.125"}.get(currency, "360.00") if yearly else unit
        start = [date(2025, 1, 1), date(2025, 1, 31), date(2025, 3, 15)][k % 3 if not yearly else 0]
        account = accounts.create_account(
            uow(), name=f"Kill Nine {k}", currency=currency, tax_rate=tax, at=setup
        )
        ids.append(account.id)
        fourth = [
            {"module": "records", "capacity": 60, "policy": "block"},
            {"module": "records", "capacity": 4, "minimum": 2, "policy": "inactive_when_full"},
            {"module": "records", "capacity": 2, "minimum": 2, "policy": "auto_purchase"},
            {
                "module": "records",
                "capacity": 3,
                "policy": "auto_purchase",
                "charge_timing": "next_invoice",
                "proration": "second",
            },
        ][k % 4]
        pools = [
            {
                "module": "console",
                "capacity": 3,
                "minimum": 1,
                "policy": "true_up",
                "unit_price": price,
            },
            {"module": "documents", "minimum": 1, "policy": "metered", "unit_price": unit},
            {**fourth, "unit_price": price},
        ]
        accounts.create_contract(
            uow(),
            account_id=account.id,
            start_date=start,
            billing_interval="year" if yearly else "month",
            pools=pools,
            at=setup,
            actor=OPERATOR,
        )
        # users arrive (and some leave) over 2025 and early 2026: true-ups over
        # capacity at several month closes, metered seat-days, purchases
        moments = sorted(
            utc(2025, 1, 1) + timedelta(days=rng.randrange(0, 480), hours=rng.randrange(0, 24))
            for _ in range(rng.randrange(6, 11))
        )
        created: list[tuple[str, datetime]] = []
        for n, at in enumerate(moments):
            result = users.create_user(
                uow(),
                account_id=account.id,
                email=f"person{n}@k{k}.example.com",
                first_name="Kill",
                last_name="Nine",
                at=at,
                actor=OPERATOR,
                add_license=n % 2 == 0,
            )
            if result.user.status == "active":
                created.append((result.user.id, at))
        for user_id, at in created[1::4]:
            gone = at + timedelta(days=rng.randrange(1, 90), hours=rng.randrange(0, 24))
            if gone < utc(2026, 5, 1):
                users.delete_user(
                    uow(), account_id=account.id, user_id=user_id, at=gone, actor=OPERATOR
                )
        if k % 4 == 0:
            # a decrease approved for the renewal: applied by the run on 1 Jan 2026
            request = seat_requests.request_seat_change(
                uow(),
                account_id=account.id,
                module="records",
                target_capacity=50,
                at=utc(2025, 6, 2),
                actor="user:owner",
            )
            seat_requests.approve_seat_request(
                uow(),
                request_id=request.request.id,
                at=utc(2025, 6, 3),
                actor=OPERATOR,
                effective="renewal",
            )
        if k % 5 == 1:
            # a new version, signed in 2025, taking effect during the run's span, two
            # seats above each pool's capacity (never below what was bought this term)
            now = {p.module: p.capacity for p in access.list_pools(uow(), account_id=account.id)}
            accounts.create_contract(
                uow(),
                account_id=account.id,
                start_date=date(2026, 3, 1),
                billing_interval="month",
                pools=[
                    {
                        **p,
                        "capacity": (
                            max(p.get("capacity", 0), now[p["module"]]) + 2
                            if p["policy"] != "metered"
                            else 0
                        ),
                        "unit_price": unit,
                    }
                    for p in pools
                ],
                at=utc(2025, 11, 20),
                actor=OPERATOR,
            )
    return ids


# ---------------------------------------------------------------------- snapshots


@dataclass
class Book:
    invoices: Counter[tuple[Any, ...]]
    keys: Counter[tuple[str, str]]
    numbers: list[str]
    sequences: dict[str, int]
    ledger: Counter[tuple[Any, ...]]
    markers: set[tuple[str, str]]
    seat_requests: set[tuple[Any, ...]]
    pools: set[tuple[Any, ...]]


def invoice_count(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(t.invoices)).scalar_one())


def snapshot(engine: Engine) -> Book:
    with engine.connect() as conn:
        lines: dict[str, list[tuple[Any, ...]]] = defaultdict(list)
        for ln in conn.execute(
            select(t.invoice_lines).order_by(
                t.invoice_lines.c.invoice_id, t.invoice_lines.c.position
            )
        ):
            lines[ln.invoice_id].append(
                (
                    ln.kind,
                    ln.module,
                    ln.description,
                    ln.quantity,
                    str(ln.unit_price),
                    str(ln.amount),
                    ln.period_start,
                    ln.period_end,
                )
            )
        rows = list(conn.execute(select(t.invoices)))
        invoices = Counter(
            (
                r.account_id,
                r.key,
                r.number,
                r.type,
                r.kind,
                r.status,
                r.issued_at,
                r.period_start,
                r.period_end,
                r.currency,
                str(r.subtotal),
                str(r.tax),
                str(r.total),
                tuple(lines[r.id]),
            )
            for r in rows
        )
        ledger = Counter(
            (
                r.account_id,
                r.module,
                r.kind,
                r.user_id,
                r.delta,
                r.in_use_after,
                r.capacity_after,
                r.purchased,
                r.at,
                r.actor,
                r.cause,
            )
            for r in conn.execute(select(t.seat_ledger))
        )
        markers = {(r.account_id, r.key) for r in conn.execute(select(t.billing_markers))}
        requests = {
            (r.id, r.status, r.reason, r.decided_at) for r in conn.execute(select(t.seat_requests))
        }
        pools = {
            (
                r.account_id,
                r.module,
                r.capacity,
                r.in_use,
                r.committed_capacity,
                r.minimum,
                str(r.unit_price),
                r.policy,
                r.retired,
            )
            for r in conn.execute(select(t.pools))
        }
        sequences = {r.name: r.last for r in conn.execute(select(t.number_sequences))}
    return Book(
        invoices=invoices,
        keys=Counter((r.account_id, r.key) for r in rows),
        numbers=[r.number for r in rows],
        sequences=sequences,
        ledger=ledger,
        markers=markers,
        seat_requests=requests,
        pools=pools,
    )


def assert_gapless(book: Book) -> None:
    by_sequence: dict[str, list[int]] = defaultdict(list)
    for number in book.numbers:
        name, _, serial = number.rpartition("-")
        by_sequence[name].append(int(serial))
    for name, serials in by_sequence.items():
        assert sorted(serials) == list(range(1, len(serials) + 1)), f"gaps in {name}"
        assert book.sequences.get(name) == len(serials), f"{name} counter drifted"
    assert set(by_sequence) == set(book.sequences)


# ------------------------------------------------------------------------ backends


@dataclass
class Copies:
    """The populated database and its two copies (``a``: uninterrupted, ``b``: killed)."""

    a: str
    b: str
    cleanup: list[Callable[[], None]] = field(default_factory=list)


def _fast_sqlite_engine(url: str) -> Engine:
    """The app's engine, but without an fsync per commit: only to build the book."""
    engine = make_engine(url)

    @event.listens_for(engine, "connect")
    def _no_sync(dbapi_connection, _record):  # type: ignore[no-untyped-def]
        dbapi_connection.execute("PRAGMA synchronous=OFF")

    return engine


def _sqlite_copies(db_url: str, tmp_path: Path) -> Copies:
    source = Path(make_url(db_url).database or "")
    engine = _fast_sqlite_engine(db_url)
    try:
        populate(lambda: UnitOfWork(engine), accounts_count=ACCOUNTS)
    finally:
        engine.dispose()
    con = sqlite3.connect(source, isolation_level=None)
    try:
        con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        con.close()
    paths = []
    for name in ("a.db", "b.db"):
        target = tmp_path / name
        shutil.copyfile(source, target)
        paths.append(f"sqlite:///{target}")
    return Copies(*paths)


def _postgres_copies(db_url: str) -> Copies:
    base = make_url(db_url)
    admin = create_engine(base, poolclass=NullPool, isolation_level="AUTOCOMMIT")
    stem = f"seatledger_k9_{os.getpid()}_{secrets.token_hex(3)}"
    names = {part: f"{stem}_{part}" for part in ("src", "a", "b")}
    copies = Copies(
        *(base.set(database=names[p]).render_as_string(hide_password=False) for p in ("a", "b"))
    )

    def drop() -> None:
        with admin.connect() as conn:
            for name in names.values():
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    copies.cleanup.append(drop)
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{names["src"]}"'))
    source = base.set(database=names["src"]).render_as_string(hide_password=False)
    migrate(source)
    engine = make_engine(source)
    try:
        populate(lambda: UnitOfWork(engine), accounts_count=ACCOUNTS)
    finally:
        engine.dispose()
    with admin.connect() as conn:
        for part in ("a", "b"):
            conn.execute(text(f'CREATE DATABASE "{names[part]}" TEMPLATE "{names["src"]}"'))
    return copies


@pytest.fixture
def copies(db_url: str, backend: str, tmp_path: Path) -> Iterator[Copies]:
    made = _sqlite_copies(db_url, tmp_path) if backend == "sqlite" else _postgres_copies(db_url)
    try:
        yield made
    finally:
        for step in made.cleanup:
            step()


# ---------------------------------------------------------------------- the command


def start_bill(url: str) -> subprocess.Popen[bytes]:
    # NOTE: batches of 2 accounts, each its own transaction: a kill lands between
    # batches (some committed, mid-run) or inside one (its transaction lost).
    env = {
        **os.environ,
        "SEATLEDGER_DATABASE_URL": url,
        "COLUMNS": "100",
        "SEATLEDGER_BILLING_BATCH_SIZE": "2",
    }
    return subprocess.Popen(
        [sys.executable, "-m", "seatledger.entrypoints.cli", "bill", "--as-of", AS_OF],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def finish(proc: subprocess.Popen[bytes]) -> str:
    out, err = proc.communicate(timeout=RUN_TIMEOUT)
    assert proc.returncode == 0, f"bill failed ({proc.returncode}):\n{out.decode()}\n{err.decode()}"
    return out.decode()


@dataclass
class KillFigures:
    kills: int = 0
    mid_run: int = 0
    counts: list[int] = field(default_factory=list)
    attempts: int = 0


def bill_with_kills(
    url: str, engine: Engine, *, baseline: int, final: int, rng: random.Random, run_seconds: float
) -> KillFigures:
    """Start the run, SIGKILL it, start it again... until a run completes.

    Odd starts are killed after a random delay from the start (so some die while
    starting, some between accounts, some inside an account's transaction); even
    starts once the run has issued a random number of further invoices, plus a few
    milliseconds (so kills land mid-run even on a slow machine). Both are sized on
    the work left, so that the kills asked for fit before the run is done."""
    figures = KillFigures()
    total = final - baseline
    seen_startups: list[float] = []  # seconds from a start to its first commit
    while True:
        figures.attempts += 1
        issued = invoice_count(engine) - baseline
        remaining = total - issued
        want_kill = figures.kills < MIN_KILLS or (
            figures.mid_run == 0 and figures.kills < MAX_KILLS
        )
        spawned = time.monotonic()
        proc = start_bill(url)
        if not want_kill or remaining <= 1:
            finish(proc)
            return figures
        kills_left = max(1, MIN_KILLS - figures.kills)
        startup = min(seen_startups) if seen_startups else 0.5
        if figures.attempts % 2 == 1:
            work_left = remaining / total * max(run_seconds - startup, 0.5)
            cap = min(DELAY[1], startup + work_left / (kills_left + 1))
            try:
                proc.wait(timeout=rng.uniform(min(DELAY[0], cap), cap))
                finish(proc)  # it finished before the kill: a complete run
                return figures
            except subprocess.TimeoutExpired:
                pass
        else:
            target = issued + rng.randint(1, max(1, remaining // (kills_left + 1)))
            first_commit = None
            while proc.poll() is None:
                now_issued = invoice_count(engine) - baseline
                if first_commit is None and now_issued > issued:
                    first_commit = time.monotonic() - spawned
                if now_issued >= target:
                    break
                time.sleep(0.01)
            if first_commit is not None:
                seen_startups.append(first_commit)
            time.sleep(rng.uniform(0, 0.03))
            if proc.poll() is not None:
                finish(proc)
                return figures
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=RUN_TIMEOUT)
        if proc.returncode != -signal.SIGKILL:  # pragma: no cover - ended meanwhile
            assert proc.returncode == 0
            return figures
        figures.kills += 1
        after = invoice_count(engine) - baseline
        figures.counts.append(after)
        if 0 < after < total:
            figures.mid_run += 1


def test_billing_killed_at_random_points_equals_one_uninterrupted_run(copies, backend):
    seed = int(os.environ.get("SEATLEDGER_KILL9_SEED") or random.randrange(2**32))
    rng = random.Random(seed)
    engine_a, engine_b = make_engine(copies.a), make_engine(copies.b)
    try:
        baseline = invoice_count(engine_a)
        assert invoice_count(engine_b) == baseline
        assert snapshot(engine_a) == snapshot(engine_b), "the copies differ before billing"

        started = time.perf_counter()
        out = finish(start_bill(copies.a))
        uninterrupted_s = time.perf_counter() - started
        final = invoice_count(engine_a)
        assert final - baseline > 200, "the book is too small to be interrupted"
        assert f"Issued {final - baseline} invoices for {ACCOUNTS} accounts" in out

        started = time.perf_counter()
        figures = bill_with_kills(
            copies.b, engine_b, baseline=baseline, final=final, rng=rng, run_seconds=uninterrupted_s
        )
        killed_s = time.perf_counter() - started

        print(
            f"\n[{backend}] kill -9 seed={seed}: {ACCOUNTS} accounts, "
            f"{final - baseline} invoices issued by the run ({final} in all), "
            f"uninterrupted {uninterrupted_s:.1f} s; {figures.kills} kills "
            f"({figures.mid_run} mid-run; issued after each: {figures.counts}), "
            f"{figures.attempts} starts, {killed_s:.1f} s"
        )
        assert figures.kills >= MIN_KILLS
        assert figures.mid_run >= 1, (
            f"no kill interrupted a run mid-way (seed {seed}): {figures.counts}"
        )

        a, b = snapshot(engine_a), snapshot(engine_b)
        assert max(a.keys.values()) == 1 and max(b.keys.values()) == 1, "a key issued twice"
        assert_gapless(a)
        assert_gapless(b)
        assert len(b.invoices) == final
        missing, extra = a.invoices - b.invoices, b.invoices - a.invoices
        assert not missing and not extra, (
            f"{len(missing)} invoices differ, e.g. {sorted(missing)[:1]} vs {sorted(extra)[:1]}"
        )
        assert a.ledger == b.ledger
        assert a.markers == b.markers
        assert a.seat_requests == b.seat_requests
        assert a.pools == b.pools
        assert a.sequences == b.sequences

        # and a run after completion issues nothing on either copy
        assert "Issued 0 invoices" in finish(start_bill(copies.b))
        assert invoice_count(engine_b) == final
    finally:
        engine_a.dispose()
        engine_b.dispose()
