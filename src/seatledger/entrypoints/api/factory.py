"""Builds the app from the environment (``seatledger serve``, uvicorn workers)."""

from __future__ import annotations

from fastapi import FastAPI

from seatledger.adapters.db.engine import engine_for
from seatledger.config import Settings, load_settings
from seatledger.entrypoints.api.app import create_app
from seatledger.entrypoints.api.limits import RateLimits


def build_app(settings: Settings | None = None, *, scheduler: bool = False) -> FastAPI:
    """``scheduler=True``: this app runs the hourly billing scheduler, the
    webhook worker and (PostgreSQL) a billing worker (``serve`` with one worker;
    with several, ``serve`` runs them itself)."""
    settings = settings or load_settings()
    return create_app(
        engine=engine_for(settings),
        operator_key=settings.operator_key,
        scheduler=scheduler,
        webhook_worker=scheduler,
        billing_worker=scheduler,
        rate_limits=RateLimits.from_environment(),
    )


def __getattr__(name: str) -> FastAPI:
    # NOTE: `uvicorn seatledger.entrypoints.api.factory:app` builds lazily per worker.
    if name == "app":
        return build_app()
    raise AttributeError(name)
