"""The audit log's chain on both databases (PRODUCT.md §7, issue 10): every
tampering done behind the application's back (an entry edited, deleted in the
middle or at the tail, two entries' positions swapped, an entry added past the
head, the head changed or removed) is named by the real ``seatledger audit
verify`` (exit code 1, the chain and the position of the first broken link); an
intact log exits 0. The append-only triggers refuse every change of the log, 32
concurrent writers on one account leave one gapless, unbroken chain, and
migration 0007 goes down to 0006 and up again.

Behind the application's back: on PostgreSQL a transaction in replica mode
(``SET LOCAL session_replication_role = replica``: no ordinary trigger fires);
on SQLite the log's triggers dropped in the tampering transaction and created
again before it commits.
"""

from __future__ import annotations

import threading
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from alembic import command
from sqlalchemy import Connection, Engine, insert, inspect, select, text
from sqlalchemy.exc import DBAPIError
from typer.testing import CliRunner

from seatledger.adapters.db import tables as t
from seatledger.adapters.db.engine import alembic_config, make_engine
from seatledger.adapters.db.rows import as_values
from seatledger.domain import audit
from seatledger.entrypoints import cli
from seatledger.services import accounts
from seatledger.services.audit import verify_audit
from seatledger.services.unit_of_work import UnitOfWork

Uow = Callable[[], UnitOfWork]
START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
OPERATOR = "operator:opk_test"
_E = t.audit_events.c


def populated_account(uow: Uow, name: str = "Acme") -> str:
    """An account with a chain of 7 entries: created, a contract (the version and
    its pool's capacity), two workspaces, a profile, an update."""
    account = accounts.create_account(uow(), name=name, currency="EUR", at=START)
    accounts.create_contract(
        uow(),
        account_id=account.id,
        start_date=date(2026, 1, 1),
        billing_interval="month",
        pools=[{"module": "console", "capacity": 5, "unit_price": "10.00", "policy": "block"}],
        at=START,
        actor=OPERATOR,
    )
    for team in ("Sales", "Support"):
        accounts.create_workspace(uow(), account_id=account.id, name=team, at=START)
    accounts.create_profile(
        uow(), account_id=account.id, name="Console", modules=["console"], at=START
    )
    # an instant with microseconds: they are part of what the hash covers
    later = START.replace(microsecond=123456)
    accounts.update_account(uow(), account_id=account.id, name=f"{name} GmbH", at=later)
    return account.id


def positions(engine: Engine, chain: str) -> list[int]:
    with engine.connect() as conn:
        return list(
            conn.execute(
                select(_E.position).where(_E.chain == chain).order_by(_E.position)
            ).scalars()
        )


@pytest.fixture
def verify(db_url: str, monkeypatch: pytest.MonkeyPatch) -> Callable[..., Any]:
    """``seatledger audit verify [ARGS]``, the real command on this test's database."""
    monkeypatch.setenv("SEATLEDGER_DATABASE_URL", db_url)
    runner = CliRunner()
    return lambda *args: runner.invoke(cli.app, ["audit", "verify", *args])


@contextmanager
def behind_the_back(engine: Engine) -> Iterator[Connection]:
    """A transaction in which the log's append-only triggers do not fire."""
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SET LOCAL session_replication_role = replica"))
            yield conn
            return
        triggers = conn.execute(
            text(
                "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' "
                "AND tbl_name IN ('audit_events', 'audit_heads')"
            )
        ).all()
        assert len(triggers) == 4, triggers
        for name, _ in triggers:
            conn.exec_driver_sql(f"DROP TRIGGER {name}")
        yield conn
        for _, sql in triggers:
            conn.exec_driver_sql(sql)


def _swap(conn: Connection, chain: str, a: int, b: int) -> None:
    for old, new in ((a, -1), (b, a), (-1, b)):
        conn.execute(
            t.audit_events.update()
            .where(_E.chain == chain, _E.position == old)
            .values(position=new)
        )


def _append_past_head(conn: Connection, chain: str) -> None:
    """A perfectly linked entry after the last one, the head left as it was."""
    last = conn.execute(
        select(_E.position, _E.hash).where(_E.chain == chain).order_by(_E.position.desc())
    ).first()
    assert last is not None
    change = audit.Change(
        "account.updated", f"account:{chain}", chain, START, after={"name": "Forged"}
    )
    (entry,), _ = audit.chain(
        [change],
        head=audit.Head(last.position, last.hash),
        ids=["evt_forged0000000000000"],
        actor=OPERATOR,
        request_id=None,
    )
    conn.execute(insert(t.audit_events).values(as_values(entry)))


def _where(chain: str, position: int) -> str:
    return f"chain = '{chain}' AND position = {position}"


# name: (tampering, the position verify must name)
TAMPERINGS: dict[str, tuple[Callable[[Connection, str], None], int]] = {
    "an entry's actor edited": (
        lambda c, a: c.exec_driver_sql(
            f"UPDATE audit_events SET actor = 'operator:intruder' WHERE {_where(a, 3)}"
        ),
        3,
    ),
    "an entry's after edited": (
        lambda c, a: c.exec_driver_sql(
            f"UPDATE audit_events SET after = replace(after, 'Sales', 'Sale$') WHERE {_where(a, 4)}"
        ),
        4,
    ),
    "an entry deleted in the middle": (
        lambda c, a: c.exec_driver_sql(f"DELETE FROM audit_events WHERE {_where(a, 4)}"),
        4,
    ),
    "the last two entries deleted": (
        lambda c, a: c.exec_driver_sql(
            f"DELETE FROM audit_events WHERE chain = '{a}' AND position >= 6"
        ),
        6,
    ),
    "two entries' positions swapped": (lambda c, a: _swap(c, a, 2, 5), 2),
    "an entry added past the head": (_append_past_head, 8),
    "the head's hash changed": (
        lambda c, a: c.exec_driver_sql(
            f"UPDATE audit_heads SET hash = '{'0' * 64}' WHERE chain = '{a}'"
        ),
        7,
    ),
    "the head removed": (
        lambda c, a: c.exec_driver_sql(f"DELETE FROM audit_heads WHERE chain = '{a}'"),
        7,
    ),
}


def test_an_intact_log_verifies_and_exits_0(uow_factory: Uow, engine: Engine, verify) -> None:
    account_id = populated_account(uow_factory)
    populated_account(uow_factory, "Other")
    assert positions(engine, account_id) == [1, 2, 3, 4, 5, 6, 7]

    result = verify()
    assert result.exit_code == 0, result.output
    assert "Audit log intact" in result.output and "14 entries" in result.output
    only = verify("--account", account_id)
    assert only.exit_code == 0 and "1 chains, 7 entries" in only.output


@pytest.mark.parametrize("tampering", list(TAMPERINGS), ids=list(TAMPERINGS))
def test_verify_names_the_first_broken_link_of_a_tampered_chain_and_exits_1(
    tampering: str, uow_factory: Uow, engine: Engine, verify
) -> None:
    account_id = populated_account(uow_factory)
    intact = populated_account(uow_factory, "Other")
    tamper, position = TAMPERINGS[tampering]

    with behind_the_back(engine) as conn:
        tamper(conn, account_id)

    result = verify()
    assert result.exit_code == 1, result.output
    broken = [line for line in result.output.splitlines() if line.startswith("Broken:")]
    assert len(broken) == 1, result.output  # the other account's chain is intact
    assert f"Broken: chain {account_id} at entry {position}:" in broken[0]
    assert verify("--account", intact).exit_code == 0
    alone = verify("--account", account_id)
    assert alone.exit_code == 1 and f"at entry {position}:" in alone.output
    # the triggers are back: the application's database guards the log again
    with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
        conn.exec_driver_sql(f"DELETE FROM audit_events WHERE chain = '{intact}'")


def test_verify_of_an_unknown_account_is_an_error_not_a_pass(uow_factory: Uow, verify) -> None:
    populated_account(uow_factory)
    result = verify("--account", "acc_00000000000000000000")
    assert result.exit_code == 2 and "not found" in result.output


# ----------------------------------------------------------------- append-only


def _refusals(backend: str) -> list[tuple[str, str]]:
    refused = [
        ("UPDATE audit_events SET actor = 'x' WHERE chain = :a", "append-only"),
        ("DELETE FROM audit_events WHERE chain = :a AND position = 7", "append-only"),
        ("UPDATE audit_heads SET position = position - 1 WHERE chain = :a", "only moves forward"),
        ("UPDATE audit_heads SET position = 0, hash = '' WHERE chain = :a", "only moves forward"),
        ("UPDATE audit_heads SET chain = 'elsewhere' WHERE chain = :a", "only moves forward"),
        ("DELETE FROM audit_heads WHERE chain = :a", "never removed"),
    ]
    if backend == "postgres":
        refused += [
            ("TRUNCATE audit_events CASCADE", "TRUNCATE is refused"),
            ("TRUNCATE audit_heads", "TRUNCATE is refused"),
        ]
    return refused


def test_the_triggers_refuse_to_change_or_remove_entries_and_to_move_a_head_back(
    uow_factory: Uow, engine: Engine, backend: str, verify
) -> None:
    account_id = populated_account(uow_factory)
    for statement, message in _refusals(backend):
        with pytest.raises(DBAPIError, match=message), engine.begin() as conn:
            conn.execute(text(statement), {"a": account_id})
    assert positions(engine, account_id) == [1, 2, 3, 4, 5, 6, 7]
    assert verify().exit_code == 0


# ----------------------------------------------------------------- concurrency

WRITERS = 32


def test_32_concurrent_writers_on_one_account_leave_one_gapless_unbroken_chain(
    db_url: str, verify
) -> None:
    """Each writer is a thread with its own unit of work (and connection) making
    three changes, one transaction each, all started at once."""
    engine = make_engine(db_url, pool_size=WRITERS, max_overflow=0)
    try:

        def uow() -> UnitOfWork:
            return UnitOfWork(engine)

        account_id = accounts.create_account(uow(), name="Busy", currency="EUR", at=START).id
        start = threading.Barrier(WRITERS)
        failures: list[str] = []

        def writer(n: int) -> None:
            try:
                start.wait(timeout=60)
                at = START + timedelta(seconds=n)
                accounts.create_workspace(uow(), account_id=account_id, name=f"Team {n}", at=at)
                accounts.update_account(uow(), account_id=account_id, name=f"Busy {n}", at=at)
                accounts.create_profile(
                    uow(), account_id=account_id, name=f"Profile {n}", modules=[], at=at
                )
            except Exception:
                failures.append(traceback.format_exc())

        threads = [threading.Thread(target=writer, args=(n,)) for n in range(WRITERS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        assert not any(thread.is_alive() for thread in threads), "a writer never finished"
        assert failures == []

        expected = 1 + 3 * WRITERS
        assert positions(engine, account_id) == list(range(1, expected + 1))
        with uow() as u:
            head = u.audit_log.heads(account_id)[account_id]
            types = list(
                u.conn.execute(
                    select(_E.type).where(_E.chain == account_id).order_by(_E.position)
                ).scalars()
            )
        assert head.position == expected
        assert types.count("workspace.created") == types.count("profile.created") == WRITERS
        assert types.count("account.updated") == WRITERS
        result = verify_audit(lambda **kw: UnitOfWork(engine, **kw), account_id=account_id)
        assert (result.breaks, result.entries) == ([], expected)
    finally:
        engine.dispose()
    assert verify().exit_code == 0


# ------------------------------------------------------------------- migration

_EVENTS_TABLES = {"audit_events", "audit_heads", "webhook_endpoints", "webhook_deliveries"}


def _schema(engine: Engine) -> tuple[set[str], set[str], set[str]]:
    """The tables, the audit triggers, and users' and workspaces' columns."""
    with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            query = "SELECT tgname FROM pg_trigger WHERE NOT tgisinternal"
        else:
            query = "SELECT name FROM sqlite_master WHERE type = 'trigger'"
        triggers = {n for n in conn.execute(text(query)).scalars() if n.startswith("audit_")}
        inspector = inspect(conn)
        columns = {
            f"{table}.{c['name']}"
            for table in ("users", "workspaces")
            for c in inspector.get_columns(table)
        }
        return set(inspector.get_table_names()), triggers, columns


def test_migration_0007_downgrades_to_0006_and_upgrades_again(
    db_url: str, engine: Engine, uow_factory: Uow, verify
) -> None:
    account_id = populated_account(uow_factory)
    config = alembic_config(db_url)
    engine.dispose()
    at_head = _schema(engine)
    try:
        command.downgrade(config, "0007")  # what later revisions add is theirs
        engine.dispose()
        tables, triggers, columns = at_0007 = _schema(engine)
        assert _EVENTS_TABLES | {"scim_tokens"} <= tables and len(triggers) >= 3
        command.downgrade(config, "0006")
        engine.dispose()
        down_tables, down_triggers, down_columns = _schema(engine)
        assert tables - down_tables == _EVENTS_TABLES | {"scim_tokens"}
        assert down_triggers == set()
        assert columns - down_columns == {"users.external_id", "workspaces.external_id"}
        command.upgrade(config, "0007")
        engine.dispose()
        assert _schema(engine) == at_0007
    finally:
        command.upgrade(config, "head")
        engine.dispose()
    assert _schema(engine) == at_head

    # the accounts of before the revision start their chain at 1, from a head at 0
    with uow_factory() as u:
        heads = u.audit_log.heads()
    assert heads[account_id] == audit.Head(0, "")
    assert heads[audit.INSTALLATION_CHAIN] == audit.Head(0, "")
    accounts.create_workspace(uow_factory(), account_id=account_id, name="After", at=START)
    assert positions(engine, account_id) == [1]
    assert verify().exit_code == 0
    with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
        conn.exec_driver_sql("DELETE FROM audit_events")
