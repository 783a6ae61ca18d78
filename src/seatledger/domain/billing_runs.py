"""Billing runs (PRODUCT.md §5, §8): the accounts due at ``as_of`` split into
batches, each billed in one transaction, by whichever process takes it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import NamedTuple

RUNNING, DONE = "running", "done"
# NOTE: a batch holds its accounts' locks until it commits: big enough that its
# fixed costs (its transaction, its one numbering, its job) are spread thin, small
# enough that a write to one of its accounts waits well under a second.
BATCH_SIZE = 250


class Failure(NamedTuple):
    """An account a run could not bill, and why in a sentence (nothing of it kept)."""

    account_id: str
    detail: str


@dataclass(frozen=True)
class BillingRun:
    id: str
    as_of: datetime
    status: str  # running | done
    batches_total: int
    requested_by: str  # the actor of every change the run makes
    started_at: datetime
    request_id: str | None = None
    batches_done: int = 0
    accounts: int = 0  # accounts billed or failed so far
    invoices_issued: int = 0
    failures: list[Failure] = field(default_factory=list)
    finished_at: datetime | None = None


@dataclass(frozen=True)
class Batch:
    """One job: the accounts ``account_ids`` of batch ``batch`` of run ``run_id``."""

    run_id: str
    batch: int
    as_of: datetime
    account_ids: tuple[str, ...]
    actor: str
    request_id: str | None = None


def batches(run: BillingRun, account_ids: list[str], size: int = BATCH_SIZE) -> list[Batch]:
    """The run's accounts, in order, ``size`` at a time."""
    if size < 1:
        raise ValueError(f"a batch holds at least one account, not {size}")
    return [
        Batch(
            run_id=run.id,
            batch=n,
            as_of=run.as_of,
            account_ids=tuple(account_ids[start : start + size]),
            actor=run.requested_by,
            request_id=run.request_id,
        )
        for n, start in enumerate(range(0, len(account_ids), size))
    ]
