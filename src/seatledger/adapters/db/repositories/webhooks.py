"""Repositories: webhook endpoints and the outbox of their deliveries."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Connection, insert, select

from seatledger.adapters.db import tables as t
from seatledger.domain.audit import AuditEntry
from seatledger.domain.ids import new_id
from seatledger.domain.webhooks import payload, subscribes

_P = t.webhook_endpoints.c


class WebhookOutbox:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def enqueue(self, entries: Sequence[AuditEntry], *, at: datetime) -> int:
        """One delivery row per entry and live endpoint that subscribes to it, in
        the change's transaction (the outbox): one read of the endpoints, one
        insert. ``at``: the change's time (the account's clock)."""
        endpoints = self.conn.execute(
            select(_P.id, _P.events, _P.account_id).where(_P.deleted_at.is_(None))
        ).all()
        if not endpoints:
            return 0
        rows = []
        for endpoint in endpoints:
            wanted = json.loads(endpoint.events)
            for entry in entries:
                if endpoint.account_id not in (None, entry.account_id):
                    continue
                if subscribes(wanted, entry):
                    rows.append(
                        {
                            "id": new_id("dlv"),
                            "endpoint_id": endpoint.id,
                            "event_id": entry.id,
                            "event_type": entry.type,
                            "payload": payload(entry),
                            "status": "pending",
                            "attempts": 0,
                            "next_attempt_at": None,  # due at once
                            "created_at": at,
                        }
                    )
        if rows:
            self.conn.execute(insert(t.webhook_deliveries), rows)
        return len(rows)
