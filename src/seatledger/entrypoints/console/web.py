"""What every console page shares: the pages and the API route each stands
for, the check before each, rendering, and errors.

A console page or action is shown to whom the API would answer the route it
stands for (``roles.allows``, the one table of roles.py): an admin sees the
Users page because an admin may list users, never Billing, because only owners
may read seat requests. Another account's ids are 404 as in the API, a role
that may not is 403.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from functools import partial
from typing import Any, TypeVar
from urllib.parse import urlencode, urlsplit

from fastapi import Depends, Request
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from sqlalchemy.exc import DataError, IntegrityError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from starlette.concurrency import run_in_threadpool
from starlette.responses import HTMLResponse, RedirectResponse, Response

from seatledger.adapters.db.repositories.idempotency import Answer, IdempotencyKeyTaken
from seatledger.domain.audit import EVENT_TYPES
from seatledger.domain.errors import Conflict as DomainConflict
from seatledger.domain.errors import DomainError, Forbidden, InvalidInput, NotFound, Unavailable
from seatledger.domain.money import format_amount
from seatledger.entrypoints.api import roles
from seatledger.entrypoints.api.auth import Principal
from seatledger.entrypoints.api.problems import STATUS_BY_CODE
from seatledger.entrypoints.console.session import (
    CSRF_FIELD,
    CSRF_HEADER,
    FORM_KEY_FIELD,
    SESSION_COOKIE,
    Session,
    SignInNeeded,
    claim_of,
    clear_cookie,
    finish,
    flash,
    form_of,
    new_form_key,
    session_of,
    unit_of_work,
)
from seatledger.services import idempotency
from seatledger.services.unit_of_work import UnitOfWork

A, U = roles.A, roles.U
T = TypeVar("T")
Rule = tuple[str, str]  # an API route: (method, path template of roles.RULES)


@dataclass(frozen=True)
class Page:
    name: str
    title: str
    url: str  # with {account_id}, {user_id}
    rule: Rule


ACCOUNT_PAGES = (
    Page("users", "Users", "/console/{account_id}/users", ("GET", f"{A}/users")),
    Page("billing", "Billing", "/console/{account_id}/billing", ("GET", f"{A}/seat-requests")),
    Page("plan", "Plan", "/console/{account_id}/plan", ("GET", f"{A}/invoices/upcoming")),
    Page("invoices", "Invoices", "/console/{account_id}/invoices", ("GET", f"{A}/invoices")),
    Page("activity", "Activity", "/console/{account_id}/activity", ("GET", f"{A}/events")),
)
OWN_PAGE = Page("me", "My account", "/console/{account_id}/users/{user_id}", ("GET", U))
OPERATOR_PAGES = (
    Page("accounts", "Accounts", "/console/operator", ("GET", "/v1/accounts")),
    Page(
        "requests", "Seat requests", "/console/operator/seat-requests", ("GET", "/v1/seat-requests")
    ),
    Page("runs", "Billing runs", "/console/operator/billing-runs", ("POST", "/v1/billing-runs")),
)


def allows(principal: Principal | None, rule: Rule, **params: str) -> bool:
    return principal is not None and roles.allows(principal, *rule, **params)


def judge(principal: Principal, rule: Rule, params: dict[str, str]) -> None:
    """As roles.enforce judges the API route: another account's ids 404, then the role."""
    account_id = params.get("account_id")
    if principal.kind != "operator" and account_id not in (None, principal.account_id):
        raise NotFound(f"account {account_id} not found", field="account_id")
    if not roles.allows(principal, *rule, **params):
        raise Forbidden(f"The {principal.role} role may not see this page.")


def nav(principal: Principal | None, account_id: str | None) -> list[tuple[str, str, str]]:
    """(name, title, url) of every page the principal may see."""
    if principal is None:
        return []
    links: list[tuple[str, str, str]] = []
    if principal.kind == "operator":
        links += [(p.name, p.title, p.url) for p in OPERATOR_PAGES if allows(principal, p.rule)]
    account_id = account_id or principal.account_id
    if account_id is not None:
        ids = {"account_id": account_id}
        links += [
            (p.name, p.title, p.url.format(**ids))
            for p in ACCOUNT_PAGES
            if allows(principal, p.rule, **ids)
        ]
        if principal.kind == "user":
            own = {**ids, "user_id": principal.id}
            if allows(principal, OWN_PAGE.rule, **own):
                links.append((OWN_PAGE.name, OWN_PAGE.title, OWN_PAGE.url.format(**own)))
    return links


def home_of(principal: Principal) -> str:
    """Where a person lands after signing in: the first page its role may see."""
    links = nav(principal, None)
    return links[0][2] if links else "/console/sign-in"


# --- the check before every page and action ------------------------------------


def _back_to(request: Request) -> str:
    """The page to come back to after signing in: this one for a GET, the page a
    form was on for a POST (never another site)."""
    if request.method == "GET" and not request.headers.get("hx-request"):
        return str(request.url.path) + (f"?{request.url.query}" if request.url.query else "")
    referer = urlsplit(request.headers.get("referer", ""))
    if referer.netloc in ("", request.url.netloc) and referer.path.startswith("/console/"):
        return referer.path + (f"?{referer.query}" if referer.query else "")
    return "/console/"


def signed_in(rule: Rule) -> Any:
    """The page's dependency: a live session whose principal may call ``rule``;
    every POST's CSRF token checked first. Answers the Session."""

    async def check(request: Request) -> Session:
        session = await session_of(request)
        if session.principal is None:
            ended = bool(request.cookies.get(SESSION_COOKIE))
            raise SignInNeeded("ended" if ended else "signin", _back_to(request))
        if request.method == "POST":
            form = await form_of(request)
            given = form.get(CSRF_FIELD) or request.headers.get(CSRF_HEADER)
            if not session.csrf_matches(given):
                raise SignInNeeded("stale", _back_to(request))
        judge(session.principal, rule, dict(request.path_params))
        return session

    return Depends(check)


def sign_in_url(
    principal_kind: str | None,
    reason: str | None,
    next_url: str | None,
    account_id: str | None = None,
) -> str:
    page = "/console/operator/sign-in" if principal_kind == "operator" else "/console/sign-in"
    pairs = (("account", account_id), ("why", reason), ("next", next_url))
    query = {k: v for k, v in pairs if v}
    return f"{page}?{urlencode(query)}" if query else page


def safe_next(next_url: str | None) -> str | None:
    """Only a console path of this site (no scheme, host or ``//``)."""
    if not next_url:
        return None
    parts = urlsplit(next_url)
    if parts.scheme or parts.netloc or not parts.path.startswith("/console/"):
        return None
    if next_url.startswith("//") or "\\" in next_url:
        return None
    return next_url


def redirect(request: Request, url: str) -> Response:
    """303 to ``url``; an htmx request is told to load it (HX-Redirect)."""
    if request.headers.get("hx-request"):
        return finish(Response(status_code=200, headers={"HX-Redirect": url}), request)
    return finish(RedirectResponse(url, status_code=303), request)


# --- rendering -----------------------------------------------------------------


def _money(amount: Decimal | None, currency: str) -> str:
    return "" if amount is None else f"{format_amount(amount, currency)} {currency}"


def _day(value: date | datetime | None) -> str:
    if value is None:
        return ""
    return value.date().isoformat() if isinstance(value, datetime) else value.isoformat()


def _moment(value: datetime | None) -> str:
    return "" if value is None else value.strftime("%Y-%m-%d %H:%M UTC")


TEMPLATES = Environment(
    loader=PackageLoader("seatledger.entrypoints.console", "templates"),
    autoescape=select_autoescape(["html"]),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
TEMPLATES.filters.update(money=_money, day=_day, moment=_moment)
TEMPLATES.globals.update(
    CSRF_FIELD=CSRF_FIELD,
    FORM_KEY_FIELD=FORM_KEY_FIELD,
    EVENT_SENTENCES=EVENT_TYPES,
    new_form_key=new_form_key,
)


def render_text(template: str, **context: Any) -> str:
    return TEMPLATES.get_template(template).render(**context)


def render(
    request: Request,
    session: Session,
    template: str,
    *,
    status: int = 200,
    title: str,
    **context: Any,
) -> HTMLResponse:
    account_id = request.path_params.get("account_id")
    links = nav(session.principal, account_id)
    html = render_text(
        template,
        session=session,
        principal=session.principal,
        csrf=session.csrf,
        flash=session.flash,
        nav=links,
        current=request.url.path,
        origin=f"{request.url.scheme}://{request.url.netloc}",
        title=title,
        account_id=account_id,
        errors=context.pop("errors", {}),
        values=context.pop("values", {}),
        **context,
    )
    return finish(HTMLResponse(html, status_code=status), request)


def fragment(request: Request, template: str, **context: Any) -> HTMLResponse:
    return finish(HTMLResponse(render_text(template, **context)), request)


def errors_of(error: DomainError) -> dict[str, str]:
    """An error as the forms show it: the message next to its field ("" when it
    names none: shown at the top of the form)."""
    return {error.field or "": error.message}


def status_of(error: DomainError) -> int:
    return STATUS_BY_CODE.get(error.code, 400)


# --- the console's answers to what went wrong ------------------------------------


def install_errors(app: Any) -> None:
    @app.exception_handler(SignInNeeded)
    async def sign_in_needed(request: Request, exc: SignInNeeded) -> Response:
        kind = "operator" if request.url.path.startswith("/console/operator") else None
        account_id = request.path_params.get("account_id")
        response = redirect(request, sign_in_url(kind, exc.reason, exc.next_url, account_id))
        if exc.reason == "ended":
            clear_cookie(response, request, SESSION_COOKIE)
        return response

    @app.exception_handler(DomainError)
    async def domain_error(request: Request, exc: DomainError) -> Response:
        status = status_of(exc)
        if request.headers.get("hx-request"):
            return fragment(request, "_message.html", kind="error", text=exc.message)
        session = await session_of(request)
        response = render(
            request,
            session,
            "error.html",
            status=status,
            title={403: "Not allowed", 404: "Not found", 429: "Too many requests"}.get(
                status, "Something went wrong"
            ),
            message=exc.message,
        )
        if "retry_after" in exc.extra:
            response.headers["Retry-After"] = str(exc.extra["retry_after"])
        return response

    # The database's refusals, as the API answers them (problems.py): a page, not a 500.
    database_errors = (
        (IntegrityError, DomainConflict("The request conflicts with the current state.")),
        (DataError, InvalidInput("A value in the form cannot be stored.")),
        (OperationalError, Unavailable("The database is unavailable; retry later.")),
        (PoolTimeoutError, Unavailable("The server is busy; retry later.")),
    )
    for kind, answer in database_errors:

        async def database_error(
            request: Request, exc: Exception, answer: DomainError = answer
        ) -> Response:
            return await domain_error(request, answer)

        app.add_exception_handler(kind, database_error)

    @app.exception_handler(AlreadyApplied)
    async def already_applied(request: Request, exc: AlreadyApplied) -> Response:
        session = await session_of(request)
        response = redirect(request, _back_to(request))
        flash(response, request, session.secret, {"kind": "ok", "text": ALREADY_APPLIED})
        return response


# --- actions: applied once -------------------------------------------------------

ALREADY_APPLIED = "This form was already sent: it was applied once, nothing was done again."


class AlreadyApplied(Exception):
    """The form's key was claimed by an earlier sending of the same form."""


async def apply_once(
    request: Request, principal: Principal, use_case: Callable[..., T], /, **kwargs: Any
) -> T:
    """Runs ``use_case`` in a unit of work that claims the posted form's key in the
    change's own transaction (as the API claims an Idempotency-Key): a form already
    applied raises AlreadyApplied and runs nothing; a refused one (nothing
    committed) leaves its key free, to be sent again once corrected."""
    form = await form_of(request)
    engine = request.app.state.engine
    claim = claim_of(form, principal, request.url.path, request.app.state.clock.now())
    kept = await run_in_threadpool(
        idempotency.kept_key, UnitOfWork(engine), caller=claim.caller, key=claim.key
    )
    if kept is not None:
        raise AlreadyApplied()
    uow = unit_of_work(request, principal, idempotency=claim)
    try:
        result = await run_in_threadpool(partial(use_case, uow, **kwargs))
    except IdempotencyKeyTaken:
        raise AlreadyApplied() from None
    if claim.taken:
        await run_in_threadpool(
            idempotency.store_answer,
            UnitOfWork(engine),
            claim=claim,
            answer=Answer(status_code=303, body=b"", content_type=None),
        )
    return result


async def read(request: Request, use_case: Callable[..., T], /, **kwargs: Any) -> T:
    """A read-only use case in a worker thread."""
    return await run_in_threadpool(
        partial(use_case, UnitOfWork(request.app.state.engine), **kwargs)
    )
