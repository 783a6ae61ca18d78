"""User tokens (issue 9 item 1): minted by operators, stored as hashes, and
checked against the user as it is now on every request: a deactivated,
deleted, past-valid_to or re-roled user's token is 401 at once, as are
expired, revoked, forged and unknown tokens."""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from seatledger.adapters.db import tables as t
from seatledger.services.auth import mint_token
from seatledger.services.unit_of_work import UnitOfWork


def _mint(api, account_id: str, user_id: str) -> dict:
    return api.ok(api.client.post(f"/v1/accounts/{account_id}/users/{user_id}/tokens"), 201)


def _as(api, token: str):
    return api.new_client(token=token)


def _caller(client):
    return client.get("/v1/auth/token")


def _account_with_admin_and_member(api) -> tuple[str, dict, dict]:
    account_id = api.account_with_pools(api.terms("console", 5))
    admin = api.create_user(account_id, "admin@example.com", role="admin")
    member = api.create_user(account_id, "member@example.com")
    return account_id, admin, member


def test_an_operator_mints_a_user_token_that_acts_as_that_user_for_12_hours(api, engine):
    account_id, admin, _ = _account_with_admin_and_member(api)

    minted = _mint(api, account_id, admin["id"])

    assert minted["token"].startswith("slu_")
    expires_at = datetime.fromisoformat(minted["expires_at"].replace("Z", "+00:00"))
    assert expires_at == api.clock.now() + timedelta(hours=12)
    client = _as(api, minted["token"])
    assert api.ok(_caller(client)) == {
        "kind": "user",
        "id": admin["id"],
        "account_id": account_id,
        "role": "admin",
    }
    assert api.ok(client.get(f"/v1/accounts/{account_id}/users/{admin['id']}"))["id"] == admin["id"]
    with engine.connect() as conn:
        rows = conn.execute(select(t.user_tokens)).all()
    assert [r.token_hash for r in rows] == [hashlib.sha256(minted["token"].encode()).hexdigest()]
    assert all(minted["token"] not in str(tuple(r)) for r in rows)
    api.clock.advance(timedelta(hours=12))
    api.problem(_caller(client), 401)


def test_a_token_minted_for_a_user_who_cannot_sign_in_is_refused_and_only_operators_mint(api):
    account_id, admin, member = _account_with_admin_and_member(api)
    api.ok(api.client.post(f"/v1/accounts/{account_id}/users/{member['id']}/deactivate"))

    api.problem(api.client.post(f"/v1/accounts/{account_id}/users/{member['id']}/tokens"), 409)
    admin_client = _as(api, _mint(api, account_id, admin["id"])["token"])
    api.problem(admin_client.post(f"/v1/accounts/{account_id}/users/{admin['id']}/tokens"), 403)


def test_a_deactivated_users_token_is_401_on_the_next_request(api):
    account_id, _, member = _account_with_admin_and_member(api)
    client = _as(api, _mint(api, account_id, member["id"])["token"])
    assert api.ok(_caller(client))["id"] == member["id"]

    api.ok(api.client.post(f"/v1/accounts/{account_id}/users/{member['id']}/deactivate"))

    problem = api.problem(_caller(client), 401)
    assert "inactive" in problem["detail"]
    api.ok(api.client.post(f"/v1/accounts/{account_id}/users/{member['id']}/activate"))
    assert api.ok(_caller(client))["id"] == member["id"]


def test_a_deleted_users_token_is_401(api):
    account_id, _, member = _account_with_admin_and_member(api)
    client = _as(api, _mint(api, account_id, member["id"])["token"])

    api.ok(api.client.delete(f"/v1/accounts/{account_id}/users/{member['id']}"))

    assert "deleted" in api.problem(_caller(client), 401)["detail"]


def test_a_token_of_a_user_past_valid_to_on_the_accounts_test_clock_is_401(api):
    account_id = api.create_account(test_clock=True, clock_start="2026-06-30T09:00:00+00:00")["id"]
    api.create_contract(account_id, [api.terms("console", 5)])
    member = api.create_user(account_id, "temp@example.com", valid_to="2026-06-30")
    client = _as(api, _mint(api, account_id, member["id"])["token"])
    assert api.ok(_caller(client))["id"] == member["id"]  # valid_to is its last day

    api.ok(
        api.client.post(
            f"/v1/accounts/{account_id}/clock", json={"now": "2026-07-01T00:00:00+00:00"}
        )
    )

    assert "valid_to" in api.problem(_caller(client), 401)["detail"]


def test_a_token_is_401_once_its_users_role_changed_in_either_direction(api):
    account_id, admin, member = _account_with_admin_and_member(api)
    admin_client = _as(api, _mint(api, account_id, admin["id"])["token"])
    member_client = _as(api, _mint(api, account_id, member["id"])["token"])
    users = f"/v1/accounts/{account_id}/users"

    api.ok(api.client.patch(f"{users}/{member['id']}", json={"role": "admin"}))
    api.ok(api.client.patch(f"{users}/{admin['id']}", json={"role": "member"}))

    api.problem(_caller(member_client), 401)
    api.problem(_caller(admin_client), 401)
    fresh = _as(api, _mint(api, account_id, member["id"])["token"])
    assert api.ok(_caller(fresh))["role"] == "admin"


def test_a_token_with_a_short_lifetime_is_401_from_its_expiry_on(api, engine):
    account_id, _, member = _account_with_admin_and_member(api)
    issued = mint_token(
        UnitOfWork(engine),
        account_id=account_id,
        user_id=member["id"],
        at=api.clock.now(),
        created_by="test",
        ttl=timedelta(minutes=5),
    )
    client = _as(api, issued.token)
    api.clock.advance(timedelta(minutes=4, seconds=59))
    assert api.ok(_caller(client))["id"] == member["id"]

    api.clock.advance(timedelta(seconds=1))

    assert "expired" in api.problem(_caller(client), 401)["detail"]


def test_signing_out_revokes_the_token_for_the_next_request(api):
    account_id, _, member = _account_with_admin_and_member(api)
    token = _mint(api, account_id, member["id"])["token"]
    client = _as(api, token)

    assert client.delete("/v1/auth/token").status_code == 204

    api.problem(_caller(client), 401)
    api.problem(client.delete("/v1/auth/token"), 401)


def test_forged_unknown_and_missing_tokens_are_401_with_a_bearer_challenge(api):
    account_id, _, member = _account_with_admin_and_member(api)
    real = _mint(api, account_id, member["id"])["token"]
    forged = real[:-4] + ("AAAA" if not real.endswith("AAAA") else "BBBB")
    for token in (
        forged,
        "slu_" + secrets.token_urlsafe(32),
        "slu_",
        "slu_' OR '1'='1",
        "nonsense",
    ):
        response = _caller(_as(api, token))
        api.problem(response, 401)
        assert response.headers["www-authenticate"] == "Bearer"
    api.problem(_caller(api.anonymous), 401)


def test_a_token_expiry_is_real_time_whatever_the_accounts_test_clock_says(api):
    account_id = api.create_account(test_clock=True, clock_start="2026-01-01T00:00:00+00:00")["id"]
    api.create_contract(account_id, [api.terms("console", 5)])
    member = api.create_user(account_id, "clocked@example.com")
    minted = _mint(api, account_id, member["id"])
    client = _as(api, minted["token"])

    api.ok(
        api.client.post(
            f"/v1/accounts/{account_id}/clock", json={"now": "2026-12-01T00:00:00+00:00"}
        )
    )

    assert api.ok(_caller(client))["id"] == member["id"]
    assert datetime.fromisoformat(minted["expires_at"].replace("Z", "+00:00")) == datetime(
        2026, 3, 2, 0, 0, tzinfo=UTC
    )
