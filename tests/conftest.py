"""Shared test infrastructure: every test that touches a database runs on both
SQLite and PostgreSQL.

A test becomes a two-backend test simply by using ``db_url``, ``engine`` or
``uow_factory`` (directly or through another fixture): ``db_url`` is
parametrized over ``sqlite`` and ``postgres`` and gives each test a fresh,
migrated, empty database.

- SQLite: the schema is migrated once per session into a template file (WAL
  checkpointed, journal_mode DELETE, so the single file is the whole database);
  each test gets its own copy in ``tmp_path``.
- PostgreSQL: the run creates its own database (``seatledger_test_<pid>_<hex>``)
  from the maintenance database named by ``SEATLEDGER_TEST_POSTGRES_URL``,
  migrates it once, empties it before every test with one ``TRUNCATE … RESTART
  IDENTITY CASCADE`` of every table, and drops it at the end of the session.

PostgreSQL is probed once. When it is unreachable, its tests are skipped with
the reason, except under ``CI=true`` where the session fails: PostgreSQL tests
are never skipped in CI. The number of PostgreSQL tests that passed is written
to the file named by ``SEATLEDGER_PG_COUNT_FILE`` (if set) at the end.
"""

from __future__ import annotations

import atexit
import os
import secrets
import shutil
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from seatledger.adapters.db import tables
from seatledger.adapters.db.engine import make_engine, migrate
from seatledger.services.unit_of_work import UnitOfWork

BACKENDS = ("sqlite", "postgres")
DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
POSTGRES_URL = os.environ.get("SEATLEDGER_TEST_POSTGRES_URL") or DEFAULT_POSTGRES_URL
IN_CI = os.environ.get("CI", "").strip().lower() == "true"


def _redacted(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


# --------------------------------------------------------------------------- SQLite


class _SQLiteTemplate:
    """A migrated database file, created once per session, copied per test."""

    def __init__(self, directory: Path) -> None:
        self.path = directory / "template.db"
        self._ready = False

    def copy_to(self, target: Path) -> None:
        if not self._ready:
            self._build()
        shutil.copyfile(self.path, target)

    def _build(self) -> None:
        migrate(f"sqlite:///{self.path}")
        # make_engine turned WAL on: fold the WAL into the main file and leave
        # rollback-journal mode, so the main file alone is a complete database.
        con = sqlite3.connect(self.path, isolation_level=None)
        try:
            con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            mode = con.execute("PRAGMA journal_mode=DELETE").fetchone()[0]
            assert mode.lower() == "delete", mode
            assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
            version = con.execute("SELECT version_num FROM alembic_version").fetchone()
            assert version is not None, "template database was not migrated"
        finally:
            con.close()
        for suffix in ("-wal", "-shm"):
            Path(f"{self.path}{suffix}").unlink(missing_ok=True)
        self._ready = True


# ----------------------------------------------------------------------- PostgreSQL


class _PostgresRun:
    """The run's own PostgreSQL database: created and migrated once, emptied
    before every test, dropped at the end of the session."""

    def __init__(self, maintenance_url: str) -> None:
        self.maintenance_url = maintenance_url
        self.url: str | None = None
        self.db_name: str | None = None
        self.unreachable: str | None = None
        self._probed = False
        self._admin: Engine | None = None
        self._truncate_sql: str | None = None

    def unreachable_message(self) -> str | None:
        """None when the run's database is ready; else why not. Probes (and
        creates the database) only once per session."""
        if not self._probed:
            self._probed = True
            self._probe_and_create()
        if self.unreachable is None:
            return None
        return f"PostgreSQL not reachable at {_redacted(self.maintenance_url)}: {self.unreachable}"

    def ensure(self) -> str:
        """The URL of the run's database; skips (or fails, in CI) when
        PostgreSQL is unreachable."""
        message = self.unreachable_message()
        if message is not None:
            if IN_CI:
                pytest.fail(
                    f"{message} (CI=true: PostgreSQL tests must not be skipped)", pytrace=False
                )
            pytest.skip(message)
        if self.url is None:
            pytest.fail(
                f"the test database {self.db_name} could not be created and migrated "
                "(see the first PostgreSQL test's error)",
                pytrace=False,
            )
        return self.url

    def _maintenance_engine(self) -> Engine:
        return create_engine(
            self.maintenance_url,
            poolclass=NullPool,
            isolation_level="AUTOCOMMIT",
            connect_args={"connect_timeout": 5},
        )

    def _probe_and_create(self) -> None:
        try:
            maintenance = self._maintenance_engine()
            with maintenance.connect() as conn:
                conn.execute(text("SELECT 1"))
        except Exception as exc:  # any driver or network error means "unreachable"
            self.unreachable = f"{type(exc).__name__}: {str(exc).strip().splitlines()[0]}"
            return
        name = f"seatledger_test_{os.getpid()}_{secrets.token_hex(4)}"
        try:
            with maintenance.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
        finally:
            maintenance.dispose()
        self.db_name = name
        atexit.register(self.drop)  # also when the session is interrupted
        url = (
            make_url(self.maintenance_url).set(database=name).render_as_string(hide_password=False)
        )
        # NOTE: a failing migration propagates (every PostgreSQL test errors with
        # it) and, self.url staying None, is never mistaken for a usable database.
        migrate(url)
        names = ", ".join(f'"{t.name}"' for t in tables.metadata.sorted_tables)
        self._truncate_sql = f"TRUNCATE TABLE {names} RESTART IDENTITY CASCADE"
        self._admin = create_engine(url, pool_size=1, max_overflow=0, pool_pre_ping=True)
        self.url = url

    def empty(self) -> None:
        assert self._admin is not None and self._truncate_sql is not None
        with self._admin.begin() as conn:
            # A leaked connection holding a lock must show up as an error, not a hang.
            conn.execute(text("SET LOCAL lock_timeout = '15s'"))
            # The history tables refuse TRUNCATE (migration 0003); the harness alone
            # empties them between tests, as a superuser in replica mode, which fires
            # no ordinary trigger for this transaction (SET LOCAL).
            conn.execute(text("SET LOCAL session_replication_role = replica"))
            conn.execute(text(self._truncate_sql))

    def drop(self) -> None:
        if self._admin is not None:
            self._admin.dispose()
            self._admin = None
        if self.db_name is None:
            return
        maintenance = self._maintenance_engine()
        try:
            with maintenance.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{self.db_name}" WITH (FORCE)'))
        finally:
            maintenance.dispose()
        self.db_name = None


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="session")
def _sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> _SQLiteTemplate:
    return _SQLiteTemplate(tmp_path_factory.mktemp("sqlite-template"))


_POSTGRES_RUN = _PostgresRun(POSTGRES_URL)


@pytest.fixture(scope="session")
def _postgres_run() -> Iterator[_PostgresRun]:
    yield _POSTGRES_RUN
    _POSTGRES_RUN.drop()


@pytest.fixture(params=BACKENDS, ids=BACKENDS)
def db_url(request: pytest.FixtureRequest) -> str:
    """A fresh, migrated, empty database for this test, on each backend."""
    if request.param == "sqlite":
        template: _SQLiteTemplate = request.getfixturevalue("_sqlite_template")
        tmp_path: Path = request.getfixturevalue("tmp_path")
        path = tmp_path / "seatledger.db"
        template.copy_to(path)
        return f"sqlite:///{path}"
    run: _PostgresRun = request.getfixturevalue("_postgres_run")
    url = run.ensure()
    run.empty()
    return url


@pytest.fixture
def backend(db_url: str) -> str:
    """``"sqlite"`` or ``"postgres"``: the backend of this test's ``db_url``."""
    return "postgres" if make_url(db_url).get_backend_name() == "postgresql" else "sqlite"


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    eng = make_engine(db_url)
    try:
        yield eng
    finally:
        eng.dispose()


@pytest.fixture
def uow_factory(engine: Engine) -> Callable[[], UnitOfWork]:
    return lambda: UnitOfWork(engine)


# ------------------------------------------------------------------------------ hooks

_POSTGRES_NODEIDS: set[str] = set()
_POSTGRES_PASSED: set[str] = set()


def _is_postgres_item(item: pytest.Item) -> bool:
    callspec: Any = getattr(item, "callspec", None)
    return callspec is not None and callspec.params.get("db_url") == "postgres"


def pytest_collection_finish(session: pytest.Session) -> None:
    _POSTGRES_NODEIDS.update(item.nodeid for item in session.items if _is_postgres_item(item))
    if _POSTGRES_NODEIDS and IN_CI and not session.config.option.collectonly:
        # CI: find out before the first test, and stop the whole run, loudly.
        message = _POSTGRES_RUN.unreachable_message()
        if message is not None:
            pytest.exit(
                f"{message}\nCI=true: the PostgreSQL tests must run, never be skipped.",
                returncode=3,
            )


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.nodeid not in _POSTGRES_NODEIDS:
        return
    if report.when == "call" and report.passed:
        _POSTGRES_PASSED.add(report.nodeid)
    elif report.failed:  # a failing teardown un-counts the test
        _POSTGRES_PASSED.discard(report.nodeid)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if _POSTGRES_NODEIDS:
        terminalreporter.write_line(
            f"seatledger: {len(_POSTGRES_PASSED)} of {len(_POSTGRES_NODEIDS)} "
            "PostgreSQL-parametrized tests passed"
        )


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    target = os.environ.get("SEATLEDGER_PG_COUNT_FILE")
    if target:
        Path(target).write_text(f"{len(_POSTGRES_PASSED)}\n")
