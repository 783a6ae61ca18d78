"""Who and when on every document (PRODUCT.md §5 Documents, API.md), over HTTP on
SQLite and PostgreSQL: the seller an operator sets (PUT /v1/settings/seller), the
account's billing details (POST and PATCH /v1/accounts), and what each document
keeps of them, its payment method and terms and its due date, as it was issued."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from tests.e2e.conftest import Api

SELLER = {
    "legal_name": "Seatledger GmbH",
    "address_lines": ["Friedrichstraße 123", "3. OG"],
    "postal_code": "10117",
    "city": "Berlin",
    "country": "DE",
    "vat_id": "DE 136 695 976",  # a valid German VAT id, typed with spaces
    "email": "billing@seatledger.example",
}
BUYER = {
    "legal_name": "Acme SAS",
    "address_lines": ["12 rue de la Paix"],
    "postal_code": "75002",
    "city": "Paris",
    "country": "FR",
    "vat_id": "FR40303265045",  # a valid French VAT id
    "email": "ap@acme.example",
}
# the same details as they are kept: VAT ids compact, with their country prefix
SELLER_KEPT = {**SELLER, "vat_id": "DE136695976"}
BUYER_KEPT = {**BUYER}


def put_seller(api: Api, body: dict[str, Any]):  # type: ignore[no-untyped-def]
    return api.client.put("/v1/settings/seller", json=body)


def move_clock(api: Api, account_id: str, now: str) -> list[dict[str, Any]]:
    moved = api.ok(api.client.post(f"/v1/accounts/{account_id}/clock", json={"now": now}))
    return list(moved["invoices"])


def document(api: Api, invoice_id: str) -> dict[str, Any]:
    return dict(api.ok(api.client.get(f"/v1/invoices/{invoice_id}")))


# --- the seller -------------------------------------------------------------------------


def test_an_operator_sets_the_seller_and_reads_back_what_was_kept(api: Api) -> None:
    api.problem(api.client.get("/v1/settings/seller"), 404)  # none set yet

    assert api.ok(put_seller(api, SELLER)) == SELLER_KEPT
    assert api.ok(api.client.get("/v1/settings/seller")) == SELLER_KEPT

    # one seller: a second PUT replaces the first
    moved = {**SELLER, "address_lines": ["Unter den Linden 1"], "postal_code": "10117"}
    del moved["email"]
    kept = {**SELLER_KEPT, "address_lines": ["Unter den Linden 1"], "email": None}
    assert api.ok(put_seller(api, moved)) == kept
    assert api.ok(api.client.get("/v1/settings/seller")) == kept


def test_only_an_operator_sets_or_reads_the_seller(api: Api) -> None:
    api.problem(api.anonymous.put("/v1/settings/seller", json=SELLER), 401)
    api.problem(api.anonymous.get("/v1/settings/seller"), 401)
    api.problem(api.client.get("/v1/settings/seller"), 404)  # nothing was written


BAD_SELLERS = [
    ({k: v for k, v in SELLER.items() if k != "legal_name"}, "legal_name"),
    ({**SELLER, "legal_name": "   "}, "legal_name"),
    ({**SELLER, "legal_name": "Seatledger\u0000 GmbH"}, "legal_name"),
    ({**SELLER, "legal_name": "S" * 201}, "legal_name"),
    ({**SELLER, "address_lines": []}, "address_lines"),
    ({**SELLER, "address_lines": ["a", "b", "c", "d"]}, "address_lines"),  # EN 16931: 3
    ({**SELLER, "address_lines": ["Friedrichstraße 123", "\u0007"]}, "address_lines[1]"),
    ({**SELLER, "postal_code": ""}, "postal_code"),
    ({**SELLER, "city": "Berlin\n"}, "city"),
    ({**SELLER, "country": "XX"}, "country"),  # no such ISO 3166-1 code
    ({**SELLER, "country": "EU"}, "country"),  # a CLDR region, not a country
    ({**SELLER, "country": "de"}, "country"),
    ({**SELLER, "country": "DEU"}, "country"),  # alpha-3
    # DE123456789 fails the German check digit (ISO 7064 mod 11,10 of 12345678 is 8)
    ({**SELLER, "vat_id": "DE123456789"}, "vat_id"),
    ({**SELLER, "vat_id": "FR40303265045"}, "vat_id"),  # valid, but French
    ({**SELLER, "vat_id": "136695976"}, "vat_id"),  # an EU VAT id carries its prefix
    ({k: v for k, v in SELLER.items() if k != "vat_id"}, "vat_id"),  # the seller's is required
    ({**SELLER, "email": "not an email"}, "email"),
    ({**SELLER, "website": "https://seatledger.example"}, "website"),
]


@pytest.mark.parametrize(("body", "field"), BAD_SELLERS)
def test_a_bad_seller_is_422_naming_the_field_and_the_seller_stays_as_it_was(
    api: Api, body: dict[str, Any], field: str
) -> None:
    api.ok(put_seller(api, SELLER))

    api.problem(put_seller(api, body), 422, field=field)

    assert api.ok(api.client.get("/v1/settings/seller")) == SELLER_KEPT


def test_a_vat_id_is_checked_against_its_own_country_rules(api: Api) -> None:
    # Greece's VAT ids start with EL; Northern Ireland's (GB) with XI; Switzerland's
    # are UIDs with MWST; a country python-stdnum has no VAT check for keeps the id.
    cases = [
        ("GR", "EL094259216", "EL094259216"),
        ("GB", "XI 980 7806 84", "XI980780684"),
        ("GB", "GB980780684", "GB980780684"),
        ("CH", "CHE-116.281.710 MWST", "CHE116281710MWST"),
        ("US", "12-3456789", "US123456789"),
    ]
    for country, typed, kept in cases:
        got = api.ok(put_seller(api, {**SELLER, "country": country, "vat_id": typed}))
        assert (got["country"], got["vat_id"]) == (country, kept)
    api.problem(put_seller(api, {**SELLER, "country": "GR", "vat_id": "GR094259216"}), 422)


# --- the account's billing details ------------------------------------------------------


def test_an_account_keeps_the_billing_details_it_is_created_with_and_patched_to(
    api: Api,
) -> None:
    account = api.create_account(name="Acme", billing=BUYER)
    assert account["billing"] == BUYER_KEPT
    assert api.ok(api.client.get(f"/v1/accounts/{account['id']}"))["billing"] == BUYER_KEPT
    assert api.create_account(name="Plain")["billing"] is None  # optional

    moved = {**BUYER, "address_lines": ["1 avenue des Champs-Élysées"], "postal_code": "75008"}
    changed = api.ok(api.client.patch(f"/v1/accounts/{account['id']}", json={"billing": moved}))
    assert changed["billing"] == moved
    assert changed["name"] == "Acme"  # not given: unchanged

    cleared = api.ok(api.client.patch(f"/v1/accounts/{account['id']}", json={"billing": None}))
    assert cleared["billing"] is None


BAD_BILLING = [
    ({k: v for k, v in BUYER.items() if k != "legal_name"}, "billing.legal_name"),
    ({**BUYER, "legal_name": ""}, "billing.legal_name"),
    ({**BUYER, "address_lines": ["12 rue de la Paix\u0000"]}, "billing.address_lines[0]"),
    ({**BUYER, "country": "XX"}, "billing.country"),
    ({**BUYER, "country": "DE", "vat_id": "DE123456789"}, "billing.vat_id"),  # check digit
    ({**BUYER, "vat_id": "DE136695976"}, "billing.vat_id"),  # German, for a French buyer
    ({**BUYER, "vat_id": "FR00303265045"}, "billing.vat_id"),  # wrong French key
    ({**BUYER, "email": "ap@"}, "billing.email"),
    ({**BUYER, "country": None}, "billing.country"),
]


@pytest.mark.parametrize(("billing", "field"), BAD_BILLING)
def test_bad_billing_details_are_422_naming_the_field_and_nothing_is_written(
    api: Api, billing: dict[str, Any], field: str
) -> None:
    before = api.ok(api.client.get("/v1/accounts"))["data"]
    api.problem(
        api.client.post(
            "/v1/accounts", json={"name": "Acme", "currency": "EUR", "billing": billing}
        ),
        422,
        field=field,
    )
    assert api.ok(api.client.get("/v1/accounts"))["data"] == before

    account = api.create_account(name="Acme", billing=BUYER)
    api.problem(
        api.client.patch(f"/v1/accounts/{account['id']}", json={"billing": billing}),
        422,
        field=field,
    )
    assert api.ok(api.client.get(f"/v1/accounts/{account['id']}")) == account


def test_a_buyer_needs_no_vat_id_and_keeps_a_vat_id_without_its_separators(api: Api) -> None:
    private = {k: v for k, v in BUYER.items() if k not in ("vat_id", "email")}
    account = api.create_account(billing=private)
    assert (account["billing"]["vat_id"], account["billing"]["email"]) == (None, None)
    typed = api.create_account(billing={**BUYER, "vat_id": "fr 40 303 265 045"})
    assert typed["billing"]["vat_id"] == "FR40303265045"


# --- what each document keeps -------------------------------------------------------------


def _terms(doc: dict[str, Any]) -> dict[str, Any]:
    keys = ("seller", "buyer", "due_date", "payment_method", "payment_terms_days", "locale")
    return {k: doc[k] for k in (*keys, "tax_rate")}


def test_each_document_keeps_the_seller_buyer_and_terms_it_was_issued_with(api: Api) -> None:
    api.ok(put_seller(api, SELLER))
    account = api.create_account(
        name="Acme",
        tax_rate="19",
        billing=BUYER,
        payment_terms_days=14,
        locale="fr_FR",
        test_clock=True,
        clock_start="2026-01-01T00:00:00Z",
    )
    account_id = account["id"]
    api.create_contract(account_id, [api.terms("console", 2, unit_price="50.00")])
    (january,) = move_clock(api, account_id, "2026-01-10T00:00:00Z")
    note = api.ok(
        api.client.post(
            f"/v1/invoices/{january['id']}/credit-notes",
            json={"amount": "11.90", "reason": "one seat unused"},
        ),
        201,
    )
    as_issued = {
        "seller": SELLER_KEPT,
        "buyer": BUYER_KEPT,
        "payment_method": "invoice",
        "payment_terms_days": 14,
        "locale": "fr_FR",
        "tax_rate": "19",
    }
    # issued 1 January: due 1 January + 14 days; the credit note, issued 10 January on
    # the account's clock, 24 January
    assert _terms(january) == {**as_issued, "due_date": "2026-01-15"}
    assert _terms(note) == {**as_issued, "due_date": "2026-01-24"}
    assert (note["credited_invoice_id"], note["credited_invoice_number"]) == (
        january["id"],
        january["number"],
    )
    assert january["credited_invoice_number"] is None

    # Later edits of the seller and of the account
    new_seller = {**SELLER, "legal_name": "Seatledger SE", "address_lines": ["Neue Straße 1"]}
    api.ok(put_seller(api, new_seller))
    new_buyer = {**BUYER, "legal_name": "Acme Europe SAS"}
    api.ok(
        api.client.patch(
            f"/v1/accounts/{account_id}",
            json={
                "billing": new_buyer,
                "payment_terms_days": 30,
                "payment_method": "card",
                "locale": "de_DE",
                "tax_rate": "7",
            },
        )
    )

    # ... change no issued document
    assert document(api, january["id"]) == january
    assert document(api, note["id"]) == note
    listed = api.ok(api.client.get(f"/v1/accounts/{account_id}/invoices"))["data"]
    assert [d for d in listed if d["id"] in (january["id"], note["id"])] == [january, note]
    # ... and are what the next document keeps: due 1 February + 30 days
    (february,) = move_clock(api, account_id, "2026-02-01T00:00:00Z")
    assert _terms(february) == {
        "seller": {
            **SELLER_KEPT,
            "legal_name": "Seatledger SE",
            "address_lines": ["Neue Straße 1"],
        },
        "buyer": new_buyer,
        "due_date": "2026-03-03",
        "payment_method": "card",
        "payment_terms_days": 30,
        "locale": "de_DE",
        "tax_rate": "7",
    }
    assert document(api, february["id"]) == february


def test_the_due_date_is_the_issue_date_in_utc_plus_the_payment_terms(api: Api) -> None:
    account_id = api.create_account(
        payment_terms_days=14, test_clock=True, clock_start="2026-01-01T00:00:00Z"
    )["id"]
    api.create_contract(
        account_id,
        [api.terms("console", 1, policy="auto_purchase", charge_timing="immediate")],
    )
    move_clock(api, account_id, "2026-01-20T23:30:00Z")
    api.create_user(account_id)
    api.create_user(account_id)  # the second seat is bought at once: an ad-hoc invoice
    docs = api.ok(api.client.get(f"/v1/accounts/{account_id}/invoices"))["data"]
    # the period invoice, 1 January + 14 = 15 January; the charge at 23:30 UTC on
    # 20 January, 20 January + 14 = 3 February
    assert [(d["kind"], d["issued_at"][:10], d["due_date"]) for d in docs] == [
        ("period", "2026-01-01", "2026-01-15"),
        ("ad_hoc", "2026-01-20", "2026-02-03"),
    ]
    # no seller set, no billing details given: the document keeps that there were none
    assert {(d["seller"], d["buyer"], d["tax_rate"]) for d in docs} == {(None, None, "0")}
