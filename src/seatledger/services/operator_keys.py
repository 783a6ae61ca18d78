"""Use cases: operator keys (stored hashed, shown once), their last use, and
revocation, which takes effect on the next request of the process that revoked
the key, and within half a second in every other (read_cache.LIVE_SECONDS)."""

from __future__ import annotations

from contextlib import nullcontext
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from seatledger.adapters.db.read_cache import INSTALLATION, ReadCache
from seatledger.domain.errors import NotFound
from seatledger.domain.ids import new_id, new_token
from seatledger.domain.names import check_display_name
from seatledger.services.secrets import hash_token
from seatledger.services.unit_of_work import UnitOfWork

# A key's last use is written at most once per this much time (not once per
# request: the access check's hot path calls with an operator key).
LAST_USE_PRECISION = timedelta(minutes=1)
_CACHED_KEY = "operator_key"  # the read cache's entries: (_CACHED_KEY, key hash)


@dataclass(frozen=True)
class OperatorKey:
    id: str
    name: str
    key: str | None = None  # only when just created
    created_at: datetime | None = None
    last_used_at: datetime | None = None  # to within LAST_USE_PRECISION
    revoked_at: datetime | None = None


def _key(row: Any) -> OperatorKey:
    return OperatorKey(
        row.id,
        row.name,
        created_at=row.created_at,
        last_used_at=row.last_used_at,
        revoked_at=row.revoked_at,
    )


def _add_key(uow: UnitOfWork, *, key: str, name: str, at: datetime) -> OperatorKey:
    """Inside the caller's unit of work: the key's hash, and its entry on the
    installation's chain of the audit log (keys belong to no account)."""
    added = OperatorKey(new_id("opk"), name, created_at=at)
    uow.operator_keys.add(id=added.id, name=name, key_hash=hash_token(key), at=at)
    uow.record(
        "operator_key.created",
        subject=f"operator_key:{added.id}",
        account_id=None,
        at=at,
        after=added,  # its key is None: never logged
    )
    return added


def create_operator_key(uow: UnitOfWork, *, name: str, at: datetime) -> OperatorKey:
    name = check_display_name(name, field="name")
    key = new_token("slop")
    with uow:
        added = _add_key(uow, key=key, name=name, at=at)
        uow.commit()
    return replace(added, key=key)


def ensure_operator_key(uow: UnitOfWork, *, key: str, name: str, at: datetime) -> None:
    """Registers a key given by the environment (``SEATLEDGER_OPERATOR_KEY``).
    A revoked one stays revoked: it is found by its hash, not added again."""
    with uow:
        if uow.operator_keys.by_hash(hash_token(key)) is None:
            _add_key(uow, key=key, name=name, at=at)
            uow.commit()


def find_operator(
    uow: UnitOfWork, *, key: str, at: datetime, cache: ReadCache | None = None
) -> OperatorKey | None:
    """The key's operator, unless unknown or revoked: one autocommit read by
    the unique hash index, and a write of ``last_used_at`` only when the
    recorded one is a minute old. With ``cache``: a key kept there is answered
    from memory until its last use is due again (``cached_operator``); a
    revocation drops it (read_cache.py: in every process within
    ``LIVE_SECONDS``)."""
    key_hash = hash_token(key)
    if cache is not None:
        kept = cached_operator(cache, key_hash=key_hash, at=at)
        if kept is not None:
            return kept
    with cache.reading(INSTALLATION) if cache is not None else nullcontext(None) as keep:
        row = uow.operator_key(key_hash)
        if row is None or row.revoked_at is not None:
            return None
        stale_from = at - LAST_USE_PRECISION
        if row.last_used_at is None or row.last_used_at <= stale_from:
            with uow:
                uow.operator_keys.record_use(row.id, at=at, stale_from=stale_from)
                uow.commit()
        elif keep is not None:
            # NOTE: kept only with a recent last use, so that its next one is written in time.
            keep((_CACHED_KEY, key_hash), _key(row))
    return _key(row)


def cached_operator(cache: ReadCache, *, key_hash: str, at: datetime) -> OperatorKey | None:
    """The operator of the key with this hash from memory (no I/O), or None when
    it is not kept or its last use is due to be written (``find_operator``)."""
    kept: OperatorKey | None = cache.get(INSTALLATION, (_CACHED_KEY, key_hash))
    if kept is None or kept.last_used_at is None or kept.last_used_at <= at - LAST_USE_PRECISION:
        return None
    return kept


def list_operator_keys(
    uow: UnitOfWork, *, limit: int = 100, after: str | None = None
) -> list[OperatorKey]:
    with uow:
        return [_key(r) for r in uow.operator_keys.list(limit=limit, after=after)]


def revoke_operator_key(uow: UnitOfWork, *, key_id: str, at: datetime) -> OperatorKey:
    """From now on the key is 401 everywhere; revoking it again changes nothing."""
    with uow:
        before = uow.operator_keys.get(key_id)
        if before is None:
            raise NotFound(f"operator key {key_id} not found", field="key_id")
        revoked = uow.operator_keys.revoke(key_id, at=at)
        if revoked is not None:
            uow.record(
                "operator_key.revoked",
                subject=f"operator_key:{key_id}",
                account_id=None,
                at=at,
                before=_key(before),
                after=_key(revoked),
            )
        uow.commit()
    return _key(revoked or before)
