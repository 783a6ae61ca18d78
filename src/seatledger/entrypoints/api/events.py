"""The live activity stream: one watcher per server process wakes its open streams.

``GET /v1/accounts/{id}/events`` with ``Accept: text/event-stream``
(routes/events.py) answers with :func:`event_stream`: the account's entries after
the resume point, then each new one as it is committed, as server-sent events
(``id`` = the entry's position, ``event`` = its type, ``data`` = the entry).

A stream holds no thread and no database connection while it waits: it waits
on an ``asyncio.Event`` that the process's one :class:`EventHub` sets when the
account's chain may have moved, then reads what is new (services/audit.py
``events_after``, in a worker thread, one short transaction) and waits again.
The hub learns of commits

- on PostgreSQL from one ``LISTEN audit_events`` connection (psycopg, async):
  every commit that writes entries sends ``pg_notify('audit_events', <chain>)``
  (services/unit_of_work.py), from whichever process made the change;
- on SQLite, or while that connection is down, by reading the heads of the
  chains being streamed every ``poll_interval`` seconds (one query for all).

The hub runs only while some stream is open: the first one starts it, the last
one to end stops it (and closes its connection). Streams end on client
disconnect and on server shutdown (sse-starlette ends them on uvicorn's exit
signal), so the server never waits on one.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from functools import partial

import anyio.to_thread
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError
from sse_starlette import ServerSentEvent

from seatledger.entrypoints.api.schemas import EventPublic
from seatledger.services import audit
from seatledger.services.unit_of_work import UnitOfWork

log = logging.getLogger("seatledger.events")

CHANNEL = "audit_events"  # the channel services/unit_of_work.py notifies on commit
HEARTBEAT_SECONDS = 15.0  # a comment line this often keeps proxies from closing an idle stream
POLL_SECONDS = 0.25  # SQLite, or PostgreSQL while the listener is down
RECONNECT_SECONDS = 2.0  # between attempts to open the listener again
SEND_TIMEOUT_SECONDS = 30.0  # a client that takes no data for this long is dropped


class EventHub:
    """Wakes the open streams of a chain when its head may have moved (one per
    app, ``app.state.event_hub``). ``heartbeat`` and ``poll_interval`` are in
    seconds (tests shorten them)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.heartbeat = HEARTBEAT_SECONDS
        self.poll_interval = POLL_SECONDS
        self._waiting: dict[str, set[asyncio.Event]] = {}
        self._watcher: asyncio.Task[None] | None = None
        self._ready = asyncio.Event()

    @property
    def listening(self) -> bool:
        """Whether the watcher runs (some stream is open)."""
        return self._watcher is not None

    @asynccontextmanager
    async def subscription(self, chain: str) -> AsyncIterator[asyncio.Event]:
        """An event set whenever ``chain`` may have new entries. Yields once the
        watcher hears commits (LISTEN issued, or polling), so a read made after
        entering sees every commit the event is not set for."""
        woken = asyncio.Event()
        self._waiting.setdefault(chain, set()).add(woken)
        try:
            if self._watcher is None or self._watcher.done():
                self._ready = asyncio.Event()
                self._watcher = asyncio.get_running_loop().create_task(
                    self._watch(), name="seatledger-event-hub"
                )
            await self._ready.wait()
            yield woken
        finally:
            waiting = self._waiting.get(chain, set())
            waiting.discard(woken)
            if not waiting:
                self._waiting.pop(chain, None)
            if not self._waiting and self._watcher is not None:
                self._watcher.cancel()
                self._watcher = None

    def _wake(self, chain: str) -> None:
        for woken in self._waiting.get(chain, ()):
            woken.set()

    def _wake_all(self) -> None:
        for chain in self._waiting:
            self._wake(chain)

    async def _watch(self) -> None:
        if self.engine.dialect.name != "postgresql":
            self._ready.set()
            await self._poll()
            return
        while True:
            try:
                await self._listen()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # any driver or network error: poll, then retry
                log.warning("event listener unavailable (%s); polling meanwhile", exc)
            self._ready.set()
            with anyio.move_on_after(RECONNECT_SECONDS):
                await self._poll()

    async def _listen(self) -> None:
        import psycopg

        url = self.engine.url.set(drivername="postgresql")
        async with await psycopg.AsyncConnection.connect(
            url.render_as_string(hide_password=False), autocommit=True
        ) as conn:
            await conn.execute(f"LISTEN {CHANNEL}")
            self._ready.set()
            self._wake_all()  # whatever was committed while nobody listened
            async for notice in conn.notifies():
                self._wake(notice.payload)

    async def _poll(self) -> None:
        """Wakes a chain's streams whenever its head differs from the last one
        seen, a chain seen for the first time included (its streams may have
        read before a commit this poll is the first to see)."""
        seen: dict[str, int] = {}
        while True:
            chains = list(self._waiting)
            if chains:
                try:
                    heads = await anyio.to_thread.run_sync(
                        audit.head_positions, UnitOfWork(self.engine), chains
                    )
                except Exception as exc:  # the database away: try again next time
                    log.warning("event poll failed: %s", exc)
                else:
                    for chain in chains:
                        if chain not in seen or heads.get(chain, 0) != seen[chain]:
                            self._wake(chain)
                    seen = {chain: heads.get(chain, 0) for chain in chains}
            await asyncio.sleep(self.poll_interval)


async def event_stream(
    hub: EventHub,
    *,
    account_id: str,
    after: int,
    where: audit.EventFilter,
    still_allowed: Callable[[], Awaitable[bool]] | None = None,
) -> AsyncIterator[ServerSentEvent]:
    """The account's entries after position ``after`` that ``where`` lets
    through, then each new one, until the client leaves or the server stops.
    ``still_allowed``: asked before every read; once False (the token revoked,
    its user deactivated or no longer an owner) the stream ends before sending
    anything more. A database error ends the stream too; the client resumes
    with Last-Event-ID."""
    async with hub.subscription(account_id) as woken:
        while True:
            woken.clear()  # before the read: a commit during it wakes us again
            try:
                if still_allowed is not None and not await still_allowed():
                    return
                batch = await anyio.to_thread.run_sync(
                    partial(
                        audit.events_after,
                        UnitOfWork(hub.engine),
                        account_id=account_id,
                        after=after,
                        where=where,
                    )
                )
            except SQLAlchemyError as exc:
                log.warning("event stream of %s ended: %s", account_id, exc)
                return
            for entry in batch.entries:
                yield ServerSentEvent(
                    data=EventPublic.of(entry).model_dump_json(),
                    event=entry.type,
                    id=str(entry.position),
                )
            after = batch.through
            if not batch.more:
                await woken.wait()


def heartbeat() -> ServerSentEvent:
    """The keep-alive: a comment line, which EventSource clients ignore."""
    return ServerSentEvent(comment="heartbeat")
