"""Repositories: bearer credentials kept as hashes, operator keys (the
installation's) and SCIM tokens (one account's each). Only the hash is stored;
a credential is found by it, revoked once, and its last use written at most
once per ``stale_from``."""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import ColumnElement, Connection, Table, insert, select, update

from seatledger.adapters.db import tables as t


class _HashedCredentials:
    """``table`` has ``id``, a unique hash column (``hash_column``),
    ``created_at``, ``last_used_at`` and ``revoked_at``."""

    table: ClassVar[Table]
    hash_column: ClassVar[str]

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def add(self, *, at: datetime, **values: Any) -> None:
        """A credential created ``at``: ``values`` its other columns, the hash among them."""
        self.conn.execute(insert(self.table).values(created_at=at, **values))

    def by_hash(self, credential_hash: str) -> Any:
        """The credential's row by the unique hash index (every request with one)."""
        return self.conn.execute(
            select(self.table).where(self.table.c[self.hash_column] == credential_hash)
        ).first()

    def _get(self, credential_id: str, *match: ColumnElement[bool]) -> Any:
        return self.conn.execute(
            select(self.table).where(self.table.c.id == credential_id, *match)
        ).first()

    def _list(self, *match: ColumnElement[bool], limit: int, after: str | None) -> list[Any]:
        c = self.table.c
        q = select(self.table).where(*match).order_by(c.id).limit(limit)
        if after:
            q = q.where(c.id > after)
        return list(self.conn.execute(q))

    def revoke(self, credential_id: str, *, at: datetime) -> Any:
        """The credential as revoked, or None if it was revoked already (or is unknown)."""
        c = self.table.c
        return self.conn.execute(
            update(self.table)
            .where(c.id == credential_id, c.revoked_at.is_(None))
            .values(revoked_at=at)
            .returning(*c)
        ).first()

    def record_use(self, credential_id: str, *, at: datetime, stale_from: datetime) -> None:
        """Sets ``last_used_at`` if the recorded one is ``stale_from`` or older:
        of processes racing to record one minute's use, one writes."""
        c = self.table.c
        self.conn.execute(
            update(self.table)
            .where(
                c.id == credential_id,
                c.revoked_at.is_(None),
                (c.last_used_at.is_(None)) | (c.last_used_at <= stale_from),
            )
            .values(last_used_at=at)
        )


class OperatorKeys(_HashedCredentials):
    table = t.operator_keys
    hash_column = "key_hash"

    def get(self, key_id: str) -> Any:
        return self._get(key_id)

    def list(self, *, limit: int, after: str | None = None) -> list[Any]:
        return self._list(limit=limit, after=after)


class ScimTokens(_HashedCredentials):
    table = t.scim_tokens
    hash_column = "token_hash"

    def get(self, account_id: str, token_id: str) -> Any:
        return self._get(token_id, t.scim_tokens.c.account_id == account_id)

    def list(self, account_id: str, *, limit: int, after: str | None) -> list[Any]:
        return self._list(t.scim_tokens.c.account_id == account_id, limit=limit, after=after)
