"""Routes: the activity list and its live stream (the audit log, docs/events.md)."""

from __future__ import annotations

from functools import partial
from typing import Annotated

from fastapi import APIRouter, Header, Query, Request
from sse_starlette import EventSourceResponse

from seatledger.domain.errors import Unauthorized
from seatledger.entrypoints.api.auth import CurrentPrincipal, authenticate
from seatledger.entrypoints.api.deps import Paging, Uow
from seatledger.entrypoints.api.events import SEND_TIMEOUT_SECONDS, event_stream, heartbeat
from seatledger.entrypoints.api.roles import RULES
from seatledger.entrypoints.api.schemas import AwareInstant, EventPublic, Page
from seatledger.services import audit

router = APIRouter(prefix="/v1", tags=["events"])

# Who may read the log (roles.py), asked again while a stream is open.
READERS = RULES[("GET", "/v1/accounts/{account_id}/events")].who
EVENT_STREAM = "text/event-stream"
STREAM_ANSWER = {
    200: {
        "description": "The entries (JSON), or with `Accept: text/event-stream` the live "
        "stream: each event's `id` is the entry's position, `event` its type, `data` the "
        "entry as JSON; comment lines are heartbeats",
        "content": {EVENT_STREAM: {"schema": {"type": "string"}}},
    }
}


@router.get(
    "/accounts/{account_id}/events", response_model=Page[EventPublic], responses=STREAM_ANSWER
)
def list_events(
    account_id: str,
    request: Request,
    uow: Uow,
    page: Paging,
    _: CurrentPrincipal,
    type_: Annotated[
        list[str] | None,
        Query(alias="type", description="only these event types (repeat it, or a comma list)"),
    ] = None,
    since: Annotated[
        AwareInstant | None, Query(description="entries at or after this instant")
    ] = None,
    until: Annotated[AwareInstant | None, Query(description="entries before this instant")] = None,
    last_event_id: Annotated[
        str | None,
        Query(
            description="stream: the position to continue after (0: from the first entry; "
            "default: only new entries); the Last-Event-ID header takes precedence"
        ),
    ] = None,
    last_event_id_header: Annotated[
        str | None,
        Header(
            alias="Last-Event-ID",
            description="stream: the id of the last event received, to resume after it",
        ),
    ] = None,
) -> EventSourceResponse | dict:  # type: ignore[type-arg]
    """The account's audit log in position order, or its live stream."""
    where = audit.event_filter(type_ or (), since=since, until=until)
    if EVENT_STREAM in request.headers.get("accept", ""):
        # An EventSource resumes with the header; the URL keeps its first query.
        field, value = (
            ("Last-Event-ID", last_event_id_header)
            if last_event_id_header is not None
            else ("last_event_id", last_event_id)
        )
        after = audit.resume_point(uow, account_id=account_id, value=value, field=field)
        hub = request.app.state.event_hub
        return EventSourceResponse(
            event_stream(
                hub,
                account_id=account_id,
                after=after,
                where=where,
                still_allowed=partial(_still_allowed, request, account_id),
            ),
            ping=hub.heartbeat,
            ping_message_factory=heartbeat,
            send_timeout=SEND_TIMEOUT_SECONDS,
        )
    items = audit.list_events(
        uow, account_id=account_id, where=where, limit=page.limit + 1, after=page.after
    )
    return page.respond(
        [EventPublic.of(e) for e in items], [audit.event_page_key(e) for e in items]
    )


async def _still_allowed(request: Request, account_id: str) -> bool:
    """Whether the stream's token may read the log now, as when the stream opened
    (roles.py): a stream outlives no revocation, deactivation or role change."""
    try:
        principal = await authenticate(request)
    except Unauthorized:
        return False
    return principal.may_act_on(account_id, READERS)
