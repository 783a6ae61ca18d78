"""Use cases: the audit log, verified and listed."""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from datetime import datetime

from seatledger.domain.audit import EVENT_TYPES, AuditEntry, Break, ChainCheck, Head
from seatledger.domain.errors import InvalidInput
from seatledger.services.unit_of_work import UnitOfWork

PAGE = 1000  # entries read at a time: memory stays flat however long a chain is


@dataclass(frozen=True)
class Verification:
    chains: int  # chains checked
    entries: int  # entries checked
    breaks: list[Break]  # the first break of each broken chain


def verify_audit(
    uow_factory: Callable[..., UnitOfWork], *, account_id: str | None = None
) -> Verification:
    """Every chain (or the account's), from its first entry to its head, in one
    snapshot of the database: names the first broken link of each chain."""
    breaks: list[Break] = []
    checked = 0
    with uow_factory(snapshot=True) as uow:
        heads = uow.audit_log.heads(account_id)
        chains = set(heads)
        if account_id is None:
            # NOTE: entries whose head is gone are a broken chain too.
            chains |= uow.audit_log.chains()
        elif account_id not in heads:
            uow.read_account(account_id)  # NotFound for an unknown account
            chains.add(account_id)
        for name in sorted(chains):
            check = ChainCheck(name)
            found = None
            while found is None:
                page = uow.audit_log.chain_page(name, after=check.position, limit=PAGE)
                if not page:
                    break
                found = check.feed(page)
                checked += len(page)
            found = found or check.finish(heads.get(name))
            if found is not None:
                breaks.append(found)
    return Verification(chains=len(chains), entries=checked, breaks=breaks)


# --- the activity list and its live stream (GET /v1/accounts/{id}/events) -------

# A position as the API takes it (cursor, Last-Event-ID): a non-negative integer
# of at most 18 digits (positions are BIGINT, below 2**63).
_POSITION = re.compile(r"[0-9]{1,18}")


@dataclass(frozen=True)
class EventFilter:
    """Which entries a list or stream shows: of these types (none: every type),
    at or after ``since`` and before ``until`` (the account's clock)."""

    types: tuple[str, ...] = ()
    since: datetime | None = None
    until: datetime | None = None


def event_filter(
    types: Iterable[str] = (), *, since: datetime | None = None, until: datetime | None = None
) -> EventFilter:
    """The filter as asked: ``types`` repeated or as comma lists, each a known
    event type (domain/audit.py EVENT_TYPES); ``until`` after ``since``."""
    names = tuple(dict.fromkeys(n.strip() for t in types for n in t.split(",") if n.strip()))
    unknown = [n for n in names if n not in EVENT_TYPES]
    if unknown:
        raise InvalidInput(f"unknown event type {unknown[0]!r}", field="type")
    if since is not None and until is not None and until <= since:
        raise InvalidInput("until must be after since", field="until")
    return EventFilter(names, since, until)


def _position(value: str, *, field: str) -> int:
    if not _POSITION.fullmatch(value):
        raise InvalidInput(f"{field} is not an event position (0, 1, 2, ...)", field=field)
    return int(value)


def event_page_key(entry: AuditEntry) -> str:
    """What a list's cursor carries: the last entry's position."""
    return str(entry.position)


def list_events(
    uow: UnitOfWork,
    *,
    account_id: str,
    where: EventFilter,
    limit: int = 100,
    after: str | None = None,
) -> list[AuditEntry]:
    """An account's entries in position order; ``after`` is the ``event_page_key``
    of the last one seen."""
    start = 0 if after is None else _position(after, field="cursor")
    with uow:
        uow.read_account(account_id)
        return uow.audit_log.events(
            account_id,
            after=start,
            limit=limit,
            types=where.types,
            since=where.since,
            until=where.until,
        )


def resume_point(uow: UnitOfWork, *, account_id: str, value: str | None, field: str) -> int:
    """The position a stream continues after: ``value`` (the client's
    ``Last-Event-ID``, named ``field``), or without one the chain's head (only
    what is committed from now on). A value that is no position, or one past
    the head, is no entry of this chain: InvalidInput naming ``field``."""
    with uow:
        uow.read_account(account_id)
        head = uow.audit_log.heads(account_id).get(account_id, Head())
    if value is None:
        return head.position
    position = _position(value, field=field)
    if position > head.position:
        raise InvalidInput(
            f"{field} {position} is past the account's last event ({head.position})", field=field
        )
    return position


@dataclass(frozen=True)
class EventBatch:
    entries: list[AuditEntry]  # the filter's entries in (after, through]
    through: int  # the position read up to: the next read starts after it
    more: bool  # committed entries after ``through`` wait: read again at once


def events_after(
    uow: UnitOfWork, *, account_id: str, after: int, where: EventFilter, limit: int = PAGE
) -> EventBatch:
    """The stream's next entries: after position ``after``, up to the chain's
    head as committed when read, at most ``limit``.

    NOTE: the head first, then the entries up to it, never "position > after"
    alone. A writer takes its positions by moving the head under the head's row
    lock (AuditLog.advance_heads), in the change's transaction, and the next
    writer of the chain waits for that lock: so by the time a head of ``h`` is
    visible, the transactions that wrote entries 1..h have all committed, and
    any later statement sees every one of them. A stream that sends entries up
    to the head it read and then continues after that head therefore never
    skips an entry, however the writers' transactions interleave; an entry past
    the head is read next time, once its head is."""
    with uow:
        head = uow.audit_log.heads(account_id).get(account_id, Head()).position
        entries = uow.audit_log.events(
            account_id,
            after=after,
            through=head,
            limit=limit,
            types=where.types,
            since=where.since,
            until=where.until,
        )
    if len(entries) == limit:
        return EventBatch(entries, through=entries[-1].position, more=True)
    return EventBatch(entries, through=max(head, after), more=False)


def head_positions(uow: UnitOfWork, chains: Collection[str]) -> dict[str, int]:
    """The head position of each of ``chains`` that has entries."""
    with uow:
        return uow.audit_log.positions(chains)
