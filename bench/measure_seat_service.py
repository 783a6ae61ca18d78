"""Seat activate/deactivate through the service layer vs the raw driver.

``users.activate_user`` / ``users.deactivate_user`` (each its own transaction,
starting with the account lock) with 1, 8 and 32 concurrent clients (threads),
next to the same guarded ``UPDATE pools … WHERE in_use < capacity`` + ``INSERT
INTO seat_ledger`` + ``COMMIT`` sent straight through the driver (psycopg with
autocommit off; sqlite3 with make_engine's pragmas) by as many threads. One op
is one activate or one deactivate; each client works on its own user, so none
is refused. The two paths alternate in slices, so drift on a shared machine
hits both. Goal: service/raw ≥ 0.5. With ``--profile``: statements per op and a
pyinstrument profile of a 1-client service loop.

Beside them, in each figure's details, the floor: the statements the service
sends for the same op (tests/services/test_statement_counts.py lists them), with
the same audit entries hashed by domain.audit.chain, sent by the driver with
nothing between (no SQLAlchemy, no unit of work), and on PostgreSQL the same
writes pipelined: what the rules' statements cost on this machine, the service's
limit short of sending fewer of them.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from runner import (
    ACTOR,
    MODULE,
    Backend,
    Figure,
    Goal,
    Run,
    log,
    pyinstrument_profile,
    seed_account,
)
from sqlalchemy import Engine, event

from seatledger.adapters.db.engine import make_engine
from seatledger.domain import audit
from seatledger.domain.ids import new_id
from seatledger.services import users
from seatledger.services.unit_of_work import UnitOfWork

NAME = "seats"
GOAL = 0.5
CLIENTS = [1, 8, 32]

# The raw path: the guarded UPDATE and the ledger INSERT the service sends.
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
    """The same guarded UPDATE + ledger INSERT + COMMIT through the driver, one
    transaction per op (psycopg: autocommit off; sqlite3: explicit BEGIN, as
    make_engine does)."""

    def __init__(self, backend: Backend, account_id: str, pool_id: str, user_id: str) -> None:
        self.sqlite = backend.name == "sqlite"
        self.conn = backend.raw_factory()
        self.cur = self.conn.cursor()
        self.account_id, self.pool_id, self.user_id = account_id, pool_id, user_id
        marks = (lambda q: q.replace("%s", "?")) if self.sqlite else (lambda q: q)
        self.take, self.release, self.ledger = marks(PG_TAKE), marks(PG_RELEASE), marks(PG_LEDGER)

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


# The floor's statements: the service's (repositories' SQL), written for the driver.
_FLOOR_LOCK_SQLITE = (
    "UPDATE accounts SET lock_version = lock_version + 1 WHERE id = ? RETURNING *, "
    "(SELECT position FROM audit_heads WHERE chain = accounts.id), "
    "(SELECT hash FROM audit_heads WHERE chain = accounts.id)"
)
_FLOOR_LOCK_POSTGRES = (
    "SELECT a.*, h.position, h.hash FROM (SELECT * FROM accounts WHERE id = %s "
    "FOR NO KEY UPDATE) AS a LEFT JOIN LATERAL (SELECT position, hash FROM audit_heads "
    "WHERE chain = a.id FOR NO KEY UPDATE) AS h ON true"
)
_FLOOR_USER = (
    "SELECT users.*, (SELECT {agg}(workspace_id, ' ') FROM user_workspaces "
    "WHERE user_id = users.id), seats.module, seats.pool_id FROM users "
    "LEFT JOIN seats ON seats.user_id = users.id WHERE users.id = %s AND users.account_id = %s"
)
_FLOOR_TERMS = (
    "SELECT pools.*, profiles.id, profiles.name, profiles.all_modules, profiles.is_default, "
    "(SELECT {agg}(module, ' ') FROM profile_modules WHERE profile_id = %s), "
    "(SELECT end_date FROM contracts WHERE account_id = %s ORDER BY version DESC LIMIT 1) "
    "FROM pools LEFT JOIN profiles ON profiles.id = %s AND profiles.account_id = pools.account_id "
    "WHERE pools.account_id = %s AND NOT pools.retired ORDER BY pools.module"
)
_FLOOR_SEAT_ADD = (
    "INSERT INTO seats (user_id, module, pool_id, account_id, taken_at) VALUES (%s, %s, %s, %s, %s)"
)
_FLOOR_SEAT_REMOVE = "DELETE FROM seats WHERE user_id = %s AND module = %s"
_FLOOR_USER_SAVE = (
    "UPDATE users SET email = %s, email_key = %s, first_name = %s, last_name = %s, "
    "department = %s, role = %s, status = %s, profile_id = %s, valid_to = %s, "
    "updated_at = %s, external_id = %s, listed_emails = %s WHERE id = %s"
)
_FLOOR_EVENTS = (
    "INSERT INTO audit_events (id, chain, position, account_id, type, at, actor, subject, "
    "before, after, request_id, hash) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
)
_FLOOR_HEAD = (
    "UPDATE audit_heads SET position = %s, hash = %s WHERE chain = %s AND position = %s "
    "RETURNING chain, (SELECT position FROM audit_heads AS i WHERE i.chain = 'installation'), "
    "(SELECT hash FROM audit_heads AS i WHERE i.chain = 'installation'){notify}"
)


# The users columns the audit log shows of a user (before/after).
_USER_FIELDS = (
    "id",
    "account_id",
    "email",
    "email_key",
    "first_name",
    "last_name",
    "department",
    "role",
    "status",
    "profile_id",
    "valid_to",
)


def _event_row(entry: audit.AuditEntry, at: Any) -> tuple[Any, ...]:
    return (
        entry.id,
        entry.chain,
        entry.position,
        entry.account_id,
        entry.type,
        at,
        entry.actor,
        entry.subject,
        entry.before,
        entry.after,
        entry.request_id,
        entry.hash,
    )


class FloorClient(RawClient):
    """The service's statements for activate / deactivate of one user (member,
    default profile), through the driver: one transaction per op."""

    def __init__(self, backend: Backend, account_id: str, pool_id: str, user_id: str) -> None:
        super().__init__(backend, account_id, pool_id, user_id)
        pg = not self.sqlite
        marks = (lambda q: q.replace("%s", "?")) if self.sqlite else (lambda q: q)
        agg = "string_agg" if pg else "group_concat"
        self.lock = _FLOOR_LOCK_POSTGRES if pg else _FLOOR_LOCK_SQLITE
        self.user = marks(_FLOOR_USER.format(agg=agg))
        self.terms = marks(_FLOOR_TERMS.format(agg=agg))
        self.seat_add, self.seat_remove = marks(_FLOOR_SEAT_ADD), marks(_FLOOR_SEAT_REMOVE)
        self.user_save, self.events = marks(_FLOOR_USER_SAVE), marks(_FLOOR_EVENTS)
        notify = ", pg_notify('audit_events', chain)" if pg else ""
        self.head = marks(_FLOOR_HEAD.format(notify=notify))

    def _floor(self, activate: bool) -> None:
        cur, at, moment = self.cur, self._now(), datetime.now(UTC)
        kind, delta, cause = ("seat_taken", 1, "activate")
        if not activate:
            kind, delta, cause = ("seat_released", -1, "deactivate")
        try:
            if self.sqlite:
                cur.execute("BEGIN")
            # PostgreSQL: the writes are sent without waiting, as the service's are
            with self.conn.pipeline() if not self.sqlite else contextlib.nullcontext():
                cur.execute(self.lock, (self.account_id,))
                *_, position, head_hash = cur.fetchone()
                cur.execute(self.user, (self.user_id, self.account_id))
                user = cur.fetchall()[0][:-3]  # the users columns
                if activate:
                    profile = user[9]
                    cur.execute(self.terms, (profile, self.account_id, profile, self.account_id))
                    cur.fetchall()
                    cur.execute(self.take, (self.pool_id,))
                    in_use, capacity = cur.fetchone()
                    seat_row = (self.user_id, MODULE, self.pool_id, self.account_id, at)
                    cur.execute(self.seat_add, seat_row)
                else:
                    cur.execute(self.release, (self.pool_id,))
                    in_use, capacity = cur.fetchone()
                    cur.execute(self.seat_remove, (self.user_id, MODULE))
                entry = (self.account_id, self.pool_id, MODULE, kind, self.user_id, delta)
                cur.execute(self.ledger, (*entry, in_use, capacity, False, at, ACTOR, cause))
                status = "active" if activate else "inactive"
                saved = (*user[2:8], status, *user[9:11], at, *user[15:17], self.user_id)
                cur.execute(self.user_save, saved)
                seat = {
                    "user_id": self.user_id,
                    "module": MODULE,
                    "pool_id": self.pool_id,
                    "cause": cause,
                    "in_use": in_use,
                    "capacity": capacity,
                }
                was = dict(zip(_USER_FIELDS, user, strict=False))
                changes = [
                    audit.Change(
                        "seat.taken" if activate else "seat.released",
                        f"seat:{self.user_id}:{MODULE}",
                        self.account_id,
                        moment,
                        before=None if activate else audit.plain(seat),
                        after=audit.plain(seat) if activate else None,
                    ),
                    audit.Change(
                        "user.activated" if activate else "user.deactivated",
                        f"user:{self.user_id}",
                        self.account_id,
                        moment,
                        before=audit.plain(was),
                        after=audit.plain({**was, "status": status}),
                    ),
                ]
                entries, head = audit.chain(
                    changes,
                    head=audit.Head(position, head_hash),
                    ids=(new_id("evt") for _ in changes),
                    actor=ACTOR,
                    request_id=None,
                )
                cur.executemany(self.events, [_event_row(e, at) for e in entries])
                cur.execute(self.head, (head.position, head.hash, self.account_id, position))
                cur.fetchall()
                if not self.sqlite:
                    cur.execute("COMMIT")  # with the writes, as the service sends it
            if self.sqlite:
                cur.execute("COMMIT")
        except BaseException:
            if self.sqlite:
                with contextlib.suppress(sqlite3.Error):
                    cur.execute("ROLLBACK")
            else:
                self.conn.rollback()
            raise

    def activate(self) -> None:
        self._floor(True)

    def deactivate(self) -> None:
        self._floor(False)


@dataclass
class Ops:
    ops: int
    seconds: float
    errors: int = 0
    first_error: str | None = None

    @property
    def rate(self) -> float:
        return self.ops / self.seconds if self.seconds else 0.0

    def __add__(self, other: Ops) -> Ops:
        return Ops(
            self.ops + other.ops,
            self.seconds + other.seconds,
            self.errors + other.errors,
            self.first_error or other.first_error,
        )


def run_clients(make_client: Callable[[int], Any], n: int, seconds: float) -> Ops:
    """``n`` threads, each: warm up, wait at the barrier, then activate and
    deactivate its own user until told to stop. The time runs from the barrier
    until the last client finished its pair (nothing in flight is dropped)."""
    barrier = threading.Barrier(n + 1)
    stop = threading.Event()
    ops = [0] * n
    errors = [0] * n
    first_error: list[str] = []

    def work(i: int) -> None:
        client = None
        try:
            client = make_client(i)
            for _ in range(3):
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
    time.sleep(seconds)
    stop.set()
    for th in threads:
        th.join()
    return Ops(
        sum(ops), time.perf_counter() - t0, sum(errors), first_error[0] if first_error else None
    )


def measure(run: Run, backend: Backend) -> list[Figure]:
    seconds = run.pick(3.0, 12.0)
    rounds = run.pick(2, 4)
    counts = CLIENTS
    engine = make_engine(backend.url)
    figures = []
    try:
        n_max = max(counts)
        log(f"seats, {backend.name}: seeding 2 accounts x {n_max} users")
        svc_account, _, svc_users = seed_account(engine, label="svc", n_users=n_max, active=False)
        raw_account, raw_pool, raw_users = seed_account(
            engine, label="raw", n_users=n_max, active=False
        )
        floor_account, floor_pool, floor_users = seed_account(
            engine, label="floor", n_users=n_max, active=False
        )
        for n in counts:
            log(f"seats, {backend.name}: {n} client(s), {rounds} x {seconds / rounds:g} s a path")
            svc = raw = floor = Ops(0, 0.0)
            for _ in range(rounds):
                svc += run_clients(
                    lambda i: ServiceClient(engine, svc_account, svc_users[i]), n, seconds / rounds
                )
                raw += run_clients(
                    lambda i: RawClient(backend, raw_account, raw_pool, raw_users[i]),
                    n,
                    seconds / rounds,
                )
                floor += run_clients(
                    lambda i: FloorClient(backend, floor_account, floor_pool, floor_users[i]),
                    n,
                    seconds / rounds,
                )
            figures.append(
                Figure(
                    id=f"seats.service.{backend.name}.{n}",
                    name=f"seat ops, service, {backend.name}, {n} client{'s' * (n > 1)}",
                    value=svc.rate,
                    unit="ops/s",
                    baseline_name="raw driver, same clients",
                    baseline_value=raw.rate,
                    goal=Goal(">=", GOAL),
                    details={
                        "service": vars(svc),
                        "raw": vars(raw),
                        # the service's own statements through the driver (see FloorClient)
                        "floor": {**vars(floor), "rate": floor.rate},
                        "floor_ratio": floor.rate / raw.rate if raw.rate else None,
                        "service_of_floor": svc.rate / floor.rate if floor.rate else None,
                        "seconds_each": seconds,
                        "rounds": rounds,
                    },
                )
            )
        one = figures[0].details
        one["statements_per_op"] = statements_per_op(engine, svc_account, svc_users[0])
        if run.profile:
            client = ServiceClient(engine, svc_account, svc_users[0])

            def loop() -> None:
                t0 = time.perf_counter()
                while time.perf_counter() - t0 < 3:
                    client.activate()
                    client.deactivate()

            pyinstrument_profile(run, f"seat service path, {backend.name}, 1 client", loop)
    finally:
        engine.dispose()
    return figures


def statements_per_op(engine: Engine, account_id: str, user_id: str) -> dict[str, float]:
    """The statements one service op sends, by kind (over 20 pairs)."""
    kinds: Counter[str] = Counter()

    def count(conn, cursor, statement, *args):  # type: ignore[no-untyped-def]
        words = statement.split()
        verb = words[0].upper() if words else "?"
        if verb in ("UPDATE", "INSERT", "DELETE") and len(words) > 2:
            target = words[2] if verb != "UPDATE" else words[1]
            kinds[f"{verb} {target}"] += 1
        elif verb == "SELECT" and " FROM " in statement:
            kinds["SELECT FROM " + statement.split(" FROM ", 1)[1].split()[0]] += 1
        else:
            kinds[verb] += 1

    client = ServiceClient(engine, account_id, user_id)
    event.listen(engine, "before_cursor_execute", count)
    try:
        for _ in range(20):
            client.activate()
            client.deactivate()
    finally:
        event.remove(engine, "before_cursor_execute", count)
    per_op = {k: round(v / 40, 2) for k, v in kinds.most_common()}
    return {"total": round(sum(kinds.values()) / 40, 2), **per_op}
