"""POST /v1/access/check through the real HTTP server: every reason it gives."""

from __future__ import annotations

from datetime import UTC, datetime


def _check(api, account_id: str, **body) -> tuple[bool, str]:
    answer = api.access(account_id, **body)
    assert answer["allowed"] is (answer["reason"] == "ok")
    return answer["allowed"], answer["reason"]


def test_an_active_user_with_a_seat_is_allowed_by_id_and_by_email_of_any_case(api):
    account_id = api.account_with_pools(api.terms("console", 3), api.terms("documents", 3))
    user = api.create_user(account_id, "Ok.User@Example.com")

    answer = api.access(account_id, user_id=user["id"], module="console")

    assert answer == {"allowed": True, "reason": "ok", "user_id": user["id"]}
    assert _check(api, account_id, user_id=user["id"]) == (True, "ok")
    assert _check(api, account_id, email="ok.user@example.com", module="documents") == (True, "ok")
    assert api.access(account_id, email="OK.USER@EXAMPLE.COM")["user_id"] == user["id"]


def test_an_unknown_user_or_a_user_of_another_account_is_not_found(api):
    mine = api.account_with_pools(api.terms("console", 3))
    theirs = api.account_with_pools(api.terms("console", 3))
    stranger = api.create_user(theirs, "stranger@example.com")

    assert api.access(mine, email="nobody@example.com") == {
        "allowed": False,
        "reason": "not_found",
        "user_id": None,
    }
    assert _check(api, mine, user_id="usr_unknown") == (False, "not_found")
    assert _check(api, mine, user_id=stranger["id"], module="console") == (False, "not_found")
    assert _check(api, mine, email="stranger@example.com") == (False, "not_found")
    assert _check(api, theirs, user_id=stranger["id"]) == (True, "ok")


def test_invited_inactive_and_deleted_users_are_refused_with_their_status(api):
    account_id = api.account_with_pools(api.terms("console", 5))
    workspace = api.ok(api.client.get(f"/v1/accounts/{account_id}/workspaces"))["data"][0]
    invitation = api.ok(
        api.client.post(
            f"/v1/accounts/{account_id}/invitations",
            json={"email": "invited@example.com", "workspace_id": workspace["id"]},
        ),
        201,
    )
    inactive = api.create_user(account_id, "inactive@example.com")
    api.ok(api.client.post(f"/v1/accounts/{account_id}/users/{inactive['id']}/deactivate"))
    deleted = api.create_user(account_id, "deleted@example.com")
    api.ok(api.client.delete(f"/v1/accounts/{account_id}/users/{deleted['id']}"))

    for module in (None, "console"):
        extra = {"module": module} if module else {}
        assert _check(api, account_id, user_id=invitation["user_id"], **extra) == (False, "invited")
        assert _check(api, account_id, email="invited@example.com", **extra) == (False, "invited")
        assert _check(api, account_id, user_id=inactive["id"], **extra) == (False, "inactive")
        assert _check(api, account_id, email="inactive@example.com", **extra) == (False, "inactive")
        assert _check(api, account_id, user_id=deleted["id"], **extra) == (False, "deleted")
        assert _check(api, account_id, email="deleted@example.com", **extra) == (False, "deleted")


def test_a_user_without_the_modules_seat_is_no_seat_but_may_still_log_in(api):
    account_id = api.account_with_pools(api.terms("console", 3), api.terms("documents", 3))
    console_only = api.ok(
        api.client.post(
            f"/v1/accounts/{account_id}/profiles", json={"name": "Console", "modules": ["console"]}
        ),
        201,
    )
    user = api.create_user(account_id, "partial@example.com", profile_id=console_only["id"])
    nowhere = api.create_user(account_id, "nowhere@example.com", workspace_ids=[])

    assert _check(api, account_id, user_id=user["id"], module="documents") == (False, "no_seat")
    assert _check(api, account_id, user_id=user["id"], module="console") == (True, "ok")
    assert _check(api, account_id, user_id=user["id"]) == (True, "ok")
    assert _check(api, account_id, user_id=nowhere["id"], module="console") == (False, "no_seat")
    assert _check(api, account_id, user_id=nowhere["id"]) == (True, "ok")


def test_valid_to_is_inclusive_and_after_it_every_check_is_expired_while_the_seat_stays(api):
    account_id = api.account_with_pools(api.terms("console", 3))
    user = api.create_user(account_id, "temp@example.com", valid_to="2026-03-31")

    api.clock.set(datetime(2026, 3, 31, 23, 59, 59, tzinfo=UTC))
    assert _check(api, account_id, user_id=user["id"], module="console") == (True, "ok")

    api.clock.set(datetime(2026, 4, 1, 0, 0, tzinfo=UTC))
    assert _check(api, account_id, user_id=user["id"]) == (False, "expired")
    assert _check(api, account_id, user_id=user["id"], module="console") == (False, "expired")
    assert _check(api, account_id, email="TEMP@example.com", module="console") == (False, "expired")
    assert api.ok(api.client.get(f"/v1/accounts/{account_id}/users/{user['id']}"))["seats"] == [
        "console"
    ]
    assert api.pool(account_id)["in_use"] == 1

    api.ok(
        api.client.patch(
            f"/v1/accounts/{account_id}/users/{user['id']}", json={"valid_to": "2026-12-31"}
        )
    )
    assert _check(api, account_id, user_id=user["id"], module="console") == (True, "ok")


def test_after_the_contracts_end_date_access_checks_answer_contract_ended(api):
    account_id = api.account_with_pools(
        api.terms("console", 3), start_date="2026-01-01", end_date="2026-06-30"
    )
    user = api.create_user(account_id, "until@example.com")
    off = api.create_user(account_id, "off@example.com", active=False)

    api.clock.set(datetime(2026, 6, 30, 23, 59, tzinfo=UTC))
    assert _check(api, account_id, user_id=user["id"], module="console") == (True, "ok")

    api.clock.set(datetime(2026, 7, 1, 0, 0, tzinfo=UTC))
    assert _check(api, account_id, user_id=user["id"], module="console") == (
        False,
        "contract_ended",
    )
    assert _check(api, account_id, email="until@example.com") == (False, "contract_ended")
    assert _check(api, account_id, user_id=off["id"]) == (False, "inactive")
    assert _check(api, account_id, email="nobody@example.com") == (False, "not_found")


def test_a_malformed_access_check_is_422_naming_the_field(api):
    account_id = api.account_with_pools(api.terms("console", 3))
    user = api.create_user(account_id, "x@example.com")

    for body, field in [
        ({"account_id": account_id}, "user_id"),
        ({"account_id": account_id, "user_id": user["id"], "email": "x@example.com"}, "user_id"),
        ({"account_id": account_id, "email": "not-an-email"}, "email"),
        ({"account_id": account_id, "user_id": user["id"], "module": "Console"}, "module"),
        ({"account_id": account_id, "user_id": user["id"], "allowed": True}, "allowed"),
        ({"user_id": user["id"]}, "account_id"),
        ({"account_id": account_id, "user_id": 7}, "user_id"),
    ]:
        api.problem(api.client.post("/v1/access/check", json=body), 422, field=field)
    api.problem(
        api.client.post(
            "/v1/access/check", json={"account_id": "acc_unknown", "user_id": user["id"]}
        ),
        404,
    )
    api.problem(
        api.anonymous.post(
            "/v1/access/check", json={"account_id": account_id, "user_id": user["id"]}
        ),
        401,
    )


def test_an_access_check_for_a_module_the_contract_does_not_name_is_422(api):
    account_id = api.account_with_pools(api.terms("console", 3))
    user = api.create_user(account_id, "someone@example.com")
    response = api.client.post(
        "/v1/access/check",
        json={"account_id": account_id, "user_id": user["id"], "module": "documents"},
    )
    assert response.status_code == 422
    assert response.json()["field"] == "module"


def test_after_the_contract_ends_no_seat_can_be_taken(api):
    account_id = api.account_with_pools(
        api.terms("console", 3), start_date="2025-01-01", end_date="2025-12-31"
    )
    response = api.client.post(
        f"/v1/accounts/{account_id}/users",
        json={"email": "late@example.com", "first_name": "Late", "last_name": "Comer"},
    )
    assert response.status_code == 409
    assert response.json()["type"].endswith("/contract-ended")
    assert api.pool(account_id)["in_use"] == 0
