"""POST /v1/billing-runs over HTTP (API.md: ``{as_of?}``, default now, never in the
future), on SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy import Engine
from tests.e2e.conftest import Api

from seatledger.services.unit_of_work import UnitOfWork


def test_a_plain_date_as_of_is_midnight_utc_of_that_day(api: Api) -> None:
    # the server's clock reads 2026-03-01T12:00Z; a monthly contract from 1 January
    account_id = api.account_with_pools(api.terms("console", 2, policy="block"))
    run = api.ok(api.client.post("/v1/billing-runs", json={"as_of": "2026-02-01"}))
    assert run["as_of"] == "2026-02-01T00:00:00Z"
    # 1 January and 1 February are due at 2026-02-01T00:00Z; 1 March is not
    assert run["invoices_issued"] == 2
    docs = api.ok(api.client.get(f"/v1/accounts/{account_id}/invoices"))["data"]
    assert [d["period_start"] for d in docs] == ["2026-01-01", "2026-02-01"]


def test_a_plain_date_in_the_future_is_refused_naming_as_of(api: Api) -> None:
    problem = api.problem(api.client.post("/v1/billing-runs", json={"as_of": "2026-03-02"}), 422)
    assert problem["field"] == "as_of"


def test_a_run_an_operator_starts_is_in_the_audit_log_as_theirs_with_the_request_id(
    api: Api, engine: Engine
) -> None:
    account_id = api.account_with_pools(api.terms("console", 2, policy="block"))
    run = api.ok(
        api.client.post(
            "/v1/billing-runs", json={"as_of": "2026-02-01"}, headers={"X-Request-Id": "run-42"}
        )
    )
    with UnitOfWork(engine) as u:
        issued = u.audit_log.events(account_id, types=["invoice.issued"])
    assert len(issued) == run["invoices_issued"] == 2
    assert {e.request_id for e in issued} == {"run-42"}
    assert all(e.actor.startswith("operator:") for e in issued)
