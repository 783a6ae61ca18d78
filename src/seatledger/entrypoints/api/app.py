"""The FastAPI application."""

from __future__ import annotations

import logging

from fastapi import FastAPI
from sqlalchemy import Engine

from seatledger.clock import Clock, SystemClock
from seatledger.entrypoints.api import problems
from seatledger.entrypoints.api.auth import KeyCache
from seatledger.entrypoints.api.routes import access, accounts, billing, seat_requests, users
from seatledger.services.operator_keys import ensure_operator_key
from seatledger.services.unit_of_work import UnitOfWork

log = logging.getLogger("seatledger")


def create_app(
    *, engine: Engine, clock: Clock | None = None, operator_key: str | None = None
) -> FastAPI:
    clock = clock or SystemClock()
    app = FastAPI(
        title="seatledger",
        version="0.1.0",
        description="Seat licensing and billing engine: seats, ledger, access checks.",
    )
    app.state.engine = engine
    app.state.clock = clock
    app.state.key_cache = KeyCache()
    if operator_key:
        ensure_operator_key(UnitOfWork(engine), key=operator_key, name="environment",
                            at=clock.now())
    problems.install(app)
    for module in (accounts, users, seat_requests, access, billing):
        app.include_router(module.router)
    return app
