"""PRODUCT.md §1 (contract terms), §4 (Terms) and §5 (billing): the contract terms beyond
the worked examples, end to end — mid-period versions (upgrade, downgrade), anchors on
the 29th–31st, a leading short period, a trial, renewals at the seats in use, a minimum
spend, and the bad terms refused.

Each scenario runs on the account's own test clock, through the real HTTP API only (the
``api`` fixture: a uvicorn server on a fresh database, SQLite and PostgreSQL). Expected
amounts come from PRODUCT.md's formulas, the arithmetic written in a comment next to
the assertion that checks it.

Conventions (PRODUCT.md §5):
- periods are half-open ``[period_start, period_end)``: ``period_end`` is the first day
  of the next period; a period invoice is issued at 00:00:00Z of its period start;
- proration by days: day d of a period of D days is charged (D − d + 1) / D;
- a version starting inside a billed period bills, from its start to the period end,
  ``max(q_old, q_new) × price_new − q_old × price_old`` (``q = max(capacity, minimum)``):
  positive, a ``proration`` line; negative, a ``credit`` line on a credit note against
  the invoice that billed the old terms; it falls due at the later of the version's
  start and the moment it is recorded.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from tests.scenarios.documents import clock_account, invoices, lines, move_clock

# ``api`` is tests/e2e/conftest.py's fixture (a live server, its operator client and
# helpers), re-exported to this folder by tests/scenarios/conftest.py.
Api = Any


# --- helpers: the account's clock and its documents -------------------------------------


def amounts(doc: dict[str, Any]) -> list[tuple[Any, ...]]:
    """(kind, module, amount, period_start, period_end) per line: for the lines whose
    quantity and unit price PRODUCT.md leaves to the presentation (a version's
    difference, a commitment top-up)."""
    return [
        (ln["kind"], ln["module"], ln["amount"], ln["period_start"], ln["period_end"])
        for ln in doc["lines"]
    ]


def summary(docs: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    """(type, kind, issued_at, period_start, period_end, total) per document."""
    return [
        (d["type"], d["kind"], d["issued_at"], d["period_start"], d["period_end"], d["total"])
        for d in docs
    ]


def billed_per_pool(docs: list[dict[str, Any]]) -> dict[str, Decimal]:
    """What each pool was billed in all: invoice lines less credit-note lines."""
    out: dict[str, Decimal] = {}
    for doc in docs:
        sign = -1 if doc["type"] == "credit_note" else 1
        for ln in doc["lines"]:
            if ln["module"] is not None:
                out[ln["module"]] = out.get(ln["module"], Decimal(0)) + sign * Decimal(ln["amount"])
    return out


def monthly_contract(api: Api, account_id: str, start_date: str, **terms: Any) -> None:
    """A monthly contract of one ``block`` pool, ``console``."""
    pool = terms.pop("pool")
    api.create_contract(
        account_id, [pool], start_date=start_date, billing_interval="month", **terms
    )


def new_version(api: Api, account_id: str, start_date: str, pool: dict[str, Any]) -> Any:
    """POSTs a later contract version (monthly, one pool); returns the raw response."""
    return api.client.post(
        f"/v1/accounts/{account_id}/contracts",
        json={"start_date": start_date, "billing_interval": "month", "pools": [pool]},
    )


def everything(api: Api, account_id: str) -> dict[str, Any]:
    """The account as the API shows it, its documents included."""
    return {**api.snapshot(account_id), "invoices": invoices(api, account_id)}


# --- 1. a mid-period upgrade ------------------------------------------------------------


def test_a_mid_period_upgrade_bills_the_price_difference_to_the_period_end(api: Api) -> None:
    # History A: the version is recorded on 20 April, after the April invoice was issued
    # and after its own start (16 April).
    late = clock_account(api, "2026-04-01T00:00:00Z", name="Late")
    monthly_contract(api, late, "2026-04-01", pool=api.terms("console", 1, unit_price="10.00"))
    issued = move_clock(api, late, "2026-04-20T09:00:00Z")
    # April (D = 30 days) in advance: 1 × 10.00 = 10.00.
    assert summary(issued) == [
        ("invoice", "period", "2026-04-01T00:00:00Z", "2026-04-01", "2026-05-01", "10.00")
    ]
    assert lines(issued[0]) == [
        ("recurring", "console", 1, "10.00", "10.00", "2026-04-01", "2026-05-01")
    ]

    api.ok(new_version(api, late, "2026-04-16", api.terms("console", 1, unit_price="20.00")), 201)
    # The difference falls due at the later of its start (16 April) and the moment it was
    # recorded (20 April, 09:00): a clock move to that same instant issues it.
    move_clock(api, late, "2026-04-20T09:00:00Z")
    docs = invoices(api, late)
    assert len(docs) == 2
    upgrade = docs[1]
    # From day d = 16 of D = 30 to the period end, q_old = q_new = 1:
    #   (1 × 20.00 − 1 × 10.00) × (30 − 16 + 1) / 30 = (20.00 − 10.00) × 15/30 = 5.00
    # (16 April – 30 April), charged at once (charge_timing immediate).
    assert (upgrade["type"], upgrade["kind"], upgrade["issued_at"]) == (
        "invoice",
        "ad_hoc",
        "2026-04-20T09:00:00Z",
    )
    assert amounts(upgrade) == [("proration", "console", "5.00", "2026-04-16", "2026-05-01")]
    assert upgrade["total"] == "5.00"

    issued = move_clock(api, late, "2026-05-01T00:00:00Z")
    # May in advance at the new price: 1 × 20.00 = 20.00; April is not billed again.
    assert summary(issued) == [
        ("invoice", "period", "2026-05-01T00:00:00Z", "2026-05-01", "2026-06-01", "20.00")
    ]
    assert lines(issued[0]) == [
        ("recurring", "console", 1, "20.00", "20.00", "2026-05-01", "2026-06-01")
    ]
    assert api.pool(late)["unit_price"] == "20.00"

    # History B: the same version recorded on 10 April, BEFORE its start.
    early = clock_account(api, "2026-04-01T00:00:00Z", name="Early")
    monthly_contract(api, early, "2026-04-01", pool=api.terms("console", 1, unit_price="10.00"))
    move_clock(api, early, "2026-04-10T09:00:00Z")
    api.ok(new_version(api, early, "2026-04-16", api.terms("console", 1, unit_price="20.00")), 201)
    # Nothing is due before 16 April, nothing is charged at the recording.
    assert len(invoices(api, early)) == 1
    move_clock(api, early, "2026-05-01T00:00:00Z")
    early_docs = invoices(api, early)
    # The same 5.00 = (20.00 − 10.00) × 15/30, now due at the version's start, 16 April.
    assert summary(early_docs) == [
        ("invoice", "period", "2026-04-01T00:00:00Z", "2026-04-01", "2026-05-01", "10.00"),
        ("invoice", "ad_hoc", "2026-04-16T00:00:00Z", "2026-04-16", "2026-05-01", "5.00"),
        ("invoice", "period", "2026-05-01T00:00:00Z", "2026-05-01", "2026-06-01", "20.00"),
    ]

    # §5: the documents of one history, summed per pool and day, do not depend on the
    # moment each version was entered: the same lines, day for day, in both …
    late_docs = invoices(api, late)
    assert [amounts(d) for d in late_docs] == [amounts(d) for d in early_docs]
    # … and per pool 10.00 + 5.00 + 20.00 = 35.00.
    assert (
        billed_per_pool(late_docs) == billed_per_pool(early_docs) == {"console": Decimal("35.00")}
    )


# --- 2. a mid-period downgrade ----------------------------------------------------------


def test_a_mid_period_downgrade_is_credited_on_a_credit_note_against_the_invoice_that_billed_it(
    api: Api,
) -> None:
    account_id = clock_account(api, "2026-04-01T00:00:00Z")
    monthly_contract(
        api, account_id, "2026-04-01", pool=api.terms("console", 1, unit_price="20.00")
    )
    issued = move_clock(api, account_id, "2026-04-20T09:00:00Z")
    # April in advance: 1 × 20.00 = 20.00.
    assert summary(issued) == [
        ("invoice", "period", "2026-04-01T00:00:00Z", "2026-04-01", "2026-05-01", "20.00")
    ]
    april = issued[0]

    api.ok(
        new_version(api, account_id, "2026-04-16", api.terms("console", 1, unit_price="10.00")),
        201,
    )
    move_clock(api, account_id, "2026-04-20T09:00:00Z")
    docs = invoices(api, account_id)
    assert len(docs) == 2
    note = docs[1]
    # From day 16 of 30: 1 × 10.00 − 1 × 20.00 = −10.00 per period, negative: a credit of
    #   (20.00 − 10.00) × (30 − 16 + 1) / 30 = 10.00 × 15/30 = 5.00 (16 April – 30 April),
    # on a credit note against the April invoice, at the recording moment.
    assert (note["type"], note["issued_at"]) == ("credit_note", "2026-04-20T09:00:00Z")
    assert note["credited_invoice_id"] == april["id"]
    assert note["credited_invoice_number"] == april["number"]
    assert note["number"].startswith("TEST-CN-2026-")
    assert amounts(note) == [("credit", "console", "5.00", "2026-04-16", "2026-05-01")]
    assert note["total"] == "5.00"
    # The April invoice itself never changes (§2.6).
    again = api.ok(api.client.get(f"/v1/invoices/{april['id']}"))
    assert (lines(again), again["total"]) == (lines(april), "20.00")

    issued = move_clock(api, account_id, "2026-05-01T00:00:00Z")
    # May in advance at the new price: 1 × 10.00 = 10.00.
    assert summary(issued) == [
        ("invoice", "period", "2026-05-01T00:00:00Z", "2026-05-01", "2026-06-01", "10.00")
    ]
    # Per pool: 20.00 − 5.00 + 10.00 = 25.00.
    assert billed_per_pool(invoices(api, account_id)) == {"console": Decimal("25.00")}


# --- 3. an anchor on the 31st -----------------------------------------------------------


def test_a_quarterly_contract_anchored_on_31_january_bills_on_the_last_day_of_shorter_months(
    api: Api,
) -> None:
    account_id = clock_account(api, "2026-01-31T00:00:00Z")
    api.create_contract(
        account_id,
        [api.terms("console", 2, unit_price="45.00")],
        start_date="2026-01-31",
        billing_interval="quarter",
    )
    move_clock(api, account_id, "2027-01-31T00:00:00Z")
    docs = invoices(api, account_id)
    # Periods of 3 months from 31 January, each counted from the anchor (never chained):
    # 31 Jan + 3 → 30 April (April has 30 days), + 6 → 31 July, + 9 → 31 October,
    # + 12 → 31 January 2027; each 2 × 45.00 = 90.00, in advance.
    starts = ["2026-01-31", "2026-04-30", "2026-07-31", "2026-10-31", "2027-01-31"]
    ends = ["2026-04-30", "2026-07-31", "2026-10-31", "2027-01-31", "2027-04-30"]
    assert summary(docs) == [
        ("invoice", "period", f"{start}T00:00:00Z", start, end, "90.00")
        for start, end in zip(starts, ends, strict=True)
    ]
    assert [lines(d) for d in docs] == [
        [("recurring", "console", 2, "45.00", "90.00", start, end)]
        for start, end in zip(starts, ends, strict=True)
    ]


# --- 4. a leading short period ----------------------------------------------------------


def test_a_leading_short_period_is_prorated_by_days(api: Api) -> None:
    account_id = clock_account(api, "2026-01-12T00:00:00Z")
    monthly_contract(
        api,
        account_id,
        "2026-01-12",
        billing_anchor="2026-02-01",
        pool=api.terms("console", 1, unit_price="31.00"),
    )
    move_clock(api, account_id, "2026-03-01T00:00:00Z")
    docs = invoices(api, account_id)
    # A start before the anchor: the first period is cut short, [12 January, 1 February),
    # 20 of the 31 days of the January it is cut from: 1 × 31.00 × 20/31 = 20.00.
    # Then full months on the anchor: February 1 × 31.00 = 31.00, March 31.00.
    assert summary(docs) == [
        ("invoice", "period", "2026-01-12T00:00:00Z", "2026-01-12", "2026-02-01", "20.00"),
        ("invoice", "period", "2026-02-01T00:00:00Z", "2026-02-01", "2026-03-01", "31.00"),
        ("invoice", "period", "2026-03-01T00:00:00Z", "2026-03-01", "2026-04-01", "31.00"),
    ]
    assert lines(docs[0]) == [
        ("recurring", "console", 1, "31.00", "20.00", "2026-01-12", "2026-02-01")
    ]
    assert lines(docs[1]) == [
        ("recurring", "console", 1, "31.00", "31.00", "2026-02-01", "2026-03-01")
    ]


# --- 5. a trial -------------------------------------------------------------------------


def test_a_trial_bills_nothing_then_its_first_invoice_at_trial_end(api: Api) -> None:
    account_id = clock_account(api, "2026-01-01T00:00:00Z")
    monthly_contract(
        api,
        account_id,
        "2026-01-01",
        trial_end="2026-01-15",
        pool=api.terms("console", 2, unit_price="30.00"),
    )
    # Seats are enforced and counted in the trial as usual.
    for i in range(2):
        assert api.create_user(account_id, f"trial{i}@example.com")["status"] == "active"
    pool = api.pool(account_id)
    assert (pool["in_use"], pool["capacity"]) == (2, 2)

    # The trial, 1–14 January, is not a billing period: nothing is charged in it.
    assert move_clock(api, account_id, "2026-01-14T23:59:59Z") == []
    assert invoices(api, account_id) == []

    issued = move_clock(api, account_id, "2026-01-15T00:00:00Z")
    # The first period starts at trial_end, which acts as the anchor:
    # [15 January, 15 February), 2 × 30.00 = 60.00, in advance.
    assert summary(issued) == [
        ("invoice", "period", "2026-01-15T00:00:00Z", "2026-01-15", "2026-02-15", "60.00")
    ]
    assert lines(issued[0]) == [
        ("recurring", "console", 2, "30.00", "60.00", "2026-01-15", "2026-02-15")
    ]

    issued = move_clock(api, account_id, "2026-02-15T00:00:00Z")
    # The next period on that anchor: [15 February, 15 March), 2 × 30.00 = 60.00.
    assert summary(issued) == [
        ("invoice", "period", "2026-02-15T00:00:00Z", "2026-02-15", "2026-03-15", "60.00")
    ]


# --- 6. a renewal at the seats in use ---------------------------------------------------


@pytest.mark.parametrize(
    ("users", "renewed_capacity"),
    [
        pytest.param(5, 5, id="five_users_give_five"),
        pytest.param(2, 3, id="two_users_give_the_minimum_of_three"),
    ],
)
def test_a_renewal_at_seats_in_use_resets_capacity_never_below_minimum(
    api: Api, users: int, renewed_capacity: int
) -> None:
    account_id = clock_account(api, "2026-01-01T00:00:00Z")
    monthly_contract(
        api,
        account_id,
        "2026-01-01",
        renewal_capacity="in_use",
        pool=api.terms("console", 10, minimum=3, unit_price="10.00"),
    )
    for i in range(users):
        api.create_user(account_id, f"member{i}@example.com")
    assert (api.pool(account_id)["in_use"], api.pool(account_id)["capacity"]) == (users, 10)

    move_clock(api, account_id, "2026-12-31T12:00:00Z")
    # The first term (12 months from 1 January 2026): capacity 10 is billed every month,
    # max(10, 3) × 10.00 = 100.00, whatever is in use.
    docs = invoices(api, account_id)
    assert [d["period_start"] for d in docs] == [f"2026-{m:02d}-01" for m in range(1, 13)]
    assert {d["total"] for d in docs} == {"100.00"}
    assert api.pool(account_id)["capacity"] == 10

    issued = move_clock(api, account_id, "2027-01-01T00:00:00Z")
    # The renewal on 1 January 2027 (before that instant's period invoice): capacity
    # becomes max(seats in use, minimum) = max(users, 3) = renewed_capacity …
    pool = api.pool(account_id)
    assert (pool["in_use"], pool["capacity"]) == (users, renewed_capacity)
    # … and January 2027 bills max(renewed_capacity, 3) × 10.00:
    # 5 users: 5 × 10.00 = 50.00; 2 users: 3 × 10.00 = 30.00.
    total = f"{renewed_capacity * 10}.00"
    assert summary(issued) == [
        ("invoice", "period", "2027-01-01T00:00:00Z", "2027-01-01", "2027-02-01", total)
    ]
    assert lines(issued[0]) == [
        ("recurring", "console", renewed_capacity, "10.00", total, "2027-01-01", "2027-02-01")
    ]


# --- 7. a minimum spend -----------------------------------------------------------------


def test_a_minimum_spend_is_topped_up_at_the_period_end(api: Api) -> None:
    account_id = clock_account(api, "2026-04-01T00:00:00Z")
    monthly_contract(
        api,
        account_id,
        "2026-04-01",
        minimum_spend="100.00",
        pool=api.terms("console", 1, unit_price="30.00"),
    )
    issued = move_clock(api, account_id, "2026-04-15T09:00:00Z")
    # April in advance: 1 × 30.00 = 30.00; no top-up yet (it is in arrears).
    assert summary(issued) == [
        ("invoice", "period", "2026-04-01T00:00:00Z", "2026-04-01", "2026-05-01", "30.00")
    ]
    assert lines(issued[0]) == [
        ("recurring", "console", 1, "30.00", "30.00", "2026-04-01", "2026-05-01")
    ]

    issued = move_clock(api, account_id, "2026-05-01T00:00:00Z")
    # May's invoice: May in advance, 1 × 30.00 = 30.00, and April's top-up in arrears:
    # billed in April = 30.00, so max(0, 100.00 × 30/30 − 30.00) = 70.00
    # → total 30.00 + 70.00 = 100.00.
    assert summary(issued) == [
        ("invoice", "period", "2026-05-01T00:00:00Z", "2026-05-01", "2026-06-01", "100.00")
    ]
    assert amounts(issued[0]) == [
        ("recurring", "console", "30.00", "2026-05-01", "2026-06-01"),
        ("commitment", None, "70.00", "2026-04-01", "2026-05-01"),
    ]


# --- 8. bad terms -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("terms", "field"),
    [
        # The anchor must lie in the first period, [1 January, 1 February).
        pytest.param({"billing_anchor": "2026-03-01"}, "billing_anchor", id="anchor_too_late"),
        pytest.param({"trial_end": "2025-12-31"}, "trial_end", id="trial_end_before_start"),
        pytest.param({"billing_interval": "week"}, "billing_interval", id="interval_week"),
        # EUR has 2 minor digits.
        pytest.param({"minimum_spend": "10.001"}, "minimum_spend", id="spend_below_a_cent"),
    ],
)
def test_a_contract_with_bad_terms_is_refused_naming_the_field_and_writes_nothing(
    api: Api, terms: dict[str, Any], field: str
) -> None:
    account_id = clock_account(api, "2026-01-01T00:00:00Z")
    before = everything(api, account_id)
    body = {
        "start_date": "2026-01-01",
        "billing_interval": "month",
        "pools": [api.terms("console", 1, unit_price="10.00")],
        **terms,
    }
    api.problem(
        api.client.post(f"/v1/accounts/{account_id}/contracts", json=body), 422, field=field
    )
    assert everything(api, account_id) == before
    assert move_clock(api, account_id, "2026-02-01T00:00:00Z") == []


def test_a_version_starting_before_what_is_already_billed_is_refused(api: Api) -> None:
    account_id = clock_account(api, "2026-01-01T00:00:00Z")
    monthly_contract(
        api, account_id, "2026-01-01", pool=api.terms("console", 1, unit_price="10.00")
    )
    move_clock(api, account_id, "2026-02-10T09:00:00Z")
    # January and February are invoiced: the last instant billed is 1 February, 00:00Z.
    assert [d["period_start"] for d in invoices(api, account_id)] == ["2026-01-01", "2026-02-01"]
    before = everything(api, account_id)
    refused = api.problem(
        new_version(api, account_id, "2026-01-15", api.terms("console", 1, unit_price="20.00")),
        422,
        field="start_date",
    )
    assert "2026-02-01" in refused["detail"]
    assert everything(api, account_id) == before
    # Nothing waits to be billed either: March bills the old terms, 1 × 10.00 = 10.00.
    issued = move_clock(api, account_id, "2026-03-01T00:00:00Z")
    assert [(d["period_start"], d["total"]) for d in issued] == [("2026-03-01", "10.00")]


def test_a_version_below_the_seats_auto_purchase_added_this_term_is_refused(api: Api) -> None:
    account_id = clock_account(api, "2026-01-01T00:00:00Z")
    monthly_contract(
        api,
        account_id,
        "2026-01-01",
        pool=api.terms("console", 1, policy="auto_purchase", unit_price="31.00"),
    )
    move_clock(api, account_id, "2026-01-10T09:00:00Z")
    api.create_user(account_id, "first@example.com")
    api.create_user(account_id, "second@example.com")
    # The second user bought a seat at once: capacity 1 → 2, not refundable this term;
    # charged from day 10 of 31: 31.00 × 22/31 = 22.00.
    assert (api.pool(account_id)["in_use"], api.pool(account_id)["capacity"]) == (2, 2)
    assert [d["total"] for d in invoices(api, account_id)] == ["31.00", "22.00"]
    before = everything(api, account_id)
    api.problem(
        new_version(
            api,
            account_id,
            "2026-01-20",
            api.terms("console", 1, policy="auto_purchase", unit_price="31.00"),
        ),
        422,
        field="pools[0].capacity",
    )
    assert everything(api, account_id) == before
