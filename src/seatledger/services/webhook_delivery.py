"""Use case: deliver the webhook outbox (PRODUCT.md §7 Webhooks).

A round leases the deliveries that are due, sends them at once (one thread
each), and records each outcome as it comes:

- the lease comes first, in its own committed transaction: ``next_attempt_at``
  moves past the attempt's timeout and ``attempts`` counts the attempt, so a
  worker killed while sending leaves the delivery due again when the lease runs
  out: delivered at least once, never lost;
- every attempt of a delivery sends the same body with ``webhook-id`` = the
  event's id, signed as the Standard Webhooks specification says (the
  ``standardwebhooks`` library), with the attempt's own ``webhook-timestamp``;
- a 2xx answer delivers it; anything else (another status, no answer within the
  timeout, a refused address) schedules the next attempt
  (domain/webhooks.py ``retry_delay``) or, once the schedule is over (about
  three days), fails it.

Time is the worker's clock (never an account's test clock).
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from math import floor
from typing import Protocol

from standardwebhooks import Webhook

from seatledger.adapters.db.repositories.webhooks import (
    DELIVERED,
    FAILED,
    PENDING,
    LeasedDelivery,
)
from seatledger.adapters.webhook_sender import Outcome
from seatledger.clock import Clock
from seatledger.domain.webhooks import retry_delay
from seatledger.services.unit_of_work import UnitOfWork

# A lease outlasts the attempt's timeout by this much: the outcome's write.
LEASE_MARGIN = timedelta(seconds=5)


class Sender(Protocol):
    def send(
        self, url: str, *, headers: dict[str, str], body: bytes, timeout: float
    ) -> Outcome: ...


@dataclass(frozen=True)
class DeliveryRound:
    attempted: int = 0
    delivered: int = 0
    retrying: int = 0  # failed this time, due again later
    failed: int = 0  # failed for good: the schedule is over


def signed_headers(delivery: LeasedDelivery, *, at: datetime) -> dict[str, str]:
    """The Standard Webhooks headers of an attempt made at ``at``."""
    moment = at.astimezone(UTC)  # the library reads the instant as UTC
    return {
        "webhook-id": delivery.event_id,
        "webhook-timestamp": str(floor(moment.timestamp())),
        "webhook-signature": Webhook(delivery.secret).sign(
            delivery.event_id, moment, delivery.payload
        ),
    }


def record_outcome(
    uow: UnitOfWork, delivery: LeasedDelivery, outcome: Outcome, *, at: datetime
) -> str:
    """Writes the attempt's outcome (unless the lease was lost meanwhile) and
    returns the delivery's status: delivered, pending (next attempt
    scheduled) or failed."""
    if outcome.delivered:
        status, next_at = DELIVERED, None
    else:
        wait = retry_delay(delivery.attempt, seed=delivery.id)
        status, next_at = (FAILED, None) if wait is None else (PENDING, at + wait)
    with uow:
        uow.webhook_outbox.record(
            delivery,
            status=status,
            status_code=outcome.status_code,
            error=outcome.error,
            next_attempt_at=next_at,
            delivered_at=at if status == DELIVERED else None,
        )
        uow.commit()
    return status


def attempt_delivery(
    uow_factory: Callable[[], UnitOfWork],
    delivery: LeasedDelivery,
    *,
    sender: Sender,
    clock: Clock,
    timeout: float,
) -> str:
    """One leased attempt: signed, sent, its outcome recorded."""
    headers = signed_headers(delivery, at=clock.now())
    outcome = sender.send(
        delivery.url, headers=headers, body=delivery.payload.encode(), timeout=timeout
    )
    return record_outcome(uow_factory(), delivery, outcome, at=clock.now())


def lease_due(
    uow: UnitOfWork, *, now: datetime, timeout: float, limit: int
) -> list[LeasedDelivery]:
    """Up to ``limit`` due deliveries, leased (committed) for one attempt each."""
    with uow:
        leased = uow.webhook_outbox.lease_due(
            now=now, lease_until=now + timedelta(seconds=timeout) + LEASE_MARGIN, limit=limit
        )
        uow.commit()
    return leased


def deliver_due(
    uow_factory: Callable[[], UnitOfWork],
    *,
    sender: Sender,
    clock: Clock,
    timeout: float,
    limit: int,
) -> DeliveryRound:
    """One round: up to ``limit`` due deliveries leased, attempted side by side,
    each outcome recorded as it comes. Returns once every attempt is done."""
    leased = lease_due(uow_factory(), now=clock.now(), timeout=timeout, limit=limit)
    if not leased:
        return DeliveryRound()
    with ThreadPoolExecutor(max_workers=len(leased), thread_name_prefix="webhook") as pool:
        statuses = list(
            pool.map(
                lambda d: attempt_delivery(
                    uow_factory, d, sender=sender, clock=clock, timeout=timeout
                ),
                leased,
            )
        )
    return DeliveryRound(
        attempted=len(statuses),
        delivered=statuses.count(DELIVERED),
        retrying=statuses.count(PENDING),
        failed=statuses.count(FAILED),
    )
