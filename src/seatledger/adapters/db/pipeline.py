"""PostgreSQL: a transaction's writes sent without waiting for each (psycopg's
pipeline mode), so that a use case's writes cost one round trip, not one each.

On a connection a unit of work allows it (``allow``), the first statement marked
``NO_WAIT`` (its execution options) opens the pipeline; from then on a ``NO_WAIT``
statement is sent and the next statement follows at once, and every other one
(a read, a RETURNING, a statement whose rowcount is read) waits for its result,
and so for the results of every statement sent before it. Hooks on the engine
(``install``, by make_engine) do this around each statement. The server runs the
statements in the order they were sent, so each still sees what the ones before
it wrote: only the waiting moves. A transaction that writes nothing so never
opens one (leaving pipeline mode costs a round trip).

Invariants:

- A ``NO_WAIT`` statement's result is never read: no RETURNING, no rowcount.
  SAVEPOINT and RELEASE SAVEPOINT are sent without waiting as well.
- An error of a statement sent without waiting is raised by the next statement
  that waits, at the latest by ``close_pipeline`` before the commit, as the same
  SQLAlchemy exception (IntegrityError, …): the transaction is rolled back whole.
- The pipeline is closed before the transaction ends (``close``: the unit of work
  closes it before its commit, or sends the COMMIT with the writes and closes it
  then, ``send_commit``, and on its way out), so a connection goes back to the
  pool out of pipeline mode.

SQLite has no pipeline: there every statement runs as it is executed.
"""

from __future__ import annotations

import contextlib
import weakref
from typing import Any

from sqlalchemy import Connection, Engine, event
from sqlalchemy.exc import DBAPIError

# The execution option of a statement whose result nobody reads.
NO_WAIT = {"seatledger_no_wait": True}
_NO_WAIT = "seatledger_no_wait"

_engines: weakref.WeakSet[Engine] = weakref.WeakSet()  # those with the hooks
# The connections (each a unit of work's) allowed a pipeline: their open pipeline's
# context manager and the pipeline, or None while none is open.
_allowed: weakref.WeakKeyDictionary[Connection, tuple[Any, Any] | None] = (
    weakref.WeakKeyDictionary()
)


def install(engine: Engine) -> None:
    """Makes ``engine``'s connections able to pipeline (PostgreSQL)."""
    event.listen(engine, "before_cursor_execute", _open_for_no_wait)
    event.listen(engine, "after_cursor_execute", _wait_unless_no_wait)
    _engines.add(engine)


def allow(conn: Connection) -> None:
    """Lets ``conn`` (a transaction's) pipeline its ``NO_WAIT`` statements, if its
    engine can."""
    if conn.engine in _engines:
        _allowed[conn] = None


def _open_for_no_wait(
    conn: Connection, cursor: Any, statement: str, parameters: Any, context: Any, many: bool
) -> None:
    if conn in _allowed and _allowed[conn] is None and context.execution_options.get(_NO_WAIT):
        manager = conn.connection.driver_connection.pipeline()  # type: ignore[union-attr]
        _allowed[conn] = (manager, manager.__enter__())


# Savepoints opened and released go without waiting too (a billing batch opens
# one per account): they return nothing, and what could fail them (a lost
# connection) fails the next statement that waits as well. A ROLLBACK TO waits.
_SENT_WITHOUT_WAITING = ("SAVEPOINT ", "RELEASE SAVEPOINT ")


def _wait_unless_no_wait(
    conn: Connection, cursor: Any, statement: str, parameters: Any, context: Any, many: bool
) -> None:
    opened = _allowed.get(conn)
    if (
        opened is not None
        and not context.execution_options.get(_NO_WAIT)
        and not statement.startswith(_SENT_WITHOUT_WAITING)
    ):
        opened[1].sync()


def wait(conn: Connection) -> None:
    """Waits for every statement sent on ``conn``: an error of one of them is
    raised now (before a savepoint ends, so that it fails the savepoint)."""
    opened = _allowed.get(conn)
    if opened is None:
        return
    try:
        opened[1].sync()
    except conn.dialect.loaded_dbapi.Error as error:
        raise _as_sqlalchemy(conn, error) from error


def discard(conn: Connection) -> None:
    """Ends, before a ROLLBACK TO SAVEPOINT, what was sent on ``conn`` and failed
    unseen: waits for it and drops its error (the part is being rolled back for
    an error of its own already). Without this the server would skip the
    ROLLBACK TO too, as it skips everything sent after a failed statement until
    the pipeline's next sync."""
    opened = _allowed.get(conn)
    if opened is None:
        return
    with contextlib.suppress(conn.dialect.loaded_dbapi.Error):
        opened[1].sync()


def close(conn: Connection, *, failing: bool = False) -> None:
    """Waits for every statement sent, leaves pipeline mode, and allows no more.
    An error of a statement is raised here as SQLAlchemy raises it for a
    statement (a lost connection invalidates it), unless ``failing``: an
    exception is on its way already, and the transaction rolls back anyway."""
    opened = _allowed.pop(conn, None)
    if opened is None:
        return
    try:
        opened[0].__exit__(None, None, None)
    except conn.dialect.loaded_dbapi.Error as error:
        if failing:
            return
        raise _as_sqlalchemy(conn, error) from error


def send_commit(conn: Connection) -> None:
    """With a pipeline open on ``conn``: sends COMMIT after the statements sent
    and closes the pipeline, so that waiting for them and committing is one round
    trip; the transaction's own commit then finds it committed (psycopg commits
    nothing then). An error of a statement before it skips the COMMIT and is
    raised here. Without a pipeline: nothing (the transaction commits as usual)."""
    if _allowed.get(conn) is None:
        return
    conn.exec_driver_sql("COMMIT", execution_options=NO_WAIT)
    close(conn)


def _as_sqlalchemy(conn: Connection, error: Exception) -> DBAPIError:
    """The driver's error as SQLAlchemy raises it for a statement (a lost
    connection invalidated)."""
    lost = conn.dialect.is_disconnect(error, conn.connection.dbapi_connection, None)
    if lost:
        conn.invalidate(error)
    return DBAPIError.instance(
        None,
        None,
        error,
        conn.dialect.loaded_dbapi.Error,
        connection_invalidated=lost,
        dialect=conn.dialect,
    )
