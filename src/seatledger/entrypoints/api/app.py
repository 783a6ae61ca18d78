"""The FastAPI application."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import Depends, FastAPI
from sqlalchemy import Engine

from seatledger.adapters.db.read_cache import ReadCache
from seatledger.adapters.throttle import FailureThrottle
from seatledger.adapters.webhook_sender import WebhookAddresses
from seatledger.clock import Clock, SystemClock
from seatledger.config import WebhookSettings, load_webhook_settings
from seatledger.entrypoints import console
from seatledger.entrypoints.api import idempotency, openapi, problems, roles
from seatledger.entrypoints.api.access_fast_path import AccessCheckFastPath
from seatledger.entrypoints.api.deps import path_ids_well_formed
from seatledger.entrypoints.api.events import EventHub
from seatledger.entrypoints.api.limits import BodyLimits, RateLimiter, RateLimits
from seatledger.entrypoints.api.request_ids import RequestIds
from seatledger.entrypoints.api.routes import (
    access,
    accounts,
    auth,
    billing,
    events,
    invoices_export,
    operator_keys,
    scim_tokens,
    seat_requests,
    settings,
    users,
    webhook_endpoints,
    what_if,
)
from seatledger.entrypoints.api.scim import errors as scim_errors
from seatledger.entrypoints.api.scim import routes as scim_routes
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
    webhook_worker: bool = False,
    webhook_settings: WebhookSettings | None = None,
    billing_worker: bool = False,
) -> FastAPI:
    """``scheduler=True`` (``seatledger serve``) runs billing on a daemon thread
    while the app is up: at start, then every ``billing_interval`` seconds
    (default: SEATLEDGER_BILLING_INTERVAL, else 3600). Tests leave it off.
    ``rate_limits``: requests per token kind (default: ``RateLimits()``).
    ``webhook_worker=True`` (``seatledger serve``) delivers webhooks on a daemon
    thread while the app is up (entrypoints/webhook_worker.py); tests leave it
    off. ``webhook_settings``: default SEATLEDGER_WEBHOOK_* (config.py).
    ``billing_worker=True`` (``seatledger serve``, PostgreSQL): bills the batches
    of billing runs from the job queue beside the API (entrypoints/billing_worker.py)."""
    clock = clock or SystemClock()
    webhook_settings = webhook_settings or load_webhook_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        from seatledger.entrypoints.scheduler import BillingScheduler
        from seatledger.entrypoints.webhook_worker import WebhookWorker

        jobs: list[Any] = []  # started with the app, stopped with it
        if scheduler:
            app.state.scheduler = BillingScheduler(
                engine=engine, clock=clock, interval=billing_interval
            )
            jobs.append(app.state.scheduler)
        if webhook_worker:
            app.state.webhook_worker = WebhookWorker(
                engine=engine, clock=clock, settings=webhook_settings
            )
            jobs.append(app.state.webhook_worker)
        if billing_worker and engine.dialect.name == "postgresql":
            from seatledger.entrypoints.billing_worker import BillingWorker

            app.state.billing_worker = BillingWorker(engine=engine, clock=clock)
            jobs.append(app.state.billing_worker)
        app.state.read_cache.start()
        for job in jobs:
            job.start()
        try:
            yield
        finally:
            for job in jobs:
                job.stop()
            app.state.read_cache.stop()

    app = FastAPI(
        title="seatledger",
        version="0.1.0",
        description="Seat licensing and billing engine: seats, ledger, access checks.",
        lifespan=lifespan,
        # Every route: ids well formed (404), then who may call it (roles.py).
        dependencies=[Depends(path_ids_well_formed), Depends(roles.enforce)],
        generate_unique_id_function=openapi.operation_id,
        docs_url=None,
        redoc_url=None,
    )
    app.state.scheduler = None
    app.state.webhook_worker = None
    app.state.billing_worker = None
    app.state.webhook_addresses = WebhookAddresses(webhook_settings.allow_private)
    app.state.engine = engine
    app.state.clock = clock
    app.state.event_hub = EventHub(engine)
    app.state.read_cache = ReadCache(engine)  # kept reads; used while the app is up
    app.state.rate_limiter = RateLimiter(rate_limits or RateLimits())
    app.state.sign_in_throttle = FailureThrottle(
        SIGN_IN_FAILURE_RATE, storage_url=(rate_limits or RateLimits()).storage_url
    )
    if operator_key:
        ensure_operator_key(
            UnitOfWork(engine), key=operator_key, name="environment", at=clock.now()
        )
    problems.install(app, dialects={scim_errors.PREFIX: scim_errors.respond})
    scim_errors.install(app)
    for module in (accounts, users, auth, seat_requests, access, billing, invoices_export, what_if):
        app.include_router(module.router)
    app.include_router(settings.router)
    app.include_router(operator_keys.router)
    app.include_router(scim_tokens.router)
    app.include_router(scim_routes.router)
    app.include_router(events.router)
    app.include_router(webhook_endpoints.router)
    console.install(app)
    idempotency.install(app)
    openapi.install(app)
    roles.install(app)
    app.add_middleware(BodyLimits, routes=app.router.routes, refuse=problems.refusal)
    app.add_middleware(AccessCheckFastPath, state=app.state)
    app.add_middleware(RequestIds)
    return app
