"""PRODUCT.md §6, worked examples 1–5: the exact amounts, end to end.

Each example runs months of billing on the account's own test clock, through
the real HTTP API only (the ``api`` fixture: a uvicorn server on a fresh
database, SQLite and PostgreSQL). The arithmetic of every amount is written in
a comment next to the assertion that checks it.

Conventions used below (PRODUCT.md §5):
- periods are half-open ``[period_start, period_end)``: ``period_end`` is the
  first day of the next period;
- a period invoice is issued at 00:00:00Z of its period start, an ad-hoc
  invoice at the instant of its charge (or of the month close);
- proration by days: day d of a period of D days is charged (D − d + 1) / D;
- test-clock accounts number their documents ``TEST-INV-YYYY-NNNNNN``.
"""

from __future__ import annotations

import re
from typing import Any

from tests.scenarios.documents import clock_account, invoice, invoices, lines, move_clock, upcoming

# ``api`` is tests/e2e/conftest.py's fixture (a live server, its operator client and
# helpers), re-exported to this folder by tests/scenarios/conftest.py.
Api = Any

INACTIVE_WHEN_FULL_WARNING = (
    "Not enough available user licenses to add new active user. You can still create a "
    "user but it will be inactive until you free up the license"
)
BELOW_MINIMUM = "The number of licenses cannot be less than the minimum set for your account"
TEST_NUMBER = re.compile(r"^TEST-INV-(\d{4})-(\d{6})$")


# --- helpers: the account's clock and its documents (tests/scenarios/documents.py) -----


def assert_test_numbers(docs: list[dict[str, Any]]) -> None:
    """A test-clock account's own gapless TEST- sequence, in the order of issue."""
    numbers = [d["number"] for d in docs]
    matches = [TEST_NUMBER.match(n) for n in numbers]
    assert all(matches), numbers
    sequence = [int(m.group(2)) for m in matches if m]
    assert sequence == list(range(1, len(docs) + 1)), numbers
    assert [int(m.group(1)) for m in matches if m] == [int(d["issued_at"][:4]) for d in docs]


def default_workspace(api: Api, account_id: str) -> str:
    data = api.ok(api.client.get(f"/v1/accounts/{account_id}/workspaces"))["data"]
    return str(next(w["id"] for w in data if w["is_default"]))


def sign_up(api: Api, account_id: str, email: str) -> dict[str, Any]:
    """Seed 001's "sign up": invited (no seat), then the invitation is accepted."""
    invitation = api.ok(
        api.client.post(
            f"/v1/accounts/{account_id}/invitations",
            json={"email": email, "workspace_id": default_workspace(api, account_id)},
        ),
        201,
    )
    return dict(
        api.ok(
            api.anonymous.post(
                f"/v1/invitations/{invitation['token']}/accept",
                json={
                    "first_name": "Grace",
                    "last_name": "Hopper",
                    "password": "correct horse battery",
                },
            )
        )
    )


def delete_user(api: Api, account_id: str, user_id: str) -> None:
    deleted = api.ok(api.client.delete(f"/v1/accounts/{account_id}/users/{user_id}"))
    assert deleted["status"] == "deleted"


# --- example 1 ----------------------------------------------------------------------------


def test_example_1_seed_001_true_up_charges_200_then_160(api: Api) -> None:
    account_id = clock_account(api, "2026-01-01T00:00:00Z")
    # A yearly contract for 2026 at 120.00 per seat per year, true_up, capacity 3.
    api.create_contract(
        account_id,
        [api.terms("console", 3, policy="true_up", unit_price="120.00")],
        start_date="2026-01-01",
        end_date="2026-12-31",
        billing_interval="year",
    )
    first = sign_up(api, account_id, "first@example.com")
    assert first["status"] == "active" and first["warnings"] == []
    pool = api.pool(account_id)
    assert (pool["in_use"], pool["capacity"]) == (1, 3)  # usage reads "1/3"

    issued = move_clock(api, account_id, "2026-01-01T09:00:00Z")
    # The period invoice, in advance: 3 × 120.00 = 360.00 (January–December).
    assert len(issued) == 1
    period = invoice(api, issued[0]["id"])
    assert (period["kind"], period["issued_at"]) == ("period", "2026-01-01T00:00:00Z")
    assert (period["period_start"], period["period_end"]) == ("2026-01-01", "2027-01-01")
    assert lines(period) == [
        ("recurring", "console", 3, "120.00", "360.00", "2026-01-01", "2027-01-01")
    ]
    assert period["total"] == "360.00"

    # January and February close with nothing extra: no document.
    assert move_clock(api, account_id, "2026-03-10T09:00:00Z") == []

    # Four more sign up in March: 5 seats held for 3 purchased — allowed, with a warning.
    march = [sign_up(api, account_id, f"march{i}@example.com") for i in range(4)]
    assert [u["status"] for u in march] == ["active"] * 4
    assert [bool(u["warnings"]) for u in march] == [False, False, True, True]
    pool = api.pool(account_id)
    assert (pool["in_use"], pool["capacity"]) == (5, 3)

    issued = move_clock(api, account_id, "2026-04-01T00:00:00Z")
    # March's close: extra = max(0, 5 held − 3 purchased) = 2; capacity becomes 5, and an
    # ad-hoc invoice dated 1 April charges 2 × 120.00 × 10/12 = 200.00 (March–December:
    # 10 of the period's 12 months, counting March).
    assert len(issued) == 1
    true_up = invoice(api, issued[0]["id"])
    assert (true_up["kind"], true_up["issued_at"]) == ("ad_hoc", "2026-04-01T00:00:00Z")
    assert lines(true_up) == [
        ("true_up", "console", 2, "120.00", "200.00", "2026-03-01", "2027-01-01")
    ]
    assert (true_up["subtotal"], true_up["tax"], true_up["total"]) == ("200.00", "0.00", "200.00")
    pool = api.pool(account_id)
    assert (pool["in_use"], pool["capacity"]) == (5, 5)
    # Exactly once: the same instant again issues nothing.
    assert move_clock(api, account_id, "2026-04-01T00:00:00Z") == []

    # April, 5 of 5 in use: two more sign up and two are deleted — they net out.
    move_clock(api, account_id, "2026-04-10T09:00:00Z")
    sign_up(api, account_id, "april0@example.com")
    sign_up(api, account_id, "april1@example.com")
    delete_user(api, account_id, march[0]["id"])
    delete_user(api, account_id, march[1]["id"])
    # April's close: extra = max(0, 5 held − 5 purchased) = 0: no charge.
    assert move_clock(api, account_id, "2026-05-01T00:00:00Z") == []
    assert len(invoices(api, account_id)) == 2
    assert api.pool(account_id)["capacity"] == 5

    # May: four sign up and two are deleted: 7 held for 5 purchased.
    move_clock(api, account_id, "2026-05-12T09:00:00Z")
    may = [sign_up(api, account_id, f"may{i}@example.com") for i in range(4)]
    delete_user(api, account_id, may[0]["id"])
    delete_user(api, account_id, march[2]["id"])
    pool = api.pool(account_id)
    assert (pool["in_use"], pool["capacity"]) == (7, 5)

    issued = move_clock(api, account_id, "2026-06-01T00:00:00Z")
    # May's close: extra = 7 − 5 = 2 → 2 × 120.00 × 8/12 = 160.00 (May–December).
    assert len(issued) == 1
    second = invoice(api, issued[0]["id"])
    assert (second["kind"], second["issued_at"]) == ("ad_hoc", "2026-06-01T00:00:00Z")
    assert lines(second) == [
        ("true_up", "console", 2, "120.00", "160.00", "2026-05-01", "2027-01-01")
    ]
    assert second["total"] == "160.00"
    pool = api.pool(account_id)
    assert (pool["in_use"], pool["capacity"]) == (7, 7)

    # The rest of the year: 7 held for 7 purchased at every close, nothing more to bill.
    assert move_clock(api, account_id, "2027-01-01T00:00:00Z") == []
    assert upcoming(api, account_id) is None  # the contract has ended: nothing is coming

    docs = invoices(api, account_id)
    assert [(d["kind"], d["total"]) for d in docs] == [
        ("period", "360.00"),
        ("ad_hoc", "200.00"),
        ("ad_hoc", "160.00"),
    ]
    assert [d["id"] for d in docs] == [period["id"], true_up["id"], second["id"]]
    assert all(d["type"] == "invoice" and d["currency"] == "EUR" for d in docs)
    assert_test_numbers(docs)


# --- example 2 ----------------------------------------------------------------------------


def test_example_2_seed_000_add_license_prorates_15_00(api: Api) -> None:
    account_id = clock_account(api, "2026-04-01T00:00:00Z")
    # A monthly contract from 1 April: April has D = 30 days.
    api.create_contract(
        account_id,
        [api.terms("console", 6, minimum=6, policy="inactive_when_full", unit_price="30.00")],
        start_date="2026-04-01",
        billing_interval="month",
    )
    issued = move_clock(api, account_id, "2026-04-01T08:00:00Z")
    # April's period invoice: max(6, 6) × 30.00 = 180.00.
    assert [(i["kind"], i["issued_at"], i["total"]) for i in issued] == [
        ("period", "2026-04-01T00:00:00Z", "180.00")
    ]
    assert lines(issued[0]) == [
        ("recurring", "console", 6, "30.00", "180.00", "2026-04-01", "2026-05-01")
    ]

    for i in range(6):
        created = api.create_user(account_id, f"staff{i}@example.com")
        assert created["status"] == "active" and created["warnings"] == []
    pool = api.pool(account_id)
    assert (pool["in_use"], pool["capacity"], pool["available"]) == (6, 6, 0)

    # Day 16 of April (the clock's time of day does not matter to day proration).
    assert move_clock(api, account_id, "2026-04-16T09:00:00Z") == []
    seventh = api.create_user(account_id, "seventh@example.com")
    assert seventh["status"] == "inactive"
    assert seventh["warnings"] == [INACTIVE_WHEN_FULL_WARNING]
    assert len(invoices(api, account_id)) == 1  # an inactive user costs nothing

    activated = api.ok(
        api.client.post(
            f"/v1/accounts/{account_id}/users/{seventh['id']}/activate", json={"add_license": True}
        )
    )
    assert activated["status"] == "active"
    pool = api.pool(account_id)
    assert (pool["in_use"], pool["capacity"]) == (7, 7)

    docs = invoices(api, account_id)
    assert len(docs) == 2
    charge = invoice(api, docs[1]["id"])
    # The added license, charged at once: day d = 16 of D = 30 →
    # 1 × 30.00 × (30 − 16 + 1) / 30 = 30.00 × 15/30 = 15.00 (16 April – 30 April).
    assert (charge["kind"], charge["issued_at"]) == ("ad_hoc", "2026-04-16T09:00:00Z")
    assert (charge["period_start"], charge["period_end"]) == ("2026-04-16", "2026-05-01")
    assert lines(charge) == [
        ("proration", "console", 1, "30.00", "15.00", "2026-04-16", "2026-05-01")
    ]
    assert charge["total"] == "15.00"

    # The Billing tab: 7 → 8 previews the request and its charge at this moment, the same
    # proration: 30.00 × 15/30 = 15.00 now; a preview stores nothing.
    before = api.snapshot(account_id)
    preview = api.ok(
        api.client.post(
            f"/v1/accounts/{account_id}/seat-requests",
            json={"module": "console", "target_capacity": 8, "preview": True},
        )
    )
    assert preview["message"] == "+1 seat will be requested: 15.00 EUR now"
    assert preview["delta"] == 1
    assert api.snapshot(account_id) == before
    assert len(invoices(api, account_id)) == 2

    # 7 → 5 goes below the minimum of 6: refused, nothing stored.
    refused = api.problem(
        api.client.post(
            f"/v1/accounts/{account_id}/seat-requests",
            json={"module": "console", "target_capacity": 5},
        ),
        422,
    )
    assert refused["detail"] == BELOW_MINIMUM
    assert api.snapshot(account_id) == before

    # The next period invoice as it stands: max(7, 6) × 30.00 = 210.00 for May.
    coming = upcoming(api, account_id)
    assert coming is not None and coming["number"] is None
    assert (coming["kind"], coming["issued_at"]) == ("period", "2026-05-01T00:00:00Z")
    assert lines(coming) == [
        ("recurring", "console", 7, "30.00", "210.00", "2026-05-01", "2026-06-01")
    ]

    issued = move_clock(api, account_id, "2026-05-01T00:00:00Z")
    # May: 7 × 30.00 = 210.00; the April proration is not charged again.
    assert len(issued) == 1
    may = invoice(api, issued[0]["id"])
    assert (may["kind"], may["issued_at"]) == ("period", "2026-05-01T00:00:00Z")
    assert (may["period_start"], may["period_end"]) == ("2026-05-01", "2026-06-01")
    assert lines(may) == lines(coming)
    assert may["total"] == "210.00"

    docs = invoices(api, account_id)
    assert [(d["kind"], d["total"]) for d in docs] == [
        ("period", "180.00"),
        ("ad_hoc", "15.00"),
        ("period", "210.00"),
    ]
    assert_test_numbers(docs)


# --- example 3 ----------------------------------------------------------------------------


def test_example_3_seed_002_block_pools_bill_recurring_per_module(api: Api) -> None:
    account_id = clock_account(api, "2026-04-01T00:00:00Z")
    api.create_contract(
        account_id,
        [
            api.terms("case_management", 5, policy="block", unit_price="40.00"),
            api.terms("documents", 3, policy="block", unit_price="25.00"),
        ],
        start_date="2026-04-01",
        billing_interval="month",
    )
    both = api.ok(
        api.client.post(
            f"/v1/accounts/{account_id}/profiles",
            json={"name": "Case handler", "modules": ["case_management", "documents"]},
        ),
        201,
    )
    none = api.ok(
        api.client.post(
            f"/v1/accounts/{account_id}/profiles", json={"name": "Seasonal", "modules": []}
        ),
        201,
    )

    issued = move_clock(api, account_id, "2026-04-01T08:00:00Z")
    # April's period invoice, one recurring line per module:
    #   case_management 5 × 40.00 = 200.00, documents 3 × 25.00 = 75.00 → 275.00.
    assert len(issued) == 1
    april = invoice(api, issued[0]["id"])
    assert (april["kind"], april["issued_at"]) == ("period", "2026-04-01T00:00:00Z")
    assert lines(april) == [
        ("recurring", "case_management", 5, "40.00", "200.00", "2026-04-01", "2026-05-01"),
        ("recurring", "documents", 3, "25.00", "75.00", "2026-04-01", "2026-05-01"),
    ]
    assert april["total"] == "275.00"

    # A profile with both modules costs one license in each.
    holders = [
        api.create_user(account_id, f"case{i}@example.com", profile_id=both["id"]) for i in range(3)
    ]
    assert all(sorted(u["seats"]) == ["case_management", "documents"] for u in holders)
    # A profile with none costs none and still allows login.
    seasonal = api.create_user(account_id, "seasonal@example.com", profile_id=none["id"])
    assert seasonal["status"] == "active" and seasonal["seats"] == []
    assert api.access(account_id, user_id=seasonal["id"]) == {
        "allowed": True,
        "reason": "ok",
        "user_id": seasonal["id"],
    }
    pools = api.pools(account_id)
    assert (pools["case_management"]["in_use"], pools["documents"]["in_use"]) == (3, 3)

    # A fourth documents user is refused and takes nothing (not even case_management).
    before = api.snapshot(account_id)
    api.problem(
        api.client.post(
            f"/v1/accounts/{account_id}/users",
            json={
                "email": "fourth@example.com",
                "first_name": "Ada",
                "last_name": "Byron",
                "profile_id": both["id"],
            },
        ),
        409,
        type_suffix="/seat-limit-reached",
    )
    assert api.snapshot(account_id) == before
    # Reducing documents to 2 while 3 hold it is refused.
    api.problem(
        api.client.post(
            f"/v1/accounts/{account_id}/seat-requests",
            json={"module": "documents", "target_capacity": 2},
        ),
        422,
    )
    assert api.snapshot(account_id) == before

    # A valid_to in the past blocks login, not the license.
    move_clock(api, account_id, "2026-04-20T09:00:00Z")
    api.ok(
        api.client.patch(
            f"/v1/accounts/{account_id}/users/{holders[2]['id']}", json={"valid_to": "2026-04-19"}
        )
    )
    assert api.access(account_id, user_id=holders[2]["id"])["reason"] == "expired"
    assert api.access(account_id, user_id=holders[0]["id"], module="documents")["reason"] == "ok"
    assert api.pool(account_id, "documents")["in_use"] == 3

    # Refusals charge nothing: May bills the same capacity, 200.00 + 75.00 = 275.00.
    coming = upcoming(api, account_id)
    assert coming is not None and coming["total"] == "275.00"
    issued = move_clock(api, account_id, "2026-05-01T00:00:00Z")
    assert len(issued) == 1
    may = invoice(api, issued[0]["id"])
    assert (may["kind"], may["issued_at"]) == ("period", "2026-05-01T00:00:00Z")
    assert (may["period_start"], may["period_end"]) == ("2026-05-01", "2026-06-01")
    assert lines(may) == [
        ("recurring", "case_management", 5, "40.00", "200.00", "2026-05-01", "2026-06-01"),
        ("recurring", "documents", 3, "25.00", "75.00", "2026-05-01", "2026-06-01"),
    ]
    assert lines(may) == lines(coming)
    assert may["total"] == "275.00"
    assert_test_numbers(invoices(api, account_id))


# --- example 4 ----------------------------------------------------------------------------


def test_example_4_seed_003_metered_42_seat_days_is_14_00(api: Api) -> None:
    account_id = clock_account(api, "2026-04-01T00:00:00Z")
    # Metered: 10.00 EUR per active user per month, billed in arrears; April: D = 30.
    api.create_contract(
        account_id,
        [api.terms("console", None, policy="metered", unit_price="10.00")],
        start_date="2026-04-01",
        billing_interval="month",
    )
    admin = api.create_user(account_id, "admin@example.com", role="admin")
    member = api.create_user(account_id, "member@example.com")
    pool = api.pool(account_id)
    assert (pool["in_use"], pool["capacity"], pool["available"]) == (2, None, None)

    issued = move_clock(api, account_id, "2026-04-01T08:00:00Z")
    # April's period invoice: a metered pool has no recurring line and nothing has ended
    # yet: issued anyway, for 0.00.
    assert len(issued) == 1
    april = invoice(api, issued[0]["id"])
    assert (april["kind"], april["issued_at"]) == ("period", "2026-04-01T00:00:00Z")
    assert (april["period_start"], april["period_end"]) == ("2026-04-01", "2026-05-01")
    assert april["lines"] == [] and april["total"] == "0.00"

    # The member is deactivated at the very start of day 13: it held its seat on days
    # 1–12 only.
    assert move_clock(api, account_id, "2026-04-13T00:00:00Z") == []
    deactivated = api.ok(
        api.client.post(f"/v1/accounts/{account_id}/users/{member['id']}/deactivate")
    )
    assert deactivated["status"] == "inactive"
    assert api.pool(account_id)["in_use"] == 1

    # Deactivating the only administrator is refused; so is deactivating an
    # administrator who still has the role, even when another one remains.
    api.problem(api.client.post(f"/v1/accounts/{account_id}/users/{admin['id']}/deactivate"), 409)
    login_only = api.ok(
        api.client.post(
            f"/v1/accounts/{account_id}/profiles", json={"name": "Login only", "modules": []}
        ),
        201,
    )
    owner = api.create_user(
        account_id, "owner@example.com", role="owner", profile_id=login_only["id"]
    )
    assert owner["seats"] == []  # takes no license: no seat-day either
    api.problem(api.client.post(f"/v1/accounts/{account_id}/users/{admin['id']}/deactivate"), 409)
    demoted = api.ok(
        api.client.patch(f"/v1/accounts/{account_id}/users/{admin['id']}", json={"role": "member"})
    )
    assert (demoted["role"], demoted["status"]) == ("member", "active")

    # Seat-days: the first user 30 (every day of April) + the member 12 (days 1–12) = 42;
    # metered = max(10.00 × 42/30, 0 × 10.00) = 14.00.
    move_clock(api, account_id, "2026-04-20T09:00:00Z")
    coming = upcoming(api, account_id)
    expected = [("metered", "console", 42, "10.00", "14.00", "2026-04-01", "2026-05-01")]
    assert coming is not None
    assert (coming["kind"], coming["issued_at"]) == ("period", "2026-05-01T00:00:00Z")
    assert lines(coming) == expected

    issued = move_clock(api, account_id, "2026-05-01T00:00:00Z")
    # The next period invoice carries the arrears of April: one metered line, 14.00.
    assert len(issued) == 1
    may = invoice(api, issued[0]["id"])
    assert (may["kind"], may["issued_at"]) == ("period", "2026-05-01T00:00:00Z")
    assert (may["period_start"], may["period_end"]) == ("2026-05-01", "2026-06-01")
    assert lines(may) == expected
    assert (may["subtotal"], may["total"]) == ("14.00", "14.00")

    docs = invoices(api, account_id)
    assert [(d["kind"], d["total"]) for d in docs] == [("period", "0.00"), ("period", "14.00")]
    assert_test_numbers(docs)


# --- example 5 ----------------------------------------------------------------------------


def test_example_5_seed_004_minimum_300_and_auto_purchase_10_00(api: Api) -> None:
    account_id = clock_account(api, "2026-04-01T00:00:00Z")
    # 10 seats included (the minimum commitment), auto_purchase, 30.00 per seat per month;
    # a monthly contract from 1 April: D = 30.
    api.create_contract(
        account_id,
        [api.terms("console", 10, minimum=10, policy="auto_purchase", unit_price="30.00")],
        start_date="2026-04-01",
        billing_interval="month",
    )
    staff = [api.create_user(account_id, f"staff{i}@example.com") for i in range(8)]
    assert all(u["status"] == "active" for u in staff)
    pool = api.pool(account_id)
    assert (pool["in_use"], pool["capacity"], pool["minimum"], pool["additional"]) == (8, 10, 10, 0)

    issued = move_clock(api, account_id, "2026-04-01T08:00:00Z")
    # 8 users created, 10 committed: the period invoice bills max(10, 10) × 30.00 = 300.00.
    assert len(issued) == 1
    april = invoice(api, issued[0]["id"])
    assert (april["kind"], april["issued_at"]) == ("period", "2026-04-01T00:00:00Z")
    assert (april["period_start"], april["period_end"]) == ("2026-04-01", "2026-05-01")
    assert lines(april) == [
        ("recurring", "console", 10, "30.00", "300.00", "2026-04-01", "2026-05-01")
    ]
    assert april["total"] == "300.00"

    staff += [api.create_user(account_id, f"staff{i}@example.com") for i in (8, 9)]
    pool = api.pool(account_id)
    assert (pool["in_use"], pool["capacity"]) == (10, 10)  # 10 of 10 in use
    assert len(invoices(api, account_id)) == 1  # seats within the commitment cost nothing

    # Day 21 of April: the 11th user buys a seat at once.
    assert move_clock(api, account_id, "2026-04-21T10:00:00Z") == []
    eleventh = api.create_user(account_id, "eleventh@example.com")
    assert eleventh["status"] == "active"
    pool = api.pool(account_id)
    assert (pool["in_use"], pool["capacity"], pool["additional"]) == (11, 11, 1)
    docs = invoices(api, account_id)
    assert len(docs) == 2
    charge = invoice(api, docs[1]["id"])
    # 1 × 30.00 × (30 − 21 + 1) / 30 = 30.00 × 10/30 = 10.00 (21 April – 30 April).
    assert (charge["kind"], charge["issued_at"]) == ("ad_hoc", "2026-04-21T10:00:00Z")
    assert (charge["period_start"], charge["period_end"]) == ("2026-04-21", "2026-05-01")
    assert lines(charge) == [
        ("proration", "console", 1, "30.00", "10.00", "2026-04-21", "2026-05-01")
    ]
    assert charge["total"] == "10.00"

    # Deleting that user refunds nothing: no credit note, the purchased seat stays.
    delete_user(api, account_id, eleventh["id"])
    docs = invoices(api, account_id)
    assert [d["type"] for d in docs] == ["invoice", "invoice"]
    assert invoice(api, charge["id"])["lines"] == charge["lines"]
    pool = api.pool(account_id)
    assert (pool["in_use"], pool["capacity"]) == (10, 11)

    # A twelfth user reuses the freed seat: no new invoice, no new seat.
    twelfth = api.create_user(account_id, "twelfth@example.com")
    assert twelfth["status"] == "active"
    pool = api.pool(account_id)
    assert (pool["in_use"], pool["capacity"]) == (11, 11)
    assert len(invoices(api, account_id)) == 2

    # May bills the capacity in force at its start: max(11, 10) × 30.00 = 330.00.
    coming = upcoming(api, account_id)
    expected = [("recurring", "console", 11, "30.00", "330.00", "2026-05-01", "2026-06-01")]
    assert coming is not None and lines(coming) == expected
    issued = move_clock(api, account_id, "2026-05-01T00:00:00Z")
    assert len(issued) == 1
    may = invoice(api, issued[0]["id"])
    assert (may["kind"], may["issued_at"]) == ("period", "2026-05-01T00:00:00Z")
    assert (may["period_start"], may["period_end"]) == ("2026-05-01", "2026-06-01")
    assert lines(may) == expected and may["total"] == "330.00"

    docs = invoices(api, account_id)
    assert [(d["kind"], d["total"]) for d in docs] == [
        ("period", "300.00"),
        ("ad_hoc", "10.00"),
        ("period", "330.00"),
    ]
    assert_test_numbers(docs)

    # The TEST- sequence consumed no live number: the first invoice of an account on the
    # real clock is still INV-2026-000001.
    live_id = api.create_account(name="Live")["id"]
    api.create_contract(
        live_id,
        [api.terms("console", 1, policy="block", unit_price="5.00")],
        start_date="2026-03-01",
        billing_interval="month",
    )
    run = api.ok(api.client.post("/v1/billing-runs", json={}))
    assert run["invoices_issued"] == 1
    assert [d["number"] for d in invoices(api, live_id)] == ["INV-2026-000001"]
