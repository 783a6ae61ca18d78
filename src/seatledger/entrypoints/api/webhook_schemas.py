"""Bodies of the webhook endpoint routes, and the webhook messages themselves:
the OpenAPI document's ``webhooks`` section (one entry per event type, with the
body an endpoint receives and the Standard Webhooks headers)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field, StrictStr

from seatledger.domain.audit import WEBHOOK_EVENT_TYPES
from seatledger.domain.webhooks import MAX_DESCRIPTION_LENGTH, MAX_URL_LENGTH, WebhookEndpoint
from seatledger.entrypoints.api.schemas import In

_EVENT_TYPE_SCHEMA = {"type": "string", "enum": list(WEBHOOK_EVENT_TYPES)}
DeliveryStatus = Literal["pending", "delivered", "failed"]


class WebhookEndpointCreate(In):
    url: StrictStr = Field(
        max_length=MAX_URL_LENGTH,
        description="http:// or https://; its host must resolve to public addresses only "
        "(docs/webhooks.md: SEATLEDGER_WEBHOOK_ALLOW_PRIVATE)",
        examples=["https://hooks.example.com/seatledger"],
    )
    events: list[StrictStr] = Field(
        min_length=1,
        max_length=len(WEBHOOK_EVENT_TYPES),
        description="the webhook event types to receive (the document's `webhooks`)",
        json_schema_extra={"items": _EVENT_TYPE_SCHEMA},
        examples=[["user.created", "seat_change.requested"]],
    )
    account_id: StrictStr | None = Field(
        None, description="only this account's events; none: every account's"
    )
    description: StrictStr | None = Field(None, max_length=MAX_DESCRIPTION_LENGTH)


class WebhookEndpointPublic(BaseModel):
    id: str
    url: str
    events: list[str] = Field(json_schema_extra={"items": _EVENT_TYPE_SCHEMA})
    account_id: str | None
    description: str | None
    created_at: datetime
    deleted_at: datetime | None = None

    @classmethod
    def of(cls, endpoint: WebhookEndpoint) -> WebhookEndpointPublic:
        return cls(
            id=endpoint.id,
            url=endpoint.url,
            events=list(endpoint.events),
            account_id=endpoint.account_id,
            description=endpoint.description,
            created_at=endpoint.created_at,
            deleted_at=endpoint.deleted_at,
        )


class WebhookEndpointCreated(WebhookEndpointPublic):
    secret: str = Field(
        description="signs every delivery (Standard Webhooks: `whsec_` + base64); shown "
        "only this once",
        examples=["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"],
    )


class WebhookDeliveryPublic(BaseModel):
    """One event for one endpoint, and its attempts so far."""

    id: str
    event_id: str = Field(description="the audit event; every attempt's `webhook-id`")
    event_type: str = Field(json_schema_extra=_EVENT_TYPE_SCHEMA)
    status: DeliveryStatus
    attempts: int
    last_status_code: int | None = Field(description="the last attempt's answer, if any")
    last_error: str | None = Field(description="why the last attempt failed")
    last_attempt_at: datetime | None
    next_attempt_at: datetime | None = Field(
        description="when it is tried again (pending); null once delivered or failed"
    )
    delivered_at: datetime | None


# --- what an endpoint receives ------------------------------------------------
class WebhookEventData(BaseModel):
    """The change, as the audit log keeps it."""

    event_id: str = Field(description="the audit event's id, also the `webhook-id` header")
    account_id: str | None = Field(description="null: a change of the installation")
    position: int = Field(description="the event's place in the account's audit chain")
    actor: str = Field(examples=["operator:opk_…", "user:usr_…", "scim:sct_…", "system"])
    subject: str = Field(examples=["user:usr_…"])
    before: dict[str, Any] | None = Field(description="the subject before the change")
    after: dict[str, Any] | None = Field(description="the subject after the change")
    request_id: str | None = Field(description="the X-Request-Id of the request that made it")


class WebhookEvent(BaseModel):
    """A webhook's body (the Standard Webhooks shape), signed in the
    `webhook-signature` header."""

    type: str
    timestamp: datetime = Field(description="when the change happened (the account's clock)")
    data: WebhookEventData


_HEADERS = (
    ("webhook-id", "the event's id: the same on every attempt (deduplicate on it)"),
    ("webhook-timestamp", "the attempt's time, in seconds since the Unix epoch"),
    ("webhook-signature", "`v1,` + base64 HMAC-SHA256 of `id.timestamp.body` under the secret"),
)


def webhooks_section(schemas: dict[str, Any]) -> dict[str, Any]:
    """The document's ``webhooks``: one POST per webhook event type. Adds the
    message schemas to ``schemas`` (the document's components)."""
    model = WebhookEvent.model_json_schema(ref_template="#/components/schemas/{model}")
    schemas.update(model.pop("$defs", {}))
    schemas[WebhookEvent.__name__] = model
    section: dict[str, Any] = {}
    for event_type, sentence in WEBHOOK_EVENT_TYPES.items():
        body = {
            "allOf": [
                {"$ref": f"#/components/schemas/{WebhookEvent.__name__}"},
                {
                    "type": "object",
                    "properties": {"type": {"type": "string", "const": event_type}},
                    "required": ["type"],
                },
            ]
        }
        section[event_type] = {
            "post": {
                "operationId": f"webhook_{event_type.replace('.', '_')}",
                "summary": event_type,
                "description": f"{sentence} Sent to every endpoint subscribed to "
                f"`{event_type}`; verify it with a Standard Webhooks library.",
                "parameters": [
                    {
                        "name": name,
                        "in": "header",
                        "required": True,
                        "description": about,
                        "schema": {"type": "string"},
                    }
                    for name, about in _HEADERS
                ],
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": body}},
                },
                "responses": {
                    "2XX": {
                        "description": "received; any other answer (or none within the "
                        "timeout) is tried again later"
                    }
                },
            }
        }
    return section
