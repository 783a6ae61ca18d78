"""A billing run isolates each account's failure (issue 6, item 4), on SQLite and
PostgreSQL: whatever makes one account fail, its work is rolled back, the run
records it with its reason, and every other account is billed — through the
service, ``seatledger bill`` and ``POST /v1/billing-runs``."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, date, datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from typer.testing import CliRunner

from seatledger.clock import FixedClock
from seatledger.entrypoints import cli
from seatledger.entrypoints.api.app import create_app
from seatledger.services import accounts, billing, operator_keys
from seatledger.services.unit_of_work import UnitOfWork

Uow = Callable[[], UnitOfWork]
OPERATOR = "operator:test"
REAL_NOW = datetime(2026, 2, 15, 9, 30, tzinfo=UTC)
AS_OF = datetime(2026, 2, 1, tzinfo=UTC)
BILLED = {"period:2026-01-01", "period:2026-02-01"}

# A fault at the database itself: a trigger that refuses every invoice of one account.
INSTALL_FAULT = {
    "sqlite": [
        "CREATE TRIGGER test_fault_refuses_invoices BEFORE INSERT ON invoices "
        "WHEN NEW.account_id = '{account_id}' "
        "BEGIN SELECT RAISE(ABORT, 'injected fault: this account cannot be billed'); END",
    ],
    "postgres": [
        "CREATE FUNCTION test_fault_refuses_invoices() RETURNS trigger LANGUAGE plpgsql AS "
        "$$ BEGIN RAISE EXCEPTION 'injected fault: this account cannot be billed'; END $$",
        "CREATE TRIGGER test_fault_refuses_invoices BEFORE INSERT ON invoices FOR EACH ROW "
        "WHEN (NEW.account_id = '{account_id}') EXECUTE FUNCTION test_fault_refuses_invoices()",
    ],
}
LIFT_FAULT = {
    "sqlite": ["DROP TRIGGER IF EXISTS test_fault_refuses_invoices"],
    "postgres": [
        "DROP TRIGGER IF EXISTS test_fault_refuses_invoices ON invoices",
        "DROP FUNCTION IF EXISTS test_fault_refuses_invoices()",
    ],
}


class DatabaseFault:
    def __init__(self, engine: Engine, backend: str) -> None:
        self.engine, self.backend = engine, backend

    def refuse_invoices_of(self, account_id: str) -> None:
        self._run(s.format(account_id=account_id) for s in INSTALL_FAULT[self.backend])

    def lift(self) -> None:
        self._run(LIFT_FAULT[self.backend])

    def _run(self, statements: Iterable[str]) -> None:
        with self.engine.begin() as conn:
            for statement in statements:
                conn.exec_driver_sql(statement)


@pytest.fixture
def fault(engine: Engine, backend: str) -> Iterator[DatabaseFault]:
    injected = DatabaseFault(engine, backend)
    yield injected
    injected.lift()  # the PostgreSQL database outlives the test


def real_account(uow: Uow) -> str:
    account = accounts.create_account(
        uow(), name="Acme", currency="EUR", at=datetime(2025, 12, 1, tzinfo=UTC)
    )
    accounts.create_contract(
        uow(),
        account_id=account.id,
        start_date=date(2026, 1, 1),
        billing_interval="month",
        pools=[{"module": "console", "capacity": 2, "policy": "block", "unit_price": "30.00"}],
        at=datetime(2025, 12, 1, tzinfo=UTC),
        actor=OPERATOR,
    )
    return account.id


def three_accounts_the_middle_one_failing(uow: Uow, fault: DatabaseFault) -> list[str]:
    """Three accounts in the order a run visits them (by id); the middle one's
    invoices are refused by the database."""
    ids = sorted(real_account(uow) for _ in range(3))
    fault.refuse_invoices_of(ids[1])
    return ids


def keys(uow: Uow, account_id: str) -> set[str]:
    with uow() as u:
        done = u.markers.done_since(account_id, None)
        return {d.key for d in u.invoices.issued_since(account_id, None)} | done


def test_a_billing_run_bills_every_other_account_when_one_fails_and_reports_why(
    uow_factory, fault, caplog
):
    first, middle, last = three_accounts_the_middle_one_failing(uow_factory, fault)

    with caplog.at_level(logging.ERROR, logger="seatledger.billing"):
        result = billing.run_billing(uow_factory, as_of=AS_OF, now=REAL_NOW)

    assert keys(uow_factory, first) == keys(uow_factory, last) == BILLED
    assert keys(uow_factory, middle) == set(), "the failed account's work is rolled back whole"
    assert (result.accounts, result.invoices_issued) == (3, 4)
    assert [account for account, _ in result.failures] == [middle]
    reason = result.failures[0][1]
    assert "injected fault: this account cannot be billed" in reason
    assert "\n" not in reason and "Traceback" not in reason and "[SQL" not in reason
    logged = [r for r in caplog.records if middle in r.getMessage()]
    assert len(logged) == 1 and logged[0].exc_info is not None, "logged with its traceback"

    # once the fault is gone, the next run bills it, and only it
    fault.lift()
    again = billing.run_billing(uow_factory, as_of=AS_OF, now=REAL_NOW)
    assert (again.failures, again.invoices_issued) == ([], 2)
    assert keys(uow_factory, middle) == BILLED


def test_bill_names_the_account_it_could_not_bill_and_bills_the_others(
    uow_factory, fault, db_url, monkeypatch
):
    first, middle, last = three_accounts_the_middle_one_failing(uow_factory, fault)
    monkeypatch.setenv("SEATLEDGER_DATABASE_URL", db_url)

    outcome = CliRunner().invoke(cli.app, ["bill", "--as-of", "2026-02-01"])

    assert outcome.exit_code == 1, outcome.output
    assert "Issued 4 invoices for 3 accounts" in outcome.output
    assert f"Not billed: account {middle}: " in outcome.output
    assert "injected fault" in outcome.output
    assert keys(uow_factory, first) == keys(uow_factory, last) == BILLED
    assert keys(uow_factory, middle) == set()


def test_a_billing_run_over_http_lists_the_account_it_could_not_bill(engine, uow_factory, fault):
    first, middle, last = three_accounts_the_middle_one_failing(uow_factory, fault)
    key = operator_keys.create_operator_key(uow_factory(), name="test", at=REAL_NOW).key
    app = create_app(engine=engine, clock=FixedClock(REAL_NOW))

    with TestClient(app) as client:
        response = client.post(
            "/v1/billing-runs",
            json={"as_of": "2026-02-01T00:00:00Z"},
            headers={"Authorization": f"Bearer {key}"},
        )

    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["accounts"], body["invoices_issued"]) == (3, 4)
    assert [f["account_id"] for f in body["failures"]] == [middle]
    assert "injected fault" in body["failures"][0]["detail"]
    assert keys(uow_factory, first) == keys(uow_factory, last) == BILLED
    assert keys(uow_factory, middle) == set()
