"""The FastAPI application."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI
from sqlalchemy import Engine

from seatledger.adapters.throttle import FailureThrottle
from seatledger.clock import Clock, SystemClock
from seatledger.entrypoints import console
from seatledger.entrypoints.api import idempotency, openapi, problems, roles
from seatledger.entrypoints.api.deps import path_ids_well_formed
from seatledger.entrypoints.api.limits import BodyLimits, RateLimiter, RateLimits
from seatledger.entrypoints.api.request_ids import RequestIds
from seatledger.entrypoints.api.routes import (
    access,
    accounts,
    auth,
    billing,
    invoices_export,
    operator_keys,
    seat_requests,
    settings,
    users,
    what_if,
)
from seatledger.services.auth import SIGN_IN_FAILURE_RATE
from seatledger.services.operator_keys import ensure_operator_key
from seatledger.services.unit_of_work import UnitOfWork

log = logging.getLogger("seatledger")


def create_app(
    *,
    engine: Engine,
    clock: Clock | None = None,
    operator_key: str | None = None,
    scheduler: bool = False,
    billing_interval: float | None = None,
    rate_limits: RateLimits | None = None,
) -> FastAPI:
    """``scheduler=True`` (``seatledger serve``) runs billing on a daemon thread
    while the app is up: at start, then every ``billing_interval`` seconds
    (default: SEATLEDGER_BILLING_INTERVAL, else 3600). Tests leave it off.
    ``rate_limits``: requests per token kind (default: ``RateLimits()``)."""
    clock = clock or SystemClock()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        from seatledger.entrypoints.scheduler import BillingScheduler

        runner = BillingScheduler(engine=engine, clock=clock, interval=billing_interval)
        app.state.scheduler = runner
        runner.start()
        try:
            yield
        finally:
            runner.stop()

    app = FastAPI(
        title="seatledger",
        version="0.1.0",
        description="Seat licensing and billing engine: seats, ledger, access checks.",
        lifespan=lifespan if scheduler else None,
        # Every route: ids well formed (404), then who may call it (roles.py).
        dependencies=[Depends(path_ids_well_formed), Depends(roles.enforce)],
        generate_unique_id_function=openapi.operation_id,
        docs_url=None,
        redoc_url=None,
    )
    app.state.scheduler = None
    app.state.engine = engine
    app.state.clock = clock
    app.state.rate_limiter = RateLimiter(rate_limits or RateLimits())
    app.state.sign_in_throttle = FailureThrottle(
        SIGN_IN_FAILURE_RATE, storage_url=(rate_limits or RateLimits()).storage_url
    )
    if operator_key:
        ensure_operator_key(
            UnitOfWork(engine), key=operator_key, name="environment", at=clock.now()
        )
    problems.install(app)
    for module in (accounts, users, auth, seat_requests, access, billing, invoices_export, what_if):
        app.include_router(module.router)
    app.include_router(settings.router)
    app.include_router(operator_keys.router)
    console.install(app)
    idempotency.install(app)
    openapi.install(app)
    roles.install(app)
    app.add_middleware(BodyLimits, routes=app.router.routes, refuse=problems.for_domain_error)
    app.add_middleware(RequestIds)
    return app
