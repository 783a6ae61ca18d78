"""Console pages: signing in (people with email and password, operators with
their key), signing out, setting a password from a setup token."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from seatledger.domain.errors import DomainError, InvalidInput, Unauthorized
from seatledger.domain.users import MIN_PASSWORD_LENGTH
from seatledger.entrypoints.api.auth import principal_of
from seatledger.entrypoints.api.deps import ANONYMOUS
from seatledger.entrypoints.console.session import (
    CSRF_FIELD,
    SESSION_COOKIE,
    Session,
    clear_cookie,
    form_of,
    session_of,
    set_cookie,
)
from seatledger.entrypoints.console.web import (
    errors_of,
    home_of,
    redirect,
    render,
    safe_next,
    sign_in_url,
    signed_in,
    status_of,
)
from seatledger.services import auth, users
from seatledger.services.unit_of_work import UnitOfWork

router = APIRouter()

# Why the sign-in page is shown (``?why=``).
REASONS = {
    "signin": "Sign in to continue.",
    "ended": "Your session has ended: sign in again. Nothing was changed.",
    "stale": "This page was opened in an earlier session: sign in again. Nothing was changed.",
    "signed_out": "You are signed out.",
    "password_set": "Your password is set: sign in with it.",
}
STALE_FORM = "This form was out of date: nothing was done. Send it again."


async def _posted(request: Request) -> tuple[Session, bool]:
    """The session and whether the form's CSRF token is this session's."""
    session = await session_of(request)
    form = await form_of(request)
    return session, session.csrf_matches(form.get(CSRF_FIELD))


@router.get("/")
async def home(request: Request) -> Response:
    session = await session_of(request)
    if session.principal is None:
        return redirect(request, "/console/sign-in")
    return redirect(request, home_of(session.principal))


def _sign_in_page(
    request: Request,
    session: Session,
    *,
    values: dict[str, str],
    errors: dict[str, str] | None = None,
    status: int = 200,
    operator: bool = False,
) -> Response:
    why = request.query_params.get("why", "")
    return render(
        request,
        session,
        "operator_sign_in.html" if operator else "sign_in.html",
        title="Operator sign-in" if operator else "Sign in",
        status=status,
        notice=REASONS.get(why),
        next_url=safe_next(request.query_params.get("next")) or "",
        values=values,
        errors=errors or {},
    )


@router.get("/sign-in")
async def sign_in_page(request: Request) -> Response:
    session = await session_of(request)
    if session.principal is not None and not request.query_params.get("why"):
        return redirect(request, home_of(session.principal))
    query = request.query_params
    values = {"account_id": query.get("account", ""), "email": query.get("email", "")}
    return _sign_in_page(request, session, values=values)


@router.post("/sign-in")
async def sign_in(request: Request) -> Response:
    session, fresh = await _posted(request)
    form = await form_of(request)
    values = {"account_id": form.get("account_id").strip(), "email": form.get("email").strip()}
    if not fresh:
        errors = {"": STALE_FORM}
        return _sign_in_page(request, session, values=values, errors=errors, status=403)
    state = request.app.state
    try:
        issued = await run_in_threadpool(
            lambda: auth.sign_in(
                UnitOfWork(state.engine, actor=ANONYMOUS),
                account_id=values["account_id"],
                email=values["email"],
                password=form.get("password"),
                at=state.clock.now(),
                throttle=state.sign_in_throttle,
            )
        )
    except DomainError as refusal:
        return _sign_in_page(
            request,
            session,
            values=values,
            errors={"password" if isinstance(refusal, Unauthorized) else "": refusal.message},
            status=status_of(refusal),
        )
    await _end_session(request, session)
    principal = await principal_of(request, issued.token)
    target = safe_next(form.get("next")) or home_of(principal)
    response = redirect(request, target)
    lifetime = int((issued.expires_at - state.clock.now()).total_seconds())
    set_cookie(response, request, SESSION_COOKIE, issued.token, max_age=max(1, lifetime))
    return response


@router.get("/operator/sign-in")
async def operator_sign_in_page(request: Request) -> Response:
    session = await session_of(request)
    principal = session.principal
    if (
        principal is not None
        and principal.kind == "operator"
        and not request.query_params.get("why")
    ):
        return redirect(request, home_of(principal))
    return _sign_in_page(request, session, values={}, operator=True)


@router.post("/operator/sign-in")
async def operator_sign_in(request: Request) -> Response:
    session, fresh = await _posted(request)
    form = await form_of(request)
    if not fresh:
        errors = {"": STALE_FORM}
        return _sign_in_page(request, session, values={}, errors=errors, status=403, operator=True)
    key = form.get("operator_key").strip()
    try:
        principal = await principal_of(request, key) if key else None
        if principal is None or principal.kind != "operator":
            raise Unauthorized("this is not a valid operator key")
    except DomainError as refusal:
        errors = {"operator_key": refusal.message}
        return _sign_in_page(
            request, session, values={}, errors=errors, status=status_of(refusal), operator=True
        )
    await _end_session(request, session)
    response = redirect(request, safe_next(form.get("next")) or home_of(principal))
    # NOTE: the key is the operator's own credential: the cookie lives as long as
    # the browser session, and signing out forgets it without revoking the key.
    set_cookie(response, request, SESSION_COOKIE, key)
    return response


async def _end_session(request: Request, session: Session) -> None:
    """Signing in again or out: the session's user token stops working."""
    if session.principal is not None and session.principal.kind == "user":
        state = request.app.state
        await run_in_threadpool(
            lambda: auth.revoke_token(
                UnitOfWork(state.engine, actor=session.principal.actor),  # type: ignore[union-attr]
                token=session.secret,
                at=state.clock.now(),
            )
        )


@router.post("/sign-out")
async def sign_out(
    request: Request, session: Annotated[Session, signed_in(("DELETE", "/v1/auth/token"))]
) -> Response:
    kind = session.principal.kind if session.principal else None
    await _end_session(request, session)
    response = redirect(request, sign_in_url(kind, "signed_out", None))
    clear_cookie(response, request, SESSION_COOKIE)
    return response


@router.get("/setup")
async def setup_page(request: Request) -> Response:
    session = await session_of(request)
    return render(
        request,
        session,
        "setup.html",
        title="Set your password",
        minimum=MIN_PASSWORD_LENGTH,
        values={"token": request.query_params.get("token", "")},
    )


@router.post("/setup")
async def setup(request: Request) -> Response:
    session, fresh = await _posted(request)
    form = await form_of(request)
    values = {"token": form.get("token").strip()}
    state = request.app.state
    try:
        if not fresh:
            raise InvalidInput(STALE_FORM)
        if not values["token"]:
            raise InvalidInput("the setup token is required", field="token")
        user = await run_in_threadpool(
            lambda: users.set_password_with_setup_token(
                UnitOfWork(state.engine, actor=ANONYMOUS),
                token=values["token"],
                password=form.get("password"),
                at=state.clock.now(),
            )
        )
    except DomainError as refusal:
        return render(
            request,
            session,
            "setup.html",
            title="Set your password",
            status=status_of(refusal),
            minimum=MIN_PASSWORD_LENGTH,
            values=values,
            errors=errors_of(refusal),
        )
    query = urlencode({"account": user.account_id, "email": user.email, "why": "password_set"})
    return redirect(request, f"/console/sign-in?{query}")
