"""Repositories: webhook endpoints and the outbox of their deliveries."""

from __future__ import annotations

import json
import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, insert, or_, select, update

from seatledger.adapters.db import tables as t
from seatledger.adapters.db.pipeline import NO_WAIT
from seatledger.adapters.db.repositories.audit import InstallationVersion
from seatledger.domain.audit import AuditEntry
from seatledger.domain.ids import new_id
from seatledger.domain.webhooks import WebhookEndpoint, payload, subscribes

_P = t.webhook_endpoints.c
_D = t.webhook_deliveries.c

PENDING, DELIVERED, FAILED = "pending", "delivered", "failed"

_DELIVERIES_ADD = insert(t.webhook_deliveries).execution_options(**NO_WAIT)
_LIVE_SUBSCRIPTIONS = select(_P.id, _P.events, _P.account_id).where(_P.deleted_at.is_(None))
# Per engine: the live endpoints' (id, event types, account_id) as read at an
# installation head; valid while that head has not moved (every change of an
# endpoint is recorded on the installation chain, in the change's transaction).
_SUBSCRIPTIONS: weakref.WeakKeyDictionary[
    Engine, tuple[tuple[int, str], tuple[tuple[str, frozenset[str], str | None], ...]]
] = weakref.WeakKeyDictionary()


def _endpoint(row: Any) -> WebhookEndpoint:
    return WebhookEndpoint(
        id=row.id,
        url=row.url,
        events=tuple(json.loads(row.events)),
        account_id=row.account_id,
        description=row.description,
        created_at=row.created_at,
        secret=row.secret,
        deleted_at=row.deleted_at,
    )


class WebhookEndpoints:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def add(self, endpoint: WebhookEndpoint) -> None:
        self.conn.execute(
            insert(t.webhook_endpoints).values(
                id=endpoint.id,
                url=endpoint.url,
                events=json.dumps(list(endpoint.events)),
                account_id=endpoint.account_id,
                secret=endpoint.secret,
                description=endpoint.description,
                created_at=endpoint.created_at,
                deleted_at=endpoint.deleted_at,
            )
        )

    def get(self, endpoint_id: str) -> WebhookEndpoint | None:
        """Deleted ones too (their deliveries stay visible)."""
        row = self.conn.execute(select(t.webhook_endpoints).where(_P.id == endpoint_id)).first()
        return _endpoint(row) if row is not None else None

    def list(self, *, limit: int, after: str | None) -> list[WebhookEndpoint]:
        """The live endpoints, by id."""
        q = select(t.webhook_endpoints).where(_P.deleted_at.is_(None)).order_by(_P.id).limit(limit)
        if after:
            q = q.where(_P.id > after)
        return [_endpoint(r) for r in self.conn.execute(q)]

    def delete(self, endpoint_id: str, *, at: datetime) -> bool:
        """Marks the endpoint deleted and stops its pending deliveries (failed,
        "endpoint deleted"). False, and nothing changed, if it already was."""
        deleted = self.conn.execute(
            update(t.webhook_endpoints)
            .where(_P.id == endpoint_id, _P.deleted_at.is_(None))
            .values(deleted_at=at)
        )
        if not deleted.rowcount:
            return False
        self.conn.execute(
            update(t.webhook_deliveries)
            .where(_D.endpoint_id == endpoint_id, _D.status == PENDING)
            .values(status=FAILED, next_attempt_at=None, last_error="endpoint deleted")
        )
        return True


@dataclass(frozen=True)
class LeasedDelivery:
    """A delivery a worker holds until ``lease_until``: attempt ``attempt`` of it
    is this worker's to make (and to record, ``WebhookOutbox.record``)."""

    id: str
    endpoint_id: str
    url: str
    secret: str
    event_id: str
    event_type: str
    payload: str
    attempt: int


@dataclass(frozen=True)
class DeliveryRow:
    id: str
    endpoint_id: str
    event_id: str
    event_type: str
    status: str
    attempts: int
    last_status_code: int | None
    last_error: str | None
    last_attempt_at: datetime | None
    next_attempt_at: datetime | None
    delivered_at: datetime | None
    created_at: datetime


class WebhookOutbox:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def enqueue(
        self,
        entries: Sequence[AuditEntry],
        *,
        at: datetime,
        installation: InstallationVersion = None,
    ) -> int:
        """One delivery row per entry and live endpoint that subscribes to it, in
        the change's transaction (the outbox): at most one read of the endpoints,
        one insert. ``at``: the change's time (the account's clock).
        ``installation``: the installation chain's head as a statement of this
        transaction read it (AuditLog.set_heads), or None: the endpoints read at
        that head are taken from memory (``_SUBSCRIPTIONS``), as every change of
        an endpoint moves that head; otherwise they are read, and kept for that
        head."""
        engine = self.conn.engine
        kept = _SUBSCRIPTIONS.get(engine) if installation is not None else None
        if kept is not None and kept[0] == installation:
            endpoints = kept[1]
        else:
            endpoints = tuple(
                (r.id, frozenset(json.loads(r.events)), r.account_id)
                for r in self.conn.execute(_LIVE_SUBSCRIPTIONS)
            )
            if installation is not None:
                _SUBSCRIPTIONS[engine] = (installation, endpoints)
        if not endpoints:
            return 0
        rows = []
        for endpoint_id, wanted, account_id in endpoints:
            for entry in entries:
                if account_id not in (None, entry.account_id):
                    continue
                if subscribes(wanted, entry):
                    rows.append(
                        {
                            "id": new_id("dlv"),
                            "endpoint_id": endpoint_id,
                            "event_id": entry.id,
                            "event_type": entry.type,
                            "payload": payload(entry),
                            "status": PENDING,
                            "attempts": 0,
                            "next_attempt_at": None,  # due at once
                            "created_at": at,
                        }
                    )
        if rows:
            self.conn.execute(_DELIVERIES_ADD, rows)
        return len(rows)

    def lease_due(
        self, *, now: datetime, lease_until: datetime, limit: int
    ) -> list[LeasedDelivery]:
        """Up to ``limit`` pending deliveries due at ``now`` (never tried, or
        ``next_attempt_at`` passed: a retry, or a lease whose worker died),
        leased in one statement: ``next_attempt_at`` moves to ``lease_until``,
        ``attempts`` counts the attempt about to be made, ``last_attempt_at`` is
        ``now``. On PostgreSQL the rows are taken FOR UPDATE SKIP LOCKED, so
        workers side by side never lease one row twice; SQLite runs the
        statement under its one write lock."""
        due = (
            select(_D.id)
            .where(
                _D.status == PENDING,
                or_(_D.next_attempt_at.is_(None), _D.next_attempt_at <= now),
            )
            .order_by(_D.next_attempt_at.nulls_first(), _D.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        leased = self.conn.execute(
            update(t.webhook_deliveries)
            .where(_D.id.in_(due.scalar_subquery()))
            .values(next_attempt_at=lease_until, attempts=_D.attempts + 1, last_attempt_at=now)
            .returning(_D.id, _D.endpoint_id, _D.event_id, _D.event_type, _D.payload, _D.attempts)
        ).all()
        if not leased:
            return []
        endpoints = {
            r.id: r
            for r in self.conn.execute(
                select(_P.id, _P.url, _P.secret).where(_P.id.in_({r.endpoint_id for r in leased}))
            )
        }
        return [
            LeasedDelivery(
                id=r.id,
                endpoint_id=r.endpoint_id,
                url=endpoints[r.endpoint_id].url,
                secret=endpoints[r.endpoint_id].secret,
                event_id=r.event_id,
                event_type=r.event_type,
                payload=r.payload,
                attempt=r.attempts,
            )
            for r in sorted(leased, key=lambda r: r.id)
        ]

    def record(
        self,
        delivery: LeasedDelivery,
        *,
        status: str,
        status_code: int | None,
        error: str | None,
        next_attempt_at: datetime | None,
        delivered_at: datetime | None,
    ) -> bool:
        """The outcome of the leased attempt. Written only while the lease is
        still this attempt's (``attempts`` unchanged, still pending): a worker
        whose lease ran out and was taken over by another, or whose endpoint
        was deleted meanwhile, changes nothing. True if written."""
        written = self.conn.execute(
            update(t.webhook_deliveries)
            .where(
                _D.id == delivery.id,
                _D.attempts == delivery.attempt,
                _D.status == PENDING,
            )
            .values(
                status=status,
                last_status_code=status_code,
                last_error=error[:500] if error else None,
                next_attempt_at=next_attempt_at,
                delivered_at=delivered_at,
            )
        )
        return bool(written.rowcount)

    def of_endpoint(self, endpoint_id: str, *, limit: int, after: str | None) -> list[DeliveryRow]:
        """The endpoint's deliveries, by id."""
        q = (
            select(*(getattr(_D, f) for f in DeliveryRow.__dataclass_fields__))
            .where(_D.endpoint_id == endpoint_id)
            .order_by(_D.id)
            .limit(limit)
        )
        if after:
            q = q.where(_D.id > after)
        return [DeliveryRow(**r._mapping) for r in self.conn.execute(q)]
