"""Rows to dataclasses and back, where the columns carry the fields' names."""

from __future__ import annotations

import json
from dataclasses import asdict, fields
from typing import Any, TypeVar

from sqlalchemy import Connection, Table

from seatledger.domain.parties import Party

T = TypeVar("T")


def from_row(cls: type[T], row: Any) -> T:
    """A dataclass from a row with a column for each of its fields."""
    return cls(**{f.name: getattr(row, f.name) for f in fields(cls)})  # type: ignore[arg-type]


def as_values(obj: Any) -> dict[str, Any]:
    """Column values for INSERT from a dataclass whose fields are columns."""
    return {f.name: getattr(obj, f.name) for f in fields(obj)}


def party_json(party: Party | None) -> str | None:
    """A document party (seller, buyer) as stored: JSON text, the same on both databases."""
    if party is None:
        return None
    return json.dumps({**asdict(party), "address_lines": list(party.address_lines)}, sort_keys=True)


def party_of(stored: str | None) -> Party | None:
    if not stored:
        return None
    data = json.loads(stored)
    return Party(**{**data, "address_lines": tuple(data["address_lines"])})


def upsert(conn: Connection, table: Table) -> Any:
    """An INSERT of ``table`` that can say ON CONFLICT (DO NOTHING / DO UPDATE): the
    dialect's own, PostgreSQL's or SQLite's (both spell it the same way)."""
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert(table)
