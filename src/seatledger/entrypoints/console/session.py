"""The console's session: a cookie holding the token, CSRF tokens, flash
messages and form keys.

- The session cookie holds the user token from signing in (an operator's key
  for an operator): ``Path=/console``, ``HttpOnly``, ``SameSite=Lax``, ``Secure``
  over https. Whom it speaks for is decided on every request exactly as for a
  bearer token (api/auth.py ``principal_of``, never cached), and every request
  counts against the token's rate: a deactivated user, a role change, a revoked
  token or key is signed out at once.
- CSRF: every form carries ``csrf``, an HMAC of the session's token (before
  signing in, of a random pre-session cookie); every POST is checked against it,
  so a page of another session, or none, cannot post.
- Flash: an action's result, carried across the redirect after it in a
  short-lived cookie signed the same way.
- Form keys: a form that changes something carries a random key, claimed in the
  change's own transaction (the API's Idempotency-Key claim, scoped to the
  person): the same form sent twice (a double click, a resubmission after
  signing in again) is applied once.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import secrets
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl

from fastapi import Request
from starlette.responses import Response

from seatledger.adapters.db.repositories.idempotency import IdempotencyClaim
from seatledger.domain.errors import InvalidInput, Unauthorized
from seatledger.entrypoints.api.auth import Principal, principal_of
from seatledger.services.unit_of_work import UnitOfWork

PATH = "/console"
SESSION_COOKIE = "seatledger_session"
PRESESSION_COOKIE = "seatledger_presession"
FLASH_COOKIE = "seatledger_flash"
FLASH_SECONDS = 120
CSRF_FIELD = "csrf"
CSRF_HEADER = "x-csrf-token"
FORM_KEY_FIELD = "form_key"
FORM_KEY_PREFIX = "console:"  # form keys beside the API's Idempotency-Keys of one caller
_FORM_KEY = re.compile(r"[A-Za-z0-9_-]{16,64}")


class SignInNeeded(Exception):
    """No session, an ended one, or a form of another session (a stale CSRF
    token): nothing was done; the person signs in again and comes back to
    ``next``."""

    def __init__(self, reason: str, next_url: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.next_url = next_url


def _mac(secret: str, purpose: str, payload: str = "") -> str:
    return hmac.new(secret.encode(), f"{purpose}\n{payload}".encode(), hashlib.sha256).hexdigest()


@dataclass
class Session:
    """Who is signed in (``principal`` None: nobody) and the secret that signs
    the session's forms and flash: the token, else the pre-session nonce."""

    principal: Principal | None
    secret: str
    new_presession: bool = False
    flash: list[dict[str, Any]] = field(default_factory=list)

    @property
    def csrf(self) -> str:
        return _mac(self.secret, "csrf")

    def csrf_matches(self, given: str | None) -> bool:
        return bool(given) and hmac.compare_digest(self.csrf, given or "")


def is_https(request: Request) -> bool:
    return request.url.scheme == "https"


def set_cookie(
    response: Response, request: Request, name: str, value: str, *, max_age: int | None = None
) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path=PATH,
        httponly=True,
        samesite="lax",
        secure=is_https(request),
    )


def clear_cookie(response: Response, request: Request, name: str) -> None:
    response.delete_cookie(name, path=PATH, httponly=True, samesite="lax", secure=is_https(request))


async def session_of(request: Request) -> Session:
    """The request's session, read once per request (``request.state``)."""
    known: Session | None = getattr(request.state, "console_session", None)
    if known is not None:
        return known
    session = await _read_session(request)
    session.flash = _read_flash(request, session.secret)
    request.state.console_session = session
    return session


async def _read_session(request: Request) -> Session:
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        try:
            principal = await principal_of(request, token)
        except Unauthorized:
            pass
        else:
            request.app.state.rate_limiter.hit(principal.kind, principal.id)
            return Session(principal, token)
    nonce = request.cookies.get(PRESESSION_COOKIE)
    if nonce:
        return Session(None, nonce)
    return Session(None, secrets.token_urlsafe(32), new_presession=True)


# Nothing but the console's own files, no framing by another site, no inline
# script (htmx runs with allowEval off, base.html).
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


def finish(response: Response, request: Request) -> Response:
    """Sets what the session needs on ``response``: the pre-session cookie of a
    new visitor, and clears a flash once it was shown; and the security headers."""
    response.headers.update(SECURITY_HEADERS)
    session: Session | None = getattr(request.state, "console_session", None)
    if session is None:
        return response
    if session.new_presession:
        set_cookie(response, request, PRESESSION_COOKIE, session.secret)
    if session.flash and not getattr(request.state, "flash_kept", False):
        clear_cookie(response, request, FLASH_COOKIE)
    return response


def flash(response: Response, request: Request, secret: str, *messages: dict[str, Any]) -> None:
    """Messages for the next page (after a redirect), signed with ``secret``."""
    payload = base64.urlsafe_b64encode(json.dumps(list(messages)).encode()).decode()
    set_cookie(
        response,
        request,
        FLASH_COOKIE,
        f"{payload}.{_mac(secret, 'flash', payload)}",
        max_age=FLASH_SECONDS,
    )
    request.state.flash_kept = True


def _read_flash(request: Request, secret: str) -> list[dict[str, Any]]:
    raw = request.cookies.get(FLASH_COOKIE, "")
    payload, _, mac = raw.partition(".")
    if not payload or not hmac.compare_digest(_mac(secret, "flash", payload), mac):
        return []
    try:
        messages = json.loads(base64.urlsafe_b64decode(payload.encode()))
    except ValueError:
        return []
    return [m for m in messages if isinstance(m, dict)] if isinstance(messages, list) else []


# --- forms -------------------------------------------------------------------


class Form:
    """A posted form (application/x-www-form-urlencoded): every value of a field
    in order; ``get`` the last one ("" when absent)."""

    def __init__(self, pairs: list[tuple[str, str]]) -> None:
        self.pairs = pairs

    def get(self, name: str, default: str = "") -> str:
        values = self.all(name)
        return values[-1] if values else default

    def all(self, name: str) -> list[str]:
        return [v for k, v in self.pairs if k == name]

    def has(self, name: str) -> bool:
        return any(k == name for k, _ in self.pairs)

    def fingerprint(self, path: str) -> str:
        kept = sorted((k, v) for k, v in self.pairs if k != CSRF_FIELD)
        return hashlib.sha256(json.dumps([path, kept]).encode()).hexdigest()


async def form_of(request: Request) -> Form:
    known: Form | None = getattr(request.state, "console_form", None)
    if known is None:
        body = (await request.body()).decode("utf-8", errors="replace")
        known = Form(parse_qsl(body, keep_blank_values=True))
        request.state.console_form = known
    return known


def new_form_key() -> str:
    return secrets.token_urlsafe(18)


def claim_of(form: Form, principal: Principal, path: str, at: datetime) -> IdempotencyClaim:
    """The form's key as an idempotency claim of the person (or operator)."""
    key = form.get(FORM_KEY_FIELD)
    if not _FORM_KEY.fullmatch(key):
        raise InvalidInput("This form is out of date: reload the page.", field=FORM_KEY_FIELD)
    return IdempotencyClaim(
        caller=principal.actor,
        key=FORM_KEY_PREFIX + key,
        fingerprint=form.fingerprint(path),
        at=at,
    )


def unit_of_work(request: Request, principal: Principal, **kwargs: Any) -> UnitOfWork:
    """A unit of work acting as ``principal`` in this request (the audit log's actor
    and request id), like the API's (api/deps.py ``get_uow``)."""
    return UnitOfWork(
        request.app.state.engine,
        actor=principal.actor,
        request_id=getattr(request.state, "request_id", None),
        **kwargs,
    )
