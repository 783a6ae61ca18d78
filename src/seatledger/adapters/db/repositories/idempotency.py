"""Repository: idempotency keys (migration 0006), one row per caller and key.

A row is written once, by the first request with its key: either in the same
transaction as that request's effect (``status_code`` NULL until the answer is
stored just after) or, for a request that changed nothing, with its answer.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, delete, select, update

from seatledger.adapters.db import tables as t
from seatledger.adapters.db.rows import upsert


@dataclass
class IdempotencyClaim:
    """A request's ``Idempotency-Key``: ``caller`` (the principal's actor),
    ``key``, and the ``fingerprint`` of its method, path and body. ``taken`` once
    a transaction that claimed it committed (the request's effect is kept)."""

    caller: str
    key: str
    fingerprint: str
    at: datetime
    taken: bool = False


@dataclass(frozen=True)
class Answer:
    status_code: int
    body: bytes
    content_type: str | None


@dataclass(frozen=True)
class KeptKey:
    fingerprint: str
    answer: Answer | None  # None: claimed by a committed effect, answer not stored yet


class IdempotencyKeyTaken(Exception):
    """Another request claimed the key first (committed before this one could):
    this unit of work keeps nothing and the request answers with the first's
    answer. Not a DomainError: no route maps it; the idempotency middleware does."""


class IdempotencyKeys:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def claim(self, claim: IdempotencyClaim, answer: Answer | None = None) -> bool:
        """Inserts the key unless its row exists: True when this insert claimed it.
        On a conflict with a transaction still open (a concurrent retry) the INSERT
        waits for it: on its commit nothing is inserted, on its rollback this one is."""
        result = self.conn.execute(
            upsert(self.conn, t.idempotency_keys)
            .values(
                caller=claim.caller,
                key=claim.key,
                fingerprint=claim.fingerprint,
                created_at=claim.at,
                status_code=answer.status_code if answer else None,
                body=answer.body if answer else None,
                content_type=answer.content_type if answer else None,
            )
            .on_conflict_do_nothing(index_elements=["caller", "key"])
            .returning(t.idempotency_keys.c.key)
        )
        return result.first() is not None

    def find(self, caller: str, key: str) -> KeptKey | None:
        c = t.idempotency_keys.c
        row = self.conn.execute(
            select(c.fingerprint, c.status_code, c.body, c.content_type).where(
                c.caller == caller, c.key == key
            )
        ).first()
        if row is None:
            return None
        answer = (
            None
            if row.status_code is None
            else Answer(row.status_code, bytes(row.body or b""), row.content_type)
        )
        return KeptKey(row.fingerprint, answer)

    def store_answer(self, caller: str, key: str, answer: Answer) -> None:
        """The answer of the request whose committed effect claimed the key; a
        stored answer is never replaced."""
        c = t.idempotency_keys.c
        self.conn.execute(
            update(t.idempotency_keys)
            .where(c.caller == caller, c.key == key, c.status_code.is_(None))
            .values(
                status_code=answer.status_code, body=answer.body, content_type=answer.content_type
            )
        )

    def purge(self, *, created_before: datetime) -> int:
        c = t.idempotency_keys.c
        result = self.conn.execute(delete(t.idempotency_keys).where(c.created_at < created_before))
        return result.rowcount
