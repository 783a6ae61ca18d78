"""Repositories: user tokens (kept as hashes), and the one read that checks one."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, bindparam, insert, select, update

from seatledger.adapters.db import tables as t

# NOTE: a request with a user token reads this one statement, by the unique
# token_hash index, joined to the token's user and account by primary key.
_HOLDER = (
    select(
        t.user_tokens.c.id,
        t.user_tokens.c.role.label("token_role"),
        t.user_tokens.c.expires_at,
        t.user_tokens.c.revoked_at,
        t.users.c.id.label("user_id"),
        t.users.c.account_id,
        t.users.c.status,
        t.users.c.role,
        t.users.c.valid_to,
        t.accounts.c.test_clock,
        t.accounts.c.clock_now,
    )
    .select_from(
        t.user_tokens.join(
            t.users,
            (t.users.c.id == t.user_tokens.c.user_id)
            & (t.users.c.account_id == t.user_tokens.c.account_id),
        ).join(t.accounts, t.accounts.c.id == t.users.c.account_id)
    )
    .where(t.user_tokens.c.token_hash == bindparam("b_hash"))
)


@dataclass(frozen=True)
class TokenHolder:
    """A token and its user and account as they are now."""

    token_id: str
    token_role: str
    expires_at: datetime
    revoked_at: datetime | None
    user_id: str
    account_id: str
    status: str
    role: str
    valid_to: date | None
    test_clock: bool
    clock_now: datetime | None


class UserTokens:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def add(
        self,
        *,
        id: str,
        token_hash: str,
        account_id: str,
        user_id: str,
        role: str,
        at: datetime,
        expires_at: datetime,
        created_by: str,
    ) -> None:
        self.conn.execute(
            insert(t.user_tokens).values(
                id=id,
                token_hash=token_hash,
                account_id=account_id,
                user_id=user_id,
                role=role,
                created_at=at,
                expires_at=expires_at,
                created_by=created_by,
            )
        )

    def holder(self, token_hash: str) -> TokenHolder | None:
        row = self.conn.execute(_HOLDER, {"b_hash": token_hash}).first()
        if row is None:
            return None
        return TokenHolder(
            row.id,
            row.token_role,
            row.expires_at,
            row.revoked_at,
            row.user_id,
            row.account_id,
            row.status,
            row.role,
            row.valid_to,
            bool(row.test_clock),
            row.clock_now,
        )

    def revoke(self, token_hash: str, *, at: datetime) -> Any:
        """The token's ``id`` and ``user_id`` if this revoked it; None if it was
        revoked already (or is unknown)."""
        return self.conn.execute(
            update(t.user_tokens)
            .where(t.user_tokens.c.token_hash == token_hash, t.user_tokens.c.revoked_at.is_(None))
            .values(revoked_at=at)
            .returning(t.user_tokens.c.id, t.user_tokens.c.user_id)
        ).first()
