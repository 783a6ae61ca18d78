"""Reads kept in this process's memory until a commit changes what they read.

The hot reads (the access check's facts, an operator key) are kept here so that
a request answered from memory sends no statement. Every entry belongs to an
audit chain (domain/audit.py: an account's id, or ``installation`` for operator
keys): a commit that changes a chain drops that chain's entries. The cache
learns of commits three ways:

- **this process**: ``UnitOfWork.commit`` calls :func:`committed` right after the
  commit, with every account it locked and every chain it wrote, so the next
  request of this process reads the change;
- **other processes, PostgreSQL**: one ``LISTEN audit_events`` connection (a
  thread); the audit log's commit sends ``pg_notify('audit_events', <chain>)``
  in the transaction of every recorded change;
- **other processes, SQLite**: a thread reads ``PRAGMA data_version`` every
  ``POLL_SECONDS`` on its own connection; when another connection committed, it
  reads the heads of the cached chains (``audit_heads``) and drops the chains
  whose head moved, or that it sees for the first time.

Invariants:

- An entry is used only while the watcher has proved, at most ``LIVE_SECONDS``
  ago, that it had heard every commit made until then (the listener's round
  trip; the poll). A watcher that stops, loses its connection or falls behind
  makes the cache answer nothing (every read goes to the database) until it is
  back, and then everything is dropped. So an answer is never staler than
  ``LIVE_SECONDS`` after the commit that changes it, in any process.
- A read that started before a commit is never kept after it: a read runs in
  ``reading(chain)``, whose ``keep`` keeps nothing if the chain was dropped
  since the read began (``committed``, a notification or a poll may land while
  it runs); SQLite's poll watches the chains being read as well as the kept.
- Nothing is kept across a restart (memory only).

This relies on every change of what an entry reads being recorded on its chain
(the audit log's rule: PRODUCT.md §2 rule 7), or made by this process.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
import weakref
from collections.abc import Callable, Hashable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine

from seatledger.domain.audit import INSTALLATION_CHAIN

log = logging.getLogger("seatledger.read_cache")

CHANNEL = "audit_events"  # the channel the audit log's commit notifies (services/unit_of_work.py)
LIVE_SECONDS = 0.5  # entries are used only this long after the watcher last heard every commit
POLL_SECONDS = 0.2  # SQLite: data_version poll; PostgreSQL: the listener's round trip
RECONNECT_SECONDS = 1.0  # between attempts after the watcher lost its connection
MAX_ENTRIES = 100_000  # over this, everything is dropped (a bound, not an eviction policy)
HEADS_PER_QUERY = 500  # chains per audit_heads query (SQLite's bound parameters)
INSTALLATION = INSTALLATION_CHAIN
APPLICATION_NAME = "seatledger-read-cache"  # the listener's connection, in pg_stat_activity

# The started caches of each engine; a writer replaces its tuple (under the lock),
# so ``committed`` reads it without one.
_caches: weakref.WeakKeyDictionary[Engine, tuple[ReadCache, ...]] = weakref.WeakKeyDictionary()
_caches_lock = threading.Lock()


def committed(engine: Engine, chains: Iterable[str]) -> None:
    """Called by the unit of work after each commit: ``chains`` (the accounts it
    locked, the audit chains it wrote) may have changed."""
    caches = _caches.get(engine)
    if caches:
        changed = frozenset(chains)
        for cache in caches:
            cache.invalidate(changed)


class ReadCache:
    """One per app (``app.state.read_cache``): ``start()`` when the server starts
    (the watcher thread), ``stop()`` when it stops. Not started, it keeps nothing."""

    def __init__(self, engine: Engine, *, max_entries: int = MAX_ENTRIES) -> None:
        self.engine = engine
        self.max_entries = max_entries
        self._entries: dict[tuple[str, Hashable], Any] = {}
        self._keys_of: dict[str, set[Hashable]] = {}
        # chain -> [reads in flight, times dropped while they were]
        self._reading: dict[str, list[int]] = {}
        self._epoch = 0  # times everything was dropped
        self._lock = threading.Lock()
        self._live_until = 0.0  # time.monotonic() until which entries may be used
        self._stop: threading.Event | None = None  # the running watcher's

    # --- reading and keeping -----------------------------------------------------
    @property
    def live(self) -> bool:
        return time.monotonic() < self._live_until

    def get(self, chain: str, key: Hashable) -> Any | None:
        """The value kept for ``key`` of ``chain``, or None (also while not live)."""
        if time.monotonic() >= self._live_until:
            return None
        return self._entries.get((chain, key))

    @contextmanager
    def reading(self, chain: str) -> Iterator[Callable[[Hashable, Any], None]]:
        """Around a read of ``chain``: yields ``keep(key, value)``, which keeps the
        value unless the chain was dropped since the read began."""
        with self._lock:
            reads = self._reading.setdefault(chain, [0, 0])
            reads[0] += 1
            began = (self._epoch, reads[1])

        def keep(key: Hashable, value: Any) -> None:
            with self._lock:
                if began != (self._epoch, reads[1]) or not self.live:
                    return
                if len(self._entries) >= self.max_entries:
                    self._drop_all()
                    return
                self._entries[(chain, key)] = value
                self._keys_of.setdefault(chain, set()).add(key)

        try:
            yield keep
        finally:
            with self._lock:
                reads[0] -= 1
                if reads[0] == 0:
                    del self._reading[chain]

    # --- dropping ----------------------------------------------------------------
    def invalidate(self, chains: Iterable[str]) -> None:
        with self._lock:
            for chain in chains:
                reads = self._reading.get(chain)
                if reads is not None:
                    reads[1] += 1
                for key in self._keys_of.pop(chain, ()):
                    self._entries.pop((chain, key), None)

    def invalidate_all(self) -> None:
        with self._lock:
            self._drop_all()

    def _drop_all(self) -> None:
        self._epoch += 1
        self._entries.clear()
        self._keys_of.clear()

    def watched_chains(self) -> list[str]:
        """The chains with entries or reads in flight."""
        with self._lock:
            return list(self._keys_of.keys() | self._reading.keys())

    # --- the watcher -------------------------------------------------------------
    def start(self) -> None:
        if self._stop is not None:
            return
        self._stop = stop = threading.Event()
        with _caches_lock:
            _caches[self.engine] = (*_caches.get(self.engine, ()), self)
        threading.Thread(
            target=self._watch, args=(stop,), name="seatledger-read-cache", daemon=True
        ).start()

    def stop(self) -> None:
        """Stops using entries at once; the watcher thread ends within
        ``POLL_SECONDS`` (it is not waited for)."""
        if self._stop is None:
            return
        self._stop.set()
        self._stop = None
        self._live_until = 0.0
        with _caches_lock:
            others = tuple(c for c in _caches.get(self.engine, ()) if c is not self)
            if others:
                _caches[self.engine] = others
            else:
                _caches.pop(self.engine, None)
        self.invalidate_all()

    def _confirm(self, stop: threading.Event, heard_until: float) -> None:
        """Every commit made before ``heard_until`` (a monotonic time) has been
        heard (by the running watcher: a stopped one's word counts for nothing)."""
        if not stop.is_set():
            self._live_until = heard_until + LIVE_SECONDS

    def _watch(self, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                if self.engine.dialect.name == "postgresql":
                    self._listen(stop)
                else:
                    self._poll(stop)
            except Exception as exc:  # the database away: nothing is used until it is back
                if not stop.is_set():
                    self._live_until = 0.0
                    log.warning("read cache watcher: %s; reading the database meanwhile", exc)
            stop.wait(RECONNECT_SECONDS)

    def _listen(self, stop: threading.Event) -> None:
        import psycopg

        url = self.engine.url.set(drivername="postgresql")
        with psycopg.connect(
            url.render_as_string(hide_password=False),
            autocommit=True,
            connect_timeout=5,
            application_name=APPLICATION_NAME,
        ) as conn:
            conn.execute(f"LISTEN {CHANNEL}")
            self.invalidate_all()  # whatever was committed while nobody listened
            while not stop.is_set():
                sent = time.monotonic()
                conn.execute("SELECT 1")  # notifications of earlier commits arrive before it
                for notice in conn.notifies(timeout=0):
                    self.invalidate((notice.payload,))
                self._confirm(stop, sent)
                for notice in conn.notifies(timeout=POLL_SECONDS):
                    self.invalidate((notice.payload,))

    def _poll(self, stop: threading.Event) -> None:
        path = self.engine.url.database
        if not path or path == ":memory:":
            # NOTE: a memory database has no other connection to hear; this
            # process's own commits still drop their chains (``committed``).
            while not stop.is_set():
                self._confirm(stop, time.monotonic())
                stop.wait(POLL_SECONDS)
            return
        conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=5)
        try:
            seen: dict[str, int] = {}  # chain -> its head when last looked at

            def data_version() -> int:
                return int(conn.execute("PRAGMA data_version").fetchone()[0])

            version = data_version()
            self.invalidate_all()  # whatever was committed before the first poll
            while not stop.is_set():
                sent = time.monotonic()
                now = data_version()
                # NOTE: taken after data_version: a read that began later saw every
                # commit this poll knows of.
                watched = self.watched_chains()
                if now != version:
                    version = now
                    seen = self._drop_moved(conn, watched, seen)
                else:
                    fresh = [chain for chain in watched if chain not in seen]
                    heads = self._heads(conn, fresh)
                    if data_version() == version:
                        # Nothing committed elsewhere since the last poll, and those
                        # reads began after it: what they read is current.
                        seen.update((chain, heads.get(chain, 0)) for chain in fresh)
                self._confirm(stop, sent)
                stop.wait(POLL_SECONDS)
        finally:
            conn.close()

    def _heads(self, conn: sqlite3.Connection, chains: list[str]) -> dict[str, int]:
        heads: dict[str, int] = {}
        for i in range(0, len(chains), HEADS_PER_QUERY):
            part = chains[i : i + HEADS_PER_QUERY]
            marks = ",".join("?" * len(part))
            rows = conn.execute(
                f"SELECT chain, position FROM audit_heads WHERE chain IN ({marks})", part
            )
            heads.update(rows.fetchall())
        return heads

    def _drop_moved(
        self, conn: sqlite3.Connection, chains: list[str], seen: dict[str, int]
    ) -> dict[str, int]:
        """Drops the ``chains`` whose head moved since ``seen``, or that were not
        seen (their entries, or reads in flight, may predate a commit); returns
        the heads now."""
        heads = self._heads(conn, chains)
        now = {chain: heads.get(chain, 0) for chain in chains}
        self.invalidate([chain for chain in chains if seen.get(chain) != now[chain]])
        return now
