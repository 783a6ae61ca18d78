"""Use cases: webhook endpoints (operators register, list and delete them) and
their deliveries. Registered and deleted on the installation's audit chain."""

from __future__ import annotations

import base64
import secrets
from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime

from seatledger.adapters.db.repositories.webhooks import DeliveryRow
from seatledger.adapters.webhook_sender import WebhookAddresses
from seatledger.domain.errors import NotFound
from seatledger.domain.ids import new_id
from seatledger.domain.webhooks import (
    SECRET_PREFIX,
    WebhookEndpoint,
    check_description,
    check_event_types,
)
from seatledger.services.unit_of_work import UnitOfWork

SECRET_BYTES = 32  # Standard Webhooks asks for 24 to 64


def new_webhook_secret() -> str:
    """``whsec_`` + base64 of random bytes: the key standardwebhooks libraries take."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def create_webhook_endpoint(
    uow: UnitOfWork,
    *,
    url: str,
    events: Iterable[str],
    account_id: str | None = None,
    description: str | None = None,
    addresses: WebhookAddresses,
    at: datetime,
) -> WebhookEndpoint:
    """An endpoint for ``events`` (of every account, or of ``account_id``'s).
    Its URL must be http(s) and its host resolve only to addresses
    ``addresses`` allows (checked before anything is written). The answer
    carries the secret; nothing shows it again."""
    names = check_event_types(events)
    text = check_description(description)
    checked_url = addresses.check(url)
    endpoint = WebhookEndpoint(
        id=new_id("whe"),
        url=checked_url,
        events=names,
        account_id=account_id,
        description=text,
        created_at=at,
        secret=new_webhook_secret(),
    )
    with uow:
        if account_id is not None:
            uow.read_account(account_id)
        uow.webhook_endpoints.add(endpoint)
        uow.record(
            "webhook_endpoint.created",
            subject=f"webhook_endpoint:{endpoint.id}",
            account_id=None,
            at=at,
            after=endpoint,
        )
        uow.commit()
    return endpoint


def _endpoint(uow: UnitOfWork, endpoint_id: str) -> WebhookEndpoint:
    endpoint = uow.webhook_endpoints.get(endpoint_id)
    if endpoint is None:
        raise NotFound(f"webhook endpoint {endpoint_id} not found", field="endpoint_id")
    return endpoint


def get_webhook_endpoint(uow: UnitOfWork, *, endpoint_id: str) -> WebhookEndpoint:
    """A deleted endpoint too (with ``deleted_at``): its deliveries stay visible."""
    with uow:
        return _endpoint(uow, endpoint_id)


def list_webhook_endpoints(
    uow: UnitOfWork, *, limit: int = 100, after: str | None = None
) -> list[WebhookEndpoint]:
    """The endpoints not deleted."""
    with uow:
        return uow.webhook_endpoints.list(limit=limit, after=after)


def delete_webhook_endpoint(uow: UnitOfWork, *, endpoint_id: str, at: datetime) -> WebhookEndpoint:
    """No new delivery for it, and its pending ones stop (failed, "endpoint
    deleted"); deleting it again changes nothing."""
    with uow:
        endpoint = _endpoint(uow, endpoint_id)
        # NOTE: the UPDATE decides (under its row lock): of two deletions at once
        # one deletes and records it, the other finds it deleted.
        if not uow.webhook_endpoints.delete(endpoint_id, at=at):
            return _endpoint(uow, endpoint_id)
        deleted = replace(endpoint, deleted_at=at)
        uow.record(
            "webhook_endpoint.deleted",
            subject=f"webhook_endpoint:{endpoint_id}",
            account_id=None,
            at=at,
            before=endpoint,
            after=deleted,
        )
        uow.commit()
    return deleted


def list_deliveries(
    uow: UnitOfWork, *, endpoint_id: str, limit: int = 100, after: str | None = None
) -> list[DeliveryRow]:
    with uow:
        _endpoint(uow, endpoint_id)
        return uow.webhook_outbox.of_endpoint(endpoint_id, limit=limit, after=after)
