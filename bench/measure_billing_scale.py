"""Billing at scale (issue 13): a run over 10,000 accounts (default) or 100,000
(``--full``: 1,000,000 users) billed by 1, 2 and 4 ``seatledger worker``
processes taking its batches from the PostgreSQL job queue, beside a plain read
of the same rows in the same run.

The book: K template accounts made through the services (a monthly contract from
2026-01-01: ``console`` true_up with 8 seats, ``documents`` metered, ``records``
block; 10 users, created, deactivated, activated and deleted through January),
then copied with COPY (not the API) until there are N accounts with 10 users
each: accounts, workspaces, profiles, contracts and their pools, pools, users,
their workspaces, seats, the seat ledger and the billing states, each template
id renamed per copy. In its own database ``seatledger_bench_scale_<N>`` (kept
between runs unless ``SEATLEDGER_BENCH_SCALE_FRESH=1``), from which every
measured run starts on a fresh copy (CREATE DATABASE … TEMPLATE).

Each run bills everything due on 2026-02-01 (the period invoices of 1 January
and 1 February, with the January true-up and metered arrears: 2 invoices per
account). Figures per worker count: seconds from the run's start to its last
batch committed, invoices per second, the peak RSS of each worker (VmHWM); the
baseline is the same rows read by one process with plain SELECTs (accounts,
states, contracts and their pools, pools, the ledger since each state, markers,
scheduled requests), fetched into Python, in the same run. Goals: ≥ 2,700
invoices/s with 2 workers; the 2-worker run ≤ 5× the plain read; peak RSS at
100,000 accounts < 2× that at 10,000 (``--full`` measures both). With
``--profile`` (or ``--full``) one worker of the 2-worker run is sampled by py-spy.

    .venv/bin/python bench/run.py --only billing-scale             # 10,000 accounts
    .venv/bin/python bench/run.py --only billing-scale --full      # 10,000 and 100,000
"""

from __future__ import annotations

import base64
import io
import os
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from runner import Figure, Goal, Run, load_average, log
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

NAME = "billing-scale"
TEMPLATES = 8
USERS = 10
AS_OF = datetime(2026, 2, 1, tzinfo=UTC)
NOW = datetime(2026, 2, 1, 6, tzinfo=UTC)
START = datetime(2026, 1, 1, tzinfo=UTC)
ACTOR = "operator:bench"
WORKER_COUNTS = (1, 2, 4)
# the tables a copy of an account has rows in, in the order they are written
TABLES = (
    "accounts",
    "profiles",
    "profile_modules",
    "workspaces",
    "contracts",
    "contract_pools",
    "pools",
    "users",
    "user_workspaces",
    "seats",
    "seat_ledger",
    "billing_states",
)


def _at(day: int, hour: int = 9) -> datetime:
    return START + timedelta(days=day - 1, hours=hour)


def make_templates(url: str) -> list[str]:
    """K accounts through the services: a month of seat events each."""
    from seatledger.adapters.db.engine import make_engine
    from seatledger.services import accounts, users
    from seatledger.services.unit_of_work import UnitOfWork

    engine = make_engine(url)
    uow = lambda: UnitOfWork(engine)  # noqa: E731
    ids = []
    try:
        for k in range(TEMPLATES):
            account = accounts.create_account(
                uow(),
                name=f"Scale {k}",
                currency="EUR",
                tax_rate="20",
                at=_at(1, 0) - timedelta(days=20),
            )
            accounts.create_contract(
                uow(),
                account_id=account.id,
                start_date=date(2026, 1, 1),
                end_date=date(2027, 12, 31),
                billing_interval="month",
                pools=[
                    {
                        "module": "console",
                        "capacity": 8,
                        "policy": "true_up",
                        "unit_price": "30.00",
                    },
                    {
                        "module": "documents",
                        "minimum": 2,
                        "policy": "metered",
                        "unit_price": "12.00",
                    },
                    {"module": "records", "capacity": 12, "policy": "block", "unit_price": "9.50"},
                ],
                at=_at(1, 0) - timedelta(days=20),
                actor=ACTOR,
            )
            people = []
            for n in range(USERS):
                made = users.create_user(
                    uow(),
                    account_id=account.id,
                    email=f"person{n}@scale{k}.example.com",
                    first_name="Scale",
                    last_name="Person" + "abcdefghij"[n],
                    at=_at(1 + (n * 3 + k) % 20, 8 + n % 8),
                    actor=ACTOR,
                )
                people.append((made.user.id, n))
            for user_id, n in people[k % 3 :: 4]:  # a few leave for a week, one leaves for good
                users.deactivate_user(
                    uow(), account_id=account.id, user_id=user_id, at=_at(21 + n % 3), actor=ACTOR
                )
                users.activate_user(
                    uow(), account_id=account.id, user_id=user_id, at=_at(28), actor=ACTOR
                )
            users.delete_user(
                uow(), account_id=account.id, user_id=people[-1][0], at=_at(30), actor=ACTOR
            )
            ids.append(account.id)
    finally:
        engine.dispose()
    return ids


def _renamer(copy: int) -> Any:
    """Template id -> the copy's: the last 8 of its 24 base32 characters say the copy."""
    tag = base64.b32encode(copy.to_bytes(5, "big")).decode().lower()

    def rename(value: str) -> str:
        return value[:-8] + tag

    return rename


def generate(admin_url: str, n_accounts: int) -> str:
    """The book's database (made once and kept): its URL."""
    import psycopg

    from seatledger.adapters.db.engine import migrate

    name = f"seatledger_bench_scale_{n_accounts}"
    base = make_url(admin_url).set(drivername="postgresql+psycopg")
    url = base.set(database=name).render_as_string(hide_password=False)
    admin = create_engine(base, poolclass=NullPool, isolation_level="AUTOCOMMIT")
    fresh = os.environ.get("SEATLEDGER_BENCH_SCALE_FRESH", "").strip() not in ("", "0")
    with admin.connect() as conn:
        exists = conn.execute(
            text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}
        ).first()
        if exists and not fresh:
            done = create_engine(url, poolclass=NullPool)
            with done.connect() as c:
                have = c.execute(text("SELECT count(*) FROM accounts")).scalar_one()
            done.dispose()
            if have == n_accounts:
                log(f"{name}: kept from an earlier run ({n_accounts:,} accounts)")
                admin.dispose()
                return url
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    migrate(url)
    started = time.perf_counter()
    templates = make_templates(url)
    log(f"{name}: {len(templates)} template accounts through the services")
    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(dsn) as conn:
        rows: dict[str, list[dict[str, Any]]] = {}
        columns: dict[str, list[str]] = {}
        for table in TABLES:
            cur = conn.execute(f"SELECT * FROM {table}")  # noqa: S608 - our table names
            columns[table] = [d.name for d in cur.description or []]
            rows[table] = [dict(zip(columns[table], r, strict=True)) for r in cur.fetchall()]
        ids = {  # every template id that names a row of the copied tables
            r[c]
            for table in ("accounts", "profiles", "workspaces", "contracts", "pools", "users")
            for r in rows[table]
            for c in ("id",)
        }
        by_account: dict[str, dict[str, list[dict[str, Any]]]] = {
            a: {t: [] for t in TABLES} for a in templates
        }
        owner_of_profile = {r["id"]: r["account_id"] for r in rows["profiles"]}
        owner_of_contract = {r["id"]: r["account_id"] for r in rows["contracts"]}
        owner_of_user = {r["id"]: r["account_id"] for r in rows["users"]}
        for table in TABLES:
            for r in rows[table]:
                owner = (
                    (r["id"] if table == "accounts" else r.get("account_id"))
                    or owner_of_profile.get(r.get("profile_id"))
                    or (
                        owner_of_contract.get(r.get("contract_id"))
                        or owner_of_user.get(r.get("user_id"))
                    )
                )
                by_account[owner][table].append(r)
        next_ledger = conn.execute("SELECT coalesce(max(id), 0) + 1 FROM seat_ledger").fetchone()[0]
        copies = n_accounts - len(templates)
        log(f"{name}: COPY of {copies:,} more accounts ({copies * USERS:,} users)")
        with conn.cursor() as cur:
            for table in TABLES:
                cols = columns[table]
                buffer = io.StringIO()
                written = 0
                for copy in range(1, copies + 1):
                    rename = _renamer(copy)
                    template = templates[copy % len(templates)]
                    for r in by_account[template][table]:
                        out = []
                        for c in cols:
                            v = r[c]
                            if isinstance(v, str) and v in ids:
                                v = rename(v)
                            elif c == "setup_token_hash":
                                v = None
                            elif table == "seat_ledger" and c == "id":
                                v = next_ledger
                                next_ledger += 1
                            out.append(_copy_text(v))
                        buffer.write("\t".join(out) + "\n")
                        written += 1
                    if buffer.tell() > 8_000_000:
                        _flush(cur, table, cols, buffer)
                        buffer = io.StringIO()
                _flush(cur, table, cols, buffer)
                log(f"  {table}: {written:,} rows")
            cur.execute(
                "SELECT setval(pg_get_serial_sequence('seat_ledger', 'id'), "
                "(SELECT max(id) FROM seat_ledger))"
            )
        conn.commit()
        conn.autocommit = True
        # NOTE: only the tables copied into: the documents' tables stay never
        # analyzed, as on a fresh installation. Analyzed while empty, a worker's
        # cached plans would scan them whole for every line (a cliff that only
        # autovacuum's next ANALYZE ends; docs/scaling.md).
        conn.execute(f"VACUUM ANALYZE {', '.join(TABLES)}")
    log(f"{name}: made in {time.perf_counter() - started:.0f} s")
    return url


def _copy_text(value: Any) -> str:
    if value is None:
        return "\\N"
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value).replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")


def _flush(cur: Any, table: str, cols: list[str], buffer: io.StringIO) -> None:
    data = buffer.getvalue()
    if not data:
        return
    with cur.copy(f"COPY {table} ({', '.join(cols)}) FROM STDIN") as copy:
        copy.write(data)


def plain_read(url: str) -> tuple[float, int]:
    """The rows a run reads, by plain SELECTs of one process into Python tuples."""
    import psycopg

    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    started = time.perf_counter()
    rows = 0
    with psycopg.connect(dsn) as conn:
        due = [
            r[0]
            for r in conn.execute(
                "SELECT s.account_id FROM billing_states s JOIN accounts a ON a.id = s.account_id "
                "WHERE s.next_due_at <= %s AND NOT a.test_clock ORDER BY 1",
                (AS_OF,),
            )
        ]
        for start in range(0, len(due), 1000):
            ids = due[start : start + 1000]
            for sql in (
                "SELECT * FROM accounts WHERE id = ANY(%s)",
                "SELECT * FROM billing_states WHERE account_id = ANY(%s)",
                "SELECT * FROM contracts WHERE account_id = ANY(%s)",
                "SELECT p.* FROM contract_pools p JOIN contracts c ON c.id = p.contract_id "
                "WHERE c.account_id = ANY(%s)",
                "SELECT * FROM pools WHERE account_id = ANY(%s) AND NOT retired",
                "SELECT l.* FROM seat_ledger l LEFT JOIN billing_states s USING (account_id) "
                "WHERE l.account_id = ANY(%s) AND (s.since IS NULL OR l.at >= s.since)",
                "SELECT * FROM billing_markers WHERE account_id = ANY(%s)",
                "SELECT * FROM seat_requests WHERE account_id = ANY(%s) AND status = 'scheduled'",
                "SELECT * FROM invoices WHERE account_id = ANY(%s)",
            ):
                rows += len(conn.execute(sql, (ids,)).fetchall())
    return time.perf_counter() - started, rows


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def billed_by_workers(run: Run, book_url: str, workers: int, label: str) -> dict[str, Any]:
    """A fresh copy of the book billed by ``workers`` worker processes."""
    from seatledger.adapters.db.engine import make_engine
    from seatledger.entrypoints import billing_runs
    from seatledger.services import billing
    from seatledger.services.unit_of_work import UnitOfWork

    book = make_url(book_url)
    name = f"{book.database}_run{workers}"
    admin = create_engine(
        book.set(database="postgres"), poolclass=NullPool, isolation_level="AUTOCOMMIT"
    )
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{book.database}"'))
    url = book.set(database=name).render_as_string(hide_password=False)
    env = {
        **os.environ,
        "SEATLEDGER_DATABASE_URL": url,
        "SEATLEDGER_WORKER_HEARTBEAT": "1",
        "SEATLEDGER_WORKER_STALLED_AFTER": "30",
    }
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "seatledger.entrypoints.cli", "worker"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(workers)
    ]
    engine = make_engine(url)
    try:
        deadline = time.monotonic() + 60
        with engine.connect() as conn:
            while (
                conn.execute(text("SELECT count(*) FROM procrastinate_workers")).scalar_one()
                < workers
            ):
                assert time.monotonic() < deadline, "the workers did not start"
                time.sleep(0.1)
                conn.rollback()
        plain_s, plain_rows = plain_read(url)
        load_before = load_average()
        started = time.perf_counter()
        begun = billing_runs.start(engine, as_of=AS_OF, now=NOW)
        assert begun.queued, "the run was not queued"
        profile = (run.profile or run.full) and workers == 2
        if profile:
            from runner import py_spy

            with py_spy(run, procs[0].pid, f"billing worker {label}", seconds=20):
                done = billing_runs.wait(engine, begun.run.id, timeout=None)
            raw = run.profile_dir / f"billing-worker-{label}.txt"
            if raw.exists():
                run.profiles[f"billing worker {label}"] = summarize_worker(raw)
        else:
            done = billing_runs.wait(engine, begun.run.id, timeout=None)
        seconds = time.perf_counter() - started
        rss = [round(peak_rss_mb(p.pid), 1) for p in procs]
        result = {
            "workers": workers,
            "accounts": done.accounts,
            "invoices": done.invoices_issued,
            "failures": len(done.failures),
            "batches": done.batches_total,
            "seconds": round(seconds, 2),
            "invoices_per_s": round(done.invoices_issued / seconds, 1),
            "peak_rss_mb": rss,
            "plain_read_s": round(plain_s, 2),
            "plain_read_rows": plain_rows,
            "load_average_before": load_before,
            "load_average_after": load_average(),
        }
        log(f"{label} {workers} workers: {result}")
        assert done.status == "done" and not done.failures, done.failures[:3]
        del billing, UnitOfWork
        return result
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(60)
            except subprocess.TimeoutExpired:
                p.kill()
        engine.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def summarize_worker(raw: Path, top: int = 18) -> str:
    """py-spy's raw stacks of a worker: busy samples by own time, and the project's
    frames by inclusive time."""
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    busy = 0
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        frames, n = stack.split(";"), int(count)
        if not any("seatledger/" in f for f in frames):
            continue  # the event loop's thread, idle
        busy += n
        own[frames[-1]] += n
        for frame in set(frames):
            inclusive[frame] += n
    if not busy:
        return "  no busy samples"
    lines = [f"  the batch thread: {busy} samples; by own time:"]
    lines += [f"    {n / busy:6.1%}  {f[:110]}" for f, n in own.most_common(top)]
    lines.append("   seatledger frames by inclusive time:")
    shown = [(f, n) for f, n in inclusive.most_common() if "seatledger/" in f]
    lines += [f"    {n / busy:6.1%}  {f[:110]}" for f, n in shown[:top]]
    return "\n".join(lines)


def measure_once(run: Run) -> list[Figure]:
    if "postgres" not in run.backends:
        return []
    scales = [10_000, 100_000] if run.full else [10_000]
    if os.environ.get("SEATLEDGER_BENCH_SCALE_ACCOUNTS"):  # a smaller book, to try it
        scales = [int(os.environ["SEATLEDGER_BENCH_SCALE_ACCOUNTS"])]
    found: dict[int, dict[int, dict[str, Any]]] = {}
    figures_first: list[Figure] = []
    for n in scales:
        book = generate(run.postgres_url, n)
        if n == scales[0]:
            figures_first = single_database_limits(book)
        counts = os.environ.get("SEATLEDGER_BENCH_SCALE_WORKERS")  # e.g. "2,4,1"
        found[n] = {
            w: billed_by_workers(run, book, w, f"{n / 1000:g}k")
            for w in ([int(c) for c in counts.split(",")] if counts else WORKER_COUNTS)
        }
    figures: list[Figure] = list(figures_first)
    for n, by_workers in found.items():
        label = f"{n / 1000:g}k"
        for w, r in by_workers.items():
            figures.append(
                Figure(
                    id=f"billing-scale-{label}-{w}w",
                    name=f"run of {n:,} accounts, {w} worker{'s' if w > 1 else ''}: seconds",
                    value=r["seconds"],
                    unit="s",
                    baseline_name="plain SELECT of the same rows",
                    baseline_value=r["plain_read_s"],
                    goal=Goal("<=", 5.0),
                    details=r,
                )
            )
        two = by_workers.get(2)
        if two is None:
            continue
        figures.append(
            Figure(
                id=f"billing-scale-{label}-rate",
                name=f"invoices/s, {n:,} accounts, 2 workers",
                value=two["invoices_per_s"],
                unit="/s",
                baseline_name="goal",
                baseline_value=2700.0,
                goal=Goal(">=", 2700.0, on="value"),
                details={w: r["invoices_per_s"] for w, r in by_workers.items()},
            )
        )
    if 10_000 in found and 100_000 in found:
        small = max(max(r["peak_rss_mb"]) for r in found[10_000].values())
        big = max(max(r["peak_rss_mb"]) for r in found[100_000].values())
        figures.append(
            Figure(
                id="billing-scale-memory",
                name="peak worker RSS, 100,000 accounts",
                value=big,
                unit="MB",
                baseline_name="at 10,000 accounts",
                baseline_value=small,
                goal=Goal("<=", 2.0),
            )
        )
    return figures


# ------------------------------------------- what limits one PostgreSQL (docs/scaling.md)


def commits_per_second(url: str, *, synchronous: bool, n: int = 400) -> float:
    """One-row INSERT + COMMIT transactions of one connection, one after another:
    with synchronous_commit on, each waits for its WAL flush (fsync)."""
    import psycopg

    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(dsn) as conn:
        conn.execute("CREATE TEMP TABLE bench_commits (n int)")
        conn.execute(f"SET synchronous_commit = {'on' if synchronous else 'off'}")
        conn.commit()
        started = time.perf_counter()
        for k in range(n):
            conn.execute("INSERT INTO bench_commits VALUES (%s)", (k,))
            conn.commit()
        return n / (time.perf_counter() - started)


def statements_of_a_batch(book_url: str) -> dict[str, Any]:
    """One batch of the book billed in this process on a fresh copy, its
    statements counted by what they touch: the batch's own accounts' rows (which
    a Citus cluster keeps on the accounts' shard) or rows of the installation
    (number sequences, the run's row, its batch row, the job queue)."""
    from sqlalchemy import event

    from seatledger.adapters.db.engine import make_engine
    from seatledger.services import billing
    from seatledger.services.unit_of_work import UnitOfWork

    book = make_url(book_url)
    name = f"{book.database}_statements"
    admin = create_engine(
        book.set(database="postgres"), poolclass=NullPool, isolation_level="AUTOCOMMIT"
    )
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{book.database}"'))
    engine = make_engine(book.set(database=name).render_as_string(hide_password=False))
    kinds: Counter[str] = Counter()
    installation = ("number_sequences", "billing_runs", "billing_run_batches", "procrastinate")

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        sql = " ".join(statement.split()).lower()
        if sql.startswith(("savepoint", "release savepoint", "rollback to")):
            kinds["savepoint"] += 1
        elif any(f" {table}" in sql for table in installation) or "pg_advisory" in sql:
            kinds["installation-wide"] += 1
        else:
            kinds["the batch's accounts"] += 1

    try:
        uow = lambda: UnitOfWork(engine)  # noqa: E731
        run, work = billing.start_run(uow(), as_of=AS_OF, now=NOW, queue=False)
        event.listen(engine, "before_cursor_execute", count)
        started = time.perf_counter()
        billing.bill_batch(uow, work[0], at=NOW)
        seconds = time.perf_counter() - started
        event.remove(engine, "before_cursor_execute", count)
        return {
            "accounts": len(work[0].account_ids),
            "seconds": round(seconds, 2),
            **dict(kinds),
        }
    finally:
        engine.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def single_database_limits(book_url: str) -> list[Figure]:
    on = commits_per_second(book_url, synchronous=True)
    off = commits_per_second(book_url, synchronous=False)
    batch = statements_of_a_batch(book_url)
    log(f"commits/s: {on:.0f} (synchronous_commit on) vs {off:.0f} (off); one batch: {batch}")
    return [
        Figure(
            id="billing-scale-fsync",
            name="one-row commits/s, synchronous_commit on (an fsync each)",
            value=round(on, 1),
            unit="/s",
            baseline_name="synchronous_commit off",
            baseline_value=round(off, 1),
            goal=Goal(">=", 0.0),  # a fact about the machine, for docs/scaling.md
        ),
        Figure(
            id="billing-scale-batch-statements",
            name=f"statements of one {batch['accounts']}-account batch touching installation rows",
            value=batch.get("installation-wide", 0),
            unit="",
            baseline_name="all its statements",
            baseline_value=sum(v for k, v in batch.items() if k not in ("accounts", "seconds")),
            goal=Goal("<=", 0.05),
            details=batch,
        ),
    ]
