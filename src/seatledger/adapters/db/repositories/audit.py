"""Repositories: the audit log's entries and chain heads (domain/audit.py)."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, case, func, insert, or_, select, update

from seatledger.adapters.db import tables as t
from seatledger.adapters.db.pipeline import NO_WAIT
from seatledger.adapters.db.rows import as_values, from_row
from seatledger.domain.audit import INSTALLATION_CHAIN, AuditEntry, Head

NOTIFY_CHANNEL = "audit_events"  # LISTENed to by entrypoints/api/events.py and read_cache.py

_E = t.audit_events.c
_H = t.audit_heads.c


# NOTE: an alias, so that the subquery reads the installation's row and is not
# correlated with the row being updated.
_I = t.audit_heads.alias("installation_head").c
_SET_HEAD_RETURNING = (
    _H.chain,
    select(_I.position).where(_I.chain == INSTALLATION_CHAIN).scalar_subquery().label("i_pos"),
    select(_I.hash).where(_I.chain == INSTALLATION_CHAIN).scalar_subquery().label("i_hash"),
)
# NOTE: on PostgreSQL the head's UPDATE also notifies (delivered at commit, to every
# listener: entrypoints/api/events.py, adapters/db/read_cache.py), so writing a
# chain's head and telling of it is one statement.
_NOTIFY = func.pg_notify(NOTIFY_CHANNEL, _H.chain).label("notified")
_SET_HEAD = (
    update(t.audit_heads)
    .where(_H.chain == bindparam("b_chain"), _H.position == bindparam("b_expected"))
    .values(position=bindparam("b_position"), hash=bindparam("b_hash"))
)
_SET_HEAD_SQLITE = _SET_HEAD.returning(*_SET_HEAD_RETURNING)
_SET_HEAD_POSTGRES = _SET_HEAD.returning(*_SET_HEAD_RETURNING, _NOTIFY)
_APPEND = insert(t.audit_events).execution_options(**NO_WAIT)  # sent without waiting

# The installation chain's head as a statement of this transaction read it, or
# None: every change of the webhook endpoints is on that chain (outbox's cache).
InstallationVersion = tuple[int, str] | None


class AuditLog:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def advance_heads(self, counts: dict[str, int]) -> dict[str, Head]:
        """Moves each chain's head ``counts[chain]`` positions forward and returns
        the heads before the move, in one UPDATE (and one INSERT for chains with
        no entry yet, whose heads are written with them): for the chains whose
        head the transaction does not hold already (the installation chain, an
        account's first entries). The UPDATE takes the heads' row locks
        (PostgreSQL) or the write lock (SQLite): writers of one chain take
        positions one after another, so each chain stays gapless whatever commits
        first. An account's head is only taken under its account's lock, so two
        writers never wait on each other in two orders."""
        moved = self.conn.execute(
            update(t.audit_heads)
            .where(_H.chain.in_(list(counts)))
            .values(position=_H.position + case(counts, value=_H.chain))
            .returning(_H.chain, _H.position, _H.hash)
        ).all()
        heads = {r.chain: Head(position=r.position - counts[r.chain], hash=r.hash) for r in moved}
        new = [{"chain": c, "position": n, "hash": ""} for c, n in counts.items() if c not in heads]
        if new:
            self.conn.execute(insert(t.audit_heads), new)
        return {chain: heads.get(chain, Head()) for chain in counts}

    def append(self, entries: Sequence[AuditEntry]) -> None:
        """The entries of every chain, in one executemany."""
        self.conn.execute(_APPEND, [as_values(e) for e in entries])

    def set_heads(self, moves: dict[str, tuple[int, Head]]) -> InstallationVersion:
        """Each chain's head becomes ``moves[chain][1]`` where it is at position
        ``moves[chain][0]`` (as the transaction read or advanced it), in one
        UPDATE that also reads the installation chain's head (for
        ``WebhookOutbox.enqueue``) and, on PostgreSQL, notifies each chain. A head
        found elsewhere is a RuntimeError: the transaction must roll back."""
        postgres = self.conn.dialect.name == "postgresql"
        if len(moves) == 1:
            ((chain, (expected, head)),) = moves.items()
            params = {
                "b_chain": chain,
                "b_expected": expected,
                "b_position": head.position,
                "b_hash": head.hash,
            }
            statement = _SET_HEAD_POSTGRES if postgres else _SET_HEAD_SQLITE
            rows = self.conn.execute(statement, params).all()
        else:
            returning = (*_SET_HEAD_RETURNING, _NOTIFY) if postgres else _SET_HEAD_RETURNING
            rows = self.conn.execute(
                update(t.audit_heads)
                .where(
                    or_(
                        *(
                            (_H.chain == chain) & (_H.position == expected)
                            for chain, (expected, _) in moves.items()
                        )
                    )
                )
                .values(
                    position=case({c: h.position for c, (_, h) in moves.items()}, value=_H.chain),
                    hash=case({c: h.hash for c, (_, h) in moves.items()}, value=_H.chain),
                )
                .returning(*returning)
            ).all()
        if len(rows) != len(moves):
            moved = sorted(set(moves) - {r.chain for r in rows})
            raise RuntimeError(f"the audit heads of {moved} moved behind their lock")
        if INSTALLATION_CHAIN in moves:
            return None  # its endpoints may be this transaction's own changes
        # NOTE: no installation head yet: nothing of the installation (no endpoint)
        # was ever recorded, as at position 0.
        return (rows[0].i_pos, rows[0].i_hash) if rows[0].i_pos is not None else (0, "")

    def heads(self, chain: str | None = None) -> dict[str, Head]:
        q = select(_H.chain, _H.position, _H.hash).order_by(_H.chain)
        if chain is not None:
            q = q.where(_H.chain == chain)
        return {r.chain: Head(r.position, r.hash) for r in self.conn.execute(q)}

    def positions(self, chains: Collection[str]) -> dict[str, int]:
        """The head positions of ``chains`` (those with entries): the stream's poll."""
        rows = self.conn.execute(select(_H.chain, _H.position).where(_H.chain.in_(list(chains))))
        return {r.chain: r.position for r in rows}

    def chains(self) -> set[str]:
        """Every chain that has entries."""
        return set(self.conn.execute(select(_E.chain).distinct()).scalars())

    def chain_page(self, chain: str, *, after: int, limit: int) -> list[AuditEntry]:
        """Entries of one chain in position order, after position ``after``."""
        rows = self.conn.execute(
            select(t.audit_events)
            .where(_E.chain == chain, _E.position > after)
            .order_by(_E.position)
            .limit(limit)
        )
        return [from_row(AuditEntry, r) for r in rows]

    def events(
        self,
        account_id: str,
        *,
        after: int = 0,
        through: int | None = None,
        limit: int = 100,
        types: Sequence[str] | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> list[AuditEntry]:
        """An account's entries in position order after ``after`` and up to
        ``through`` (the activity list and stream): filters by type and by the
        account-clock time."""
        q: Any = (
            select(t.audit_events)
            .where(_E.chain == account_id, _E.position > after)
            .order_by(_E.position)
            .limit(limit)
        )
        if through is not None:
            q = q.where(_E.position <= through)
        if types:
            q = q.where(_E.type.in_(list(types)))
        if since is not None:
            q = q.where(_E.at >= since)
        if until is not None:
            q = q.where(_E.at < until)
        return [from_row(AuditEntry, r) for r in self.conn.execute(q)]
