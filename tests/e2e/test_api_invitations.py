"""Invitations, accepting them, and setting a password with a setup token,
through the real HTTP server."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

SEED_000_WARNING = (
    "Not enough available user licenses to add new active user. You can still create a user "
    "but it will be inactive until you free up the license"
)
PASSWORD = "correct horse battery"


def _default_workspace(api, account_id: str) -> str:
    workspaces = api.ok(api.client.get(f"/v1/accounts/{account_id}/workspaces"))["data"]
    return next(w["id"] for w in workspaces if w["is_default"])


def _invite(api, account_id: str, email: str, **extra) -> dict:
    body = {"email": email, "workspace_id": _default_workspace(api, account_id), **extra}
    return api.ok(api.client.post(f"/v1/accounts/{account_id}/invitations", json=body), 201)


def _accept(api, token: str, **body):
    payload = {"first_name": "Grace", "last_name": "Hopper", "password": PASSWORD, **body}
    return api.anonymous.post(f"/v1/invitations/{token}/accept", json=payload)


# --------------------------------------------------------------------------- invitations


def test_an_invitation_expires_in_7_days_and_takes_no_seat(api):
    account_id = api.account_with_pools(api.terms("console", 2))

    invitation = _invite(api, account_id, "grace@example.com", role="admin")

    assert invitation["id"] and invitation["token"] and invitation["user_id"]
    expires = datetime.fromisoformat(invitation["expires_at"].replace("Z", "+00:00"))
    assert expires == datetime(2026, 3, 8, 12, 0, tzinfo=UTC)
    invited = api.ok(api.client.get(f"/v1/accounts/{account_id}/users/{invitation['user_id']}"))
    assert (invited["status"], invited["seats"], invited["role"]) == ("invited", [], "admin")
    assert [u["id"] for u in api.users(account_id, status="invited")] == [invitation["user_id"]]
    assert api.pool(account_id)["in_use"] == 0
    assert api.access(account_id, email="grace@example.com")["reason"] == "invited"


def test_accepting_an_invitation_needs_no_bearer_token_and_takes_the_seats(api):
    account_id = api.account_with_pools(api.terms("console", 2), api.terms("documents", 2))
    invitation = _invite(api, account_id, "grace@example.com")

    accepted = api.ok(_accept(api, invitation["token"]))

    assert accepted["id"] == invitation["user_id"]
    assert (accepted["first_name"], accepted["last_name"]) == ("Grace", "Hopper")
    assert (accepted["status"], accepted["seats"]) == ("active", ["console", "documents"])
    assert accepted["warnings"] == []
    pools = api.pools(account_id)
    assert (pools["console"]["in_use"], pools["documents"]["in_use"]) == (1, 1)
    assert api.access(account_id, email="GRACE@example.com", module="documents")["reason"] == "ok"
    # the token is used up
    gone = api.problem(_accept(api, invitation["token"]), 410)
    assert gone["field"] == "token"


def test_an_invitation_into_a_full_block_pool_cannot_be_accepted_and_stays_open(api):
    account_id = api.account_with_pools(api.terms("console", 1))
    holder = api.create_user(account_id, "holder@example.com")
    invitation = _invite(api, account_id, "late@example.com")
    before = api.snapshot(account_id)

    problem = api.problem(_accept(api, invitation["token"]), 409, type_suffix="/seat-limit-reached")

    assert (problem["module"], problem["capacity"], problem["in_use"], problem["available"]) == (
        "console",
        1,
        1,
        0,
    )
    assert api.snapshot(account_id) == before
    api.ok(api.client.post(f"/v1/accounts/{account_id}/users/{holder['id']}/deactivate"))
    accepted = api.ok(_accept(api, invitation["token"]))
    assert (accepted["status"], accepted["seats"]) == ("active", ["console"])


def test_accepting_into_a_full_inactive_when_full_pool_saves_the_user_inactive_with_the_warning(
    api,
):
    account_id = api.account_with_pools(api.terms("console", 1, policy="inactive_when_full"))
    api.create_user(account_id, "holder@example.com")
    invitation = _invite(api, account_id, "late@example.com")

    accepted = api.ok(_accept(api, invitation["token"]))

    assert (accepted["status"], accepted["seats"]) == ("inactive", [])
    assert accepted["warnings"] == [SEED_000_WARNING]
    assert api.pool(account_id)["in_use"] == 1


def test_an_invitee_may_not_buy_a_license_add_license_on_accept_is_an_unknown_field(api):
    # §2 rule 5: only admins and above may trigger a charge; the invitee is neither
    account_id = api.account_with_pools(api.terms("console", 1, policy="inactive_when_full"))
    api.create_user(account_id, "holder@example.com")
    invitation = _invite(api, account_id, "late@example.com")
    before = api.snapshot(account_id)
    invoices = f"/v1/accounts/{account_id}/invoices"
    invoices_before = api.ok(api.client.get(invoices))["data"]

    for add_license in (True, False):
        api.problem(
            _accept(api, invitation["token"], add_license=add_license), 422, field="add_license"
        )
    assert api.snapshot(account_id) == before

    accepted = api.ok(_accept(api, invitation["token"]))

    assert (accepted["status"], accepted["seats"]) == ("inactive", [])
    assert accepted["warnings"] == [SEED_000_WARNING]
    assert (api.pool(account_id)["capacity"], api.pool(account_id)["in_use"]) == (1, 1)
    assert api.ok(api.client.get(invoices))["data"] == invoices_before


def test_an_invitation_cannot_be_accepted_after_7_days(api):
    account_id = api.account_with_pools(api.terms("console", 2))
    invitation = _invite(api, account_id, "slow@example.com")

    api.clock.set(datetime(2026, 3, 8, 11, 59, tzinfo=UTC))
    early = _invite(api, account_id, "early@example.com")  # a second, later invitation
    api.clock.set(datetime(2026, 3, 8, 12, 0, tzinfo=UTC))
    before = api.snapshot(account_id)

    problem = api.problem(_accept(api, invitation["token"]), 410, field="token")

    assert "expired" in problem["detail"]
    assert api.snapshot(account_id) == before
    assert api.ok(_accept(api, early["token"]))["status"] == "active"


def test_inviting_an_email_that_is_already_a_user_is_409_whatever_its_case(api):
    account_id = api.account_with_pools(api.terms("console", 3))
    api.create_user(account_id, "Taken@Example.com")
    _invite(api, account_id, "pending@example.com")
    before = api.snapshot(account_id)

    for email in ["taken@example.com", "TAKEN@EXAMPLE.COM", "Pending@Example.com"]:
        api.problem(
            api.client.post(
                f"/v1/accounts/{account_id}/invitations",
                json={"email": email, "workspace_id": _default_workspace(api, account_id)},
            ),
            409,
            field="email",
            type_suffix="/duplicate-email",
        )

    assert api.snapshot(account_id) == before


def test_invalid_invitations_are_refused_naming_the_field_and_nothing_is_written(api):
    account_id = api.account_with_pools(api.terms("console", 3))
    workspace_id = _default_workspace(api, account_id)
    before = api.snapshot(account_id)

    for body, status, field in [
        ({"email": "", "workspace_id": workspace_id}, 422, "email"),
        ({"email": "not-an-email", "workspace_id": workspace_id}, 422, "email"),
        ({"email": "a@example.com"}, 422, "workspace_id"),
        ({"email": "a@example.com", "workspace_id": workspace_id, "role": "boss"}, 422, "role"),
        (
            {"email": "a@example.com", "workspace_id": workspace_id, "status": "active"},
            422,
            "status",
        ),
        (
            {"email": "a@example.com", "workspace_id": workspace_id, "expires_at": "2030-01-01"},
            422,
            "expires_at",
        ),
        ({"email": "a@example.com", "workspace_id": "wsp_unknown"}, 404, "workspace_id"),
        (
            {"email": "a@example.com", "workspace_id": workspace_id, "profile_id": "prf_unknown"},
            404,
            "profile_id",
        ),
    ]:
        api.problem(
            api.client.post(f"/v1/accounts/{account_id}/invitations", json=body),
            status,
            field=field,
        )

    assert api.snapshot(account_id) == before


def test_invalid_accept_input_is_refused_and_the_invitation_stays_open(api):
    account_id = api.account_with_pools(api.terms("console", 3))
    invitation = _invite(api, account_id, "careful@example.com")
    before = api.snapshot(account_id)

    for body, field in [
        ({"password": "short"}, "password"),
        ({"password": 1234567890}, "password"),
        ({"first_name": ""}, "first_name"),
        ({"last_name": "Hop\u0000per"}, "last_name"),
        ({"email": "other@example.com"}, "email"),
        ({"status": "active"}, "status"),
    ]:
        api.problem(_accept(api, invitation["token"], **body), 422, field=field)
    for token in ["inv_unknown", "nope", invitation["token"] + "x"]:
        api.problem(_accept(api, token), 404)

    assert api.snapshot(account_id) == before
    assert (
        api.ok(_accept(api, invitation["token"], first_name="Zoë", last_name="O'Brien-Smith"))[
            "status"
        ]
        == "active"
    )


def test_deleting_an_invited_user_revokes_the_invitation(api):
    account_id = api.account_with_pools(api.terms("console", 3))
    invitation = _invite(api, account_id, "revoked@example.com")

    api.ok(api.client.delete(f"/v1/accounts/{account_id}/users/{invitation['user_id']}"))

    api.problem(_accept(api, invitation["token"]), 410, field="token")
    assert api.pool(account_id)["in_use"] == 0
    # and the email may be invited again
    assert _invite(api, account_id, "revoked@example.com")["user_id"] != invitation["user_id"]


def test_an_invited_user_becomes_active_only_by_accepting(api):
    account_id = api.account_with_pools(api.terms("console", 3))
    invitation = _invite(api, account_id, "wait@example.com")
    before = api.snapshot(account_id)

    api.problem(
        api.client.post(f"/v1/accounts/{account_id}/users/{invitation['user_id']}/activate"), 409
    )

    assert api.snapshot(account_id) == before


# ---------------------------------------------------------------------------- auth/setup


def test_a_setup_token_sets_the_password_once(api):
    account_id = api.account_with_pools(api.terms("console", 3))
    user = api.create_user(account_id, "setup@example.com")

    for body, status, field in [
        ({"token": user["setup_token"], "password": "short"}, 422, "password"),
        ({"token": user["setup_token"]}, 422, "password"),
        (
            {"token": user["setup_token"], "password": PASSWORD, "email": "x@example.com"},
            422,
            "email",
        ),
        ({"token": "setup_unknown", "password": PASSWORD}, 404, "token"),
    ]:
        api.problem(api.anonymous.post("/v1/auth/setup", json=body), status, field=field)

    done = api.anonymous.post(
        "/v1/auth/setup", json={"token": user["setup_token"], "password": PASSWORD}
    )
    assert done.status_code == 204
    assert done.content == b""
    api.problem(
        api.anonymous.post(
            "/v1/auth/setup", json={"token": user["setup_token"], "password": PASSWORD + "!"}
        ),
        404,
        field="token",
    )


def test_a_setup_token_still_works_days_later(api):
    account_id = api.account_with_pools(api.terms("console", 3))
    user = api.create_user(account_id, "later@example.com")

    api.clock.advance(timedelta(days=3))

    done = api.anonymous.post(
        "/v1/auth/setup", json={"token": user["setup_token"], "password": PASSWORD}
    )
    assert done.status_code == 204
