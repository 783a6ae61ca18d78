"""Writes sent without waiting (adapters/db/pipeline.py) keep every rule of a
transaction, on both databases (SQLite runs each statement as it comes): a
statement reads what the writes sent before it wrote; a write that fails fails
the use case and nothing of its transaction is kept, however late its error
arrives (at the next read, or with the COMMIT); inside a savepoint it fails the
savepoint alone; a unit of work that only reads opens no pipeline; and one
SQLite process's writers take turns (engine.writer_turn) without losing a write.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import Engine, event, func, select
from sqlalchemy.exc import IntegrityError

from seatledger.adapters.db import tables as t
from seatledger.adapters.db.engine import make_engine
from seatledger.services import accounts, users
from seatledger.services.audit import verify_audit
from seatledger.services.unit_of_work import UnitOfWork

Uow = Callable[[], UnitOfWork]
T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
OPERATOR = "operator:opk_test"


def an_account_with_a_user(uow: Uow) -> tuple[str, str, str]:
    """(account id, pool id, user id): one block pool, one inactive member."""
    account = accounts.create_account(uow(), name="Acme", currency="EUR", at=T0)
    accounts.create_contract(
        uow(),
        account_id=account.id,
        start_date=date(2026, 1, 1),
        billing_interval="month",
        pools=[{"module": "console", "capacity": 5, "policy": "block", "unit_price": "9.00"}],
        at=T0,
        actor=OPERATOR,
    )
    user = users.create_user(
        uow(),
        account_id=account.id,
        email="ada@example.com",
        first_name="Ada",
        last_name="Lovelace",
        at=T0,
        actor=OPERATOR,
        active=False,
    ).user
    with uow() as u:
        (pool,) = u.pools.live(account.id).values()
    return account.id, pool.id, user.id


def state(engine: Engine, account_id: str) -> tuple[int, int, int, int]:
    """Seats held, ledger entries, audit entries, and the chain head's position."""
    with engine.connect() as conn:
        seats = conn.execute(select(func.count()).select_from(t.seats)).scalar_one()
        ledger = conn.execute(select(func.count()).select_from(t.seat_ledger)).scalar_one()
        entries = conn.execute(
            select(func.count()).where(t.audit_events.c.chain == account_id)
        ).scalar_one()
        head = conn.execute(
            select(t.audit_heads.c.position).where(t.audit_heads.c.chain == account_id)
        ).scalar_one()
    return seats, ledger, entries, head


def seat_of(account_id: str, pool_id: str, user_id: str) -> dict[str, object]:
    return {
        "user_id": user_id,
        "module": "console",
        "pool_id": pool_id,
        "account_id": account_id,
        "at": T0,
    }


def test_a_read_sees_the_writes_sent_before_it(uow_factory: Uow) -> None:
    account_id, pool_id, user_id = an_account_with_a_user(uow_factory)
    with uow_factory() as uow:
        uow.lock_account(account_id)
        uow.seats.add(**seat_of(account_id, pool_id, user_id))  # sent without waiting
        assert uow.seats.held(user_id) == {"console": pool_id}
        user, held = uow.users.with_seats(account_id, user_id)
        assert held == {"console": pool_id}


def test_a_write_that_fails_fails_the_use_case_and_nothing_is_kept(
    engine: Engine, uow_factory: Uow
) -> None:
    account_id, pool_id, user_id = an_account_with_a_user(uow_factory)
    before = state(engine, account_id)
    with pytest.raises(IntegrityError), uow_factory() as uow:
        uow.lock_account(account_id)
        uow.seats.add(**seat_of(account_id, pool_id, user_id))
        # the same seat again: refused by the primary key; on PostgreSQL its error
        # comes back with the COMMIT sent after it (nothing waits before)
        uow.seats.add(**seat_of(account_id, pool_id, user_id))
        uow.commit()
    assert state(engine, account_id) == before
    # and the unit of work after it works as before
    users.activate_user(
        uow_factory(), account_id=account_id, user_id=user_id, at=T0, actor=OPERATOR
    )
    assert state(engine, account_id)[:2] == (before[0] + 1, before[1] + 1)


def test_a_write_that_fails_before_a_read_fails_at_that_read(
    engine: Engine, uow_factory: Uow
) -> None:
    account_id, pool_id, user_id = an_account_with_a_user(uow_factory)
    before = state(engine, account_id)
    with pytest.raises(IntegrityError), uow_factory() as uow:
        uow.lock_account(account_id)
        uow.seats.add(**seat_of(account_id, pool_id, user_id))
        uow.seats.add(**seat_of(account_id, pool_id, user_id))
        uow.seats.held(user_id)  # waits: the refused insert's error is raised here
    assert state(engine, account_id) == before


def test_a_write_that_fails_inside_a_savepoint_fails_the_savepoint_alone(
    engine: Engine, uow_factory: Uow
) -> None:
    account_id, pool_id, user_id = an_account_with_a_user(uow_factory)
    before = state(engine, account_id)
    with uow_factory() as uow:
        uow.lock_account(account_id)
        uow.seats.add(**seat_of(account_id, pool_id, user_id))
        with pytest.raises(IntegrityError), uow.savepoint():
            uow.seats.add(**seat_of(account_id, pool_id, user_id))
        uow.commit()
    assert state(engine, account_id)[0] == before[0] + 1


def test_a_part_that_raises_after_a_failed_write_sent_without_waiting_fails_alone(
    engine: Engine, uow_factory: Uow
) -> None:
    """A savepoint's part whose write failed unseen (sent without waiting, its
    error not read yet) and that then raises for another reason is rolled back
    alone like any other: the pipeline's failed state ends before the ROLLBACK
    TO SAVEPOINT is sent (else the server would skip it too, and the whole
    transaction would be lost: a billing batch's other accounts with it)."""
    account_id, pool_id, user_id = an_account_with_a_user(uow_factory)
    before = state(engine, account_id)
    with uow_factory() as uow:
        uow.lock_account(account_id)
        uow.seats.add(**seat_of(account_id, pool_id, user_id))
        # (SQLite runs each statement as it comes: there the write's own error)
        with pytest.raises((RuntimeError, IntegrityError)), uow.savepoint():
            uow.seats.add(**seat_of(account_id, pool_id, user_id))  # fails, unseen
            raise RuntimeError("the part fails for a reason of its own")
        uow.commit()
    assert state(engine, account_id)[0] == before[0] + 1


def test_a_unit_of_work_that_only_reads_opens_no_pipeline(engine: Engine, uow_factory: Uow) -> None:
    account_id, _, _ = an_account_with_a_user(uow_factory)
    sent: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda c, cur, s, *a: sent.append(s))
    page = users.list_users(uow_factory(), account_id=account_id)
    assert len(page) == 1 and sent
    assert "COMMIT" not in sent  # a pipeline's close would have sent one
    users.activate_user(
        uow_factory(), account_id=account_id, user_id=page[0].user.id, at=T0, actor=OPERATOR
    )
    # a write opens one (PostgreSQL): its COMMIT goes with the writes
    assert ("COMMIT" in sent) == (engine.dialect.name == "postgresql")


def test_the_writers_of_one_sqlite_process_take_turns_and_lose_nothing(db_url: str) -> None:
    """16 threads activate and deactivate their own users, all at once: every
    change is in the ledger and the chain, gapless (PostgreSQL: the same, without
    turns)."""
    engine = make_engine(db_url, pool_size=16, max_overflow=0)
    try:

        def uow() -> UnitOfWork:
            return UnitOfWork(engine)

        account = accounts.create_account(uow(), name="Busy", currency="EUR", at=T0)
        accounts.create_contract(
            uow(),
            account_id=account.id,
            start_date=date(2026, 1, 1),
            billing_interval="month",
            pools=[{"module": "console", "capacity": 50, "policy": "block", "unit_price": "1"}],
            at=T0,
            actor=OPERATOR,
        )
        ids = [
            users.create_user(
                uow(),
                account_id=account.id,
                email=f"u{n}@example.com",
                first_name="Ada",
                last_name="Lovelace",
                at=T0,
                actor=OPERATOR,
                active=False,
            ).user.id
            for n in range(16)
        ]
        start = threading.Barrier(len(ids))
        failures: list[BaseException] = []

        def work(user_id: str) -> None:
            try:
                start.wait(timeout=60)
                for _ in range(5):
                    for change in (users.activate_user, users.deactivate_user):
                        change(uow(), account_id=account.id, user_id=user_id, at=T0, actor="x")
            except BaseException as exc:  # noqa: BLE001 - reported below
                failures.append(exc)

        threads = [threading.Thread(target=work, args=(i,)) for i in ids]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=240)
        assert failures == [] and not any(th.is_alive() for th in threads)
        with engine.connect() as conn:
            taken = conn.execute(
                select(func.count()).where(t.seat_ledger.c.kind == "seat_taken")
            ).scalar_one()
            positions = list(
                conn.execute(
                    select(t.audit_events.c.position)
                    .where(t.audit_events.c.chain == account.id)
                    .order_by(t.audit_events.c.position)
                ).scalars()
            )
        assert taken == 16 * 5
        assert positions == list(range(1, len(positions) + 1))
        result = verify_audit(lambda **kw: UnitOfWork(engine, **kw), account_id=account.id)
        assert (result.breaks, result.entries) == ([], len(positions))
    finally:
        engine.dispose()
