"""Rows to dataclasses and back, where the columns carry the fields' names."""

from __future__ import annotations

from dataclasses import fields
from typing import Any, TypeVar

T = TypeVar("T")


def from_row(cls: type[T], row: Any) -> T:
    """A dataclass from a row with a column for each of its fields."""
    return cls(**{f.name: getattr(row, f.name) for f in fields(cls)})  # type: ignore[arg-type]


def as_values(obj: Any) -> dict[str, Any]:
    """Column values for INSERT from a dataclass whose fields are columns."""
    return {f.name: getattr(obj, f.name) for f in fields(obj)}
