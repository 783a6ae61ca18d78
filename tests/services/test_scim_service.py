"""SCIM use cases through the services, on SQLite and PostgreSQL: a SCIM request is
one transaction however many steps it runs, a group's members change in as many
statements however many they are, and the database keeps the default workspace
and deleted workspaces as they are (migration 0008)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import Engine, event, select, text, update
from sqlalchemy.exc import DBAPIError

from seatledger.adapters.db import tables as t
from seatledger.domain.errors import AdminRuleViolation, SeatLimitReached
from seatledger.services import accounts, scim, users
from seatledger.services.scim import GroupState, UserState
from seatledger.services.unit_of_work import UnitOfWork

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
ACTOR = "scim:sct_test"
Uow = Callable[[], UnitOfWork]


def make_account(uow: Uow, capacity: int = 5) -> str:
    account = accounts.create_account(uow(), name="Acme", currency="EUR", at=NOW)
    accounts.create_contract(
        uow(),
        account_id=account.id,
        start_date=date(2026, 1, 1),
        billing_interval="month",
        pools=[{"module": "console", "capacity": capacity, "policy": "block", "unit_price": "1"}],
        at=NOW,
        actor="operator:test",
    )
    return account.id


def state(email: str, **changes: object) -> UserState:
    return UserState(
        **{"email": email, "first_name": "Ada", "last_name": "Lovelace", "active": True, **changes}
    )


def test_a_failing_step_undoes_the_steps_before_it_in_the_same_request(uow_factory: Uow) -> None:
    account = make_account(uow_factory)
    admin = users.create_user(
        uow_factory(),
        account_id=account,
        email="admin@x.com",
        first_name="Ada",
        last_name="Lovelace",
        role="admin",
        at=NOW,
        actor=ACTOR,
    )
    # The names change (update_user), then the deactivation (deactivate_user) is
    # refused, the account's last admin: the names stay as they were too.
    with pytest.raises(AdminRuleViolation):
        scim.change_user(
            uow_factory(),
            account_id=account,
            user_id=admin.user.id,
            at=NOW,
            actor=ACTOR,
            change=lambda _: state("grace@x.com", first_name="Grace", active=False),
        )
    kept = scim.get_user(uow_factory(), account_id=account, user_id=admin.user.id).user
    assert (kept.email, kept.first_name, kept.status, kept.role) == (
        "admin@x.com",
        "Ada",
        "active",
        "admin",
    )
    # A member is deactivated with its names changed, in one change.
    member = scim.create_user(
        uow_factory(), account_id=account, state=state("m@x.com"), at=NOW, actor=ACTOR
    )
    changed = scim.change_user(
        uow_factory(),
        account_id=account,
        user_id=member.user.id,
        at=NOW,
        actor=ACTOR,
        change=lambda _: state("m@x.com", first_name="Grace", active=False),
    ).user
    assert (changed.first_name, changed.status) == ("Grace", "inactive")


def test_a_group_create_with_members_is_all_or_nothing(uow_factory: Uow) -> None:
    account = make_account(uow_factory, capacity=1)
    seated = scim.create_user(
        uow_factory(), account_id=account, state=state("a@x.com"), at=NOW, actor=ACTOR
    )
    loose = users.create_user(
        uow_factory(),
        account_id=account,
        email="loose@x.com",
        first_name="L",
        last_name="Oose",
        workspace_ids=[],
        at=NOW,
        actor=ACTOR,
    )
    with pytest.raises(SeatLimitReached):
        scim.create_group(
            uow_factory(),
            account_id=account,
            state=GroupState("Sales", member_ids=(seated.user.id, loose.user.id)),
            at=NOW,
            actor=ACTOR,
        )
    page = scim.list_groups(uow_factory(), account_id=account, offset=0, limit=10)
    assert page.total == 0  # the workspace was not created either


def test_the_database_keeps_the_default_workspace_and_deleted_ones(engine: object) -> None:
    uow = lambda: UnitOfWork(engine)  # noqa: E731
    account = make_account(uow)
    group = scim.create_group(
        uow(), account_id=account, state=GroupState("Sales"), at=NOW, actor=ACTOR
    )
    scim.delete_group(uow(), account_id=account, group_id=group.workspace.id, at=NOW, actor=ACTOR)
    w = t.workspaces.c
    with engine.connect() as conn:  # type: ignore[attr-defined]
        default = conn.execute(
            select(w.id).where(w.account_id == account, w.is_default)
        ).scalar_one()
    for statement in (
        update(t.workspaces).where(w.id == default).values(deleted_at=NOW),
        update(t.workspaces).where(w.id == group.workspace.id).values(deleted_at=None),
    ):
        with engine.begin() as conn, pytest.raises(DBAPIError):  # type: ignore[attr-defined]
            conn.execute(statement)
    with engine.connect() as conn:  # type: ignore[attr-defined]
        rows = conn.execute(
            text("SELECT is_default, deleted_at IS NOT NULL FROM workspaces WHERE account_id = :a"),
            {"a": account},
        ).all()
    assert sorted(tuple(map(bool, r)) for r in rows) == [(False, True), (True, False)]


def count_statements(engine: Engine, work: Callable[[], object]) -> int:
    """How many statements ``work`` sends to the database."""
    sent: list[str] = []

    def statement(conn, cursor, text, parameters, context, executemany):  # type: ignore[no-untyped-def]
        sent.append(text)

    event.listen(engine, "before_cursor_execute", statement)
    try:
        work()
    finally:
        event.remove(engine, "before_cursor_execute", statement)
    return len(sent)


def group_statements(engine: Engine, members: int, *, seated: bool) -> dict[str, int]:
    """The statements of a group's create with ``members`` members, their removal,
    their adding back and the group's delete. ``seated``: the members are in the
    default workspace already (their seats do not change), else in none (each
    takes its seat on joining and releases it on leaving)."""
    uow = lambda: UnitOfWork(engine)  # noqa: E731
    account = make_account(uow, capacity=50)
    ids = tuple(
        users.create_user(
            uow(),
            account_id=account,
            email=f"u{n}@x.com",
            first_name="Ada",
            last_name="Lovelace",
            workspace_ids=None if seated else [],
            at=NOW,
            actor=ACTOR,
        ).user.id
        for n in range(members)
    )
    created: list[str] = []

    def create() -> None:
        group = scim.create_group(
            uow(),
            account_id=account,
            state=GroupState("Sales", member_ids=ids),
            at=NOW,
            actor=ACTOR,
        )
        created.append(group.workspace.id)

    def change(member_ids: tuple[str, ...]) -> Callable[[], object]:
        return lambda: scim.change_group(
            uow(),
            account_id=account,
            group_id=created[0],
            at=NOW,
            actor=ACTOR,
            change=lambda now: GroupState(now.workspace.name, member_ids=member_ids),
        )

    counts = {
        "create": count_statements(engine, create),
        "remove": count_statements(engine, change(())),
        "add": count_statements(engine, change(ids)),
        "delete": count_statements(
            engine,
            lambda: scim.delete_group(
                uow(), account_id=account, group_id=created[0], at=NOW, actor=ACTOR
            ),
        ),
    }
    listed = scim.list_users(uow(), account_id=account, offset=0, limit=100)
    assert len(listed.items) == members
    return counts


def test_a_group_change_takes_as_many_statements_for_twenty_members_as_for_one(
    engine: Engine,
) -> None:
    # Members whose seats do not change (they are in the default workspace):
    # no statement per member.
    assert group_statements(engine, 20, seated=True) == group_statements(engine, 1, seated=True)
    # Members who take a first seat on joining and release it on leaving go
    # through the seat policies each: a few statements per member, the same
    # number for each (linear, never more).
    one, two, twenty = (group_statements(engine, n, seated=False) for n in (1, 2, 20))
    for kind in one:
        per_member = two[kind] - one[kind]
        assert 0 < per_member <= 8, (kind, per_member)
        assert twenty[kind] == one[kind] + 19 * per_member, kind
