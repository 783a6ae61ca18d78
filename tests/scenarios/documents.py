"""Scenario helpers: an account on its own test clock and the documents it issues,
read through the API (the ``api`` fixture of tests/e2e/conftest.py)."""

from __future__ import annotations

from typing import Any

Api = Any


def clock_account(api: Api, clock_start: str, *, name: str = "Acme") -> str:
    """An account on its own test clock, starting at ``clock_start``."""
    account = api.create_account(
        name=name, currency="EUR", test_clock=True, clock_start=clock_start
    )
    assert account["test_clock"] is True
    return str(account["id"])


def move_clock(api: Api, account_id: str, now: str) -> list[dict[str, Any]]:
    """Moves the test clock forward; returns the invoices issued on the way."""
    out = api.ok(api.client.post(f"/v1/accounts/{account_id}/clock", json={"now": now}))
    assert out["invoices_issued"] == len(out["invoices"])
    return list(out["invoices"])


def invoices(api: Api, account_id: str) -> list[dict[str, Any]]:
    """Every issued document of the account, in the order of issue."""
    data = api.ok(api.client.get(f"/v1/accounts/{account_id}/invoices"))["data"]
    return sorted(data, key=lambda i: (i["issued_at"], i["number"]))


def invoice(api: Api, invoice_id: str) -> dict[str, Any]:
    return dict(api.ok(api.client.get(f"/v1/invoices/{invoice_id}")))


def upcoming(api: Api, account_id: str) -> dict[str, Any] | None:
    return api.ok(api.client.get(f"/v1/accounts/{account_id}/invoices/upcoming"))


def lines(doc: dict[str, Any]) -> list[tuple[Any, ...]]:
    """(kind, module, quantity, unit_price, amount, period_start, period_end) per line."""
    return [
        (
            ln["kind"],
            ln["module"],
            ln["quantity"],
            ln["unit_price"],
            ln["amount"],
            ln["period_start"],
            ln["period_end"],
        )
        for ln in doc["lines"]
    ]
