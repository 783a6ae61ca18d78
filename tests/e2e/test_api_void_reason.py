"""Voiding an invoice keeps its reason (POST /v1/invoices/{id}/void {reason}): required,
bounded like a credit note's reason, stored with the invoice and shown with it; on
SQLite and PostgreSQL."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from seatledger.domain.credit_notes import MAX_REASON_LENGTH

if TYPE_CHECKING:
    from tests.e2e.conftest import Api


def issued_invoices(api: Api) -> list[dict[str, Any]]:
    """A test-clock account moved to 1 February 2026: January's and February's period
    invoices."""
    account = api.create_account(test_clock=True, clock_start="2026-01-01T00:00:00Z")
    api.create_contract(account["id"], [api.terms("console", 5, unit_price="30.00")])
    moved = api.ok(
        api.client.post(f"/v1/accounts/{account['id']}/clock", json={"now": "2026-02-01T00:00:00Z"})
    )
    return list(moved["invoices"])


def void(api: Api, invoice_id: str, body: Any) -> Any:
    return api.client.post(f"/v1/invoices/{invoice_id}/void", json=body)


def test_a_void_invoice_keeps_its_reason_and_shows_it(api: Api) -> None:
    january, _ = issued_invoices(api)
    voided = api.ok(void(api, january["id"], {"reason": "  sent to the wrong address "}))
    assert (voided["status"], voided["reason"]) == ("void", "sent to the wrong address")
    assert api.ok(api.client.get(f"/v1/invoices/{january['id']}")) == voided
    # voided once: a second void is refused and the first reason stays
    api.problem(void(api, january["id"], {"reason": "another story"}), 409)
    assert api.ok(api.client.get(f"/v1/invoices/{january['id']}"))["reason"] == (
        "sent to the wrong address"
    )


def test_a_void_without_a_valid_reason_is_422_naming_reason_and_changes_nothing(
    api: Api,
) -> None:
    january, _ = issued_invoices(api)
    before = api.ok(api.client.get(f"/v1/invoices/{january['id']}"))
    for body in (
        {},
        {"reason": None},
        {"reason": ""},
        {"reason": "   "},
        {"reason": "x" * (MAX_REASON_LENGTH + 1)},
        {"reason": "bell\x07"},
        {"reason": 42},
    ):
        api.problem(void(api, january["id"], body), 422, field="reason")
    api.problem(api.client.post(f"/v1/invoices/{january['id']}/void"), 422)
    assert api.ok(api.client.get(f"/v1/invoices/{january['id']}")) == before
    assert (before["status"], before["reason"]) == ("issued", None)
    # the longest reason allowed is kept whole
    longest = "x" * MAX_REASON_LENGTH
    assert api.ok(void(api, january["id"], {"reason": longest}))["reason"] == longest


def test_a_paid_invoice_cannot_be_voided_and_keeps_no_reason(api: Api) -> None:
    _, february = issued_invoices(api)
    api.ok(api.client.post(f"/v1/invoices/{february['id']}/mark-paid"))
    api.problem(void(api, february["id"], {"reason": "too late"}), 409)
    after = api.ok(api.client.get(f"/v1/invoices/{february['id']}"))
    assert (after["status"], after["reason"]) == ("paid", None)
