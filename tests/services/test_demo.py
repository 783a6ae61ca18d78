"""`seatledger demo`: one account per seed document, each run through a year
of its model on a test clock, with the amounts of PRODUCT.md §6."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from seatledger.services import access, invoices
from seatledger.services.demo import seed_demo


def _documents(uow_factory, account_id):
    docs = invoices.list_invoices(uow_factory(), account_id=account_id, limit=1000)
    return sorted(docs, key=lambda d: (d.issued_at, d.number))


def test_the_demo_creates_one_account_per_seed_with_its_worked_example(uow_factory):
    demo = {a.seed: a for a in seed_demo(uow_factory, at=datetime(2026, 11, 22, tzinfo=UTC))}
    assert sorted(demo) == ["000", "001", "002", "003", "004"]

    # seed 001: 2 × 120.00 × 10/12 = 200.00 at March's close, 2 × 120.00 × 8/12 = 160.00 at May's
    true_ups = [
        d
        for d in _documents(uow_factory, demo["001"].account_id)
        if any(ln.kind == "true_up" for ln in d.lines)
    ]
    assert [(d.issued_at.date().isoformat(), d.total) for d in true_ups] == [
        ("2026-04-01", Decimal("200.00")),
        ("2026-06-01", Decimal("160.00")),
    ]

    # seed 000: add_license on day 16 of April (30 days): 30.00 × 15/30 = 15.00
    prorations = [
        ln
        for d in _documents(uow_factory, demo["000"].account_id)
        for ln in d.lines
        if ln.kind == "proration"
    ]
    assert prorations[0].amount == Decimal("15.00")

    # seed 002: documents 3/3 under block, case_management 3/5
    pools = {
        p.module: p for p in access.list_pools(uow_factory(), account_id=demo["002"].account_id)
    }
    assert (pools["documents"].in_use, pools["documents"].capacity) == (3, 3)
    assert (pools["case_management"].in_use, pools["case_management"].capacity) == (3, 5)

    # seed 003: 30 + 12 seat-days in April: 10.00 × 42/30 = 14.00, billed in arrears on 1 May
    metered = [
        ln
        for d in _documents(uow_factory, demo["003"].account_id)
        for ln in d.lines
        if ln.kind == "metered"
    ]
    assert (metered[0].period_start.isoformat(), metered[0].amount) == (
        "2026-04-01",
        Decimal("14.00"),
    )

    # seed 004: minimum 10 × 30.00 = 300.00; the 11th seat on day 21 of 30: 30.00 × 10/30 = 10.00
    docs = _documents(uow_factory, demo["004"].account_id)
    assert docs[0].total == Decimal("300.00") or any(d.total == Decimal("300.00") for d in docs)
    assert [d.total for d in docs if d.kind == "ad_hoc"] == [Decimal("10.00")]
    assert not [d for d in docs if d.type == "credit_note"]

    # every demo document names its seller and its buyer (§5 Documents)
    for account in demo.values():
        for d in _documents(uow_factory, account.account_id):
            assert d.seller is not None and d.seller.legal_name == "Seatledger Demo GmbH"
            assert d.buyer is not None and d.buyer.legal_name and d.buyer.country
            assert d.due_date is not None


def test_the_demo_does_not_duplicate_its_accounts_when_run_twice(uow_factory):
    first = seed_demo(uow_factory, at=datetime(2026, 11, 22, tzinfo=UTC))
    second = seed_demo(uow_factory, at=datetime(2026, 11, 22, tzinfo=UTC))
    assert sorted(a.account_id for a in first) == sorted(a.account_id for a in second)


def test_the_demo_command_prints_an_operator_key_and_the_url(tmp_path: Path):
    env = {
        **os.environ,
        "SEATLEDGER_DATABASE_URL": f"sqlite:///{tmp_path / 'demo.db'}",
        "COLUMNS": "200",
    }
    env.pop("SEATLEDGER_OPERATOR_KEY", None)
    out = subprocess.run(
        [sys.executable, "-m", "seatledger.entrypoints.cli", "demo", "--no-serve"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout
    assert "Operator key: slop_" in out
    assert "URL:          http://127.0.0.1:8000" in out
    for seed in ("000", "001", "002", "003", "004"):
        assert seed in out


def test_the_demo_on_a_taken_port_says_so_naming_port_before_seeding(tmp_path: Path):
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = {**os.environ, "SEATLEDGER_DATABASE_URL": f"sqlite:///{tmp_path / 'demo.db'}"}
        done = subprocess.run(
            [sys.executable, "-m", "seatledger.entrypoints.cli", "demo", "--port", str(port)],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert done.returncode == 2
    assert "--port" in done.stdout and f"127.0.0.1:{port}" in done.stdout
    assert "Operator key" not in done.stdout  # nothing was seeded nor printed first
    assert not (tmp_path / "demo.db").exists()
