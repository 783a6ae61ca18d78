#!/usr/bin/env python
"""seatledger benchmark: prints figures, asserts nothing.

1. Seat activate/deactivate through the service layer (``users.activate_user`` /
   ``users.deactivate_user``, each its own transaction that starts with the
   account lock) with 1, 8 and 32 concurrent clients (threads), next to the same
   guarded ``UPDATE pools ... WHERE in_use < capacity`` + ``INSERT INTO
   seat_ledger`` + ``COMMIT`` issued directly through the driver (psycopg /
   sqlite3, same pragmas) by the same number of clients, in the same run.
   One op = one activate or one deactivate; each client works on its own user,
   so no op is refused. Goal: service/raw >= 0.5.

2. Access checks over HTTP: a real ``seatledger serve`` subprocess (its own
   process, so the load does not share its GIL), hammered with POST
   /v1/access/check by N keep-alive connections (an asyncio raw-HTTP load
   generator in this process), next to GET /v1/health on the same server under
   the same load. Goal: check/health >= 0.8.

``--profile`` adds a breakdown of one service op (statements, time in the
driver, time in COMMIT, the rest = Python) and a cProfile of a 1-client run.

Databases: SQLite in a temp dir; PostgreSQL in a scratch database
``seatledger_bench_<pid>`` created from SEATLEDGER_BENCH_POSTGRES_URL (default
postgresql+psycopg://postgres@127.0.0.1:5432/test) and dropped at the end.

    .venv/bin/python bench/seats.py                 # full run, ~2 min
    .venv/bin/python bench/seats.py --quick         # ~30 s
    .venv/bin/python bench/seats.py --backends sqlite --clients 1,8 --profile
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import io
import os
import pstats
import secrets
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, event
from sqlalchemy.engine import make_url

from seatledger.adapters.db.engine import make_engine, migrate
from seatledger.services import access, accounts, users
from seatledger.services.unit_of_work import UnitOfWork

DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
ACTOR = "operator:bench"
MODULE = "console"
SERVICE_GOAL = 0.5
HTTP_GOAL = 0.8

# The raw path: the same guarded UPDATE and ledger INSERT the service issues.
PG_TAKE = (
    "UPDATE pools SET in_use = in_use + 1 WHERE id = %s AND in_use < capacity "
    "RETURNING in_use, capacity"
)
PG_RELEASE = "UPDATE pools SET in_use = in_use - 1 WHERE id = %s RETURNING in_use, capacity"
PG_LEDGER = (
    "INSERT INTO seat_ledger (account_id, pool_id, module, kind, user_id, delta, "
    "in_use_after, capacity_after, purchased, at, actor, cause) "
    "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
)
LITE_TAKE = PG_TAKE.replace("%s", "?")
LITE_RELEASE = PG_RELEASE.replace("%s", "?")
LITE_LEDGER = PG_LEDGER.replace("%s", "?")


def log(msg: str) -> None:
    print(f"  .. {msg}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- databases


@dataclass
class Backend:
    name: str
    url: str  # SQLAlchemy URL
    raw_factory: Callable[[], Any]  # a new DB-API connection for the raw path
    sqlite_path: Path | None = None


@contextlib.contextmanager
def sqlite_backend(tmp: Path) -> Iterator[Backend]:
    path = tmp / "bench.db"
    url = f"sqlite:///{path}"
    migrate(url)

    def connect() -> sqlite3.Connection:
        # Same settings as make_engine: autocommit driver, explicit BEGIN, WAL,
        # synchronous=FULL, long busy timeout, foreign keys on.
        con = sqlite3.connect(path, timeout=60, isolation_level=None, check_same_thread=False)
        con.execute("PRAGMA journal_mode=WAL")
        con.execute("PRAGMA synchronous=FULL")
        con.execute("PRAGMA busy_timeout=60000")
        con.execute("PRAGMA foreign_keys=ON")
        return con

    yield Backend("sqlite", url, connect, sqlite_path=path)


@contextlib.contextmanager
def postgres_backend(admin_url: str) -> Iterator[Backend]:
    import psycopg

    base = make_url(admin_url)
    name = f"seatledger_bench_{os.getpid()}"

    def libpq(u: Any) -> str:
        parts = {
            "host": u.host or "127.0.0.1",
            "port": u.port or 5432,
            "user": u.username or "postgres",
            "dbname": u.database,
            "password": u.password,
        }
        return " ".join(f"{k}={v}" for k, v in parts.items() if v)

    admin = psycopg.connect(libpq(base), autocommit=True)
    try:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')
        target = base.set(database=name, drivername="postgresql+psycopg")
        url = target.render_as_string(hide_password=False)
        migrate(url)
        dsn = libpq(target)
        yield Backend("postgres", url, lambda: psycopg.connect(dsn, autocommit=False))
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


def seed_account(
    engine: Engine, *, label: str, n_users: int, active: bool, capacity: int = 100_000
) -> tuple[str, str, list[str]]:
    """One account, one ``block`` pool with ample capacity, ``n_users`` users.
    Returns (account id, pool id, user ids)."""

    def uow() -> UnitOfWork:
        return UnitOfWork(engine)

    now = datetime.now(UTC)
    account = accounts.create_account(uow(), name=f"Bench {label}", currency="EUR", at=now)
    accounts.create_contract(
        uow(),
        account_id=account.id,
        start_date=date(now.year, 1, 1),
        billing_interval="month",
        pools=[{"module": MODULE, "capacity": capacity, "policy": "block", "unit_price": "10.00"}],
        at=now,
        actor=ACTOR,
    )
    ids = [
        users.create_user(
            uow(),
            account_id=account.id,
            email=f"{label}-{i}@bench.example",
            first_name="Bench",
            last_name=f"User {chr(65 + i % 26)}",
            at=now,
            actor=ACTOR,
            active=active,
        ).user.id
        for i in range(n_users)
    ]
    pool = next(p for p in access.list_pools(uow(), account_id=account.id) if p.module == MODULE)
    return account.id, pool.id, ids


# --------------------------------------------------------------------------- clients (part 1)


class ServiceClient:
    """Activate / deactivate one user through the service layer."""

    def __init__(self, engine: Engine, account_id: str, user_id: str) -> None:
        self.engine, self.account_id, self.user_id = engine, account_id, user_id

    def activate(self) -> None:
        users.activate_user(
            UnitOfWork(self.engine),
            account_id=self.account_id,
            user_id=self.user_id,
            at=datetime.now(UTC),
            actor=ACTOR,
        )

    def deactivate(self) -> None:
        users.deactivate_user(
            UnitOfWork(self.engine),
            account_id=self.account_id,
            user_id=self.user_id,
            at=datetime.now(UTC),
            actor=ACTOR,
        )

    def close(self) -> None:
        pass


class RawClient:
    """The same guarded UPDATE + ledger INSERT + COMMIT through the driver,
    one transaction per op (psycopg: autocommit off; sqlite3: explicit BEGIN,
    as make_engine does)."""

    def __init__(self, backend: Backend, account_id: str, pool_id: str, user_id: str) -> None:
        self.sqlite = backend.name == "sqlite"
        self.conn = backend.raw_factory()
        self.cur = self.conn.cursor()
        self.account_id, self.pool_id, self.user_id = account_id, pool_id, user_id
        if self.sqlite:
            self.take, self.release, self.ledger = LITE_TAKE, LITE_RELEASE, LITE_LEDGER
        else:
            self.take, self.release, self.ledger = PG_TAKE, PG_RELEASE, PG_LEDGER

    def _now(self) -> Any:
        now = datetime.now(UTC)
        # SQLAlchemy stores naive UTC text on SQLite (adapters/db/types.py).
        return now.replace(tzinfo=None).isoformat(sep=" ") if self.sqlite else now

    def _op(self, update_sql: str, kind: str, delta: int, cause: str) -> None:
        cur = self.cur
        try:
            if self.sqlite:
                cur.execute("BEGIN")
            cur.execute(update_sql, (self.pool_id,))
            row = cur.fetchone()
            if row is None:
                raise RuntimeError("raw take refused: pool full")
            cur.execute(
                self.ledger,
                (
                    self.account_id,
                    self.pool_id,
                    MODULE,
                    kind,
                    self.user_id,
                    delta,
                    row[0],
                    row[1],
                    False,
                    self._now(),
                    ACTOR,
                    cause,
                ),
            )
            if self.sqlite:
                cur.execute("COMMIT")
            else:
                self.conn.commit()
        except BaseException:
            if self.sqlite:
                with contextlib.suppress(sqlite3.Error):
                    cur.execute("ROLLBACK")
            else:
                self.conn.rollback()
            raise

    def activate(self) -> None:
        self._op(self.take, "seat_taken", +1, "activate")

    def deactivate(self) -> None:
        self._op(self.release, "seat_released", -1, "deactivate")

    def close(self) -> None:
        self.cur.close()
        self.conn.close()


@dataclass
class RunResult:
    ops: int
    seconds: float
    errors: int = 0
    first_error: str | None = None

    @property
    def rate(self) -> float:
        return self.ops / self.seconds if self.seconds else 0.0

    def __add__(self, other: RunResult) -> RunResult:
        return RunResult(
            self.ops + other.ops,
            self.seconds + other.seconds,
            self.errors + other.errors,
            self.first_error or other.first_error,
        )


def run_clients(
    make_client: Callable[[int], Any], n: int, duration: float, warmup_pairs: int = 3
) -> RunResult:
    """n threads, each: warm up, wait at the barrier, then activate+deactivate
    its own user until told to stop. Elapsed time runs from the barrier until
    the last client finished its current pair (nothing in flight is dropped)."""
    barrier = threading.Barrier(n + 1)
    stop = threading.Event()
    ops = [0] * n
    errors = [0] * n
    first_error: list[str] = []

    def work(i: int) -> None:
        client = None
        try:
            client = make_client(i)
            for _ in range(warmup_pairs):
                client.activate()
                client.deactivate()
        except Exception as exc:  # noqa: BLE001 - a benchmark reports, it does not stop
            first_error.append(f"setup/warm-up: {exc!r}")
            errors[i] += 1
        try:
            barrier.wait()
        except threading.BrokenBarrierError:
            return
        try:
            while client is not None and not stop.is_set():
                for op in (client.activate, client.deactivate):
                    try:
                        op()
                        ops[i] += 1
                    except Exception as exc:  # noqa: BLE001
                        errors[i] += 1
                        if not first_error:
                            first_error.append(repr(exc)[:300])
        finally:
            if client is not None:
                client.close()

    threads = [threading.Thread(target=work, args=(i,), daemon=True) for i in range(n)]
    for th in threads:
        th.start()
    barrier.wait()
    t0 = time.perf_counter()
    time.sleep(duration)
    stop.set()
    for th in threads:
        th.join()
    t1 = time.perf_counter()
    return RunResult(sum(ops), t1 - t0, sum(errors), first_error[0] if first_error else None)


@dataclass
class SeatRow:
    backend: str
    clients: int
    service: RunResult
    raw: RunResult

    @property
    def ratio(self) -> float:
        return self.service.rate / self.raw.rate if self.raw.rate else float("nan")


def bench_seats(
    backend: Backend, clients: list[int], duration: float, rounds: int
) -> list[SeatRow]:
    """Per client count: service and raw alternate in ``rounds`` slices of
    ``duration / rounds`` each, so slow drift on a shared machine (other
    processes, WAL checkpoints, table growth) hits both paths alike."""
    n_max = max(clients)
    engine = make_engine(backend.url)
    try:
        log(f"{backend.name}: seeding 2 accounts x {n_max} users")
        svc_account, _, svc_users = seed_account(engine, label="svc", n_users=n_max, active=False)
        raw_account, raw_pool, raw_users = seed_account(
            engine, label="raw", n_users=n_max, active=False
        )
        rows: list[SeatRow] = []
        part = duration / rounds
        for n in clients:
            log(f"{backend.name}: {n} client(s), service and raw, {rounds} x {part:g}s each")
            svc = raw = RunResult(0, 0.0)
            for _ in range(rounds):
                svc += run_clients(
                    lambda i: ServiceClient(engine, svc_account, svc_users[i]), n, part
                )
                raw += run_clients(
                    lambda i: RawClient(backend, raw_account, raw_pool, raw_users[i]), n, part
                )
            rows.append(SeatRow(backend.name, n, svc, raw))
        return rows
    finally:
        engine.dispose()


def print_seat_table(rows: list[SeatRow]) -> None:
    print()
    print(
        "Seat activate/deactivate: service layer vs raw UPDATE+INSERT+COMMIT "
        f"(ops/s; goal service/raw >= {SERVICE_GOAL})"
    )
    head = (
        f"{'backend':<9} {'clients':>7} {'service ops/s':>14} {'raw ops/s':>10} "
        f"{'service/raw':>12} {'goal':>5} {'errors svc/raw':>15}"
    )
    print(head)
    print("-" * len(head))
    for r in rows:
        ok = "met" if r.ratio >= SERVICE_GOAL else "BELOW"
        print(
            f"{r.backend:<9} {r.clients:>7} {r.service.rate:>14.1f} {r.raw.rate:>10.1f} "
            f"{r.ratio:>12.2f} {ok:>5} {f'{r.service.errors}/{r.raw.errors}':>15}"
        )
    for r in rows:
        for path, res in (("service", r.service), ("raw", r.raw)):
            if res.first_error:
                print(
                    f"  ! {r.backend} {r.clients} clients {path}: {res.errors} error(s), "
                    f"first: {res.first_error}"
                )


# --------------------------------------------------------------------------- profile


def _statement_key(statement: str) -> str:
    words = statement.split()
    if not words:
        return "?"
    verb = words[0].upper()
    if verb in ("UPDATE", "DELETE", "INSERT"):
        target = words[2] if verb in ("DELETE", "INSERT") and len(words) > 2 else words[1]
        return f"{verb} {target}"
    if verb == "SELECT" and " FROM " in statement:
        return "SELECT FROM " + statement.split(" FROM ", 1)[1].split()[0]
    return verb


def breakdown(
    engine: Engine,
    op: Callable[[], int],
    title: str,
    duration: float,
    reference_ms: str | None = None,
) -> None:
    """Where one op's time goes, 1 client: statements, time inside the driver's
    execute, time in COMMIT, the rest (Python: SQLAlchemy Core, repositories,
    domain, unit of work); then a cProfile of the same loop. ``op()`` runs some
    ops and returns how many."""
    for _ in range(5):
        op()
    stats = {"stmts": 0, "exec": 0.0, "commit": 0.0}
    kinds: dict[str, int] = {}
    started: dict[int, float] = {}

    def before(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        started[id(cursor)] = time.perf_counter()

    def after(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        stats["exec"] += time.perf_counter() - started.pop(id(cursor), time.perf_counter())
        stats["stmts"] += 1
        key = _statement_key(statement)
        kinds[key] = kinds.get(key, 0) + 1

    dialect = engine.dialect
    original_commit = dialect.do_commit

    def timed_commit(dbapi_connection):  # type: ignore[no-untyped-def]
        t = time.perf_counter()
        try:
            return original_commit(dbapi_connection)
        finally:
            stats["commit"] += time.perf_counter() - t

    event.listen(engine, "before_cursor_execute", before)
    event.listen(engine, "after_cursor_execute", after)
    dialect.do_commit = timed_commit  # type: ignore[method-assign]
    try:
        ops = 0
        t0 = time.perf_counter()
        while time.perf_counter() - t0 < duration:
            ops += op()
        elapsed = time.perf_counter() - t0
    finally:
        event.remove(engine, "before_cursor_execute", before)
        event.remove(engine, "after_cursor_execute", after)
        dialect.do_commit = original_commit  # type: ignore[method-assign]

    per = 1000.0 / ops
    total, exec_ms, commit_ms = elapsed * per, stats["exec"] * per, stats["commit"] * per
    print()
    print(f"{title}: {ops / elapsed:.0f} ops/s, 1 client (instrumented)")
    print(f"  statements per op: {stats['stmts'] / ops:.1f}")
    for key, count in sorted(kinds.items(), key=lambda kv: (-kv[1], kv[0])):
        print(f"    {count / ops:5.2f}/op  {key}")
    print(
        f"  per op: {total:.3f} ms = {exec_ms:.3f} ms in driver execute (round trips) "
        f"+ {commit_ms:.3f} ms in COMMIT + {total - exec_ms - commit_ms:.3f} ms Python "
        f"(SQLAlchemy Core, repositories, domain, unit of work)"
    )
    if reference_ms:
        print(f"  {reference_ms}")

    prof = cProfile.Profile()
    ops = 0
    t0 = time.perf_counter()
    prof.enable()
    while time.perf_counter() - t0 < duration:
        ops += op()
    prof.disable()
    out = io.StringIO()
    ps = pstats.Stats(prof, stream=out).strip_dirs()
    ps.sort_stats("tottime").print_stats(15)
    ps.sort_stats("cumulative").print_stats(22)
    print(
        f"  cProfile over {ops} ops (the profiler inflates Python time), "
        "by own time, then by cumulative time:"
    )
    for line in out.getvalue().splitlines():
        if (
            line.strip()
            and not line.lstrip().startswith(("Ordered by", "List reduced"))
            and "function calls" not in line
        ):
            print("    " + line)


async def _asgi_call(
    app: Any, method: str, path: str, headers: list[tuple[bytes, bytes]], body: bytes = b""
) -> int:
    """One request straight into the ASGI app: no socket, no HTTP parsing."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 80),
        "headers": headers + [(b"content-length", str(len(body)).encode())],
    }
    sent = False
    status = 0

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        await asyncio.sleep(3600)
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    await app(scope, receive, send)
    return status


def profile_http_app(engine: Engine, account_id: str, user_id: str, duration: float) -> None:
    """The access check and /v1/health inside the FastAPI app, sequential, in
    this process (no uvicorn, no sockets): per-request cost with FastAPI's
    threadpool hops, then with every hop run inline (counting them), then a
    cProfile of the inline check. Diagnostics only: the patch of FastAPI's
    run_in_threadpool lives in this process and is undone at the end."""
    import json

    import fastapi.dependencies.utils as fdu
    import fastapi.routing as fr

    from seatledger.entrypoints.api.app import create_app

    key = "bench-" + secrets.token_hex(16)
    auth = [
        (b"host", b"127.0.0.1"),
        (b"authorization", f"Bearer {key}".encode()),
        (b"content-type", b"application/json"),
    ]
    body = json.dumps({"account_id": account_id, "user_id": user_id, "module": MODULE}).encode()
    calls = {
        "check": ("POST", "/v1/access/check", body),
        "health": ("GET", "/v1/health", b""),
    }
    original = (fr.run_in_threadpool, fdu.run_in_threadpool)
    hops = [0]

    async def inline(func: Any, *args: Any, **kwargs: Any) -> Any:
        hops[0] += 1
        return func(*args, **kwargs)

    def loop(
        app: Any, label: str, seconds: float, prof: cProfile.Profile | None = None
    ) -> tuple[float, int]:
        method, path, data = calls[label]

        async def run() -> tuple[float, int]:
            for _ in range(20):
                await _asgi_call(app, method, path, auth, data)
            hops[0] = 0
            n, bad = 0, 0
            if prof:
                prof.enable()
            t0 = time.perf_counter()
            while time.perf_counter() - t0 < seconds:
                bad += await _asgi_call(app, method, path, auth, data) != 200
                n += 1
            elapsed = time.perf_counter() - t0
            if prof:
                prof.disable()
            if bad:
                print(f"  ! {label}: {bad} non-200 answers")
            return elapsed * 1000.0 / n, n

        return asyncio.run(run())

    app = create_app(engine=engine, operator_key=key)
    seconds = max(1.0, duration / 2)
    threaded = {label: loop(app, label, seconds)[0] for label in calls}
    fr.run_in_threadpool = fdu.run_in_threadpool = inline  # type: ignore[assignment]
    try:
        app = create_app(engine=engine, operator_key=key)
        inline_ms, hop_count = {}, {}
        for label in calls:
            inline_ms[label], n = loop(app, label, seconds)
            hop_count[label] = hops[0] / n
        prof = cProfile.Profile()
        loop(app, "check", seconds, prof)
    finally:
        fr.run_in_threadpool, fdu.run_in_threadpool = original  # type: ignore[assignment]
    print()
    print(
        f"The access check inside the FastAPI app (no uvicorn, no socket), "
        f"{engine.dialect.name}, 1 client, ms per request:"
    )
    print(f"  {'':8} {'as served':>10} {'hops inline':>12} {'threadpool hops':>16}")
    for label in calls:
        print(
            f"  {label:8} {threaded[label]:>10.3f} {inline_ms[label]:>12.3f} "
            f"{hop_count[label]:>16.0f}"
        )
    print(
        "  ('as served': each sync dependency, the sync endpoint and the response "
        "validation go through anyio's threadpool, one hop each)"
    )
    out = io.StringIO()
    ps = pstats.Stats(prof, stream=out).strip_dirs()
    ps.sort_stats("cumulative").print_stats(30)
    print("  cProfile of the check, hops inline, by cumulative time:")
    for line in out.getvalue().splitlines():
        if (
            line.strip()
            and not line.lstrip().startswith(("Ordered by", "List reduced"))
            and "function calls" not in line
        ):
            print("    " + line)


def profile(backend: Backend, duration: float, raw_rate: float | None) -> None:
    engine = make_engine(backend.url)
    try:
        account_id, _, [user_id] = seed_account(engine, label="prof", n_users=1, active=False)
        client = ServiceClient(engine, account_id, user_id)

        def seat_pair() -> int:
            client.activate()
            client.deactivate()
            return 2

        breakdown(
            engine,
            seat_pair,
            f"Service seat op (activate/deactivate), {backend.name}",
            duration,
            f"raw path, 1 client, same run: {1000.0 / raw_rate:.3f} ms per op"
            if raw_rate
            else None,
        )

        client.activate()

        def check() -> int:
            answer = access.check_access(
                UnitOfWork(engine),
                account_id=account_id,
                user_id=user_id,
                module=MODULE,
                at=datetime.now(UTC),
            )
            if not answer.allowed:
                raise RuntimeError(f"unexpected access answer {answer}")
            return 1

        breakdown(
            engine, check, f"access.check_access in-process (no HTTP), {backend.name}", duration
        )
        profile_http_app(engine, account_id, user_id, duration)
    finally:
        engine.dispose()


# --------------------------------------------------------------------------- part 2: HTTP


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def proc_cpu_seconds(pid: int) -> float | None:
    """utime + stime of a process from /proc (Linux), in seconds."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


@dataclass
class HttpResult:
    requests: int
    seconds: float
    errors: int
    server_cpu: float | None  # share of one core
    client_cpu: float  # share of one core
    statuses: dict[int, int] = field(default_factory=dict)

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def build_request(method: str, path: str, key: str, body: bytes | None = None) -> bytes:
    lines = [
        f"{method} {path} HTTP/1.1",
        "Host: 127.0.0.1",
        f"Authorization: Bearer {key}",
        "Accept: application/json",
        "Connection: keep-alive",
    ]
    if body is not None:
        lines += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + (body or b"")


async def _connection(
    port: int, requests: list[bytes], offset: int, stop_at: float, counts: dict[str, Any]
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    i = offset
    try:
        while time.perf_counter() < stop_at:
            writer.write(requests[i % len(requests)])
            i += 1
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head[9:12])
            length = 0
            for line in head.split(b"\r\n")[1:]:
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
                    break
            if length:
                await reader.readexactly(length)
            counts["statuses"][status] = counts["statuses"].get(status, 0) + 1
            if status == 200:
                counts["ok"] += 1
            else:
                counts["errors"] += 1
    finally:
        writer.close()
        with contextlib.suppress(Exception):
            await writer.wait_closed()


def hammer(
    port: int, requests: list[bytes], connections: int, duration: float, server_pid: int
) -> HttpResult:
    """``connections`` keep-alive connections, each sending the next request as
    soon as the previous answer is in, for ``duration`` seconds."""
    counts: dict[str, Any] = {"ok": 0, "errors": 0, "statuses": {}}

    async def main() -> float:
        t0 = time.perf_counter()
        stop_at = t0 + duration
        await asyncio.gather(
            *(_connection(port, requests, k * 7, stop_at, counts) for k in range(connections))
        )
        return time.perf_counter() - t0

    s0, c0 = proc_cpu_seconds(server_pid), time.process_time()
    elapsed = asyncio.run(main())
    s1, c1 = proc_cpu_seconds(server_pid), time.process_time()
    server_cpu = (s1 - s0) / elapsed if s0 is not None and s1 is not None else None
    return HttpResult(
        counts["ok"], elapsed, counts["errors"], server_cpu, (c1 - c0) / elapsed, counts["statuses"]
    )


@contextlib.contextmanager
def server(url: str, key: str, logdir: Path, name: str) -> Iterator[tuple[int, int]]:
    port = free_port()
    env = dict(os.environ, SEATLEDGER_DATABASE_URL=url, SEATLEDGER_OPERATOR_KEY=key)
    logfile = logdir / f"server-{name}.log"
    with open(logfile, "wb") as out:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "seatledger.entrypoints.cli",
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
            ],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                raise RuntimeError(
                    f"server exited ({proc.returncode}):\n" + logfile.read_text()[-2000:]
                )
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/health", timeout=1):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(
                        "server did not come up:\n" + logfile.read_text()[-2000:]
                    ) from None
                time.sleep(0.2)
        yield port, proc.pid
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@dataclass
class HttpRow:
    backend: str
    connections: int
    check: HttpResult
    health: HttpResult

    @property
    def ratio(self) -> float:
        return self.check.rate / self.health.rate if self.health.rate else float("nan")


def bench_http(
    backend: Backend, connections: int, duration: float, warmup: float, logdir: Path
) -> HttpRow:
    engine = make_engine(backend.url)
    try:
        log(f"{backend.name}: seeding the access-check account (50 active users)")
        account_id, _, user_ids = seed_account(engine, label="http", n_users=50, active=True)
    finally:
        engine.dispose()
    key = "bench-" + secrets.token_hex(16)
    import json

    checks = [
        build_request(
            "POST",
            "/v1/access/check",
            key,
            json.dumps({"account_id": account_id, "user_id": u, "module": MODULE}).encode(),
        )
        for u in user_ids
    ]
    health = [build_request("GET", "/v1/health", key)]
    log(f"{backend.name}: starting seatledger serve")
    with server(backend.url, key, logdir, backend.name) as (port, pid):
        probe = urllib.request.Request(
            f"http://127.0.0.1:{port}/v1/access/check",
            method="POST",
            data=json.dumps(
                {"account_id": account_id, "user_id": user_ids[0], "module": MODULE}
            ).encode(),
            headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(probe, timeout=10) as resp:
            answer = json.loads(resp.read())
        if not answer.get("allowed"):
            print(f"  ! {backend.name}: probe access check answered {answer}")
        results = {}
        for label, reqs in (("check", checks), ("health", health)):
            log(
                f"{backend.name}: {label}, {connections} connections, "
                f"{warmup:g}s warm-up + {duration:g}s"
            )
            hammer(port, reqs, connections, warmup, pid)
            results[label] = hammer(port, reqs, connections, duration, pid)
    return HttpRow(backend.name, connections, results["check"], results["health"])


def print_http_table(rows: list[HttpRow]) -> None:
    print()
    print(
        "Access checks over HTTP vs GET /v1/health, same server, same load "
        f"(req/s; goal check/health >= {HTTP_GOAL})"
    )
    head = (
        f"{'backend':<9} {'conns':>5} {'check req/s':>12} {'health req/s':>13} "
        f"{'check/health':>13} {'goal':>5} {'errors':>7} {'server CPU':>15} "
        f"{'loadgen CPU':>15}"
    )
    print(head)
    print("-" * len(head))

    def cpu(a: float | None, b: float | None) -> str:
        return "n/a" if a is None or b is None else f"{a:.0%}/{b:.0%}"

    for r in rows:
        ok = "met" if r.ratio >= HTTP_GOAL else "BELOW"
        print(
            f"{r.backend:<9} {r.connections:>5} {r.check.rate:>12.1f} {r.health.rate:>13.1f} "
            f"{r.ratio:>13.2f} {ok:>5} {r.check.errors + r.health.errors:>7} "
            f"{cpu(r.check.server_cpu, r.health.server_cpu):>15} "
            f"{cpu(r.check.client_cpu, r.health.client_cpu):>15}"
        )
    print("  (CPU: share of one core, check/health; the server is one uvicorn process)")
    for r in rows:
        for label, res in (("check", r.check), ("health", r.health)):
            if res.errors:
                print(f"  ! {r.backend} {label}: statuses {res.statuses}")


# --------------------------------------------------------------------------- main


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument(
        "--duration",
        type=float,
        default=None,
        help="seconds per measurement (default 5; 1 with --quick)",
    )
    p.add_argument(
        "--clients",
        default=None,
        help="concurrent clients for the seat bench, comma-separated "
        "(default 1,8,32; 1,8 with --quick)",
    )
    p.add_argument(
        "--backends",
        default="sqlite,postgres",
        help="comma-separated: sqlite, postgres (default both)",
    )
    p.add_argument(
        "--http-connections",
        type=int,
        default=8,
        help="concurrent keep-alive connections for the HTTP bench (default 8)",
    )
    p.add_argument(
        "--rounds",
        type=int,
        default=None,
        help="service and raw alternate in this many slices per measurement "
        "(default 2; 1 with --quick)",
    )
    p.add_argument("--only", choices=("seats", "http"), default=None, help="run one part only")
    p.add_argument(
        "--profile",
        action="store_true",
        help="also break down a 1-client service op and cProfile it",
    )
    p.add_argument("--quick", action="store_true", help="a fast run (about 30 s)")
    p.add_argument(
        "--postgres-url",
        default=os.environ.get("SEATLEDGER_BENCH_POSTGRES_URL") or DEFAULT_POSTGRES_URL,
        help="maintenance database to create the scratch database from",
    )
    args = p.parse_args(argv)
    args.duration = args.duration or (1.0 if args.quick else 5.0)
    args.clients = [
        int(c)
        for c in (args.clients or ("1,8" if args.quick else "1,8,32")).split(",")
        if c.strip()
    ]
    args.backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    unknown = set(args.backends) - {"sqlite", "postgres"}
    if unknown:
        p.error(f"unknown backend(s): {', '.join(sorted(unknown))}")
    args.warmup = 0.3 if args.quick else 1.0
    args.rounds = max(1, args.rounds or (1 if args.quick else 2))
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    started = time.perf_counter()
    print(
        f"seatledger bench — load average {os.getloadavg()[0]:.2f} at start; "
        f"python {sys.version.split()[0]}, sqlite {sqlite3.sqlite_version}, "
        f"{os.cpu_count()} CPUs, {args.duration:g}s per measurement, "
        f"clients {','.join(map(str, args.clients))}, backends {','.join(args.backends)}"
    )
    tmp = Path(tempfile.mkdtemp(prefix="seatledger-bench-"))
    seat_rows: list[SeatRow] = []
    http_rows: list[HttpRow] = []
    profiles: list[str] = []
    try:
        for name in args.backends:
            cm = sqlite_backend(tmp) if name == "sqlite" else postgres_backend(args.postgres_url)
            try:
                with cm as backend:
                    if args.only in (None, "seats"):
                        rows = bench_seats(backend, args.clients, args.duration, args.rounds)
                        seat_rows += rows
                        if args.profile:
                            one = next((r for r in rows if r.clients == 1), None)
                            log(f"{name}: profiling the service path, 1 client")
                            out = io.StringIO()
                            with contextlib.redirect_stdout(out):
                                profile(backend, args.duration, one.raw.rate if one else None)
                            profiles.append(out.getvalue())
                    if args.only in (None, "http"):
                        http_rows.append(
                            bench_http(
                                backend, args.http_connections, args.duration, args.warmup, tmp
                            )
                        )
            except Exception as exc:  # noqa: BLE001 - report and go on with the next backend
                print(f"\n! {name}: benchmark failed: {exc!r}", flush=True)
        if seat_rows:
            print_seat_table(seat_rows)
        if http_rows:
            print_http_table(http_rows)
        for text in profiles:
            print(text, end="")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(
        f"\n(total {time.perf_counter() - started:.0f}s; load average "
        f"{os.getloadavg()[0]:.2f} at the end: other processes on this machine skew the "
        "figures)"
    )


if __name__ == "__main__":
    main()
