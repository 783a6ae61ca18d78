"""Use cases of users, invitations and profiles, through the services, on
SQLite and PostgreSQL (PRODUCT.md §1–§3)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from seatledger.adapters.db import tables as t
from seatledger.domain.errors import (
    AdminRuleViolation,
    Conflict,
    DuplicateEmail,
    Gone,
    InvalidInput,
    SeatLimitReached,
)
from seatledger.domain.seat_policies import INACTIVE_WHEN_FULL_WARNING
from seatledger.services import access, accounts, users
from seatledger.services.unit_of_work import UnitOfWork

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
OPERATOR = "operator:test"
PASSWORD = "correct horse battery"

Uow = Callable[[], UnitOfWork]


# ----------------------------------------------------------------------------- helpers


def make_account(uow: Uow, *pools: dict[str, Any]) -> str:
    pools = pools or ({"module": "console", "capacity": 5, "policy": "block"},)
    account = accounts.create_account(uow(), name="Acme", currency="EUR", at=NOW)
    accounts.create_contract(
        uow(),
        account_id=account.id,
        start_date=date(2026, 1, 1),
        billing_interval="month",
        pools=[{"unit_price": "30.00", **p} for p in pools],
        at=NOW,
        actor=OPERATOR,
    )
    return account.id


def add_user(uow: Uow, account_id: str, email: str, **kwargs: Any) -> users.UserResult:
    kwargs.setdefault("first_name", "Zoë")
    kwargs.setdefault("last_name", "O'Brien-Smith")
    return users.create_user(
        uow(), account_id=account_id, email=email, at=NOW, actor=OPERATOR, **kwargs
    )


def in_use(uow: Uow, account_id: str, module: str = "console") -> tuple[int, int]:
    pool = {p.module: p for p in accounts_pools(uow, account_id)}[module]
    return pool.in_use, pool.capacity


def accounts_pools(uow: Uow, account_id: str):  # type: ignore[no-untyped-def]
    return access.list_pools(uow(), account_id=account_id)


def count_rows(uow: Uow, table: t.Table, account_id: str) -> int:
    with uow() as u:
        return u.conn.execute(
            select(func.count()).select_from(table).where(table.c.account_id == account_id)
        ).scalar_one()


def footprint(uow: Uow, account_id: str) -> dict[str, Any]:
    """Everything a refused operation must leave untouched."""
    with uow() as u:
        return {
            "ledger": len(u.ledger.entries(account_id)),
            "seats": u.seats.count_by_pool(account_id),
            "pools": {m: (p.in_use, p.capacity) for m, p in u.pools.live(account_id).items()},
            "users": u.users.count_by_status(account_id),
            "memberships": sorted(
                u.conn.execute(
                    select(t.user_workspaces.c.user_id, t.user_workspaces.c.workspace_id)
                    .join(t.users, t.users.c.id == t.user_workspaces.c.user_id)
                    .where(t.users.c.account_id == account_id)
                ).all()
            ),
            "open_invitations": u.conn.execute(
                select(func.count())
                .select_from(t.invitations)
                .where(t.invitations.c.account_id == account_id, t.invitations.c.status == "open")
            ).scalar_one(),
        }


def status_of(uow: Uow, account_id: str, user_id: str) -> str:
    return users.get_user(uow(), account_id=account_id, user_id=user_id).user.status


def invitation_status(uow: Uow, invitation_id: str) -> str:
    with uow() as u:
        return u.conn.execute(
            select(t.invitations.c.status).where(t.invitations.c.id == invitation_id)
        ).scalar_one()


def default_workspace(uow: Uow, account_id: str) -> str:
    return next(
        w.id for w in accounts.list_workspaces(uow(), account_id=account_id) if w.is_default
    )


# ------------------------------------------------------------------------------ emails


def test_a_duplicate_email_in_another_case_is_refused_and_nothing_is_written(uow_factory):
    account_id = make_account(uow_factory)
    add_user(uow_factory, account_id, "ada@example.com")
    before = footprint(uow_factory, account_id)

    with pytest.raises(DuplicateEmail) as refused:
        add_user(uow_factory, account_id, "  ADA@Example.COM ")

    assert refused.value.field == "email"
    assert footprint(uow_factory, account_id) == before
    assert count_rows(uow_factory, t.users, account_id) == 1


def test_an_email_can_be_used_again_after_its_user_is_deleted(uow_factory):
    account_id = make_account(uow_factory)
    first = add_user(uow_factory, account_id, "ada@example.com").user
    users.delete_user(
        uow_factory(), account_id=account_id, user_id=first.id, at=NOW, actor=OPERATOR
    )

    second = add_user(uow_factory, account_id, "Ada@Example.com")

    assert second.user.id != first.id
    assert second.seats == ["console"]
    assert status_of(uow_factory, account_id, first.id) == "deleted"
    assert in_use(uow_factory, account_id) == (1, 5)


def test_the_same_email_may_exist_in_two_accounts(uow_factory):
    one, two = make_account(uow_factory), make_account(uow_factory)
    add_user(uow_factory, one, "ada@example.com")
    assert add_user(uow_factory, two, "ada@example.com").seats == ["console"]


# ------------------------------------------------------------------------- invitations


def test_an_invitation_takes_no_seat_and_accepting_it_takes_one(uow_factory):
    account_id = make_account(uow_factory)
    invitation = users.invite_user(
        uow_factory(),
        account_id=account_id,
        email="new@example.com",
        workspace_id=default_workspace(uow_factory, account_id),
        at=NOW,
        actor=OPERATOR,
    )

    assert invitation.user.status == "invited"
    assert (
        users.get_user(uow_factory(), account_id=account_id, user_id=invitation.user.id).seats == []
    )
    assert in_use(uow_factory, account_id) == (0, 5)

    accepted = users.accept_invitation(
        uow_factory(),
        token=invitation.token,
        first_name="Nia",
        last_name="Okafor",
        password=PASSWORD,
        at=NOW + timedelta(days=1),
    )

    assert accepted.user.status == "active"
    assert accepted.seats == ["console"]
    assert in_use(uow_factory, account_id) == (1, 5)
    assert invitation_status(uow_factory, invitation.id) == "accepted"


def test_accepting_under_a_full_block_pool_is_refused_and_the_invitation_stays_open(
    uow_factory,
):
    account_id = make_account(uow_factory, {"module": "console", "capacity": 1, "policy": "block"})
    holder = add_user(uow_factory, account_id, "holder@example.com").user
    invitation = users.invite_user(
        uow_factory(),
        account_id=account_id,
        email="new@example.com",
        workspace_id=default_workspace(uow_factory, account_id),
        at=NOW,
        actor=OPERATOR,
    )
    before = footprint(uow_factory, account_id)

    with pytest.raises(SeatLimitReached) as refused:
        users.accept_invitation(
            uow_factory(),
            token=invitation.token,
            first_name="Nia",
            last_name="Okafor",
            password=PASSWORD,
            at=NOW,
        )

    assert refused.value.extra["module"] == "console"
    assert (refused.value.extra["in_use"], refused.value.extra["capacity"]) == (1, 1)
    assert footprint(uow_factory, account_id) == before
    assert invitation_status(uow_factory, invitation.id) == "open"
    assert status_of(uow_factory, account_id, invitation.user.id) == "invited"

    # a seat frees up: the same invitation can now be accepted
    users.deactivate_user(
        uow_factory(), account_id=account_id, user_id=holder.id, at=NOW, actor=OPERATOR
    )
    accepted = users.accept_invitation(
        uow_factory(),
        token=invitation.token,
        first_name="Nia",
        last_name="Okafor",
        password=PASSWORD,
        at=NOW + timedelta(hours=1),
    )
    assert accepted.seats == ["console"]
    assert invitation_status(uow_factory, invitation.id) == "accepted"
    assert in_use(uow_factory, account_id) == (1, 1)


def test_an_invitee_buys_no_license_a_full_inactive_when_full_pool_saves_it_inactive(uow_factory):
    # §2 rule 5: only admins and above may trigger a charge; the invitee is neither
    account_id = make_account(
        uow_factory, {"module": "console", "capacity": 1, "policy": "inactive_when_full"}
    )
    add_user(uow_factory, account_id, "holder@example.com")
    invitation = users.invite_user(
        uow_factory(),
        account_id=account_id,
        email="new@example.com",
        workspace_id=default_workspace(uow_factory, account_id),
        at=NOW,
        actor=OPERATOR,
    )
    ledger_before = footprint(uow_factory, account_id)["ledger"]

    accepted = users.accept_invitation(
        uow_factory(),
        token=invitation.token,
        first_name="Nia",
        last_name="Okafor",
        password=PASSWORD,
        at=NOW,
    )

    assert (accepted.user.status, accepted.seats) == ("inactive", [])
    assert accepted.warnings == [
        "Not enough available user licenses to add new active user. You can still create a "
        "user but it will be inactive until you free up the license"
    ]
    assert in_use(uow_factory, account_id) == (1, 1)
    assert footprint(uow_factory, account_id)["ledger"] == ledger_before
    assert count_rows(uow_factory, t.invoices, account_id) == 0
    assert invitation_status(uow_factory, invitation.id) == "accepted"


def test_an_invitation_accepted_after_eight_days_is_gone_and_takes_nothing(uow_factory):
    account_id = make_account(uow_factory)
    invitation = users.invite_user(
        uow_factory(),
        account_id=account_id,
        email="late@example.com",
        workspace_id=default_workspace(uow_factory, account_id),
        at=NOW,
        actor=OPERATOR,
    )
    before = footprint(uow_factory, account_id)

    with pytest.raises(Gone):
        users.accept_invitation(
            uow_factory(),
            token=invitation.token,
            first_name="Late",
            last_name="Comer",
            password=PASSWORD,
            at=NOW + timedelta(days=8),
        )

    assert footprint(uow_factory, account_id) == before
    assert status_of(uow_factory, account_id, invitation.user.id) == "invited"


def test_an_accepted_invitation_cannot_be_accepted_again(uow_factory):
    account_id = make_account(uow_factory)
    invitation = users.invite_user(
        uow_factory(),
        account_id=account_id,
        email="once@example.com",
        workspace_id=default_workspace(uow_factory, account_id),
        at=NOW,
        actor=OPERATOR,
    )
    users.accept_invitation(
        uow_factory(),
        token=invitation.token,
        first_name="Once",
        last_name="Only",
        password=PASSWORD,
        at=NOW,
    )
    with pytest.raises(Gone):
        users.accept_invitation(
            uow_factory(),
            token=invitation.token,
            first_name="Once",
            last_name="Only",
            password=PASSWORD,
            at=NOW,
        )
    assert in_use(uow_factory, account_id) == (1, 5)


def test_a_deactivated_invited_user_cannot_sign_up_with_its_old_invitation(uow_factory):
    account_id = make_account(uow_factory)
    invitation = users.invite_user(
        uow_factory(),
        account_id=account_id,
        email="gone@example.com",
        workspace_id=default_workspace(uow_factory, account_id),
        at=NOW,
        actor=OPERATOR,
    )
    users.deactivate_user(
        uow_factory(), account_id=account_id, user_id=invitation.user.id, at=NOW, actor=OPERATOR
    )
    with pytest.raises(Gone):
        users.accept_invitation(
            uow_factory(),
            token=invitation.token,
            first_name="Gone",
            last_name="Away",
            password=PASSWORD,
            at=NOW,
        )
    assert status_of(uow_factory, account_id, invitation.user.id) == "inactive"
    assert in_use(uow_factory, account_id) == (0, 5)


def test_inviting_an_email_that_belongs_to_a_user_is_a_duplicate(uow_factory):
    account_id = make_account(uow_factory)
    add_user(uow_factory, account_id, "ada@example.com")
    before = footprint(uow_factory, account_id)

    with pytest.raises(DuplicateEmail):
        users.invite_user(
            uow_factory(),
            account_id=account_id,
            email="ADA@example.com",
            workspace_id=default_workspace(uow_factory, account_id),
            at=NOW,
            actor=OPERATOR,
        )

    assert footprint(uow_factory, account_id) == before
    assert count_rows(uow_factory, t.invitations, account_id) == 0


# ------------------------------------------------------------------------ admin rules


def test_an_admin_must_drop_the_role_before_being_deactivated_or_deleted(uow_factory):
    account_id = make_account(uow_factory)
    first = add_user(uow_factory, account_id, "first@example.com", role="admin").user
    add_user(uow_factory, account_id, "second@example.com", role="owner")
    before = footprint(uow_factory, account_id)

    with pytest.raises(AdminRuleViolation):
        users.deactivate_user(
            uow_factory(), account_id=account_id, user_id=first.id, at=NOW, actor=OPERATOR
        )
    with pytest.raises(AdminRuleViolation):
        users.delete_user(
            uow_factory(), account_id=account_id, user_id=first.id, at=NOW, actor=OPERATOR
        )
    assert footprint(uow_factory, account_id) == before

    users.update_user(
        uow_factory(),
        account_id=account_id,
        user_id=first.id,
        role="member",
        at=NOW,
        actor=OPERATOR,
    )
    done = users.deactivate_user(
        uow_factory(), account_id=account_id, user_id=first.id, at=NOW, actor=OPERATOR
    )
    assert done.user.status == "inactive"
    assert done.seats == []
    users.delete_user(
        uow_factory(), account_id=account_id, user_id=first.id, at=NOW, actor=OPERATOR
    )
    assert status_of(uow_factory, account_id, first.id) == "deleted"


def test_the_last_active_admin_cannot_be_demoted(uow_factory):
    account_id = make_account(uow_factory)
    admin = add_user(uow_factory, account_id, "admin@example.com", role="admin").user

    with pytest.raises(AdminRuleViolation):
        users.update_user(
            uow_factory(),
            account_id=account_id,
            user_id=admin.id,
            role="member",
            at=NOW,
            actor=OPERATOR,
        )
    assert (
        users.get_user(uow_factory(), account_id=account_id, user_id=admin.id).user.role == "admin"
    )

    # with a second administrator the first may step down
    add_user(uow_factory, account_id, "owner@example.com", role="owner")
    demoted = users.update_user(
        uow_factory(),
        account_id=account_id,
        user_id=admin.id,
        role="member",
        at=NOW,
        actor=OPERATOR,
    )
    assert demoted.user.role == "member"


def test_an_inactive_admin_does_not_count_as_the_admin_the_account_keeps(uow_factory):
    account_id = make_account(uow_factory)
    active_admin = add_user(uow_factory, account_id, "a@example.com", role="admin").user
    add_user(uow_factory, account_id, "b@example.com", role="admin", active=False)

    with pytest.raises(AdminRuleViolation):
        users.update_user(
            uow_factory(),
            account_id=account_id,
            user_id=active_admin.id,
            role="member",
            at=NOW,
            actor=OPERATOR,
        )


# --------------------------------------------------------------------- access and seats


def test_a_past_valid_to_answers_expired_while_the_seat_is_still_held(uow_factory):
    account_id = make_account(uow_factory)
    user = add_user(
        uow_factory,
        account_id,
        "temp@example.com",
        valid_to=(NOW.date() - timedelta(days=1)).isoformat(),
    )

    for module in (None, "console"):
        answer = access.check_access(
            uow_factory(), account_id=account_id, at=NOW, user_id=user.user.id, module=module
        )
        assert (answer.allowed, answer.reason) == (False, "expired")
    assert user.seats == ["console"]
    assert in_use(uow_factory, account_id) == (1, 5)


def test_valid_to_today_still_allows_login(uow_factory):
    account_id = make_account(uow_factory)
    user = add_user(uow_factory, account_id, "today@example.com", valid_to=NOW.date())
    answer = access.check_access(
        uow_factory(), account_id=account_id, at=NOW, user_id=user.user.id, module="console"
    )
    assert (answer.allowed, answer.reason) == (True, "ok")


def test_a_profile_with_no_modules_holds_no_seat_but_may_log_in(uow_factory):
    account_id = make_account(uow_factory)
    empty = accounts.create_profile(
        uow_factory(), account_id=account_id, name="Viewer", modules=[], at=NOW
    )
    user = add_user(uow_factory, account_id, "viewer@example.com", profile_id=empty.id)

    assert user.seats == []
    assert in_use(uow_factory, account_id) == (0, 5)
    login = access.check_access(uow_factory(), account_id=account_id, at=NOW, user_id=user.user.id)
    assert (login.allowed, login.reason) == (True, "ok")
    module = access.check_access(
        uow_factory(), account_id=account_id, at=NOW, email="VIEWER@example.com", module="console"
    )
    assert (module.allowed, module.reason) == (False, "no_seat")


def test_a_profile_with_two_modules_costs_one_seat_in_each_pool(uow_factory):
    account_id = make_account(
        uow_factory,
        {"module": "case_management", "capacity": 5, "policy": "block"},
        {"module": "documents", "capacity": 3, "policy": "block"},
    )
    user = add_user(uow_factory, account_id, "both@example.com")
    assert user.seats == ["case_management", "documents"]
    assert in_use(uow_factory, account_id, "case_management") == (1, 5)
    assert in_use(uow_factory, account_id, "documents") == (1, 3)


def test_a_fourth_documents_user_is_refused_and_takes_nothing_in_any_pool(uow_factory):
    account_id = make_account(
        uow_factory,
        {"module": "case_management", "capacity": 5, "policy": "block"},
        {"module": "documents", "capacity": 3, "policy": "block"},
    )
    for n in range(3):
        add_user(uow_factory, account_id, f"u{n}@example.com")
    before = footprint(uow_factory, account_id)

    with pytest.raises(SeatLimitReached) as refused:
        add_user(uow_factory, account_id, "fourth@example.com")

    assert refused.value.extra["module"] == "documents"
    assert footprint(uow_factory, account_id) == before


def test_joining_a_second_workspace_takes_no_second_seat(uow_factory):
    account_id = make_account(uow_factory)
    default = default_workspace(uow_factory, account_id)
    second = accounts.create_workspace(uow_factory(), account_id=account_id, name="Team 2", at=NOW)
    user = add_user(uow_factory, account_id, "both@example.com")
    ledger_before = footprint(uow_factory, account_id)["ledger"]

    joined = users.update_user(
        uow_factory(),
        account_id=account_id,
        user_id=user.user.id,
        workspace_ids=[default, second.id],
        at=NOW,
        actor=OPERATOR,
    )

    assert joined.user.workspace_ids == sorted([default, second.id])
    assert joined.seats == ["console"]
    assert in_use(uow_factory, account_id) == (1, 5)
    assert footprint(uow_factory, account_id)["ledger"] == ledger_before


def test_removing_a_user_from_every_workspace_releases_its_seats(uow_factory):
    account_id = make_account(uow_factory)
    user = add_user(uow_factory, account_id, "gone@example.com")

    removed = users.update_user(
        uow_factory(),
        account_id=account_id,
        user_id=user.user.id,
        workspace_ids=[],
        at=NOW,
        actor=OPERATOR,
    )

    assert removed.user.status == "active"
    assert removed.seats == []
    assert in_use(uow_factory, account_id) == (0, 5)
    back = users.update_user(
        uow_factory(),
        account_id=account_id,
        user_id=user.user.id,
        workspace_ids=[default_workspace(uow_factory, account_id)],
        at=NOW,
        actor=OPERATOR,
    )
    assert back.seats == ["console"]


def test_a_user_created_with_an_empty_workspace_list_holds_no_seat(uow_factory):
    account_id = make_account(uow_factory)
    user = add_user(uow_factory, account_id, "nowhere@example.com", workspace_ids=[])
    assert (user.user.status, user.seats) == ("active", [])
    assert in_use(uow_factory, account_id) == (0, 5)


def test_deleting_a_user_releases_its_seat(uow_factory):
    account_id = make_account(uow_factory)
    user = add_user(uow_factory, account_id, "bye@example.com")
    deleted = users.delete_user(
        uow_factory(), account_id=account_id, user_id=user.user.id, at=NOW, actor=OPERATOR
    )
    assert (deleted.user.status, deleted.seats) == ("deleted", [])
    assert in_use(uow_factory, account_id) == (0, 5)
    with pytest.raises(Conflict):
        users.activate_user(
            uow_factory(), account_id=account_id, user_id=user.user.id, at=NOW, actor=OPERATOR
        )


def test_a_seventh_user_under_a_full_inactive_when_full_pool_is_saved_inactive_with_the_warning(
    uow_factory,
):
    account_id = make_account(
        uow_factory,
        {"module": "console", "capacity": 6, "minimum": 6, "policy": "inactive_when_full"},
    )
    for n in range(6):
        add_user(uow_factory, account_id, f"u{n}@example.com")

    seventh = add_user(uow_factory, account_id, "seventh@example.com")
    assert (seventh.user.status, seventh.seats) == ("inactive", [])
    assert seventh.warnings == [INACTIVE_WHEN_FULL_WARNING]
    assert in_use(uow_factory, account_id) == (6, 6)

    with pytest.raises(SeatLimitReached) as refused:
        users.activate_user(
            uow_factory(), account_id=account_id, user_id=seventh.user.id, at=NOW, actor=OPERATOR
        )
    assert refused.value.message == INACTIVE_WHEN_FULL_WARNING

    with_license = add_user(uow_factory, account_id, "eighth@example.com", add_license=True)
    assert (with_license.user.status, with_license.seats) == ("active", ["console"])
    assert in_use(uow_factory, account_id) == (7, 7)


def test_a_profile_change_that_adds_a_full_block_module_is_refused(uow_factory):
    account_id = make_account(
        uow_factory,
        {"module": "console", "capacity": 5, "policy": "block"},
        {"module": "documents", "capacity": 1, "policy": "block"},
    )
    console_only = accounts.create_profile(
        uow_factory(), account_id=account_id, name="Console", modules=["console"], at=NOW
    )
    add_user(uow_factory, account_id, "docs@example.com")
    user = add_user(uow_factory, account_id, "console@example.com", profile_id=console_only.id)
    before = footprint(uow_factory, account_id)

    default = next(
        p for p in accounts.list_profiles(uow_factory(), account_id=account_id) if p.is_default
    )
    with pytest.raises(SeatLimitReached):
        users.update_user(
            uow_factory(),
            account_id=account_id,
            user_id=user.user.id,
            profile_id=default.id,
            at=NOW,
            actor=OPERATOR,
        )

    assert footprint(uow_factory, account_id) == before
    assert (
        users.get_user(uow_factory(), account_id=account_id, user_id=user.user.id).user.profile_id
        == console_only.id
    )


# ------------------------------------------------------------------------- input rules


def test_a_profile_naming_an_unknown_module_is_invalid_input_naming_the_field(uow_factory):
    account_id = make_account(uow_factory)
    with pytest.raises(InvalidInput) as refused:
        accounts.create_profile(
            uow_factory(),
            account_id=account_id,
            name="Odd",
            modules=["console", "reporting"],
            at=NOW,
        )
    assert refused.value.field == "modules[1]"
    assert "reporting" in refused.value.message
    assert [p.name for p in accounts.list_profiles(uow_factory(), account_id=account_id)] == [
        "Default"
    ]


def test_a_name_with_a_diaeresis_and_an_apostrophe_is_valid_but_control_characters_are_not(
    uow_factory,
):
    account_id = make_account(uow_factory)
    ok = add_user(
        uow_factory, account_id, "zoe@example.com", first_name="Zoë", last_name="O'Brien-Smith"
    )
    assert (ok.user.first_name, ok.user.last_name) == ("Zoë", "O'Brien-Smith")
    with pytest.raises(InvalidInput) as refused:
        add_user(uow_factory, account_id, "bell@example.com", first_name="Bell\x07")
    assert refused.value.field == "first_name"


def test_a_malformed_email_is_invalid_input(uow_factory):
    account_id = make_account(uow_factory)
    with pytest.raises(InvalidInput) as refused:
        add_user(uow_factory, account_id, "not-an-email")
    assert refused.value.field == "email"


# ----------------------------------------------------------------- nothing half-written


def test_a_failed_operation_leaves_the_ledger_unchanged(uow_factory):
    account_id = make_account(
        uow_factory,
        {"module": "console", "capacity": 2, "policy": "block"},
        {"module": "documents", "capacity": 10, "policy": "auto_purchase"},
    )
    add_user(uow_factory, account_id, "a@example.com")
    add_user(uow_factory, account_id, "b@example.com")
    idle = add_user(uow_factory, account_id, "idle@example.com", active=False).user
    admin = add_user(
        uow_factory, account_id, "admin@example.com", role="admin", workspace_ids=[]
    ).user
    invitation = users.invite_user(
        uow_factory(),
        account_id=account_id,
        email="inv@example.com",
        workspace_id=default_workspace(uow_factory, account_id),
        at=NOW,
        actor=OPERATOR,
    )
    before = footprint(uow_factory, account_id)

    failures: list[Callable[[], object]] = [
        lambda: add_user(uow_factory, account_id, "c@example.com"),
        lambda: add_user(uow_factory, account_id, "A@example.com"),
        lambda: users.activate_user(
            uow_factory(), account_id=account_id, user_id=idle.id, at=NOW, actor=OPERATOR
        ),
        lambda: users.update_user(
            uow_factory(),
            account_id=account_id,
            user_id=admin.id,
            workspace_ids=[default_workspace(uow_factory, account_id)],
            at=NOW,
            actor=OPERATOR,
        ),
        lambda: users.accept_invitation(
            uow_factory(),
            token=invitation.token,
            first_name="In",
            last_name="Vited",
            password=PASSWORD,
            at=NOW,
        ),
        lambda: users.deactivate_user(
            uow_factory(), account_id=account_id, user_id=admin.id, at=NOW, actor=OPERATOR
        ),
    ]
    for attempt in failures:
        with pytest.raises((SeatLimitReached, DuplicateEmail, AdminRuleViolation)):
            attempt()
        assert footprint(uow_factory, account_id) == before
