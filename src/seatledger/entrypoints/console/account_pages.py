"""Console pages of one account: Users, a user's own page, Billing, Plan,
Invoices and credit notes, Activity.

Each page and action names the API route it stands for (``signed_in``): who may
see it, and what a failed rule says, come from the same tables and use cases
as the API. Routes only translate: a form into a use case's arguments, its
answer or refusal into a page.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Request
from sse_starlette import EventSourceResponse, ServerSentEvent
from starlette.responses import Response

from seatledger.adapters.pdf import pdf_filename, render_invoice_pdf
from seatledger.domain.errors import DomainError, InvalidInput, NotFound, SeatLimitReached
from seatledger.domain.ids import is_id
from seatledger.domain.seat_policies import INACTIVE_WHEN_FULL
from seatledger.domain.users import ADMIN, MEMBER, OWNER, STATUSES
from seatledger.entrypoints.api import roles
from seatledger.entrypoints.console import charts
from seatledger.entrypoints.console.session import Session, flash, form_of
from seatledger.entrypoints.console.web import (
    A,
    U,
    apply_once,
    errors_of,
    fragment,
    read,
    redirect,
    render,
    render_text,
    signed_in,
    status_of,
)
from seatledger.services import (
    access,
    accounts,
    audit,
    billing,
    invoice_documents,
    invoices,
    seat_requests,
    users,
)

router = APIRouter()

PAGE_SIZE = 100
ACTIVITY_SHOWN = 100  # the latest entries the Activity page opens with

LIST_USERS = ("GET", f"{A}/users")
CREATE_USER = ("POST", f"{A}/users")
READ_USER = ("GET", U)
ACTIVATE = ("POST", f"{U}/activate")
DEACTIVATE = ("POST", f"{U}/deactivate")
DELETE_USER = ("DELETE", U)
SEAT_REQUESTS = ("GET", f"{A}/seat-requests")
REQUEST_SEATS = ("POST", f"{A}/seat-requests")
UPCOMING = ("GET", f"{A}/invoices/upcoming")
INVOICES = ("GET", f"{A}/invoices")
INVOICE = ("GET", "/v1/invoices/{invoice_id}")
EVENTS = ("GET", f"{A}/events")


def _now(request: Request) -> Any:
    return request.app.state.clock.now()


def _principal(session: Session) -> roles.Principal:
    assert session.principal is not None  # signed_in made sure
    return session.principal


def _after(value: str | None) -> str | None:
    """A page cursor: the last id seen (of an id's form, else none)."""
    return value if value and is_id(value) else None


# --- Users ----------------------------------------------------------------------


@dataclass
class UserForm:
    """The Create user dialog's fields as typed."""

    first_name: str = ""
    last_name: str = ""
    email: str = ""
    department: str = ""
    role: str = MEMBER
    profile_id: str = ""
    workspace_ids: tuple[str, ...] | None = None  # None: the default workspace
    add_license: bool = False

    @classmethod
    def posted(cls, form: Any) -> UserForm:
        return cls(
            first_name=form.get("first_name"),
            last_name=form.get("last_name"),
            email=form.get("email"),
            department=form.get("department"),
            role=form.get("role") or MEMBER,
            profile_id=form.get("profile_id"),
            # NOTE: the dialog always sends the field (a hidden marker), so no box
            # ticked means no workspace, as an explicit empty list in the API.
            workspace_ids=tuple(form.all("workspace_ids")) if form.has("workspaces_sent") else None,
            add_license=form.get("add_license") == "on",
        )


async def _users_page(
    request: Request,
    session: Session,
    account_id: str,
    *,
    status: int = 200,
    typed: UserForm | None = None,
    errors: dict[str, str] | None = None,
    preview: users.SeatPreview | None = None,
) -> Response:
    principal = _principal(session)
    query = request.query_params
    search, shown = query.get("q", ""), query.get("status", "")
    if shown and shown not in STATUSES:
        raise InvalidInput(f"status must be one of {', '.join(STATUSES)}", field="status")
    account = await read(request, accounts.get_account, account_id=account_id)
    pools = await read(request, access.list_pools, account_id=account_id)
    counts = await read(request, users.count_users, account_id=account_id)
    listing = partial(
        read,
        request,
        users.list_users,
        account_id=account_id,
        status=shown or None,
        limit=PAGE_SIZE + 1,
        after=_after(query.get("after")),
    )
    search_errors: dict[str, str] = {}
    try:
        page = await listing(search=search)
    except InvalidInput as wrong:
        if wrong.field != "search":
            raise
        search_errors = {"q": wrong.message}  # by the search box, the list unfiltered
        page = await listing()
    workspaces = await read(request, accounts.list_workspaces, account_id=account_id)
    profiles = await read(request, accounts.list_profiles, account_id=account_id)
    typed = typed or UserForm(
        profile_id=next((p.id for p in profiles if p.is_default), ""),
        workspace_ids=tuple(w.id for w in workspaces if w.is_default),
    )
    if preview is None:
        preview = await _preview(request, principal, account_id, typed)
    more = len(page) > PAGE_SIZE
    listed = sorted(page[:PAGE_SIZE], key=lambda r: (r.user.last_name, r.user.first_name))
    return render(
        request,
        session,
        "users.html",
        title="Users",
        status=status,
        account=account,
        pools=pools,
        counts=counts,
        listed=listed,
        next_after=page[PAGE_SIZE - 1].user.id if more else None,
        search=search,
        search_errors=search_errors,
        shown=shown,
        statuses=STATUSES,
        workspaces={w.id: w for w in workspaces},
        profile_options=[(p.id, p.name) for p in profiles],
        role_options=[
            (r, r.capitalize())
            for r in (MEMBER, ADMIN, OWNER)
            if r != OWNER or roles.may_manage_owners(principal, account_id)
        ],
        typed=typed,
        errors=errors or {},
        preview=preview,
        open_dialog="create-user" if errors else None,
        may={
            "create": roles.allows(principal, *CREATE_USER, account_id=account_id),
            "activate": roles.allows(principal, *ACTIVATE, account_id=account_id),
            "deactivate": roles.allows(principal, *DEACTIVATE, account_id=account_id),
            "delete": roles.allows(principal, *DELETE_USER, account_id=account_id),
        },
    )


async def _preview(
    request: Request, principal: roles.Principal, account_id: str, typed: UserForm
) -> users.SeatPreview | str:
    """The policies' answer for the dialog as typed, or why there is none."""
    try:
        return await read(
            request,
            users.preview_create_user,
            account_id=account_id,
            at=_now(request),
            profile_id=typed.profile_id or None,
            workspace_ids=list(typed.workspace_ids) if typed.workspace_ids is not None else None,
            add_license=typed.add_license,
            priced=roles.sees_prices(principal, account_id),
        )
    except DomainError as refusal:
        return refusal.message


@router.get("/{account_id}/users")
async def users_page(
    request: Request, account_id: str, session: Annotated[Session, signed_in(LIST_USERS)]
) -> Response:
    return await _users_page(request, session, account_id)


@router.post("/{account_id}/users/preview")
async def user_preview(
    request: Request, account_id: str, session: Annotated[Session, signed_in(CREATE_USER)]
) -> Response:
    typed = UserForm.posted(await form_of(request))
    preview = await _preview(request, _principal(session), account_id, typed)
    return fragment(request, "_user_preview.html", preview=preview, typed=typed)


@router.post("/{account_id}/users")
async def create_user(
    request: Request, account_id: str, session: Annotated[Session, signed_in(CREATE_USER)]
) -> Response:
    principal = _principal(session)
    typed = UserForm.posted(await form_of(request))
    try:
        result = await apply_once(
            request,
            principal,
            users.create_user,
            account_id=account_id,
            email=typed.email,
            first_name=typed.first_name,
            last_name=typed.last_name,
            department=typed.department or None,
            role=typed.role,
            profile_id=typed.profile_id or None,
            workspace_ids=list(typed.workspace_ids) if typed.workspace_ids is not None else None,
            add_license=typed.add_license,
            at=_now(request),
            actor=principal.actor,
            by_owner=roles.may_manage_owners(principal, account_id),
        )
    except DomainError as refusal:
        return await _users_page(
            request,
            session,
            account_id,
            status=status_of(refusal),
            typed=typed,
            errors=errors_of(refusal),
        )
    user = result.user
    name = f"{user.first_name} {user.last_name}"
    seats = ", ".join(result.seats) or "no license"
    messages: list[dict[str, Any]] = [
        {"kind": "ok", "text": f"User {name} was created ({user.status}; seats: {seats})."}
    ]
    messages += [{"kind": "warning", "text": w} for w in result.warnings]
    if result.setup_token:
        messages.append(
            {
                "kind": "secret",
                "text": f"Send {user.email} this link to set a password (shown once): ",
                "link": f"/console/setup?token={result.setup_token}",
            }
        )
    response = redirect(request, f"/console/{account_id}/users")
    flash(response, request, session.secret, *messages)
    return response


def _users_url(request: Request, account_id: str) -> str:
    """Back to the Users page as it was (its search and filter)."""
    back = request.headers.get("referer", "")
    base = f"/console/{account_id}/users"
    marker = f"{request.url.netloc}{base}"
    return base + back.partition(marker)[2] if marker in back else base


async def _user_action(
    request: Request,
    session: Session,
    account_id: str,
    user_id: str,
    use_case: Any,
    done: str,
    **kwargs: Any,
) -> Response:
    principal = _principal(session)
    messages: list[dict[str, Any]]
    try:
        result = await apply_once(
            request,
            principal,
            use_case,
            account_id=account_id,
            user_id=user_id,
            at=_now(request),
            actor=principal.actor,
            **kwargs,
        )
    except DomainError as refusal:
        message: dict[str, Any] = {"kind": "error", "text": refusal.message}
        if (
            isinstance(refusal, SeatLimitReached)
            and refusal.extra.get("policy") == INACTIVE_WHEN_FULL
            and use_case is users.activate_user
        ):
            message["offer"] = {
                "action": f"/console/{account_id}/users/{user_id}/activate",
                "label": "Activate and add a user license",
            }
        messages = [message]
    else:
        user = result.user
        messages = [{"kind": "ok", "text": f"User {user.first_name} {user.last_name} {done}."}]
        messages += [{"kind": "warning", "text": w} for w in result.warnings]
    response = redirect(request, _users_url(request, account_id))
    flash(response, request, session.secret, *messages)
    return response


@router.post("/{account_id}/users/{user_id}/activate")
async def activate_user(
    request: Request,
    account_id: str,
    user_id: str,
    session: Annotated[Session, signed_in(ACTIVATE)],
) -> Response:
    add_license = (await form_of(request)).get("add_license") == "on"
    return await _user_action(
        request,
        session,
        account_id,
        user_id,
        users.activate_user,
        "is active",
        add_license=add_license,
    )


@router.post("/{account_id}/users/{user_id}/deactivate")
async def deactivate_user(
    request: Request,
    account_id: str,
    user_id: str,
    session: Annotated[Session, signed_in(DEACTIVATE)],
) -> Response:
    return await _user_action(
        request, session, account_id, user_id, users.deactivate_user, "is inactive"
    )


@router.post("/{account_id}/users/{user_id}/delete")
async def delete_user(
    request: Request,
    account_id: str,
    user_id: str,
    session: Annotated[Session, signed_in(DELETE_USER)],
) -> Response:
    return await _user_action(
        request, session, account_id, user_id, users.delete_user, "was deleted"
    )


@router.get("/{account_id}/users/{user_id}")
async def user_page(
    request: Request,
    account_id: str,
    user_id: str,
    session: Annotated[Session, signed_in(READ_USER)],
) -> Response:
    """A member's own page (admins read any user of the account)."""
    principal = _principal(session)
    result = await read(request, users.get_user, account_id=account_id, user_id=user_id)
    # NOTE: workspace names only for whom the API lists workspaces (a member reads
    # its own user, with workspace ids, and nothing else of the account).
    workspaces = (
        {w.id: w for w in await read(request, accounts.list_workspaces, account_id=account_id)}
        if roles.allows(principal, "GET", f"{A}/workspaces", account_id=account_id)
        else {}
    )
    own = principal.kind == "user" and principal.id == user_id
    return render(
        request,
        session,
        "user.html",
        title="My account" if own else f"{result.user.first_name} {result.user.last_name}",
        result=result,
        workspaces=workspaces,
        own=own,
    )


# --- Billing (owners) --------------------------------------------------------------


async def _billing_page(
    request: Request,
    session: Session,
    account_id: str,
    *,
    status: int = 200,
    editing: str | None = None,
    typed: str = "",
    errors: dict[str, str] | None = None,
) -> Response:
    account = await read(request, accounts.get_account, account_id=account_id)
    pools = await read(request, access.list_pools, account_id=account_id)
    requests = await read(
        request, seat_requests.list_seat_requests, account_id=account_id, limit=PAGE_SIZE
    )
    requests.sort(key=lambda r: r.created_at or _now(request), reverse=True)
    return render(
        request,
        session,
        "billing.html",
        title="Billing",
        status=status,
        account=account,
        pools=pools,
        requests=requests,
        editing=editing,
        typed=typed,
        errors=errors or {},
        open_dialog=f"edit-{editing}" if editing else None,
        may_request=roles.allows(_principal(session), *REQUEST_SEATS, account_id=account_id),
    )


@router.get("/{account_id}/billing")
async def billing_page(
    request: Request, account_id: str, session: Annotated[Session, signed_in(SEAT_REQUESTS)]
) -> Response:
    return await _billing_page(request, session, account_id)


def _target(value: str) -> Any:
    """The typed number as the API would get it (a whole number), else as typed:
    the use case names what is wrong with it."""
    stripped = value.strip()
    return int(stripped) if stripped.lstrip("-").isdigit() else stripped


@router.post("/{account_id}/billing/preview")
async def seat_request_preview(
    request: Request, account_id: str, session: Annotated[Session, signed_in(REQUEST_SEATS)]
) -> Response:
    form = await form_of(request)
    principal = _principal(session)
    try:
        result = await read(
            request,
            seat_requests.request_seat_change,
            account_id=account_id,
            module=form.get("module"),
            target_capacity=_target(form.get("target_capacity")),
            at=_now(request),
            actor=principal.actor,
            preview=True,
        )
    except DomainError as refusal:
        return fragment(request, "_message.html", kind="error", text=refusal.message)
    return fragment(request, "_message.html", kind="info", text=result.request.message)


@router.post("/{account_id}/billing")
async def request_seats(
    request: Request, account_id: str, session: Annotated[Session, signed_in(REQUEST_SEATS)]
) -> Response:
    form = await form_of(request)
    principal = _principal(session)
    module = form.get("module")
    try:
        result = await apply_once(
            request,
            principal,
            seat_requests.request_seat_change,
            account_id=account_id,
            module=module,
            target_capacity=_target(form.get("target_capacity")),
            at=_now(request),
            actor=principal.actor,
        )
    except DomainError as refusal:
        return await _billing_page(
            request,
            session,
            account_id,
            status=status_of(refusal),
            editing=module,
            typed=form.get("target_capacity"),
            errors=errors_of(refusal),
        )
    sent = result.request
    text = f"{sent.message}. {render_text('_request_status.html', request=sent).strip()}"
    response = redirect(request, f"/console/{account_id}/billing")
    flash(response, request, session.secret, {"kind": "ok", "text": text})
    return response


# --- Plan and invoices (owners) -------------------------------------------------------


@router.get("/{account_id}/plan")
async def plan_page(
    request: Request, account_id: str, session: Annotated[Session, signed_in(UPCOMING)]
) -> Response:
    account = await read(request, accounts.get_account, account_id=account_id)
    pools = await read(request, access.list_pools, account_id=account_id)
    upcoming = await read(request, billing.upcoming, account_id=account_id, at=_now(request))
    history = await read(request, access.usage_history, account_id=account_id, at=_now(request))
    return render(
        request,
        session,
        "plan.html",
        title="Plan",
        account=account,
        pools=pools,
        upcoming=upcoming,
        history=history,
        charts=[
            charts.usage_chart(pool, points, history.start, history.end)
            for pool, points in history.pools
        ],
        may_see_invoices=roles.allows(_principal(session), *INVOICES, account_id=account_id),
    )


@router.get("/{account_id}/invoices")
async def invoices_page(
    request: Request, account_id: str, session: Annotated[Session, signed_in(INVOICES)]
) -> Response:
    after = request.query_params.get("after")
    items = await read(
        request,
        invoices.list_invoices,
        account_id=account_id,
        limit=PAGE_SIZE + 1,
        after=after or None,
    )
    more = len(items) > PAGE_SIZE
    account = await read(request, accounts.get_account, account_id=account_id)
    return render(
        request,
        session,
        "invoices.html",
        title="Invoices and credit notes",
        account=account,
        documents=list(reversed(items[:PAGE_SIZE])),
        next_after=invoices.page_key(items[PAGE_SIZE - 1]) if more else None,
    )


@router.get("/{account_id}/invoices/{invoice_id}/pdf")
async def invoice_pdf(
    request: Request,
    account_id: str,
    invoice_id: str,
    session: Annotated[Session, signed_in(INVOICE)],
) -> Response:
    document = await read(request, invoices.get_invoice, invoice_id=invoice_id)
    if document.account_id != account_id:
        raise NotFound(f"invoice {invoice_id} not found", field="invoice_id")
    pdf = await read(
        request,
        invoice_documents.invoice_pdf,
        invoice_id=invoice_id,
        render=render_invoice_pdf,
        at=_now(request),
    )
    return Response(
        pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{pdf_filename(document)}"'},
    )


# --- Activity -----------------------------------------------------------------------


def _entry_row(event: dict[str, Any]) -> str:
    return render_text("_event_row.html", event=event)


@router.get("/{account_id}/activity")
async def activity_page(
    request: Request, account_id: str, session: Annotated[Session, signed_in(EVENTS)]
) -> Response:
    from seatledger.entrypoints.api.schemas import EventPublic

    head = await read(request, audit.resume_point, account_id=account_id, value=None, field="after")
    entries = await read(
        request,
        audit.list_events,
        account_id=account_id,
        where=audit.event_filter(),
        limit=ACTIVITY_SHOWN,
        after=str(max(0, head - ACTIVITY_SHOWN)),
    )
    events = [json.loads(EventPublic.of(e).model_dump_json()) for e in reversed(entries)]
    return render(
        request,
        session,
        "activity.html",
        title="Activity",
        rows=[_entry_row(e) for e in events],
        head=head,
    )


@router.get("/{account_id}/activity/stream")
async def activity_stream(
    request: Request, account_id: str, session: Annotated[Session, signed_in(EVENTS)]
) -> Response:
    """The Activity page's live rows: the account's event stream (as the API's
    ``GET …/events`` streams it), each entry as the row the page shows."""
    from seatledger.entrypoints.api.events import SEND_TIMEOUT_SECONDS, event_stream, heartbeat

    given = request.headers.get("last-event-id") or request.query_params.get("after")
    after = await read(
        request, audit.resume_point, account_id=account_id, value=given, field="after"
    )
    hub = request.app.state.event_hub

    async def rows() -> Any:
        async for sent in event_stream(
            hub, account_id=account_id, after=after, where=audit.event_filter()
        ):
            yield ServerSentEvent(data=_entry_row(json.loads(sent.data)), id=sent.id)

    return EventSourceResponse(
        rows(),
        ping=hub.heartbeat,
        ping_message_factory=heartbeat,
        send_timeout=SEND_TIMEOUT_SECONDS,
    )
