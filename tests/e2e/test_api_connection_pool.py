"""A process holds a bounded pool of database connections (issue 6, item 10):
a request waits for a free one up to the pool timeout, then is answered 503
with ``Retry-After``, never a 500.

The server here is built from the environment like ``seatledger serve``:
``SEATLEDGER_DB_POOL_SIZE=1``, ``SEATLEDGER_DB_MAX_OVERFLOW=0`` and
``SEATLEDGER_DB_POOL_TIMEOUT=1``, so the test exhausts the pool by holding its
only connection.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import Engine

from seatledger.adapters.db.engine import engine_for
from seatledger.config import load_settings

if TYPE_CHECKING:
    from tests.e2e.conftest import Api

POOL_TIMEOUT = 1.0


@pytest.fixture
def engine(db_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    """The ``api`` server's engine: one connection, no overflow, 1 s timeout."""
    monkeypatch.setenv("SEATLEDGER_DATABASE_URL", db_url)
    monkeypatch.setenv("SEATLEDGER_DB_POOL_SIZE", "1")
    monkeypatch.setenv("SEATLEDGER_DB_MAX_OVERFLOW", "0")
    monkeypatch.setenv("SEATLEDGER_DB_POOL_TIMEOUT", str(POOL_TIMEOUT))
    eng = engine_for(load_settings())
    try:
        yield eng
    finally:
        eng.dispose()


def test_a_request_that_finds_no_free_connection_within_the_pool_timeout_is_503_with_retry_after(
    api: Api, engine: Engine
):
    api.allow_server_errors = True  # the 503s are the point
    # the operator key is verified (and cached) while a connection is free
    api.create_account("Before")

    with engine.connect():  # the pool's only connection, held
        for method, path, body in [
            ("GET", "/v1/accounts", None),
            ("POST", "/v1/accounts", {"name": "During", "currency": "EUR"}),
        ]:
            started = time.monotonic()
            response = api.client.request(method, path, json=body)
            waited = time.monotonic() - started
            api.problem(response, 503)
            assert int(response.headers["retry-after"]) > 0
            assert POOL_TIMEOUT * 0.9 <= waited < POOL_TIMEOUT + 5, waited

    # the pool is whole again: the refused write wrote nothing
    names = [a["name"] for a in api.ok(api.client.get("/v1/accounts"))["data"]]
    assert names == ["Before"]


def test_a_request_waits_for_a_busy_connection_that_is_freed_within_the_pool_timeout(
    api: Api, engine: Engine
):
    api.create_account("Before")
    held = engine.connect()
    releaser = threading.Timer(POOL_TIMEOUT / 4, held.close)
    releaser.start()
    try:
        created = api.ok(
            api.client.post("/v1/accounts", json={"name": "After", "currency": "EUR"}), 201
        )
    finally:
        releaser.join()
    assert created["name"] == "After"
