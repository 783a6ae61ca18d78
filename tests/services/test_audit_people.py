"""The audit log of the people side (issue 10 part 1): users, invitations,
passwords, seats, pool capacities, user tokens, operator keys and the seller
settings, through the services, on SQLite and PostgreSQL.

Every change writes its entries in its own transaction with its type, actor,
subject, the account clock's time, before and after; a refused change writes
none; no secret reaches an entry. Entries are read back as stored
(``uow.audit_log``), never rebuilt by the code under test."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlalchemy import Engine, select

from seatledger.adapters.db import tables as t
from seatledger.adapters.throttle import FailureThrottle
from seatledger.domain.audit import INSTALLATION_CHAIN, SYSTEM, AuditEntry
from seatledger.domain.errors import (
    AdminRuleViolation,
    InvalidInput,
    SeatLimitReached,
    Unauthorized,
)
from seatledger.services import (
    access,
    accounts,
    auth,
    operator_keys,
    settings,
    users,
)
from seatledger.services.audit import verify_audit
from seatledger.services.unit_of_work import UnitOfWork

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)  # the real clock
CLOCK = datetime(2026, 1, 20, 9, 30, tzinfo=UTC)  # the test-clock accounts' own time
OPERATOR = "operator:opk_test"
REQUEST_ID = "req_people_1"
PASSWORD = "correct horse battery"
SELLER = {
    "legal_name": "Seatledger GmbH",
    "address_lines": ["Friedrichstraße 123"],
    "postal_code": "10117",
    "city": "Berlin",
    "country": "DE",
    "vat_id": "DE136695976",
}

Uow = Callable[..., UnitOfWork]


# ----------------------------------------------------------------------------- helpers


@pytest.fixture
def uow(engine: Engine) -> Uow:
    """Units of work as the API makes them: an operator's, with a request id."""
    return lambda **kw: UnitOfWork(engine, actor=OPERATOR, request_id=REQUEST_ID, **kw)


def make_account(uow: Uow, *pools: dict[str, Any], **contract: Any) -> str:
    """A test-clock account (its time is CLOCK, not NOW) with a contract."""
    pools = pools or ({"module": "console", "capacity": 5, "policy": "block"},)
    account = accounts.create_account(
        uow(), name="Acme", currency="EUR", at=NOW, test_clock=True, clock_start=CLOCK
    )
    accounts.create_contract(
        uow(),
        account_id=account.id,
        start_date=date(2026, 1, 1),
        billing_interval="month",
        pools=[{"unit_price": "30.00", **p} for p in pools],
        at=NOW,
        actor=OPERATOR,
        **contract,
    )
    return account.id


def add_user(uow: Uow, account_id: str, email: str, **kwargs: Any) -> users.UserResult:
    kwargs.setdefault("first_name", "Ada")
    kwargs.setdefault("last_name", "Lovelace")
    return users.create_user(
        uow(), account_id=account_id, email=email, at=NOW, actor=OPERATOR, **kwargs
    )


def entries(uow: Uow, account_id: str, *types: str) -> list[AuditEntry]:
    with uow() as u:
        return u.audit_log.events(account_id, types=types or None, limit=1000)


def installation(uow: Uow, *types: str) -> list[AuditEntry]:
    with uow() as u:
        found = u.audit_log.chain_page(INSTALLATION_CHAIN, after=0, limit=1000)
    return [e for e in found if not types or e.type in types]


def after_of(entry: AuditEntry) -> dict[str, Any]:
    assert entry.after is not None, entry
    return dict(json.loads(entry.after))


def before_of(entry: AuditEntry) -> dict[str, Any]:
    assert entry.before is not None, entry
    return dict(json.loads(entry.before))


def new_entries(uow: Uow, account_id: str, since: int) -> list[AuditEntry]:
    with uow() as u:
        return u.audit_log.events(account_id, after=since, limit=1000)


def last_position(uow: Uow, account_id: str) -> int:
    found = entries(uow, account_id)
    return found[-1].position if found else 0


def stored_secrets(engine: Engine) -> list[str]:
    """Every password hash, setup token hash and token hash stored."""
    with engine.connect() as conn:
        found = [
            *conn.execute(select(t.users.c.password_hash)).scalars(),
            *conn.execute(select(t.users.c.setup_token_hash)).scalars(),
            *conn.execute(select(t.user_tokens.c.token_hash)).scalars(),
            *conn.execute(select(t.operator_keys.c.key_hash)).scalars(),
            *conn.execute(select(t.invitations.c.token_hash)).scalars(),
        ]
    return [s for s in found if s]


def stored_snapshots(engine: Engine) -> str:
    """The before and after text of every entry of every chain."""
    with engine.connect() as conn:
        rows = conn.execute(select(t.audit_events.c.before, t.audit_events.c.after)).all()
    return "\n".join(text for row in rows for text in row if text)


def pool_ids(uow: Uow, account_id: str) -> dict[str, str]:
    return {p.module: p.id for p in access.list_pools(uow(), account_id=account_id)}


def assert_chains_hold(uow: Uow) -> None:
    assert verify_audit(uow).breaks == []


# ------------------------------------------------------------------------------- users


def test_a_created_user_and_its_seat_are_logged_at_the_account_clock(uow: Uow) -> None:
    account_id = make_account(uow)
    start = last_position(uow, account_id)

    created = add_user(uow, account_id, "ada@example.com", role="admin")

    taken, user_created = new_entries(uow, account_id, start)
    assert (taken.type, user_created.type) == ("seat.taken", "user.created")
    uid = created.user.id
    assert taken.subject == f"seat:{uid}:console"
    assert user_created.subject == f"user:{uid}"
    for entry in (taken, user_created):
        assert entry.at == CLOCK  # the account's clock, not the real one
        assert (entry.actor, entry.request_id, entry.account_id) == (
            OPERATOR,
            REQUEST_ID,
            account_id,
        )
    seat = after_of(taken)
    assert {k: seat[k] for k in ("user_id", "module", "in_use", "capacity", "cause")} == {
        "user_id": uid,
        "module": "console",
        "in_use": 1,
        "capacity": 5,
        "cause": "create",
    }
    assert seat["pool_id"] == pool_ids(uow, account_id)["console"]
    assert taken.before is None and user_created.before is None
    user = after_of(user_created)
    assert (user["id"], user["email"], user["role"], user["status"]) == (
        uid,
        "ada@example.com",
        "admin",
        "active",
    )
    assert_chains_hold(uow)


def test_the_last_seat_taken_logs_limit_reached_and_a_refused_create_logs_nothing(
    uow: Uow,
) -> None:
    account_id = make_account(uow, {"module": "console", "capacity": 2, "policy": "block"})
    first = add_user(uow, account_id, "one@example.com")
    assert entries(uow, account_id, "seat.limit_reached") == []

    second = add_user(uow, account_id, "two@example.com")

    (reached,) = entries(uow, account_id, "seat.limit_reached")
    facts = after_of(reached)
    assert reached.subject == f"pool:{facts['pool_id']}"
    assert (facts["module"], facts["policy"], facts["in_use"], facts["capacity"]) == (
        "console",
        "block",
        2,
        2,
    )
    assert (facts["reason"], facts["user_id"]) == ("last_seat_taken", second.user.id)
    assert first.user.id != second.user.id
    # a create into the full block pool is refused: nothing is logged
    before = last_position(uow, account_id)
    with pytest.raises(SeatLimitReached):
        add_user(uow, account_id, "three@example.com")
    assert last_position(uow, account_id) == before
    with uow() as u:
        assert u.audit_log.heads(account_id)[account_id].position == before


def test_a_user_saved_inactive_by_a_full_pool_logs_limit_reached_and_no_seat(uow: Uow) -> None:
    account_id = make_account(
        uow, {"module": "console", "capacity": 1, "policy": "inactive_when_full"}
    )
    add_user(uow, account_id, "one@example.com")
    start = last_position(uow, account_id)

    saved = add_user(uow, account_id, "two@example.com")

    assert saved.user.status == "inactive"
    reached, created = new_entries(uow, account_id, start)
    assert (reached.type, created.type) == ("seat.limit_reached", "user.created")
    assert after_of(reached)["reason"] == "saved_inactive"
    assert after_of(reached)["user_id"] == saved.user.id
    assert (after_of(reached)["in_use"], after_of(reached)["capacity"]) == (1, 1)
    assert after_of(created)["status"] == "inactive"


PEOPLE_TYPES = ("pool.", "seat.", "user.")  # the seat's invoice is another part's entry


@pytest.mark.parametrize(
    ("policy", "cause", "committed"),
    [("inactive_when_full", "add_license", 0), ("auto_purchase", "auto_purchase", 2)],
)
def test_a_seat_bought_logs_the_capacity_change_with_its_cause_then_the_seat(
    uow: Uow, policy: str, cause: str, committed: int
) -> None:
    account_id = make_account(uow, {"module": "console", "capacity": 1, "policy": policy})
    add_user(uow, account_id, "one@example.com")
    start = last_position(uow, account_id)

    bought = add_user(uow, account_id, "two@example.com", add_license=True)

    found = [e for e in new_entries(uow, account_id, start) if e.type.startswith(PEOPLE_TYPES)]
    # NOTE: the pool was full already: buying its next seat is no new limit reached.
    assert [e.type for e in found] == ["pool.capacity_changed", "seat.taken", "user.created"]
    grown = found[0]
    assert (grown.subject, grown.at, grown.actor) == (
        f"pool:{pool_ids(uow, account_id)['console']}",
        CLOCK,
        OPERATOR,
    )
    before, after = before_of(grown), after_of(grown)
    assert (before["capacity"], before["in_use"], before["policy"]) == (1, 1, policy)
    assert (after["capacity"], after["in_use"], after["committed_capacity"]) == (2, 1, committed)
    assert (after["cause"], after["purchased"], after["user_id"]) == (cause, True, bought.user.id)
    assert after_of(found[1])["in_use"] == after_of(found[1])["capacity"] == 2


def test_an_update_logs_before_and_after_and_a_no_op_logs_nothing(uow: Uow) -> None:
    account_id = make_account(uow)
    uid = add_user(uow, account_id, "ada@example.com", department="R&D").user.id
    start = last_position(uow, account_id)

    users.update_user(
        uow(), account_id=account_id, user_id=uid, at=NOW, actor=OPERATOR, first_name="Augusta"
    )

    (updated,) = new_entries(uow, account_id, start)
    assert (updated.type, updated.subject, updated.at) == ("user.updated", f"user:{uid}", CLOCK)
    assert (before_of(updated)["first_name"], after_of(updated)["first_name"]) == (
        "Ada",
        "Augusta",
    )
    assert before_of(updated)["department"] == after_of(updated)["department"] == "R&D"

    start = last_position(uow, account_id)
    users.update_user(
        uow(), account_id=account_id, user_id=uid, at=NOW, actor=OPERATOR, first_name="Augusta"
    )
    assert new_entries(uow, account_id, start) == []


def test_leaving_every_workspace_logs_the_update_after_the_seat_released(uow: Uow) -> None:
    account_id = make_account(uow)
    uid = add_user(uow, account_id, "ada@example.com").user.id
    start = last_position(uow, account_id)

    users.update_user(
        uow(), account_id=account_id, user_id=uid, at=NOW, actor=OPERATOR, workspace_ids=[]
    )

    released, updated = new_entries(uow, account_id, start)
    assert (released.type, updated.type) == ("seat.released", "user.updated")
    assert released.subject == f"seat:{uid}:console" and released.after is None
    seat = before_of(released)
    assert (seat["user_id"], seat["module"], seat["in_use"], seat["cause"]) == (
        uid,
        "console",
        1,  # held: the pool's count while it was
        "update",
    )
    assert len(before_of(updated)["workspace_ids"]) == 1
    assert after_of(updated)["workspace_ids"] == []


def test_deactivate_activate_and_delete_log_the_status_and_the_seats(uow: Uow) -> None:
    account_id = make_account(uow)
    uid = add_user(uow, account_id, "ada@example.com").user.id

    def step(change: Callable[..., Any]) -> list[tuple[str, str | None, str | None]]:
        start = last_position(uow, account_id)
        change(uow(), account_id=account_id, user_id=uid, at=NOW, actor=OPERATOR)
        found = new_entries(uow, account_id, start)
        assert all(e.at == CLOCK and e.actor == OPERATOR for e in found)
        return [
            (
                e.type,
                before_of(e).get("status") if e.before else None,
                after_of(e).get("status") if e.after else None,
            )
            for e in found
        ]

    assert step(users.deactivate_user) == [
        ("seat.released", None, None),
        ("user.deactivated", "active", "inactive"),
    ]
    assert step(users.activate_user) == [
        ("seat.taken", None, None),
        ("user.activated", "inactive", "active"),
    ]
    assert step(users.delete_user) == [
        ("seat.released", None, None),
        ("user.deleted", "active", "deleted"),
    ]
    assert_chains_hold(uow)


def test_refused_changes_log_nothing(uow: Uow) -> None:
    account_id = make_account(uow)
    admin = add_user(uow, account_id, "admin@example.com", role="admin").user.id
    start = last_position(uow, account_id)

    with pytest.raises(InvalidInput):  # 422
        add_user(uow, account_id, "not an email")
    with pytest.raises(InvalidInput):  # 422
        users.update_user(
            uow(), account_id=account_id, user_id=admin, at=NOW, actor=OPERATOR, valid_to="soon"
        )
    with pytest.raises(AdminRuleViolation):  # 409: the role must be removed first
        users.deactivate_user(uow(), account_id=account_id, user_id=admin, at=NOW, actor=OPERATOR)

    assert new_entries(uow, account_id, start) == []


# ------------------------------------------------------------------ invitations, passwords


def _default_workspace(uow: Uow, account_id: str) -> str:
    with uow() as u:
        return u.workspaces.default_id(account_id)


def test_an_invitation_and_its_accept_are_logged_the_accept_as_the_invitee(
    uow: Uow, engine: Engine
) -> None:
    account_id = make_account(uow)
    workspace_id = _default_workspace(uow, account_id)
    start = last_position(uow, account_id)

    invitation = users.invite_user(
        uow(),
        account_id=account_id,
        email="grace@example.com",
        workspace_id=workspace_id,
        at=NOW,
        actor=OPERATOR,
        role="admin",
    )

    (invited,) = new_entries(uow, account_id, start)
    assert (invited.type, invited.subject, invited.actor, invited.at) == (
        "invitation.created",
        f"invitation:{invitation.id}",
        OPERATOR,
        CLOCK,
    )
    facts = after_of(invited)
    assert (facts["user_id"], facts["email"], facts["role"], facts["workspace_id"]) == (
        invitation.user.id,
        "grace@example.com",
        "admin",
        workspace_id,
    )
    assert facts["expires_at"].startswith("2026-01-27T09:30:00")  # 7 days of the clock
    start = last_position(uow, account_id)

    accepted = users.accept_invitation(
        UnitOfWork(engine, actor="anonymous", request_id="req_accept"),
        token=invitation.token,
        first_name="Grace",
        last_name="Hopper",
        password=PASSWORD,
        at=NOW,
    )

    found = new_entries(uow, account_id, start)
    assert [e.type for e in found] == ["seat.taken", "user.created", "password.set"]
    invitee = f"user:{accepted.user.id}"
    assert all((e.actor, e.request_id, e.at) == (invitee, "req_accept", CLOCK) for e in found), (
        found
    )
    created = found[1]
    assert (before_of(created)["status"], after_of(created)["status"]) == ("invited", "active")
    assert (after_of(created)["first_name"], after_of(created)["last_name"]) == (
        "Grace",
        "Hopper",
    )
    assert after_of(found[2]) == {"user_id": accepted.user.id, "via": "invitation"}


def test_an_accept_refused_by_a_full_block_pool_logs_nothing(uow: Uow) -> None:
    account_id = make_account(uow, {"module": "console", "capacity": 1, "policy": "block"})
    invitation = users.invite_user(
        uow(),
        account_id=account_id,
        email="grace@example.com",
        workspace_id=_default_workspace(uow, account_id),
        at=NOW,
        actor=OPERATOR,
    )
    add_user(uow, account_id, "ada@example.com")
    start = last_position(uow, account_id)

    with pytest.raises(SeatLimitReached):
        users.accept_invitation(
            uow(),
            token=invitation.token,
            first_name="Grace",
            last_name="Hopper",
            password=PASSWORD,
            at=NOW,
        )

    assert new_entries(uow, account_id, start) == []


def test_setting_a_password_with_the_setup_token_is_logged_as_the_user(
    uow: Uow, engine: Engine
) -> None:
    account_id = make_account(uow)
    created = add_user(uow, account_id, "ada@example.com")
    start = last_position(uow, account_id)

    users.set_password_with_setup_token(
        UnitOfWork(engine, actor="anonymous"), token=created.setup_token, password=PASSWORD, at=NOW
    )

    (password_set,) = new_entries(uow, account_id, start)
    assert (password_set.type, password_set.subject, password_set.actor, password_set.at) == (
        "password.set",
        f"user:{created.user.id}",
        f"user:{created.user.id}",
        CLOCK,
    )
    assert after_of(password_set) == {"user_id": created.user.id, "via": "setup_token"}


# ------------------------------------------------------------------------------ tokens


def _user_with_password(uow: Uow, account_id: str, email: str) -> str:
    created = add_user(uow, account_id, email)
    users.set_password_with_setup_token(uow(), token=created.setup_token, password=PASSWORD, at=NOW)
    return created.user.id


def _sign_in(uow: UnitOfWork, account_id: str, email: str, password: str = PASSWORD):  # type: ignore[no-untyped-def]
    return auth.sign_in(
        uow,
        account_id=account_id,
        email=email,
        password=password,
        at=NOW,
        throttle=FailureThrottle("100/minute"),
    )


def test_sign_in_and_sign_out_log_the_token_as_the_user(uow: Uow, engine: Engine) -> None:
    account_id = make_account(uow)
    uid = _user_with_password(uow, account_id, "ada@example.com")
    start = last_position(uow, account_id)

    issued = _sign_in(
        UnitOfWork(engine, actor="anonymous", request_id="req_in"), account_id, "ada@example.com"
    )

    (entry,) = new_entries(uow, account_id, start)
    assert issued.id and entry.subject == f"token:{issued.id}"
    assert (entry.type, entry.actor, entry.request_id, entry.at) == (
        "token.issued",
        f"user:{uid}",
        "req_in",
        CLOCK,
    )
    facts = after_of(entry)
    assert (facts["user_id"], facts["role"], facts["created_by"]) == (uid, "member", f"user:{uid}")
    assert datetime.fromisoformat(facts["expires_at"]) == issued.expires_at  # real time
    start = last_position(uow, account_id)

    auth.revoke_token(
        UnitOfWork(engine, actor=f"user:{uid}", request_id="req_out"), token=issued.token, at=NOW
    )

    (revoked,) = new_entries(uow, account_id, start)
    assert (revoked.type, revoked.subject, revoked.actor, revoked.request_id, revoked.at) == (
        "token.revoked",
        f"token:{issued.id}",
        f"user:{uid}",
        "req_out",
        CLOCK,
    )
    assert before_of(revoked)["revoked_at"] is None
    assert datetime.fromisoformat(after_of(revoked)["revoked_at"]) == NOW
    with pytest.raises(Unauthorized):
        auth.authenticate_token(uow(), token=issued.token, at=NOW)


def test_a_refused_sign_in_logs_nothing(uow: Uow) -> None:
    account_id = make_account(uow)
    uid = _user_with_password(uow, account_id, "ada@example.com")
    start = last_position(uow, account_id)

    with pytest.raises(Unauthorized):
        _sign_in(uow(), account_id, "ada@example.com", "a wrong password")
    assert new_entries(uow, account_id, start) == []
    users.deactivate_user(uow(), account_id=account_id, user_id=uid, at=NOW, actor=OPERATOR)
    start = last_position(uow, account_id)
    with pytest.raises(Unauthorized):  # inactive
        _sign_in(uow(), account_id, "ada@example.com")

    assert new_entries(uow, account_id, start) == []


def test_an_operator_minted_token_is_logged_as_the_operator(uow: Uow) -> None:
    account_id = make_account(uow)
    uid = add_user(uow, account_id, "ada@example.com").user.id
    start = last_position(uow, account_id)

    issued = auth.mint_token(uow(), account_id=account_id, user_id=uid, at=NOW, created_by=OPERATOR)

    (entry,) = new_entries(uow, account_id, start)
    assert (entry.type, entry.subject, entry.actor, entry.request_id, entry.at) == (
        "token.issued",
        f"token:{issued.id}",
        OPERATOR,
        REQUEST_ID,
        CLOCK,
    )
    assert after_of(entry)["created_by"] == OPERATOR


# ------------------------------------------------------------- operator keys, settings


def test_operator_keys_are_logged_on_the_installation_chain(uow: Uow, engine: Engine) -> None:
    operator_keys.ensure_operator_key(
        UnitOfWork(engine), key="slop_env", name="environment", at=NOW
    )
    operator_keys.ensure_operator_key(
        UnitOfWork(engine), key="slop_env", name="environment", at=NOW
    )

    (from_env,) = installation(uow)
    assert (from_env.type, from_env.actor, from_env.account_id, from_env.at) == (
        "operator_key.created",
        SYSTEM,
        None,
        NOW,
    )
    assert after_of(from_env)["name"] == "environment"

    created = operator_keys.create_operator_key(uow(), name="ci", at=NOW)
    operator_keys.revoke_operator_key(uow(), key_id=created.id, at=NOW)
    operator_keys.revoke_operator_key(uow(), key_id=created.id, at=NOW)  # changes nothing

    _, made, revoked = installation(uow)
    assert (made.type, made.subject, made.actor, made.request_id) == (
        "operator_key.created",
        f"operator_key:{created.id}",
        OPERATOR,
        REQUEST_ID,
    )
    assert (after_of(made)["id"], after_of(made)["name"], after_of(made)["key"]) == (
        created.id,
        "ci",
        None,
    )
    assert (revoked.type, revoked.subject) == ("operator_key.revoked", f"operator_key:{created.id}")
    assert before_of(revoked)["revoked_at"] is None
    assert datetime.fromisoformat(after_of(revoked)["revoked_at"]) == NOW
    assert created.key is not None and created.key not in stored_snapshots(engine)
    assert_chains_hold(uow)


def test_the_seller_settings_are_logged_with_before_and_after(uow: Uow) -> None:
    settings.put_seller(uow(), seller=SELLER, at=NOW)
    settings.put_seller(uow(), seller=SELLER, at=NOW)  # the same: no change
    settings.put_seller(uow(), seller={**SELLER, "city": "München"}, at=NOW)

    first, second = installation(uow, "settings.seller_updated")
    assert (first.subject, first.actor, first.request_id, first.at) == (
        "settings:seller",
        OPERATOR,
        REQUEST_ID,
        NOW,
    )
    assert first.before is None and after_of(first)["city"] == "Berlin"
    assert (before_of(second)["city"], after_of(second)["city"]) == ("Berlin", "München")
    assert after_of(second)["vat_id"] == "DE136695976"


# ---------------------------------------------------------------------------- secrets


def test_no_secret_reaches_any_entry(uow: Uow, engine: Engine) -> None:
    account_id = make_account(uow)
    created = add_user(uow, account_id, "ada@example.com")
    users.set_password_with_setup_token(uow(), token=created.setup_token, password=PASSWORD, at=NOW)
    invitation = users.invite_user(
        uow(),
        account_id=account_id,
        email="grace@example.com",
        workspace_id=_default_workspace(uow, account_id),
        at=NOW,
        actor=OPERATOR,
    )
    users.accept_invitation(
        uow(),
        token=invitation.token,
        first_name="Grace",
        last_name="Hopper",
        password=PASSWORD,
        at=NOW,
    )
    signed_in = _sign_in(uow(), account_id, "ada@example.com")
    auth.revoke_token(uow(), token=signed_in.token, at=NOW)
    minted = auth.mint_token(
        uow(), account_id=account_id, user_id=created.user.id, at=NOW, created_by=OPERATOR
    )
    key = operator_keys.create_operator_key(uow(), name="ci", at=NOW)

    text = stored_snapshots(engine)
    secrets = stored_secrets(engine)
    assert len(secrets) >= 6  # two password hashes, two token hashes, a key, an invitation
    shown_once = [created.setup_token, invitation.token, signed_in.token, minted.token, key.key]
    for secret in [*secrets, *shown_once, PASSWORD]:
        assert secret and secret not in text
    for field in ("password_hash", "setup_token_hash", "token_hash", "key_hash", "token"):
        assert f'"{field}":' not in text  # no such key either
