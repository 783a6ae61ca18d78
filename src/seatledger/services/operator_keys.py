"""Use cases: operator keys (stored hashed, shown once)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from seatledger.domain.ids import new_id, new_token
from seatledger.services.secrets import hash_token
from seatledger.services.unit_of_work import UnitOfWork


@dataclass(frozen=True)
class OperatorKey:
    id: str
    name: str
    key: str | None = None  # only when just created


def create_operator_key(uow: UnitOfWork, *, name: str, at: datetime) -> OperatorKey:
    key = new_token("slop")
    key_id = new_id("opk")
    with uow:
        uow.operator_keys.add(id=key_id, name=name, key_hash=hash_token(key), at=at)
        uow.commit()
    return OperatorKey(key_id, name, key)


def ensure_operator_key(uow: UnitOfWork, *, key: str, name: str, at: datetime) -> None:
    """Registers a key given by the environment (``SEATLEDGER_OPERATOR_KEY``)."""
    with uow:
        if uow.operator_keys.by_hash(hash_token(key)) is None:
            uow.operator_keys.add(id=new_id("opk"), name=name, key_hash=hash_token(key), at=at)
            uow.commit()


def find_operator(uow: UnitOfWork, *, key: str) -> OperatorKey | None:
    with uow:
        row = uow.operator_keys.by_hash(hash_token(key))
        return OperatorKey(row.id, row.name) if row else None
