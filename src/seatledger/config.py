"""Settings from the environment. SQLite file by default."""

from __future__ import annotations

import os
from dataclasses import dataclass

DEFAULT_DATABASE_URL = "sqlite:///./seatledger.db"


@dataclass(frozen=True)
class Settings:
    database_url: str
    operator_key: str | None

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


def load_settings() -> Settings:
    return Settings(
        database_url=os.environ.get("SEATLEDGER_DATABASE_URL") or DEFAULT_DATABASE_URL,
        operator_key=os.environ.get("SEATLEDGER_OPERATOR_KEY") or None,
    )
