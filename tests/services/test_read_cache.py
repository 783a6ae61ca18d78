"""The read cache (adapters/db/read_cache.py) under the access check and the
operator keys, on SQLite and PostgreSQL: a kept answer reads nothing; a change
made by this process is seen by its next read; a change made through another
engine (another process, as far as this one can tell: other connections, no
shared memory) within the bound; a read that started before a commit is never
kept; nothing is used while the watcher is not hearing commits."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import Engine, event, text

from seatledger.adapters.db import read_cache
from seatledger.adapters.db.engine import make_engine
from seatledger.adapters.db.read_cache import INSTALLATION, LIVE_SECONDS, POLL_SECONDS, ReadCache
from seatledger.services import access, accounts, operator_keys, users
from seatledger.services.secrets import hash_token
from seatledger.services.unit_of_work import UnitOfWork

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
OPERATOR = "operator:test"
BOUND = 1.0  # seconds: the promise (docs/access.md); LIVE_SECONDS is the mechanism's


@pytest.fixture
def cache(engine: Engine) -> Iterator[ReadCache]:
    kept = ReadCache(engine)
    kept.start()
    deadline = time.monotonic() + 10
    while not kept.live:
        assert time.monotonic() < deadline, "the read cache's watcher did not start"
        time.sleep(0.01)
    yield kept
    kept.stop()


@pytest.fixture
def elsewhere(db_url: str) -> Iterator[Engine]:
    """Another engine on the same database: its commits reach the cache only
    through the database (LISTEN/NOTIFY, data_version), as another process's do."""
    other = make_engine(db_url)
    yield other
    other.dispose()


@contextmanager
def statements(engine: Engine) -> Iterator[list[str]]:
    sent: list[str] = []

    def count(conn, cursor, statement, *args):  # type: ignore[no-untyped-def]
        sent.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield sent
    finally:
        event.remove(engine, "before_cursor_execute", count)


def account_with_user(engine: Engine) -> tuple[str, str]:
    def uow() -> UnitOfWork:
        return UnitOfWork(engine)

    account = accounts.create_account(uow(), name="Acme", currency="EUR", at=NOW)
    accounts.create_contract(
        uow(),
        account_id=account.id,
        start_date=date(2026, 1, 1),
        billing_interval="month",
        pools=[{"module": "console", "capacity": 5, "policy": "block", "unit_price": "30.00"}],
        at=NOW,
        actor=OPERATOR,
    )
    user = users.create_user(
        uow(),
        account_id=account.id,
        email="ada@example.com",
        first_name="Ada",
        last_name="Lovelace",
        at=NOW,
        actor=OPERATOR,
    ).user
    return account.id, user.id


def check(engine: Engine, cache: ReadCache | None, account_id: str, user_id: str) -> str:
    return access.check_access(
        UnitOfWork(engine),
        account_id=account_id,
        user_id=user_id,
        module="console",
        at=NOW,
        cache=cache,
    ).reason


def deactivate(engine: Engine, account_id: str, user_id: str) -> None:
    users.deactivate_user(
        UnitOfWork(engine), account_id=account_id, user_id=user_id, at=NOW, actor=OPERATOR
    )


def kept(engine: Engine, read: Callable[[], object]) -> None:
    """Reads until a read sends no statement (on PostgreSQL the notification of
    a commit made before a read may land after it and drop what it kept)."""
    deadline = time.monotonic() + BOUND
    while True:
        with statements(engine) as sent:
            read()
        if not sent:
            return
        assert time.monotonic() < deadline, f"still read after {BOUND}s: {sent}"


def seconds_until(condition: Callable[[], bool], *, within: float) -> float:
    start = time.monotonic()
    while not condition():
        elapsed = time.monotonic() - start
        assert elapsed < within, f"not seen within {within}s"
        time.sleep(0.01)
    return time.monotonic() - start


def test_a_kept_answer_reads_nothing_and_a_change_by_this_process_is_read_at_once(engine, cache):
    account_id, user_id = account_with_user(engine)
    other_account, other_user = account_with_user(engine)
    assert check(engine, cache, account_id, user_id) == "ok"
    kept(engine, lambda: check(engine, cache, other_account, other_user))
    kept(engine, lambda: check(engine, cache, account_id, user_id))
    # SQLite: the seeding's commits, heard by a later poll, drop what was read after
    # them; once the watcher has looked at both heads, only a move of a head drops.
    time.sleep(3 * POLL_SECONDS)
    kept(engine, lambda: check(engine, cache, other_account, other_user))
    kept(engine, lambda: check(engine, cache, account_id, user_id))

    deactivate(engine, account_id, user_id)

    with statements(engine) as sent:
        assert check(engine, cache, account_id, user_id) == "inactive"
    assert len(sent) == 1  # the facts, read again
    with statements(engine) as sent:
        assert check(engine, cache, other_account, other_user) == "ok"
    assert sent == []  # another account's entries stay


def test_a_change_committed_elsewhere_is_answered_within_the_bound(engine, cache, elsewhere):
    account_id, user_id = account_with_user(engine)
    assert check(engine, cache, account_id, user_id) == "ok"

    deactivate(elsewhere, account_id, user_id)

    seconds_until(lambda: check(engine, cache, account_id, user_id) == "inactive", within=BOUND)
    users.activate_user(
        UnitOfWork(elsewhere), account_id=account_id, user_id=user_id, at=NOW, actor=OPERATOR
    )
    seconds_until(lambda: check(engine, cache, account_id, user_id) == "ok", within=BOUND)


def test_a_read_that_started_before_a_commit_is_not_kept(engine, cache, elsewhere):
    account_id, user_id = account_with_user(engine)
    key = ("reads", "before", "the commit")

    with cache.reading(account_id) as keep:
        deactivate(engine, account_id, user_id)  # this process: dropped at its commit
        keep(key, "read before the commit")
    assert cache.get(account_id, key) is None

    with cache.reading(account_id) as keep:
        users.activate_user(  # another process: dropped when heard
            UnitOfWork(elsewhere), account_id=account_id, user_id=user_id, at=NOW, actor=OPERATOR
        )
        time.sleep(BOUND)
        keep(key, "read before the commit")
    assert cache.get(account_id, key) is None

    with cache.reading(account_id) as keep:
        keep(key, "read after")
    assert cache.get(account_id, key) == "read after"


def test_nothing_is_kept_without_a_running_watcher(engine):
    account_id, user_id = account_with_user(engine)
    idle = ReadCache(engine)
    for _ in range(2):
        with statements(engine) as sent:
            assert check(engine, idle, account_id, user_id) == "ok"
        assert len(sent) == 1

    idle.start()
    seconds_until(lambda: idle.live, within=10)
    kept(engine, lambda: check(engine, idle, account_id, user_id))

    idle.stop()
    with statements(engine) as sent:
        assert check(engine, idle, account_id, user_id) == "ok"
    assert len(sent) == 1
    read_cache.committed(engine, {account_id})  # a stopped cache hears nothing, and minds not

    idle.start()  # started again: it keeps again
    seconds_until(lambda: idle.live, within=10)
    kept(engine, lambda: check(engine, idle, account_id, user_id))
    idle.stop()


def test_an_operator_key_revoked_elsewhere_is_refused_within_the_bound(engine, cache, elsewhere):
    key = operator_keys.create_operator_key(UnitOfWork(engine), name="app", at=NOW)
    assert key.key is not None

    def found() -> bool:
        return (
            operator_keys.find_operator(UnitOfWork(engine), key=key.key, at=NOW, cache=cache)
            is not None
        )

    assert found()  # its first use is written ...
    kept(engine, found)  # ... then it is kept
    assert cache.get(INSTALLATION, ("operator_key", hash_token(key.key)))

    operator_keys.revoke_operator_key(UnitOfWork(elsewhere), key_id=key.id, at=NOW)

    seconds_until(lambda: not found(), within=BOUND)


def test_while_the_listener_is_away_nothing_kept_is_used(engine, cache, backend):
    if backend != "postgres":
        pytest.skip("the listener is PostgreSQL's (SQLite polls a file)")
    account_id, user_id = account_with_user(engine)
    check(engine, cache, account_id, user_id)
    with engine.connect() as conn:
        conn.execute(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE application_name = :name AND datname = current_database()"
            ),
            {"name": read_cache.APPLICATION_NAME},
        )
        conn.commit()

    seconds_until(lambda: not cache.live, within=LIVE_SECONDS + 0.5)
    with statements(engine) as sent:
        assert check(engine, cache, account_id, user_id) == "ok"
    assert len(sent) == 1
    seconds_until(lambda: cache.live, within=10)  # it listens again
    with statements(engine) as sent:
        check(engine, cache, account_id, user_id)
    assert len(sent) == 1  # everything was dropped when it came back
    kept(engine, lambda: check(engine, cache, account_id, user_id))
