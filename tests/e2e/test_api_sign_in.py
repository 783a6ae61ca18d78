"""Signing in (issue 9 item 1): passwords set by a setup token or at an
invitation's accept, kept as argon2id hashes; POST /v1/auth/token gives a token
to an active user within valid_to; one 401 for an unknown email and a wrong
password; repeated failures for one email are 429 with Retry-After."""

from __future__ import annotations

import base64
import hashlib
import secrets

from sqlalchemy import select, update

from seatledger.adapters.db import tables as t

PASSWORD = "correct horse battery"


def _user_with_password(api, account_id: str, email: str, **extra) -> dict:
    user = api.create_user(account_id, email, **extra)
    setup = api.anonymous.post(
        "/v1/auth/setup", json={"token": user["setup_token"], "password": PASSWORD}
    )
    assert setup.status_code == 204, setup.text
    return user


def _sign_in(api, account_id: str, email: str, password: str = PASSWORD):
    return api.anonymous.post(
        "/v1/auth/token", json={"account_id": account_id, "email": email, "password": password}
    )


def _stored_hash(engine, user_id: str) -> str | None:
    with engine.connect() as conn:
        return conn.execute(
            select(t.users.c.password_hash).where(t.users.c.id == user_id)
        ).scalar_one()


def test_a_password_set_with_the_setup_token_signs_in_and_is_kept_as_argon2id(api, engine):
    account_id = api.account_with_pools(api.terms("console", 3))
    user = _user_with_password(api, account_id, "ada@example.com")

    signed_in = api.ok(_sign_in(api, account_id, "ADA@example.com"), 201)

    assert signed_in["token"].startswith("slu_") and signed_in["expires_at"]
    caller = api.ok(api.new_client(token=signed_in["token"]).get("/v1/auth/token"))
    assert (caller["kind"], caller["id"], caller["account_id"]) == ("user", user["id"], account_id)
    stored = _stored_hash(engine, user["id"])
    assert stored.startswith("$argon2id$") and PASSWORD not in stored
    # the setup token is used up
    api.problem(
        api.anonymous.post(
            "/v1/auth/setup", json={"token": user["setup_token"], "password": "another one!"}
        ),
        404,
    )


def test_a_password_set_at_an_invitations_accept_signs_in(api):
    account_id = api.account_with_pools(api.terms("console", 3))
    workspaces = api.ok(api.client.get(f"/v1/accounts/{account_id}/workspaces"))["data"]
    invitation = api.ok(
        api.client.post(
            f"/v1/accounts/{account_id}/invitations",
            json={"email": "grace@example.com", "workspace_id": workspaces[0]["id"]},
        ),
        201,
    )
    api.ok(
        api.anonymous.post(
            f"/v1/invitations/{invitation['token']}/accept",
            json={"first_name": "Grace", "last_name": "Hopper", "password": PASSWORD},
        )
    )

    assert api.ok(_sign_in(api, account_id, "grace@example.com"), 201)["token"]


def test_an_unknown_email_and_a_wrong_password_get_the_same_401(api):
    account_id = api.account_with_pools(api.terms("console", 3))
    _user_with_password(api, account_id, "ada@example.com")
    api.create_user(account_id, "nopassword@example.com")
    other_account = api.create_account()["id"]

    answers = [
        _sign_in(api, account_id, "ada@example.com", "wrong password!"),
        _sign_in(api, account_id, "nobody@example.com"),
        _sign_in(api, account_id, "nopassword@example.com"),
        _sign_in(api, other_account, "ada@example.com"),
        _sign_in(api, "acc_\x00' OR 1=1", "ada@example.com"),
    ]

    bodies = [api.problem(a, 401) for a in answers]
    assert all(b == bodies[0] for b in bodies), bodies
    assert all(a.headers["www-authenticate"] == "Bearer" for a in answers)
    assert "token" not in bodies[0]


def test_an_inactive_or_expired_user_with_the_right_password_gets_no_token(api):
    account_id = api.create_account(test_clock=True, clock_start="2026-06-30T12:00:00+00:00")["id"]
    api.create_contract(account_id, [api.terms("console", 3)])
    inactive = _user_with_password(api, account_id, "inactive@example.com")
    _user_with_password(api, account_id, "temp@example.com", valid_to="2026-06-30")
    api.ok(api.client.post(f"/v1/accounts/{account_id}/users/{inactive['id']}/deactivate"))
    assert api.ok(_sign_in(api, account_id, "temp@example.com"), 201)["token"]

    api.ok(
        api.client.post(
            f"/v1/accounts/{account_id}/clock", json={"now": "2026-07-01T00:00:00+00:00"}
        )
    )

    assert (
        "inactive" in api.problem(_sign_in(api, account_id, "inactive@example.com"), 401)["detail"]
    )
    assert "valid_to" in api.problem(_sign_in(api, account_id, "temp@example.com"), 401)["detail"]


def test_five_failures_for_one_email_make_the_next_attempt_429_with_retry_after(api):
    account_id = api.account_with_pools(api.terms("console", 3))
    _user_with_password(api, account_id, "ada@example.com")
    _user_with_password(api, account_id, "bob@example.com")
    for _ in range(5):
        api.problem(_sign_in(api, account_id, "ada@example.com", "wrong password!"), 401)

    throttled = _sign_in(api, account_id, "Ada@Example.com")  # the right password

    api.problem(throttled, 429)
    assert 1 <= int(throttled.headers["retry-after"]) <= 60
    assert api.ok(_sign_in(api, account_id, "bob@example.com"), 201)["token"]


def test_a_success_clears_the_failures_counted_before_it(api):
    account_id = api.account_with_pools(api.terms("console", 3))
    _user_with_password(api, account_id, "ada@example.com")
    for _ in range(4):
        api.problem(_sign_in(api, account_id, "ada@example.com", "wrong password!"), 401)
    api.ok(_sign_in(api, account_id, "ada@example.com"), 201)

    for _ in range(4):
        api.problem(_sign_in(api, account_id, "ada@example.com", "wrong password!"), 401)

    api.ok(_sign_in(api, account_id, "ada@example.com"), 201)


def test_a_password_under_10_characters_is_422_naming_password_and_sets_nothing(api, engine):
    account_id = api.account_with_pools(api.terms("console", 3))
    user = api.create_user(account_id, "ada@example.com")

    short = api.anonymous.post(
        "/v1/auth/setup", json={"token": user["setup_token"], "password": "123456789"}
    )

    api.problem(short, 422, field="password")
    assert _stored_hash(engine, user["id"]) is None
    workspaces = api.ok(api.client.get(f"/v1/accounts/{account_id}/workspaces"))["data"]
    invitation = api.ok(
        api.client.post(
            f"/v1/accounts/{account_id}/invitations",
            json={"email": "grace@example.com", "workspace_id": workspaces[0]["id"]},
        ),
        201,
    )
    api.problem(
        api.anonymous.post(
            f"/v1/invitations/{invitation['token']}/accept",
            json={"first_name": "Grace", "last_name": "Hopper", "password": "short"},
        ),
        422,
        field="password",
    )
    # both tokens still work
    assert (
        api.anonymous.post(
            "/v1/auth/setup", json={"token": user["setup_token"], "password": PASSWORD}
        ).status_code
        == 204
    )


def test_sign_in_refuses_unknown_fields_and_missing_ones_with_422(api):
    account_id = api.account_with_pools(api.terms("console", 3))
    body = {"account_id": account_id, "email": "a@example.com", "password": PASSWORD}

    api.problem(api.anonymous.post("/v1/auth/token", json={**body, "role": "owner"}), 422)
    api.problem(api.anonymous.post("/v1/auth/token", json={"account_id": account_id}), 422)


def test_a_password_kept_as_an_old_scrypt_hash_still_signs_in_and_is_rehashed(api, engine):
    account_id = api.account_with_pools(api.terms("console", 3))
    user = api.create_user(account_id, "old@example.com")
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(PASSWORD.encode(), salt=salt, n=2**14, r=8, p=1)
    legacy = f"scrypt${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"
    with engine.begin() as conn:
        conn.execute(update(t.users).where(t.users.c.id == user["id"]).values(password_hash=legacy))
    api.problem(_sign_in(api, account_id, "old@example.com", "wrong password!"), 401)
    assert _stored_hash(engine, user["id"]) == legacy

    api.ok(_sign_in(api, account_id, "old@example.com"), 201)

    assert _stored_hash(engine, user["id"]).startswith("$argon2id$")
    api.ok(_sign_in(api, account_id, "old@example.com"), 201)


def test_a_signed_in_token_signs_out_and_is_401_afterwards(api):
    account_id = api.account_with_pools(api.terms("console", 3))
    _user_with_password(api, account_id, "ada@example.com")
    client = api.new_client(
        token=api.ok(_sign_in(api, account_id, "ada@example.com"), 201)["token"]
    )

    assert client.delete("/v1/auth/token").status_code == 204

    api.problem(client.get("/v1/auth/token"), 401)
