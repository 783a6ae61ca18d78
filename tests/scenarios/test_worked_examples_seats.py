"""PRODUCT.md §6, worked examples 1–5: their SEAT parts, end to end through the
real HTTP server (one test per example, on SQLite and PostgreSQL).

Money (invoices, proration and true-up lines) arrives with billing and is
deliberately not asserted here; the dates of the examples are still used so the
same tests can grow their invoice assertions later.
"""

from __future__ import annotations

from datetime import UTC, datetime

# ``api`` is tests/e2e/conftest.py's real-server fixture, re-exported to this folder
# by tests/scenarios/conftest.py.

SEED_000_WARNING = (
    "Not enough available user licenses to add new active user. You can still create a user "
    "but it will be inactive until you free up the license"
)
BELOW_MINIMUM = "The number of licenses cannot be less than the minimum set for your account"
PASSWORD = "a long enough password"


def _at(api, year: int, month: int, day: int, hour: int = 9) -> None:
    api.clock.set(datetime(year, month, day, hour, 0, tzinfo=UTC))


def _usage(api, account_id: str, module: str = "console") -> str:
    """The console's "n/m" usage line: seats in use / seats purchased."""
    pool = api.pool(account_id, module)
    return f"{pool['in_use']}/{pool['capacity']}"


def _default_workspace(api, account_id: str) -> str:
    workspaces = api.ok(api.client.get(f"/v1/accounts/{account_id}/workspaces"))["data"]
    return next(w["id"] for w in workspaces if w["is_default"])


def _sign_up(api, account_id: str, email: str) -> dict:
    """Seed 001: invited from the workspace screen (no seat yet), then the person
    signs up (the seat is taken)."""
    usage = _usage(api, account_id)
    invitation = api.ok(
        api.client.post(
            f"/v1/accounts/{account_id}/invitations",
            json={"email": email, "workspace_id": _default_workspace(api, account_id)},
        ),
        201,
    )
    assert _usage(api, account_id) == usage
    return api.ok(
        api.anonymous.post(
            f"/v1/invitations/{invitation['token']}/accept",
            json={"first_name": "Sign", "last_name": "Up", "password": PASSWORD},
        )
    )


def _delete(api, account_id: str, user_id: str) -> dict:
    return api.ok(api.client.delete(f"/v1/accounts/{account_id}/users/{user_id}"))


def _seat_request(api, account_id: str, module: str, target: int, **extra):
    return api.client.post(
        f"/v1/accounts/{account_id}/seat-requests",
        json={"module": module, "target_capacity": target, **extra},
    )


def test_example_1_seed_001_true_up_usage_and_over_limit_warning(api):
    # A yearly contract for 2026 at 120.00 per seat per year, true_up, capacity 3.
    _at(api, 2026, 1, 5)
    account_id = api.account_with_pools(
        api.terms("console", 3, policy="true_up", unit_price="120.00"),
        start_date="2026-01-01",
        end_date="2026-12-31",
        billing_interval="year",
    )
    first = _sign_up(api, account_id, "first@example.com")
    assert first["warnings"] == []
    assert _usage(api, account_id) == "1/3"

    # Four more sign up in March: the 4th and 5th go over capacity, allowed, with a
    # warning that the extra seats are billed at the month's close.
    _at(api, 2026, 3, 10)
    warnings = []
    for i in range(4):
        user = _sign_up(api, account_id, f"march{i}@example.com")
        assert (user["status"], user["seats"]) == ("active", ["console"])
        warnings.append(user["warnings"])
    assert warnings[:2] == [[], []]
    for over in warnings[2:]:
        assert len(over) == 1
        assert "month" in over[0] and "close" in over[0]
    # 5 seats held for 3 purchased: extra = 5 − 3 = 2 at March's close (billing issue).
    pool = api.pool(account_id)
    assert (pool["in_use"], pool["capacity"], pool["available"]) == (5, 3, 0)
    assert _usage(api, account_id) == "5/3"

    # Later, in April: two more sign up and two are deleted; within a month adds
    # and removes net out (no charge at April's close: billing issue).
    _at(api, 2026, 4, 8)
    extra = [_sign_up(api, account_id, f"april{i}@example.com") for i in range(2)]
    assert all(u["warnings"] for u in extra)
    assert api.pool(account_id)["in_use"] == 7
    _at(api, 2026, 4, 20)
    for user in extra:
        assert _delete(api, account_id, user["id"])["seats"] == []
    assert api.pool(account_id)["in_use"] == 5


def test_example_2_seed_000_inactive_when_full_and_add_license(api):
    # Capacity 6, minimum 6, inactive_when_full, 30.00 EUR per month; April has 30 days.
    _at(api, 2026, 4, 1)
    account_id = api.account_with_pools(
        api.terms("console", 6, minimum=6, policy="inactive_when_full", unit_price="30.00"),
        start_date="2026-04-01",
        billing_interval="month",
    )
    for i in range(6):
        assert api.create_user(account_id, f"user{i}@example.com")["status"] == "active"
    pool = api.pool(account_id)
    assert (pool["in_use"], pool["capacity"], pool["minimum"], pool["additional"]) == (6, 6, 6, 0)

    # Creating a seventh gives an inactive user and the warning.
    _at(api, 2026, 4, 16)  # day 16 of a 30-day period
    seventh = api.create_user(account_id, "seventh@example.com")
    assert seventh["status"] == "inactive"
    assert seventh["warnings"] == [SEED_000_WARNING]
    assert seventh["seats"] == []
    assert _usage(api, account_id) == "6/6"

    # With add_license the user is active and capacity is 7
    # (its proration line, 30.00 × 15/30 = 15.00, is the billing issue's).
    activated = api.ok(
        api.client.post(
            f"/v1/accounts/{account_id}/users/{seventh['id']}/activate", json={"add_license": True}
        )
    )
    assert (activated["status"], activated["seats"]) == ("active", ["console"])
    pool = api.pool(account_id)
    assert (pool["in_use"], pool["capacity"], pool["additional"]) == (7, 7, 1)

    # Asking 7 → 8 answers "+1 seat will be requested" (the charge follows with billing).
    preview = api.ok(_seat_request(api, account_id, "console", 8, preview=True))
    assert preview["message"].startswith("+1 seat will be requested")
    assert (preview["from_capacity"], preview["target_capacity"], preview["delta"]) == (7, 8, 1)
    assert api.pool(account_id)["capacity"] == 7

    # Asking 7 → 5 is refused with the seed's sentence, and nothing is stored.
    before = api.snapshot(account_id)
    for preview_flag in (True, False):
        problem = api.problem(
            _seat_request(api, account_id, "console", 5, preview=preview_flag),
            422,
            field="target_capacity",
        )
        assert problem["detail"] == BELOW_MINIMUM
    assert api.snapshot(account_id) == before


def test_example_3_seed_002_block_per_module_profiles_and_valid_to(api):
    _at(api, 2026, 3, 2)
    account_id = api.account_with_pools(
        api.terms("case_management", 5, policy="block"),
        api.terms("documents", 3, policy="block"),
        start_date="2026-01-01",
        billing_interval="year",
        increase_approval="operator",
    )
    both = api.ok(
        api.client.post(
            f"/v1/accounts/{account_id}/profiles",
            json={"name": "Case worker", "modules": ["case_management", "documents"]},
        ),
        201,
    )
    none = api.ok(
        api.client.post(
            f"/v1/accounts/{account_id}/profiles", json={"name": "Login only", "modules": []}
        ),
        201,
    )

    # A profile with both modules costs one license in each.
    workers = [
        api.create_user(account_id, f"worker{i}@example.com", profile_id=both["id"])
        for i in range(3)
    ]
    assert all(w["seats"] == ["case_management", "documents"] for w in workers)
    assert (_usage(api, account_id, "case_management"), _usage(api, account_id, "documents")) == (
        "3/5",
        "3/3",
    )

    # A profile with none costs none and still allows login.
    viewer = api.create_user(account_id, "viewer@example.com", profile_id=none["id"])
    assert viewer["seats"] == []
    assert api.access(account_id, user_id=viewer["id"])["reason"] == "ok"
    assert api.access(account_id, user_id=viewer["id"], module="documents")["reason"] == "no_seat"
    assert (_usage(api, account_id, "case_management"), _usage(api, account_id, "documents")) == (
        "3/5",
        "3/3",
    )

    # A fourth documents user is refused and takes nothing (not even case_management).
    before = api.snapshot(account_id)
    problem = api.problem(
        api.client.post(
            f"/v1/accounts/{account_id}/users",
            json={
                "email": "fourth@example.com",
                "first_name": "Fourth",
                "last_name": "Worker",
                "profile_id": both["id"],
            },
        ),
        409,
        type_suffix="/seat-limit-reached",
    )
    assert (problem["module"], problem["capacity"], problem["in_use"], problem["available"]) == (
        "documents",
        3,
        3,
        0,
    )
    assert api.snapshot(account_id) == before
    # ...and so is giving the login-only user the documents profile.
    api.problem(
        api.client.patch(
            f"/v1/accounts/{account_id}/users/{viewer['id']}", json={"profile_id": both["id"]}
        ),
        409,
        type_suffix="/seat-limit-reached",
    )
    assert api.snapshot(account_id) == before

    # Reducing documents to 2 while 3 hold it is refused (remove users first).
    problem = api.problem(
        _seat_request(api, account_id, "documents", 2), 422, field="target_capacity"
    )
    assert "remove users first" in problem["detail"]
    assert api.snapshot(account_id) == before

    # "We will activate the new licenses": an increase waits for the operator.
    request = api.ok(_seat_request(api, account_id, "documents", 4), 201)
    assert request["status"] == "pending"
    api.problem(
        api.client.post(
            f"/v1/accounts/{account_id}/users",
            json={
                "email": "fourth@example.com",
                "first_name": "Fourth",
                "last_name": "Worker",
                "profile_id": both["id"],
            },
        ),
        409,
        type_suffix="/seat-limit-reached",
    )
    api.ok(api.client.post(f"/v1/seat-requests/{request['id']}/approve"))
    fourth = api.create_user(account_id, "fourth@example.com", profile_id=both["id"])
    assert fourth["seats"] == ["case_management", "documents"]
    assert _usage(api, account_id, "documents") == "4/4"

    # A valid_to in the past blocks login; the license stays held.
    temp = api.create_user(
        account_id, "temp@example.com", profile_id=none["id"], valid_to="2026-03-01"
    )
    assert api.access(account_id, user_id=temp["id"]) == {
        "allowed": False,
        "reason": "expired",
        "user_id": temp["id"],
    }
    assert api.access(account_id, user_id=workers[0]["id"], module="documents")["reason"] == "ok"
    api.ok(
        api.client.patch(
            f"/v1/accounts/{account_id}/users/{workers[0]['id']}", json={"valid_to": "2026-03-01"}
        )
    )
    assert api.access(account_id, user_id=workers[0]["id"], module="documents")["reason"] == (
        "expired"
    )
    assert _usage(api, account_id, "documents") == "4/4"


def test_example_4_seed_003_metered_admin_rules(api):
    # Metered at 10.00 EUR per user per month; April is a 30-day period.
    _at(api, 2026, 4, 1, hour=0)
    account_id = api.account_with_pools(
        api.terms("console", None, policy="metered", unit_price="10.00"),
        start_date="2026-04-01",
        billing_interval="month",
    )
    admin = api.create_user(account_id, "admin@example.com", role="admin")
    whole = api.create_user(account_id, "whole@example.com")
    part = api.create_user(account_id, "part@example.com")
    pool = api.pool(account_id)
    assert (pool["capacity"], pool["available"], pool["in_use"], pool["additional"]) == (
        None,
        None,
        3,
        0,
    )
    # seat requests on a metered pool are 422
    before = api.snapshot(account_id)
    api.problem(_seat_request(api, account_id, "console", 5), 422, field="module")
    assert api.snapshot(account_id) == before

    # One user deactivated at the start of day 13 (12 seat-days; the other 30:
    # 10.00 × 42/30 = 14.00 is the billing issue's).
    _at(api, 2026, 4, 13, hour=0)
    off = api.ok(api.client.post(f"/v1/accounts/{account_id}/users/{part['id']}/deactivate"))
    assert (off["status"], off["seats"]) == ("inactive", [])
    assert api.pool(account_id)["in_use"] == 2
    assert api.access(account_id, user_id=whole["id"], module="console")["reason"] == "ok"
    assert api.access(account_id, user_id=part["id"], module="console")["reason"] == "inactive"

    # Deactivating the only administrator is refused; the role must go first,
    # and it cannot go while it is the last one.
    before = api.snapshot(account_id)
    problem = api.problem(
        api.client.post(f"/v1/accounts/{account_id}/users/{admin['id']}/deactivate"),
        409,
        field="role",
    )
    assert "role" in problem["detail"]
    api.problem(
        api.client.patch(f"/v1/accounts/{account_id}/users/{admin['id']}", json={"role": "member"}),
        409,
        field="role",
    )
    assert api.snapshot(account_id) == before

    # With another administrator, the role is removed first, then the user is deactivated.
    api.ok(
        api.client.patch(f"/v1/accounts/{account_id}/users/{whole['id']}", json={"role": "admin"})
    )
    api.problem(
        api.client.post(f"/v1/accounts/{account_id}/users/{admin['id']}/deactivate"),
        409,
        field="role",
    )
    api.ok(
        api.client.patch(f"/v1/accounts/{account_id}/users/{admin['id']}", json={"role": "member"})
    )
    done = api.ok(api.client.post(f"/v1/accounts/{account_id}/users/{admin['id']}/deactivate"))
    assert done["status"] == "inactive"
    assert api.pool(account_id)["in_use"] == 1


def test_example_5_seed_004_auto_purchase_capacity_grows_and_seat_reused(api):
    # Capacity 10, minimum 10, auto_purchase at 30.00 per month; April has 30 days.
    _at(api, 2026, 4, 1, hour=0)
    account_id = api.account_with_pools(
        api.terms("console", 10, minimum=10, policy="auto_purchase", unit_price="30.00"),
        start_date="2026-04-01",
        billing_interval="month",
    )
    for i in range(8):
        api.create_user(account_id, f"user{i}@example.com")
    # 8 users created: the plan view reads created 8, included 10, additional 0
    # (the period invoice, 10 × 30.00 = 300.00, is the billing issue's).
    pool = api.pool(account_id)
    assert (pool["in_use"], pool["capacity"], pool["minimum"], pool["additional"]) == (8, 10, 10, 0)
    for i in range(8, 10):
        api.create_user(account_id, f"user{i}@example.com")
    assert _usage(api, account_id) == "10/10"

    # The 11th on day 21 of a 30-day period: capacity grows by one at once
    # (30.00 × 10/30 = 10.00 charged at once: billing issue).
    _at(api, 2026, 4, 21)
    eleventh = api.create_user(account_id, "eleventh@example.com")
    assert (eleventh["status"], eleventh["seats"]) == ("active", ["console"])
    pool = api.pool(account_id)
    assert (pool["in_use"], pool["capacity"], pool["additional"]) == (11, 11, 1)

    # Deleting that user refunds nothing: the capacity stays 11, a seat is free.
    _delete(api, account_id, eleventh["id"])
    pool = api.pool(account_id)
    assert (pool["in_use"], pool["capacity"], pool["available"]) == (10, 11, 1)
    # ...and the bought seat cannot be given back during the term (§4): asking for 10
    # is accepted only for the renewal: pending, and approving it now is refused.
    asked = api.ok(_seat_request(api, account_id, "console", 10), 201)
    assert asked["status"] == "pending"
    before = api.pool(account_id)
    api.problem(
        api.client.post(f"/v1/seat-requests/{asked['id']}/approve", json={"effective": "now"}),
        422,
        field="target_capacity",
    )
    assert api.pool(account_id) == before

    # A twelfth user created afterwards reuses the freed seat: capacity stays 11.
    twelfth = api.create_user(account_id, "twelfth@example.com")
    assert (twelfth["status"], twelfth["seats"], twelfth["warnings"]) == ("active", ["console"], [])
    pool = api.pool(account_id)
    assert (pool["in_use"], pool["capacity"], pool["available"], pool["additional"]) == (
        11,
        11,
        0,
        1,
    )
