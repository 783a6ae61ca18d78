"""POST /v1/billing-runs over HTTP (API.md: ``{as_of?}``, default now, never in the
future; the result within ``wait`` seconds, else 202) and GET /v1/billing-runs/{id},
on SQLite and PostgreSQL; through the job queue's workers on PostgreSQL."""

from __future__ import annotations

import threading
import time

import httpx
from sqlalchemy import Engine
from tests.e2e.conftest import Api
from tests.services.test_billing_runs import (  # noqa: F401 (fixtures)
    NOW,
    PER_ACCOUNT,
    assert_exactly_once_and_gapless,
    queue,
    real_accounts,
    workers,
)

from seatledger.services import billing
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


def test_a_run_answers_202_when_not_done_within_wait_and_get_reports_it(api, engine):
    """In-process (SQLite, or PostgreSQL with no worker): the run goes on after the 202."""
    ids = [api.account_with_pools(api.terms("console", 2, policy="block")) for _ in range(6)]
    answer = api.client.post("/v1/billing-runs?wait=0", json={"as_of": "2026-02-01"})
    assert answer.status_code in (200, 202), answer.text
    run = answer.json()
    assert run["id"].startswith("brun_") and run["batches_total"] == 1
    if answer.status_code == 202:
        assert run["status"] == "running" and run["finished_at"] is None
    deadline = time.monotonic() + 60
    while run["status"] != "done" and time.monotonic() < deadline:
        time.sleep(0.05)
        run = api.ok(api.client.get(f"/v1/billing-runs/{run['id']}"))
    assert run["status"] == "done" and run["batches_done"] == 1
    assert run["accounts"] == len(ids) and run["invoices_issued"] == 2 * len(ids)
    assert api.client.get("/v1/billing-runs/brun_" + "c" * 24).status_code == 404


def test_post_answers_202_and_the_workers_finish_the_run(uow_factory, queue, workers):  # noqa: F811
    """Through HTTP, the run on the job queue: 202 with its id, GET until done."""
    import uvicorn

    from seatledger.clock import FixedClock
    from seatledger.entrypoints.api.app import create_app

    ids = real_accounts(uow_factory, 20)
    app = create_app(engine=queue, clock=FixedClock(NOW), operator_key="opk-test-key-202")
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        workers(1)
        client = httpx.Client(
            base_url=f"http://127.0.0.1:{port}",
            headers={"Authorization": "Bearer opk-test-key-202"},
            timeout=30,
        )
        answer = client.post("/v1/billing-runs", json={"as_of": "2026-04-01", "wait": 0})
        assert answer.status_code == 202, answer.text
        run = answer.json()
        assert run["status"] == "running" and run["batches_total"] == 1
        seen = set()
        while run["status"] != "done":
            time.sleep(0.05)
            run = client.get(f"/v1/billing-runs/{run['id']}").json()
            seen.add(run["status"])
        assert run["invoices_issued"] == PER_ACCOUNT * len(ids) and run["accounts"] == len(ids)
        schema = client.get("/openapi.json").json()
        answers = schema["paths"]["/v1/billing-runs"]["post"]["responses"]
        assert {"200", "202"} <= set(answers)
    finally:
        server.should_exit = True
        thread.join(10)
    assert_exactly_once_and_gapless(queue, ids)


def test_serve_runs_a_billing_worker_beside_the_api(uow_factory, queue):  # noqa: F811
    """``seatledger serve`` on PostgreSQL: a worker registers beside the API, and a
    run started over HTTP goes to the queue and is billed by it."""
    import os
    import socket
    import subprocess
    import sys

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    key = "opk-serve-billing-worker"
    env = {
        **os.environ,
        "SEATLEDGER_DATABASE_URL": queue.url.render_as_string(hide_password=False),
        "SEATLEDGER_OPERATOR_KEY": key,
        "SEATLEDGER_WORKER_HEARTBEAT": "0.3",
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "seatledger.entrypoints.cli", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        client = httpx.Client(
            base_url=f"http://127.0.0.1:{port}",
            headers={"Authorization": f"Bearer {key}"},
            timeout=30,
        )
        deadline = time.monotonic() + 60
        while True:
            try:
                if client.get("/v1/health").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.1)
        with queue.connect() as conn:
            while not conn.exec_driver_sql("SELECT count(*) FROM procrastinate_workers").scalar():
                assert time.monotonic() < deadline, "no billing worker beside the API"
                time.sleep(0.1)
                conn.rollback()
        ids = real_accounts(uow_factory, 3)
        # a worker alive: the run's batches go to the queue (billing_runs.start)
        assert billing.queue_available(UnitOfWork(queue), heartbeat_within=30)
        run = client.post("/v1/billing-runs", json={"as_of": "2026-04-01", "wait": 30}).json()
        assert run["status"] == "done" and run["invoices_issued"] == PER_ACCOUNT * len(ids)
        with queue.connect() as conn:  # its job done, and deleted
            assert conn.exec_driver_sql("SELECT count(*) FROM procrastinate_jobs").scalar() == 0
        assert_exactly_once_and_gapless(queue, ids)
    finally:
        server.terminate()
        server.wait(60)
