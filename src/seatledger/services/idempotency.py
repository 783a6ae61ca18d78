"""Use cases: idempotency keys (API.md Conventions), kept at least 24 hours.

A key is claimed by the commit of the request's own unit of work (see
UnitOfWork.commit); these use cases read a kept key, store the answer of the
request that claimed it, keep the answer of a request that changed nothing,
and purge keys past their 24 hours (the billing scheduler).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from seatledger.adapters.db.repositories.idempotency import Answer, IdempotencyClaim, KeptKey
from seatledger.services.unit_of_work import UnitOfWork

KEPT_FOR = timedelta(hours=24)


def kept_key(uow: UnitOfWork, *, caller: str, key: str) -> KeptKey | None:
    with uow:
        return uow.idempotency_keys.find(caller, key)


def store_answer(uow: UnitOfWork, *, claim: IdempotencyClaim, answer: Answer) -> None:
    """The answer of the request whose committed effect claimed ``claim``."""
    with uow:
        uow.idempotency_keys.store_answer(claim.caller, claim.key, answer)
        uow.commit()


def keep_answer(uow: UnitOfWork, *, claim: IdempotencyClaim, answer: Answer) -> bool:
    """Claims the key with the answer of a request that changed nothing; False when
    another request claimed it first (its answer is then this request's)."""
    with uow:
        claimed = uow.idempotency_keys.claim(claim, answer)
        uow.commit()
    return claimed


def purge_idempotency_keys(uow: UnitOfWork, *, now: datetime) -> int:
    """Deletes the keys claimed more than 24 hours before ``now``; their count."""
    with uow:
        purged = uow.idempotency_keys.purge(created_before=now - KEPT_FOR)
        uow.commit()
    return purged
