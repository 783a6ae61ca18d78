"""The audit log: every change as an entry of a hash chain (PRODUCT.md §2 rule 7).

Each account has one chain; changes of no account (operator keys, seller
settings, webhook endpoints) are on the ``installation`` chain. Entry ``n`` of a
chain has position ``n`` (1, 2, 3, ... without gaps) and

    hash(n) = sha256_hex(hash(n - 1) + "\\n" + content(n)),   hash(0) = ""

where ``content`` is the canonical JSON of every stored field but the hash
(:func:`content`). The chain's head keeps the last position and hash, so an
edited entry (its content no longer gives its hash), a deleted or reordered one
(a gap, or a hash that no longer follows its predecessor's) and deleted last
entries (a chain shorter than its head) are all found by :func:`first_break`.

Pure: the caller supplies ids, the time (the account's clock) and the head.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields, is_dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import Enum
from functools import cache
from typing import Any

INSTALLATION_CHAIN = "installation"
SYSTEM = "system"  # the actor of what no request asked for (billing runs, the scheduler)

# Event types: what changed. The webhook event types (PRODUCT.md §7, an endpoint
# subscribes to some of them) are the first group; every other change has a type too.
WEBHOOK_EVENT_TYPES: dict[str, str] = {
    "user.created": "A user was created (by the API, an invitation accepted, or SCIM).",
    "user.updated": "A user's names, department, role, profile, workspaces or valid_to changed.",
    "user.activated": "A user became active.",
    "user.deactivated": "A user became inactive.",
    "user.deleted": "A user was deleted (it stays in the ledger).",
    "seat.taken": "A user took a seat in a module's pool.",
    "seat.released": "A user released a seat.",
    "seat.limit_reached": "A pool became full: its last seat was taken, or a user was saved "
    "inactive because the pool was full.",
    "seat_change.requested": "An owner asked to change a pool's capacity.",
    "seat_change.approved": "An operator approved a seat-change request.",
    "seat_change.rejected": "A seat-change request was rejected.",
    "seat_change.applied": "A seat-change request changed the pool's capacity.",
    "invoice.issued": "An invoice was issued.",
    "invoice.paid": "An invoice was marked paid.",
    "invoice.voided": "An invoice was voided.",
    "credit_note.issued": "A credit note was issued.",
    "contract.created": "A contract version was recorded.",
}
EVENT_TYPES: dict[str, str] = {
    **WEBHOOK_EVENT_TYPES,
    "account.created": "An account was created.",
    "account.updated": "An account's name, billing details, terms, locale or tax rate changed.",
    "account.clock_moved": "A test-clock account's time moved forward.",
    "workspace.created": "A workspace was created.",
    "workspace.updated": "A workspace was renamed or its members changed.",
    "workspace.deleted": "A workspace was deleted.",
    "profile.created": "A profile was created.",
    "pool.capacity_changed": "A pool's capacity changed (a purchase, a true-up, a version).",
    "invitation.created": "An invitation was sent.",
    "password.set": "A user set a password (setup token or invitation).",
    "token.issued": "A user token was issued (sign-in or minted by an operator).",
    "token.revoked": "A user token was revoked (signed out).",
    "scim_token.issued": "A SCIM token was issued.",
    "scim_token.revoked": "A SCIM token was revoked.",
    "operator_key.created": "An operator key was created.",
    "operator_key.revoked": "An operator key was revoked.",
    "settings.seller_updated": "The seller printed on every document changed.",
    "webhook_endpoint.created": "A webhook endpoint was registered.",
    "webhook_endpoint.deleted": "A webhook endpoint was deleted.",
}

# Fields never written to the log: secrets and their hashes.
_SECRET_FIELDS = frozenset(
    {"password_hash", "setup_token_hash", "token_hash", "key_hash", "secret", "token"}
)


@dataclass(frozen=True)
class Change:
    """One change, as a use case records it (``uow.record``)."""

    type: str
    subject: str  # "<kind>:<id>", e.g. "user:usr_…"
    account_id: str | None  # None: the installation chain
    at: datetime  # the account's clock
    before: Any = None
    after: Any = None
    actor: str | None = None  # None: the unit of work's actor

    @property
    def chain(self) -> str:
        return self.account_id or INSTALLATION_CHAIN


@dataclass(frozen=True)
class Head:
    """A chain's head: the last entry's position (0: none) and hash ("": none)."""

    position: int = 0
    hash: str = ""


@dataclass(frozen=True)
class AuditEntry:
    """An entry as stored; ``before`` and ``after`` are canonical JSON text or None."""

    id: str
    chain: str
    position: int
    account_id: str | None
    type: str
    at: datetime
    actor: str
    subject: str
    before: str | None
    after: str | None
    request_id: str | None
    hash: str


@dataclass(frozen=True)
class Break:
    """The first link of a chain that does not hold."""

    chain: str
    position: int  # the position where the chain breaks
    reason: str


_SCALARS = frozenset({str, int, float, bool, type(None)})


@cache
def _logged_fields(cls: type) -> tuple[str, ...]:
    """A dataclass's fields as the log writes them: every one but the secrets."""
    return tuple(f.name for f in fields(cls) if f.name not in _SECRET_FIELDS)


def plain(value: Any) -> Any:
    """JSON-ready: dataclasses as dicts without secret fields; Decimal, dates and
    instants as strings; tuples and sets as lists (sets sorted)."""
    kind = type(value)
    if kind in _SCALARS:
        return value
    if kind is dict:
        return {str(k): plain(v) for k, v in value.items() if k not in _SECRET_FIELDS}
    if kind is list:
        return [plain(v) for v in value]
    if is_dataclass(value) and not isinstance(value, type):
        return {name: plain(getattr(value, name)) for name in _logged_fields(kind)}
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items() if k not in _SECRET_FIELDS}
    if isinstance(value, (set, frozenset)):
        return sorted(plain(v) for v in value)
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, Enum):
        return plain(value.value)
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return value


def canonical_json(value: Any) -> str:
    """One text for one value: sorted keys, no spaces, UTF-8 kept."""
    return json.dumps(plain(value), sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def snapshot(value: Any) -> str | None:
    """What ``before``/``after`` store: canonical JSON, or None for nothing."""
    return None if value is None else canonical_json(value)


def content(entry: AuditEntry) -> str:
    """The canonical content the hash covers: every stored field but the hash."""
    return _content_of(
        entry.id,
        entry.chain,
        entry.position,
        entry.account_id,
        entry.type,
        entry.at,
        entry.actor,
        entry.subject,
        entry.before,
        entry.after,
        entry.request_id,
    )


def _content_of(
    id: str,
    chain: str,
    position: int,
    account_id: str | None,
    type: str,
    at: datetime,
    actor: str,
    subject: str,
    before: str | None,
    after: str | None,
    request_id: str | None,
) -> str:
    fields_ = {
        "id": id,
        "chain": chain,
        "position": position,
        "account_id": account_id,
        "type": type,
        "at": at.isoformat(),
        "actor": actor,
        "subject": subject,
        "before": before,
        "after": after,
        "request_id": request_id,
    }
    return json.dumps(fields_, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _link(previous_hash: str, content_: str) -> str:
    return hashlib.sha256(f"{previous_hash}\n{content_}".encode()).hexdigest()


def link_hash(previous_hash: str, entry: AuditEntry) -> str:
    return _link(previous_hash, content(entry))


def chain(
    changes: Iterable[Change],
    *,
    head: Head,
    ids: Iterable[str],
    actor: str,
    request_id: str | None,
) -> tuple[list[AuditEntry], Head]:
    """The entries that follow ``head`` for ``changes`` (all of one chain), and
    the new head."""
    entries: list[AuditEntry] = []
    position, previous = head.position, head.hash
    for change, entry_id in zip(changes, ids, strict=False):
        position += 1
        at = change.at.astimezone(UTC)  # as the database gives it back
        who = change.actor or actor
        before, after = snapshot(change.before), snapshot(change.after)
        previous = _link(
            previous,
            _content_of(
                entry_id,
                change.chain,
                position,
                change.account_id,
                change.type,
                at,
                who,
                change.subject,
                before,
                after,
                request_id,
            ),
        )
        entries.append(
            AuditEntry(
                id=entry_id,
                chain=change.chain,
                position=position,
                account_id=change.account_id,
                type=change.type,
                at=at,
                actor=who,
                subject=change.subject,
                before=before,
                after=after,
                request_id=request_id,
                hash=previous,
            )
        )
    return entries, Head(position, previous)


class ChainCheck:
    """Checks one chain's entries fed in position order (any number of pages):
    ``feed`` returns the first break found, ``finish`` compares with the head."""

    def __init__(self, chain_name: str) -> None:
        self.chain = chain_name
        self.position = 0
        self.hash = ""

    def feed(self, entries: Iterable[AuditEntry]) -> Break | None:
        for entry in entries:
            expected = self.position + 1
            if entry.position != expected:
                return Break(
                    self.chain, expected, f"entry {expected} is missing (found {entry.position})"
                )
            if entry.chain != self.chain:
                return Break(self.chain, expected, f"entry {expected} names chain {entry.chain}")
            if link_hash(self.hash, entry) != entry.hash:
                return Break(
                    self.chain,
                    expected,
                    f"entry {expected} ({entry.type}, {entry.id}) does not match its hash: "
                    "it was changed, or an entry before it was",
                )
            self.position, self.hash = expected, entry.hash
        return None

    def finish(self, head: Head | None) -> Break | None:
        if head is None:
            return Break(self.chain, self.position, "the chain has no head")
        if head.position < self.position:
            return Break(
                self.chain,
                head.position + 1,
                f"the chain goes on past its head (entry {head.position}) to entry "
                f"{self.position}: entries were added behind the log's back",
            )
        if head.position != self.position:
            return Break(
                self.chain,
                self.position + 1,
                f"the head is at entry {head.position} but the chain ends at entry "
                f"{self.position}: entries {self.position + 1}..{head.position} are missing",
            )
        if head.hash != self.hash:
            return Break(
                self.chain, self.position, f"entry {self.position} does not match the head's hash"
            )
        return None
