"""Repositories: SCIM tokens (kept as hashes), one account's each."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select, update

from seatledger.adapters.db import tables as t


class ScimTokens:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def add(
        self,
        *,
        id: str,
        account_id: str,
        token_hash: str,
        name: str | None,
        at: datetime,
        created_by: str,
    ) -> None:
        self.conn.execute(
            insert(t.scim_tokens).values(
                id=id,
                account_id=account_id,
                token_hash=token_hash,
                name=name,
                created_at=at,
                created_by=created_by,
            )
        )

    def by_hash(self, token_hash: str) -> Any:
        """The token's row by the unique hash index (every SCIM request)."""
        return self.conn.execute(
            select(t.scim_tokens).where(t.scim_tokens.c.token_hash == token_hash)
        ).first()

    def get(self, account_id: str, token_id: str) -> Any:
        c = t.scim_tokens.c
        return self.conn.execute(
            select(t.scim_tokens).where(c.id == token_id, c.account_id == account_id)
        ).first()

    def list(self, account_id: str, *, limit: int, after: str | None) -> list[Any]:
        c = t.scim_tokens.c
        q = select(t.scim_tokens).where(c.account_id == account_id).order_by(c.id).limit(limit)
        if after:
            q = q.where(c.id > after)
        return list(self.conn.execute(q))

    def revoke(self, token_id: str, *, at: datetime) -> Any:
        """The token as revoked, or None if it was revoked already."""
        c = t.scim_tokens.c
        return self.conn.execute(
            update(t.scim_tokens)
            .where(c.id == token_id, c.revoked_at.is_(None))
            .values(revoked_at=at)
            .returning(*t.scim_tokens.c)
        ).first()

    def record_use(self, token_id: str, *, at: datetime, stale_from: datetime) -> None:
        """Sets ``last_used_at`` if the recorded one is ``stale_from`` or older."""
        c = t.scim_tokens.c
        self.conn.execute(
            update(t.scim_tokens)
            .where(
                c.id == token_id,
                c.revoked_at.is_(None),
                (c.last_used_at.is_(None)) | (c.last_used_at <= stale_from),
            )
            .values(last_used_at=at)
        )
