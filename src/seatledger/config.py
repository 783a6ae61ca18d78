"""Settings from the environment. SQLite file by default."""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from typing import TypeVar

DEFAULT_DATABASE_URL = "sqlite:///./seatledger.db"
# Each process opens at most DB_POOL_SIZE + DB_MAX_OVERFLOW connections (10):
# three API processes and the scheduler of `serve --workers 3` stay at 40 of
# PostgreSQL's default max_connections=100.
DEFAULT_DB_POOL_SIZE = 5
DEFAULT_DB_MAX_OVERFLOW = 5
# Seconds a request waits for a free connection before it is answered 503.
DEFAULT_DB_POOL_TIMEOUT = 30.0


@dataclass(frozen=True)
class Settings:
    database_url: str
    operator_key: str | None
    db_pool_size: int = DEFAULT_DB_POOL_SIZE
    db_max_overflow: int = DEFAULT_DB_MAX_OVERFLOW
    db_pool_timeout: float = DEFAULT_DB_POOL_TIMEOUT

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


Number = TypeVar("Number", int, float)


def _number(name: str, default: Number, minimum: Number) -> Number:
    """The variable ``name`` as a finite number (of ``default``'s type) >=
    ``minimum``; unset or empty is ``default``. Anything else stops the
    program, naming the variable."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = type(default)(raw)
    except ValueError:
        value = None
    if value is None or not minimum <= value < math.inf:
        raise ValueError(f"{name}={raw!r} is not a number >= {minimum}")
    return value


def load_settings() -> Settings:
    return Settings(
        database_url=os.environ.get("SEATLEDGER_DATABASE_URL") or DEFAULT_DATABASE_URL,
        operator_key=os.environ.get("SEATLEDGER_OPERATOR_KEY") or None,
        db_pool_size=_number("SEATLEDGER_DB_POOL_SIZE", DEFAULT_DB_POOL_SIZE, 1),
        db_max_overflow=_number("SEATLEDGER_DB_MAX_OVERFLOW", DEFAULT_DB_MAX_OVERFLOW, 0),
        db_pool_timeout=_number("SEATLEDGER_DB_POOL_TIMEOUT", DEFAULT_DB_POOL_TIMEOUT, 0.0),
    )


# --- webhooks (docs/webhooks.md) ------------------------------------------------
WEBHOOK_ALLOW_PRIVATE_ENV = "SEATLEDGER_WEBHOOK_ALLOW_PRIVATE"
DEFAULT_WEBHOOK_TIMEOUT = 10.0  # seconds an attempt may take, DNS to answer
DEFAULT_WEBHOOK_POLL_INTERVAL = 1.0  # seconds a worker waits when nothing is due
DEFAULT_WEBHOOK_CONCURRENCY = 8  # attempts one worker makes at once


@dataclass(frozen=True)
class WebhookSettings:
    """``allow_private``: the kinds of address (domain/webhooks.py ADDRESS_KINDS)
    an endpoint may resolve to besides public ones; none by default."""

    allow_private: frozenset[str] = frozenset()
    timeout: float = DEFAULT_WEBHOOK_TIMEOUT
    poll_interval: float = DEFAULT_WEBHOOK_POLL_INTERVAL
    concurrency: int = DEFAULT_WEBHOOK_CONCURRENCY


def load_webhook_settings() -> WebhookSettings:
    """SEATLEDGER_WEBHOOK_ALLOW_PRIVATE (``loopback``, ``private``,
    ``link-local``, comma-separated, or ``all``), SEATLEDGER_WEBHOOK_TIMEOUT,
    SEATLEDGER_WEBHOOK_POLL_INTERVAL, SEATLEDGER_WEBHOOK_CONCURRENCY. A value
    of no such form stops the program, naming the variable."""
    from seatledger.domain.webhooks import parse_allowance

    raw = os.environ.get(WEBHOOK_ALLOW_PRIVATE_ENV, "")
    try:
        allowed = parse_allowance(raw)
    except ValueError as wrong:
        raise ValueError(f"{WEBHOOK_ALLOW_PRIVATE_ENV}={raw!r}: {wrong}") from None
    return WebhookSettings(
        allow_private=allowed,
        timeout=_number("SEATLEDGER_WEBHOOK_TIMEOUT", DEFAULT_WEBHOOK_TIMEOUT, 0.1),
        poll_interval=_number(
            "SEATLEDGER_WEBHOOK_POLL_INTERVAL", DEFAULT_WEBHOOK_POLL_INTERVAL, 0.01
        ),
        concurrency=_number("SEATLEDGER_WEBHOOK_CONCURRENCY", DEFAULT_WEBHOOK_CONCURRENCY, 1),
    )
