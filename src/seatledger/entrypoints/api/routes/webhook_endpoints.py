"""Routes: webhook endpoints (operators only), registered with a secret shown
once, listed, deleted, and their deliveries."""

from __future__ import annotations

from fastapi import APIRouter, Request, status

from seatledger.entrypoints.api.auth import CurrentPrincipal
from seatledger.entrypoints.api.deps import Now, Paging, Uow
from seatledger.entrypoints.api.schemas import Page
from seatledger.entrypoints.api.webhook_schemas import (
    WebhookDeliveryPublic,
    WebhookEndpointCreate,
    WebhookEndpointCreated,
    WebhookEndpointPublic,
)
from seatledger.services import webhook_endpoints

router = APIRouter(prefix="/v1", tags=["webhooks"])


@router.post(
    "/webhook-endpoints",
    status_code=status.HTTP_201_CREATED,
    response_model=WebhookEndpointCreated,
)
def create_webhook_endpoint(
    body: WebhookEndpointCreate, request: Request, uow: Uow, now: Now, _: CurrentPrincipal
) -> WebhookEndpointCreated:
    """Deliveries of the `events` (every account's, or `account_id`'s) go to `url`,
    signed with the `secret` of this answer (the only time it is shown)."""
    endpoint = webhook_endpoints.create_webhook_endpoint(
        uow,
        url=body.url,
        events=body.events,
        account_id=body.account_id,
        description=body.description,
        addresses=request.app.state.webhook_addresses,
        at=now,
    )
    return WebhookEndpointCreated(
        **WebhookEndpointPublic.of(endpoint).model_dump(), secret=endpoint.secret
    )


@router.get("/webhook-endpoints", response_model=Page[WebhookEndpointPublic])
def list_webhook_endpoints(uow: Uow, page: Paging, _: CurrentPrincipal) -> dict:  # type: ignore[type-arg]
    """The endpoints not deleted."""
    found = webhook_endpoints.list_webhook_endpoints(uow, limit=page.limit + 1, after=page.after)
    return page.respond([WebhookEndpointPublic.of(e) for e in found], [e.id for e in found])


@router.get("/webhook-endpoints/{endpoint_id}", response_model=WebhookEndpointPublic)
def get_webhook_endpoint(endpoint_id: str, uow: Uow, _: CurrentPrincipal) -> WebhookEndpointPublic:
    """A deleted endpoint too, with its `deleted_at`."""
    return WebhookEndpointPublic.of(
        webhook_endpoints.get_webhook_endpoint(uow, endpoint_id=endpoint_id)
    )


@router.delete("/webhook-endpoints/{endpoint_id}", response_model=WebhookEndpointPublic)
def delete_webhook_endpoint(
    endpoint_id: str, uow: Uow, now: Now, _: CurrentPrincipal
) -> WebhookEndpointPublic:
    """No delivery is made to it any more: its pending ones fail ("endpoint deleted")."""
    return WebhookEndpointPublic.of(
        webhook_endpoints.delete_webhook_endpoint(uow, endpoint_id=endpoint_id, at=now)
    )


@router.get(
    "/webhook-endpoints/{endpoint_id}/deliveries", response_model=Page[WebhookDeliveryPublic]
)
def list_webhook_deliveries(endpoint_id: str, uow: Uow, page: Paging, _: CurrentPrincipal) -> dict:  # type: ignore[type-arg]
    """Each event sent (or to be sent) to the endpoint: its attempts, the last
    answer or error, the next attempt."""
    found = webhook_endpoints.list_deliveries(
        uow, endpoint_id=endpoint_id, limit=page.limit + 1, after=page.after
    )
    return page.respond(
        [WebhookDeliveryPublic.model_validate(d, from_attributes=True) for d in found],
        [d.id for d in found],
    )
