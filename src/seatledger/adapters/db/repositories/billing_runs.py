"""Repositories: billing runs, their batches, and the job queue that carries the
batches to the workers (procrastinate's tables, PostgreSQL only)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, case, insert, literal, select, text, update

from seatledger.adapters.db import tables as t
from seatledger.adapters.db.rows import upsert
from seatledger.domain.billing_runs import DONE, Batch, BillingRun, Failure

_R = t.billing_runs.c
QUEUE = "billing"
TASK = "seatledger.bill_batch"


def _run(row: Any) -> BillingRun:
    return BillingRun(
        id=row.id,
        as_of=row.as_of,
        status=row.status,
        batches_total=row.batches_total,
        batches_done=row.batches_done,
        accounts=row.accounts,
        invoices_issued=row.invoices_issued,
        failures=[Failure(**f) for f in json.loads(row.failures)],
        requested_by=row.requested_by,
        request_id=row.request_id,
        started_at=row.started_at,
        finished_at=row.finished_at,
    )


class BillingRuns:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def add(self, run: BillingRun) -> None:
        self.conn.execute(
            insert(t.billing_runs).values(
                id=run.id,
                as_of=run.as_of,
                status=run.status,
                batches_total=run.batches_total,
                batches_done=run.batches_done,
                requested_by=run.requested_by,
                request_id=run.request_id,
                started_at=run.started_at,
                finished_at=run.finished_at,
            )
        )

    def set_batches(self, run: BillingRun) -> None:
        """The run's number of batches, once its accounts are known (done at once
        when it has none)."""
        self.conn.execute(
            update(t.billing_runs)
            .where(_R.id == run.id)
            .values(batches_total=run.batches_total, status=run.status, finished_at=run.finished_at)
        )

    def get(self, run_id: str) -> BillingRun | None:
        row = self.conn.execute(select(t.billing_runs).where(_R.id == run_id)).first()
        return _run(row) if row else None

    def claim_batch(self, batch: Batch, *, at: datetime) -> bool:
        """The batch's row, first thing in its transaction: False when the batch
        was done already (a job run twice) or its run is unknown; a second
        transaction on the same batch waits here until the first ends."""
        b = t.billing_run_batches.c
        of_a_run = select(
            literal(batch.run_id, t.billing_runs.c.id.type),
            literal(batch.batch),
            literal(at, b.done_at.type),
        ).where(select(_R.id).where(_R.id == batch.run_id).exists())
        claimed = self.conn.execute(
            upsert(self.conn, t.billing_run_batches)
            .from_select(["run_id", "batch", "done_at"], of_a_run)
            .on_conflict_do_nothing(index_elements=["run_id", "batch"])
            .returning(b.batch)
        ).first()
        return claimed is not None

    def batch_done(
        self,
        run_id: str,
        *,
        accounts: int,
        invoices_issued: int,
        failures: list[Failure],
        at: datetime,
    ) -> None:
        """Adds a batch's figures to its run (the run is done with its last batch),
        in the batch's transaction, at its end: the row is locked only until the
        commit."""
        last = _R.batches_done + 1 == _R.batches_total
        stored = self.conn.execute(
            update(t.billing_runs)
            .where(_R.id == run_id)
            .values(
                batches_done=_R.batches_done + 1,
                accounts=_R.accounts + accounts,
                invoices_issued=_R.invoices_issued + invoices_issued,
                status=case((last, DONE), else_=_R.status),
                finished_at=case((last, at), else_=_R.finished_at),
            )
            .returning(_R.failures)
        ).scalar_one()
        if failures:
            merged = json.loads(stored) + [f._asdict() for f in failures]
            self.conn.execute(
                update(t.billing_runs).where(_R.id == run_id).values(failures=json.dumps(merged))
            )


class BillingJobs:
    """The batches as procrastinate jobs (PostgreSQL): queued in the caller's
    transaction, so a run and its jobs are committed together or not at all."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def enqueue(self, batches: list[Batch]) -> None:
        """One job per batch on the ``billing`` queue, in one statement: procrastinate's
        own ``procrastinate_defer_jobs_v1`` (the function its ``defer`` calls)."""
        if not batches:
            return
        args = [
            {
                "run_id": b.run_id,
                "batch": b.batch,
                "as_of": b.as_of.isoformat(),
                "account_ids": list(b.account_ids),
                "actor": b.actor,
                "request_id": b.request_id,
            }
            for b in batches
        ]
        self.conn.execute(
            text(
                "SELECT procrastinate_defer_jobs_v1(ARRAY(SELECT ROW(:queue, :task, 0, NULL, "
                "NULL, a, NULL)::procrastinate_job_to_defer_v1 "
                "FROM jsonb_array_elements(CAST(:args AS jsonb)) AS a))"
            ),
            {"queue": QUEUE, "task": TASK, "args": json.dumps(args)},
        )

    def live_workers(self, *, heartbeat_within: float) -> int:
        """Workers whose last heartbeat is at most ``heartbeat_within`` seconds old."""
        return int(
            self.conn.execute(
                text(
                    "SELECT count(*) FROM procrastinate_workers "
                    "WHERE last_heartbeat > now() - make_interval(secs => :within)"
                ),
                {"within": heartbeat_within},
            ).scalar_one()
        )
