"""Webhook messages (Standard Webhooks): what an endpoint receives for an entry
of the audit log. Pure."""

from __future__ import annotations

import json
from collections.abc import Sequence

from seatledger.domain.audit import WEBHOOK_EVENT_TYPES, AuditEntry


def subscribes(event_types: Sequence[str], entry: AuditEntry) -> bool:
    """An endpoint receives the webhook event types it names."""
    return entry.type in WEBHOOK_EVENT_TYPES and entry.type in event_types


def payload(entry: AuditEntry) -> str:
    """The body every attempt of the entry's delivery sends, as the Standard
    Webhooks specification shapes it: ``type``, ``timestamp``, ``data``."""
    return json.dumps(
        {
            "type": entry.type,
            "timestamp": entry.at.isoformat(),
            "data": {
                "event_id": entry.id,
                "account_id": entry.account_id,
                "position": entry.position,
                "actor": entry.actor,
                "subject": entry.subject,
                "before": json.loads(entry.before) if entry.before else None,
                "after": json.loads(entry.after) if entry.after else None,
                "request_id": entry.request_id,
            },
        },
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
