"""Engines for SQLite (default) and PostgreSQL, and migrations at start."""

from __future__ import annotations

import sqlite3
import threading
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from seatledger.adapters.db import pipeline
from seatledger.config import (
    DEFAULT_DB_MAX_OVERFLOW,
    DEFAULT_DB_POOL_SIZE,
    DEFAULT_DB_POOL_TIMEOUT,
    Settings,
)

MIGRATIONS_DIR = Path(__file__).resolve().parents[2] / "migrations"
WRITER_WAIT_SECONDS = 60  # as long as SQLite's busy timeout (make_engine)

# SQLite: per database file, the turn of this process's writers (writer_turn);
# per engine, its file's (or None: a memory database, PostgreSQL).
_writer_turns: dict[str, threading.Lock] = {}
_turn_of_engine: weakref.WeakKeyDictionary[Engine, threading.Lock | None] = (
    weakref.WeakKeyDictionary()
)
_writer_turns_lock = threading.Lock()


@contextmanager
def writer_turn(engine: Engine) -> Iterator[None]:
    """SQLite: waits for this process's turn to write to ``engine``'s database
    file, for the block (a unit of work's account lock to its end). SQLite has
    one writer at a time; a writer that finds the write lock taken sleeps in
    SQLite's busy handler by growing steps (up to 100 ms) however soon the lock is
    free, so many threads writing at once mostly sleep. Taking turns here first,
    the next writer of this process starts as soon as the last ends; other
    processes still meet SQLite's lock. Entered before the transaction's first
    write (the account lock), so no thread holds the write lock while it waits
    here. Waiting longer than the busy timeout is SQLite's own "database is
    locked". Nothing on PostgreSQL (row locks queue their waiters)."""
    try:
        turn = _turn_of_engine[engine]
    except KeyError:
        turn = _turn_of_engine[engine] = _file_turn(engine)
    if turn is None:
        yield
        return
    if not turn.acquire(timeout=WRITER_WAIT_SECONDS):
        raise OperationalError("BEGIN", None, sqlite3.OperationalError("database is locked"))
    try:
        yield
    finally:
        turn.release()


def make_engine(
    url: str,
    *,
    pool_size: int = DEFAULT_DB_POOL_SIZE,
    max_overflow: int = DEFAULT_DB_MAX_OVERFLOW,
    pool_timeout: float = DEFAULT_DB_POOL_TIMEOUT,
) -> Engine:
    """An engine with the settings the concurrency rules rely on.

    At most ``pool_size + max_overflow`` connections are open at once; a
    checkout waits up to ``pool_timeout`` seconds for one, then raises
    ``sqlalchemy.exc.TimeoutError`` (the API answers 503).

    SQLite: WAL with synchronous=FULL, a long busy timeout, foreign keys on,
    and pysqlite's own transaction handling off so that ``BEGIN`` is emitted
    by us and the first statement of a write (the account-lock UPDATE) takes
    the write lock before anything is read.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        engine = create_engine(
            url,
            connect_args={"timeout": 60, "check_same_thread": False},
            pool_size=pool_size,
            max_overflow=max_overflow,
            pool_timeout=pool_timeout,
        )

        @event.listens_for(engine, "connect")
        def _sqlite_connect(dbapi_connection, _record):  # type: ignore[no-untyped-def]
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=FULL")
            cursor.execute("PRAGMA busy_timeout=60000")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn):  # type: ignore[no-untyped-def]
            # NOTE: single-statement reads run in autocommit (no BEGIN round trip).
            if conn.get_execution_options().get("isolation_level") != "AUTOCOMMIT":
                conn.exec_driver_sql("BEGIN")

        return engine
    # NOTE: no pool_pre_ping: it costs a round trip per transaction; a connection
    # broken by a server restart fails one request (503) and the pool is invalidated.
    engine = create_engine(
        url, pool_size=pool_size, max_overflow=max_overflow, pool_timeout=pool_timeout
    )
    pipeline.install(engine)  # a unit of work's writes in one round trip (pipeline.py)
    return engine


def _file_turn(engine: Engine) -> threading.Lock | None:
    path = engine.url.database
    if engine.dialect.name != "sqlite" or not path or path == ":memory:":
        return None
    with _writer_turns_lock:
        return _writer_turns.setdefault(str(Path(path).resolve()), threading.Lock())


def connection_lost(error: BaseException) -> bool:
    """Whether ``error`` is the loss of the database connection (the server
    restarted, the network dropped, the backend was terminated): the work of the
    transaction is gone whole and may be tried again on a new connection."""
    from sqlalchemy.exc import DBAPIError

    if isinstance(error, DBAPIError) and error.connection_invalidated:
        return True
    if isinstance(error, DBAPIError) and error.orig is not None:
        state = getattr(error.orig, "sqlstate", None) or ""
        # 08: connection exception; 57P01..57P03: admin shutdown, crash shutdown,
        # cannot connect now (PostgreSQL)
        return state.startswith("08") or state in {"57P01", "57P02", "57P03"}
    return False


def engine_for(settings: Settings) -> Engine:
    """The engine ``settings`` describe (``SEATLEDGER_DATABASE_URL`` and
    ``SEATLEDGER_DB_POOL_SIZE`` / ``_MAX_OVERFLOW`` / ``_POOL_TIMEOUT``)."""
    return make_engine(
        settings.database_url,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        pool_timeout=settings.db_pool_timeout,
    )


def alembic_config(url: str):  # type: ignore[no-untyped-def]
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def migrate(url: str) -> None:
    """Apply every pending migration (``seatledger migrate``; ``serve`` at start)."""
    from alembic import command

    command.upgrade(alembic_config(url), "head")
