"""The statements the hot paths send, counted on both databases (issue 12): one
activate, one deactivate, a page of users (the same number for 1, 10 or 50 users:
no query per row) and a billing run of one account. Each count is recorded below
with what each statement is; a test fails when a path sends more, and names the
statements it sent. Counted by SQLAlchemy's ``before_cursor_execute`` on the
engine, so every statement of every connection counts (BEGIN too, which SQLite's
transactions send; PostgreSQL's begin with their first statement).

On PostgreSQL the writes whose results nobody reads are sent without waiting
(adapters/db/pipeline.py), and the COMMIT after them: those are counted too, and
apart, as they cost no round trip of their own (a COMMIT is a statement there,
not a call of the driver's commit).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlalchemy import Engine, event

from seatledger.services import access, accounts, billing, users
from seatledger.services.unit_of_work import UnitOfWork

Uow = Callable[[], UnitOfWork]
T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
OPERATOR = "operator:opk_test"

# --------------------------------------------------------------- the recorded counts
# One activate of an inactive member (default profile, one block pool with room):
ACTIVATE = {
    "sqlite": [
        "BEGIN",  # SQLite's transaction
        "UPDATE accounts",  # the account lock (SQLite's write lock), with its audit head
        "SELECT users",  # the user, its workspaces and the seats it holds
        "SELECT pools",  # the live pools, with the user's profile and the contract's end
        "UPDATE pools",  # the guarded take: +1 in use while a seat is free
        "INSERT seats",  # the seat held
        "INSERT seat_ledger",  # the ledger entry
        "UPDATE users",  # the user, active
        "INSERT audit_events",  # seat.taken and user.activated, one executemany
        "UPDATE audit_heads",  # the chain's head (and the installation head read with it)
    ],
    "postgres": [
        "SELECT accounts",  # the account lock: its row and its audit head's, FOR NO KEY UPDATE
        "SELECT users",
        "SELECT pools",
        "UPDATE pools",
        "INSERT seats",  # sent without waiting
        "INSERT seat_ledger",  # sent without waiting
        "UPDATE users",  # sent without waiting
        "INSERT audit_events",  # sent without waiting
        "UPDATE audit_heads",  # also notifies the chain (pg_notify in its RETURNING)
        "COMMIT",  # sent without waiting: one round trip waits for the writes and it
    ],
}
# One deactivate of that member (it holds one seat):
DEACTIVATE = {
    "sqlite": [
        "BEGIN",
        "UPDATE accounts",  # the account lock, with its audit head
        "SELECT users",  # the user with its seats
        "UPDATE pools",  # -1 in use
        "DELETE seats",  # the seat released
        "INSERT seat_ledger",
        "UPDATE users",  # the user, inactive
        "INSERT audit_events",  # seat.released and user.deactivated
        "UPDATE audit_heads",
    ],
    "postgres": [
        "SELECT accounts",
        "SELECT users",
        "UPDATE pools",
        "DELETE seats",  # sent without waiting
        "INSERT seat_ledger",  # sent without waiting
        "UPDATE users",  # sent without waiting
        "INSERT audit_events",  # sent without waiting
        "UPDATE audit_heads",
        "COMMIT",  # sent without waiting
    ],
}
NO_WAIT = {"sqlite": 0, "postgres": 5}  # of each activate and deactivate
# A page of users (users.list_users, GET /v1/accounts/{id}/users), whatever its size:
LIST_PAGE = {
    "sqlite": [
        "BEGIN",
        "SELECT accounts",  # the account (404 if unknown)
        "SELECT users",  # the page
        "SELECT user_workspaces",  # the page's workspaces, in one query
        "SELECT seats",  # the page's seats, in one query
    ],
    "postgres": ["SELECT accounts", "SELECT users", "SELECT user_workspaces", "SELECT seats"],
}
# A billing run of one account with one month due (billing.run_billing): the run
# started, its one batch billed (one transaction), the run read back.
_BILLING_RUN = [
    "BEGIN",  # start_run's transaction
    "INSERT billing_runs",  # the run
    "SELECT billing_states",  # the accounts due
    "UPDATE billing_runs",  # its batches counted
    "BEGIN",  # the batch's transaction
    "INSERT billing_run_batches",  # the batch claimed (counted once)
    "UPDATE accounts",  # the batch's account locks, in id order
    "SELECT billing_states",  # which of them are still due
    "SELECT billing_states",  # their billing states
    "SELECT invoices",  # their documents since each state's since
    "SELECT contracts",  # their contract versions
    "SELECT contract_pools",  # and those versions' pools
    "SELECT seat_ledger",  # their ledger since each state's since
    "SELECT billing_markers",  # what was billed already
    "SELECT seat_requests",  # scheduled decreases
    "SELECT pools",  # their pools
    "SAVEPOINT",  # the account's part of the batch
    "SELECT seller_settings",  # the seller, once per transaction
    "INSERT billing_states",  # the account billed through the month (an upsert)
    "INSERT invoices",  # its documents, one executemany
    "INSERT invoice_lines",  # their lines, one executemany
    "RELEASE",  # the account's part done
    "UPDATE billing_runs",  # the batch counted
    "SELECT number_sequences",  # the number sequence, under its lock
    "UPDATE invoices",  # the drafts numbered
    "INSERT number_sequences",  # the sequence moved forward (upsert)
    "UPDATE audit_heads",  # the heads of chains not locked with their account: advanced
    "INSERT audit_events",  # every invoice.issued of the batch
    "UPDATE audit_heads",  # the heads' hashes
    "BEGIN",  # get_run's transaction
    "SELECT billing_runs",  # the run as it ended
]
_SEQUENCE_LOCK = _BILLING_RUN.index("SELECT number_sequences")
_BATCH_END = len(_BILLING_RUN) - 2  # before get_run's transaction
BILLING_RUN = {
    "sqlite": _BILLING_RUN,
    # no BEGIN; the number sequence's advisory lock before it is read; the batch's
    # COMMIT sent with its audit entries (pipeline.py)
    "postgres": [
        k
        for k in [
            *_BILLING_RUN[:_SEQUENCE_LOCK],
            "SELECT pg_advisory_xact_lock",
            *_BILLING_RUN[_SEQUENCE_LOCK:_BATCH_END],
            "COMMIT",
            *_BILLING_RUN[_BATCH_END:],
        ]
        if k != "BEGIN"
    ],
}


# ------------------------------------------------------------------------ counting


def kind(statement: str) -> str:
    """``VERB table``: a SELECT's table is the first of its outermost FROM (or of
    the subquery it selects from); a SELECT of a function names the function;
    else the statement's first word."""
    words = statement.split()
    verb = words[0].upper()
    if verb == "SELECT":
        if words[1].startswith("pg_"):
            return f"SELECT {words[1].split('(')[0]}"
        table = _from_table(statement)
        return f"SELECT {table}" if table else "SELECT"
    if verb in ("INSERT", "DELETE"):
        return f"{verb} {words[2]}"
    if verb == "UPDATE":
        return f"UPDATE {words[1]}"
    return verb


def _from_table(select: str) -> str | None:
    depth = 0
    for i, ch in enumerate(select):
        depth += {"(": 1, ")": -1}.get(ch, 0)
        if depth == 0 and select.startswith(" FROM ", i):
            rest = select[i + len(" FROM ") :]
            if rest.startswith("("):  # FROM (SELECT ...) AS a: that subquery's table
                return _from_table(rest[1:])
            return rest.split()[0]
    return None


@dataclass
class Counted:
    kinds: list[str] = field(default_factory=list)
    no_wait: int = 0  # of them sent without waiting (PostgreSQL's pipeline)


@contextmanager
def counting(engine: Engine) -> Iterator[Counted]:
    counted = Counted()

    def statement(conn: Any, cursor: Any, sql: str, params: Any, context: Any, many: bool):  # noqa: ANN202
        counted.kinds.append(kind(" ".join(sql.split())))
        if context is not None and context.execution_options.get("seatledger_no_wait"):
            counted.no_wait += 1

    event.listen(engine, "before_cursor_execute", statement)
    try:
        yield counted
    finally:
        event.remove(engine, "before_cursor_execute", statement)


def no_more_than(counted: Counted, recorded: list[str], what: str) -> None:
    assert len(counted.kinds) <= len(recorded), (
        f"{what} sends {len(counted.kinds)} statements, {len(recorded)} recorded:\n"
        f"  sent:     {counted.kinds}\n  recorded: {recorded}"
    )


# ------------------------------------------------------------------------ the paths


def an_account_with_users(uow: Uow, count: int) -> tuple[str, list[str]]:
    account = accounts.create_account(uow(), name="Acme", currency="EUR", at=T0)
    accounts.create_contract(
        uow(),
        account_id=account.id,
        start_date=date(2026, 1, 1),
        billing_interval="month",
        pools=[{"module": "console", "capacity": 100, "policy": "block", "unit_price": "9.00"}],
        at=T0,
        actor=OPERATOR,
    )
    ids = [
        users.create_user(
            uow(),
            account_id=account.id,
            email=f"user{n}@example.com",
            first_name="Ada",
            last_name=f"Member {chr(65 + n % 26)}{chr(97 + n // 26)}",
            at=T0,
            actor=OPERATOR,
            active=False,
        ).user.id
        for n in range(count)
    ]
    return account.id, ids


def test_one_activate_and_one_deactivate_send_no_more_than_the_recorded_statements(
    engine: Engine, uow_factory: Uow, backend: str
) -> None:
    account_id, (user_id,) = an_account_with_users(uow_factory, 1)
    args = {"account_id": account_id, "user_id": user_id, "at": T0, "actor": OPERATOR}
    with counting(engine) as activated:
        result = users.activate_user(uow_factory(), **args)
    assert (result.user.status, result.seats) == ("active", ["console"])
    with counting(engine) as deactivated:
        result = users.deactivate_user(uow_factory(), **args)
    assert (result.user.status, result.seats) == ("inactive", [])

    no_more_than(activated, ACTIVATE[backend], "an activate")
    no_more_than(deactivated, DEACTIVATE[backend], "a deactivate")
    # the writes nobody reads back still go without waiting on PostgreSQL
    assert activated.no_wait >= NO_WAIT[backend] and deactivated.no_wait >= NO_WAIT[backend]


def test_a_page_of_users_takes_the_same_statements_for_1_10_or_50_users(
    engine: Engine, uow_factory: Uow, backend: str
) -> None:
    account_id, ids = an_account_with_users(uow_factory, 50)
    for user_id in ids[::2]:  # half of them hold a seat
        users.activate_user(
            uow_factory(), account_id=account_id, user_id=user_id, at=T0, actor=OPERATOR
        )
    pages = {}
    for size in (1, 10, 50):
        with counting(engine) as counted:
            page = users.list_users(uow_factory(), account_id=account_id, limit=size)
        assert len(page) == size
        pages[size] = counted.kinds
        no_more_than(counted, LIST_PAGE[backend], f"a page of {size} users")
    assert pages[1] == pages[10] == pages[50], pages
    assert sum(1 for r in page if r.seats == ["console"]) == 25


def test_a_billing_run_of_one_account_sends_no_more_than_the_recorded_statements(
    engine: Engine, uow_factory: Uow, backend: str
) -> None:
    account_id, ids = an_account_with_users(uow_factory, 3)
    for user_id in ids:
        users.activate_user(
            uow_factory(), account_id=account_id, user_id=user_id, at=T0, actor=OPERATOR
        )
    due = datetime(2026, 2, 1, tzinfo=UTC)
    with counting(engine) as counted:
        run = billing.run_billing(uow_factory, as_of=due, now=due)
    assert (run.accounts, run.failures) == (1, [])
    assert run.invoices_issued >= 1
    no_more_than(counted, BILLING_RUN[backend], "a billing run of one account")


@pytest.mark.parametrize(
    ("statement", "expected"),
    [
        ("SELECT a FROM users JOIN seats ON x", "SELECT users"),
        ("SELECT u.a, (SELECT b FROM user_workspaces) FROM users AS u", "SELECT users"),
        ("SELECT a.id FROM (SELECT * FROM accounts FOR UPDATE) AS a JOIN h", "SELECT accounts"),
        ("INSERT INTO seats (a) VALUES (?)", "INSERT seats"),
        ("UPDATE pools SET in_use = 1", "UPDATE pools"),
        ("DELETE FROM seats WHERE 1", "DELETE seats"),
        ("SELECT pg_advisory_xact_lock(hashtext('x'))", "SELECT pg_advisory_xact_lock"),
        ("RELEASE SAVEPOINT sa_1", "RELEASE"),
    ],
)
def test_kinds_name_the_verb_and_the_table(statement: str, expected: str) -> None:
    assert kind(statement) == expected


def _version_adding_records(uow: Uow, account_id: str, *, capacity: int) -> None:
    """A second version, in force from 1 January, that adds ``records``."""
    accounts.create_contract(
        uow(),
        account_id=account_id,
        start_date=date(2026, 1, 1),
        billing_interval="month",
        pools=[
            {"module": "console", "capacity": 100, "policy": "block", "unit_price": "9.00"},
            {"module": "records", "capacity": capacity, "policy": "block", "unit_price": "4.00"},
        ],
        at=T0,
        actor=OPERATOR,
    )


def test_a_version_adding_a_module_seats_every_active_user_reading_once_not_per_user(
    engine: Engine, uow_factory: Uow
) -> None:
    """Every active user whose profile grants the module a version adds takes its
    seat in the same change; the pools, profiles, seats held and the contract's
    end are read once for all of them (the reads are the same for 2 users as for
    8), and only the seats taken add statements (their writes)."""
    selects: dict[int, int] = {}
    for count in (2, 8):
        account_id, ids = an_account_with_users(uow_factory, count + 1)
        for user_id in ids[:count]:  # the last stays inactive: it takes no seat
            users.activate_user(
                uow_factory(), account_id=account_id, user_id=user_id, at=T0, actor=OPERATOR
            )
        with counting(engine) as counted:
            _version_adding_records(uow_factory, account_id, capacity=count)
        selects[count] = sum(1 for k in counted.kinds if k.startswith("SELECT"))
        pools = {p.module: p for p in access.list_pools(uow_factory(), account_id=account_id)}
        assert (pools["records"].in_use, pools["records"].capacity) == (count, count)
        seated = [users.get_user(uow_factory(), account_id=account_id, user_id=u) for u in ids]
        assert [sorted(r.seats) for r in seated] == [["console", "records"]] * count + [[]]
    assert selects[2] == selects[8], selects


def test_a_version_adding_a_module_too_small_for_the_active_users_is_refused_whole(
    uow_factory: Uow,
) -> None:
    """A full block pool refuses the whole version (§3): the users planned on the
    pool as the ones before them left it, not as it was read."""
    account_id, ids = an_account_with_users(uow_factory, 3)
    for user_id in ids:
        users.activate_user(
            uow_factory(), account_id=account_id, user_id=user_id, at=T0, actor=OPERATOR
        )
    from seatledger.domain.errors import DomainError

    with pytest.raises(DomainError):
        _version_adding_records(uow_factory, account_id, capacity=2)
    pools = {p.module: p for p in access.list_pools(uow_factory(), account_id=account_id)}
    assert "records" not in pools or pools["records"].in_use == 0
    assert len(accounts.list_contracts(uow_factory(), account_id=account_id)) == 1
