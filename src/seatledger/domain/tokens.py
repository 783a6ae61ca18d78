"""User tokens: when one still speaks for its user (issue 9, API.md Conventions)."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from seatledger.domain.users import User, access_reason

DEFAULT_TOKEN_LIFETIME = timedelta(hours=12)
USER_TOKEN_PREFIX = "slu"  # tokens read "slu_…"; operator keys "slop_…"


def sign_in_refusal(user: User, *, today: date) -> str | None:
    """Why the user may not sign in today (the account's date), or None: the
    same decision as an access check without a module, so an inactive,
    deleted or past-``valid_to`` user signs in nowhere. An ended contract
    does not lock owners out of their invoices."""
    reason = access_reason(user, today=today, module=None, holds_seat=False, contract_ended=False)
    return None if reason == "ok" else reason


def token_refusal(
    *,
    user: User,
    token_role: str,
    expires_at: datetime,
    revoked_at: datetime | None,
    now: datetime,
    today: date,
) -> str | None:
    """Why the token no longer speaks for its user, or None if it does.

    ``now`` is real time (a token's lifetime is real time); ``today`` is the
    account's date, on its test clock if it has one (``valid_to`` is a rule of
    the account's time). The user is checked as it is now (``sign_in_refusal``).
    A token issued for another role than the user's current one is refused, so
    a demotion takes effect at once."""
    if revoked_at is not None:
        return "revoked"
    if now >= expires_at:
        return "token_expired"
    refusal = sign_in_refusal(user, today=today)
    if refusal is not None:
        return refusal
    if user.role != token_role:
        return "role_changed"
    return None
