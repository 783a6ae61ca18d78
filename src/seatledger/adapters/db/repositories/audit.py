"""Repositories: the audit log's entries and chain heads (domain/audit.py)."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, case, insert, select, update

from seatledger.adapters.db import tables as t
from seatledger.adapters.db.rows import as_values, from_row
from seatledger.domain.audit import AuditEntry, Head

_E = t.audit_events.c
_H = t.audit_heads.c


class AuditLog:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def advance_heads(self, counts: dict[str, int]) -> dict[str, Head]:
        """Moves each chain's head ``counts[chain]`` positions forward and returns
        the heads before the move, in one UPDATE (and one INSERT for chains with
        no entry yet, whose heads are written with them). The UPDATE takes the
        heads' row locks (PostgreSQL) or the write lock (SQLite): writers of one
        chain take positions one after another, so each chain stays gapless
        whatever commits first. An account's head is only taken under its
        account's lock, so two writers never wait on each other in two orders."""
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

    def append(self, entries: Sequence[AuditEntry], heads: dict[str, Head]) -> None:
        """The entries of every chain (one executemany) and the chains' new head
        hashes (one UPDATE)."""
        self.conn.execute(insert(t.audit_events), [as_values(e) for e in entries])
        hashes = {chain: head.hash for chain, head in heads.items()}
        self.conn.execute(
            update(t.audit_heads)
            .where(_H.chain.in_(list(hashes)))
            .values(hash=case(hashes, value=_H.chain))
        )

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
