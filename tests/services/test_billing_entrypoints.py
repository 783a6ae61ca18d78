"""The entry points of billing runs (PRODUCT.md §5 "Billing runs"): the
``seatledger bill`` command and the scheduler inside ``seatledger serve``, on
SQLite and PostgreSQL."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from seatledger.clock import FixedClock
from seatledger.entrypoints import billing_runs, cli
from seatledger.entrypoints.api.app import create_app
from seatledger.entrypoints.scheduler import (
    DEFAULT_INTERVAL,
    INTERVAL_ENV,
    BillingScheduler,
    interval_from_env,
)
from seatledger.services import accounts
from seatledger.services.unit_of_work import UnitOfWork

OPERATOR = "operator:test"

Uow = Callable[[], UnitOfWork]


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


def real_account(uow: Uow, start: date = date(2026, 1, 1), *, test_clock: bool = False) -> str:
    account = accounts.create_account(
        uow(),
        name="Acme",
        currency="EUR",
        at=utc(2025, 12, 1),
        test_clock=test_clock,
        clock_start=utc(2025, 12, 1) if test_clock else None,
    )
    accounts.create_contract(
        uow(),
        account_id=account.id,
        start_date=start,
        billing_interval="month",
        pools=[{"module": "console", "capacity": 2, "policy": "block", "unit_price": "30.00"}],
        at=utc(2025, 12, 1),
        actor=OPERATOR,
    )
    return account.id


def keys(uow: Uow, account_id: str) -> set[str]:
    with uow() as u:
        return {d.key for d in u.invoices.issued_since(account_id, None)}


def wait_for(condition: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


# ------------------------------------------------------------------ seatledger bill


@pytest.fixture
def run_cli(db_url: str, monkeypatch: pytest.MonkeyPatch) -> Callable[..., object]:
    monkeypatch.setenv("SEATLEDGER_DATABASE_URL", db_url)
    runner = CliRunner()
    return lambda *args: runner.invoke(cli.app, list(args))


def test_bill_issues_what_is_due_and_says_how_many(run_cli, uow_factory):
    first, second = real_account(uow_factory), real_account(uow_factory, date(2026, 2, 1))
    real_account(uow_factory, test_clock=True)

    result = run_cli("bill", "--as-of", "2026-03-01")
    assert result.exit_code == 0, result.output
    assert "Issued 5 invoices for 2 accounts" in result.output
    assert keys(uow_factory, first) == {
        "period:2026-01-01",
        "period:2026-02-01",
        "period:2026-03-01",
    }
    assert keys(uow_factory, second) == {"period:2026-02-01", "period:2026-03-01"}

    again = run_cli("bill", "--as-of", "2026-03-01T00:00:00Z")
    # nothing is due any more: the run looks at no account
    assert again.exit_code == 0 and "Issued 0 invoices for 0 accounts" in again.output
    # an instant with an offset: 2 April 01:00+02:00 is 1 April 23:00Z
    april = run_cli("bill", "--as-of", "2026-04-02T01:00:00+02:00")
    assert april.exit_code == 0 and "Issued 2 invoices" in april.output


def test_bill_without_as_of_bills_up_to_now(run_cli, uow_factory):
    account_id = real_account(uow_factory)
    result = run_cli("bill")
    assert result.exit_code == 0, result.output
    now = datetime.now(UTC)
    months = (now.year - 2026) * 12 + now.month
    assert len(keys(uow_factory, account_id)) == months


def test_bill_refuses_a_moment_in_the_future_with_exit_code_2(run_cli, uow_factory):
    account_id = real_account(uow_factory)
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).date().isoformat()
    result = run_cli("bill", "--as-of", tomorrow)
    assert result.exit_code == 2
    assert "in the future" in result.output
    assert keys(uow_factory, account_id) == set()
    garbage = run_cli("bill", "--as-of", "next tuesday")
    assert garbage.exit_code == 2
    assert keys(uow_factory, account_id) == set()


# ----------------------------------------------------------------------- scheduler


def test_the_scheduler_in_the_app_issues_due_invoices_every_interval(engine, uow_factory):
    account_id = real_account(uow_factory)
    clock = FixedClock(utc(2026, 1, 15, 12))
    app = create_app(engine=engine, clock=clock, scheduler=True, billing_interval=0.05)
    assert keys(uow_factory, account_id) == set()  # nothing before the app starts

    with TestClient(app):
        scheduler = app.state.scheduler
        assert scheduler is not None and scheduler.running
        wait_for(lambda: keys(uow_factory, account_id) == {"period:2026-01-01"})
        clock.set(utc(2026, 3, 1, 0, 0, 1))
        wait_for(
            lambda: (
                keys(uow_factory, account_id)
                == {"period:2026-01-01", "period:2026-02-01", "period:2026-03-01"}
            )
        )
        runs = scheduler.runs
        wait_for(lambda: scheduler.runs >= runs + 2)  # it keeps running, issuing nothing new
        assert len(keys(uow_factory, account_id)) == 3
        assert scheduler.errors == 0
    assert not scheduler.running  # stopped with the app


def test_the_app_runs_no_scheduler_unless_asked(engine, uow_factory):
    account_id = real_account(uow_factory)
    app = create_app(engine=engine, clock=FixedClock(utc(2026, 2, 1)))
    with TestClient(app):
        assert app.state.scheduler is None
        time.sleep(0.2)
    assert keys(uow_factory, account_id) == set()


def test_a_failing_run_is_logged_and_the_scheduler_keeps_going(engine, uow_factory, caplog):
    account_id = real_account(uow_factory)
    calls: list[int] = []
    lock = threading.Lock()

    def flaky(*args, **kwargs):  # type: ignore[no-untyped-def]
        with lock:
            calls.append(1)
            if len(calls) <= 2:
                raise RuntimeError("database went away")
        return billing_runs.run_whole(*args, **kwargs)

    scheduler = BillingScheduler(
        engine=engine, clock=FixedClock(utc(2026, 1, 2)), interval=0.05, run=flaky
    )
    with caplog.at_level(logging.ERROR, logger="seatledger.scheduler"):
        scheduler.start()
        try:
            wait_for(lambda: scheduler.runs >= 1)
        finally:
            scheduler.stop()
    assert scheduler.errors == 2
    assert keys(uow_factory, account_id) == {"period:2026-01-01"}
    failures = [r for r in caplog.records if "scheduled billing run failed" in r.message]
    assert len(failures) == 2 and failures[0].exc_info is not None
    assert not scheduler.running


def test_the_billing_interval_comes_from_the_environment(monkeypatch):
    monkeypatch.delenv(INTERVAL_ENV, raising=False)
    assert interval_from_env() == DEFAULT_INTERVAL == 3600
    monkeypatch.setenv(INTERVAL_ENV, "2.5")
    assert interval_from_env() == 2.5
    for bad in ("0", "-3", "soon", "nan"):
        monkeypatch.setenv(INTERVAL_ENV, bad)
        assert interval_from_env() == DEFAULT_INTERVAL


def test_stopping_the_scheduler_ends_a_long_run_between_two_accounts(engine):
    visited: list[int] = []
    started = threading.Event()

    def long_run(_engine, *, as_of, now, on_account, on_progress):  # type: ignore[no-untyped-def]
        for n in range(10_000):  # each "account" committed before on_account is called
            started.set()
            time.sleep(0.005)
            visited.append(n)
            on_account(f"acc{n}", 0)
        raise AssertionError("the run was not stopped")

    scheduler = BillingScheduler(
        engine=engine, clock=FixedClock(utc(2026, 1, 2)), interval=3600, run=long_run
    )
    scheduler.start()
    assert started.wait(10)
    began = time.monotonic()
    scheduler.stop()
    assert time.monotonic() - began < 5
    assert not scheduler.running
    assert 0 < len(visited) < 10_000 and scheduler.errors == 0
