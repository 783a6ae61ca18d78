"""Use cases: user tokens. Minted by operators (integrations) and by sign-in;
kept only as their SHA-256 hash; checked against the user as it is now on
every request."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from seatledger.domain.accounts import account_time
from seatledger.domain.errors import Conflict, InvalidInput, NotFound, Unauthorized
from seatledger.domain.ids import is_id, new_id, new_token
from seatledger.domain.names import normalize_email
from seatledger.domain.tokens import (
    DEFAULT_TOKEN_LIFETIME,
    USER_TOKEN_PREFIX,
    sign_in_refusal,
    token_refusal,
)
from seatledger.domain.users import User
from seatledger.services.secrets import (
    hash_password,
    hash_token,
    password_needs_rehash,
    verify_password,
)
from seatledger.services.unit_of_work import UnitOfWork

# NOTE: one answer for an unknown account, an unknown email, a user without a
# password and a wrong password, so that none can be told from another.
WRONG_CREDENTIALS = "the email or the password is wrong"
# Failed sign-ins allowed per (account, email) in any moving minute.
SIGN_IN_FAILURE_RATE = "5/minute"
REFUSAL_DETAILS = {
    "revoked": "this token was revoked (signed out)",
    "token_expired": "this token has expired",
    "invited": "this token's user has not accepted the invitation",
    "inactive": "this token's user is inactive",
    "deleted": "this token's user is deleted",
    "expired": "this token's user is past valid_to",
    "role_changed": "this token's user has another role now: sign in again",
}


@dataclass(frozen=True)
class IssuedToken:
    token: str  # shown once
    expires_at: datetime
    id: str  # the token's id (tok_…), its subject in the audit log


@dataclass(frozen=True)
class TokenUser:
    user_id: str
    account_id: str
    role: str


class FailureThrottle(Protocol):
    """Counts failed sign-ins per key (adapters/throttle.py)."""

    def check(self, key: str) -> None: ...  # raises RateLimited past the rate
    def failed(self, key: str) -> None: ...
    def succeeded(self, key: str) -> None: ...


def is_user_token(token: str) -> bool:
    return token.startswith(USER_TOKEN_PREFIX + "_")


def issue_token(
    uow: UnitOfWork, user: User, *, at: datetime, created_by: str, ttl: timedelta
) -> IssuedToken:
    """Inside the caller's unit of work, after the account lock: one row, the
    token's hash only, and its entry in the audit log (``created_by`` is its
    actor). The lifetime is real time (``at``), whatever the account's clock."""
    if ttl <= timedelta(0):
        raise InvalidInput("a token lives for a positive time", field="ttl")
    token = new_token(USER_TOKEN_PREFIX)
    token_id = new_id("tok")
    expires_at = at + ttl
    uow.user_tokens.add(
        id=token_id,
        token_hash=hash_token(token),
        account_id=user.account_id,
        user_id=user.id,
        role=user.role,
        at=at,
        expires_at=expires_at,
        created_by=created_by,
    )
    uow.record(
        "token.issued",
        subject=f"token:{token_id}",
        account_id=user.account_id,
        at=uow.accounts_locked[user.account_id].time_at(at),
        after={
            "id": token_id,
            "user_id": user.id,
            "role": user.role,
            "created_by": created_by,
            "expires_at": expires_at,
        },
        actor=created_by,
    )
    return IssuedToken(token, expires_at, token_id)


def mint_token(
    uow: UnitOfWork,
    *,
    account_id: str,
    user_id: str,
    at: datetime,
    created_by: str,
    ttl: timedelta = DEFAULT_TOKEN_LIFETIME,
) -> IssuedToken:
    """An operator's token for a user (integrations, tests): only for a user
    who could sign in now, else the token would be refused at once."""
    with uow:
        account = uow.lock_account(account_id)
        user = uow.users.get(account_id, user_id)
        if user is None:
            raise NotFound(f"user {user_id} not found", field="user_id")
        refusal = sign_in_refusal(user, today=account.time_at(at).date())
        if refusal is not None:
            raise Conflict(f"user {user_id} cannot sign in ({refusal})", field="user_id")
        issued = issue_token(uow, user, at=at, created_by=created_by, ttl=ttl)
        uow.commit()
    return issued


def sign_in(
    uow: UnitOfWork,
    *,
    account_id: str,
    email: str,
    password: str,
    at: datetime,
    throttle: FailureThrottle,
    ttl: timedelta = DEFAULT_TOKEN_LIFETIME,
) -> IssuedToken:
    """A token for an active user within ``valid_to`` whose password matches.

    Every attempt costs one argon2id verification (against a dummy hash when
    there is no user or no password), so timing does not tell whether the
    email is known. Failures are counted per (account, email): past the
    throttle's rate even a right password is refused (429) until it has room.

    The password is verified (argon2id, tenths of a second) before any lock,
    against one read outside any transaction; then the token is issued as any
    change is: the account lock first, the user as it is under the lock."""
    email_key = normalize_email(email)[1]
    attempt = f"{account_id}:{email_key}"
    throttle.check(attempt)
    # NOTE: an account id of no id's form names no account: no query (a NUL
    # would make PostgreSQL refuse it), the same 401 as an unknown one.
    found = uow.credentials(account_id, email_key) if is_id(account_id) else None
    stored = found.password_hash if found else None
    verified = verify_password(password, stored)  # always: the same time for all
    if found is None or not verified:
        throttle.failed(attempt)
        raise Unauthorized(WRONG_CREDENTIALS)
    throttle.succeeded(attempt)
    rehashed = hash_password(password) if stored and password_needs_rehash(stored) else None
    with uow:
        account = uow.lock_account(account_id)
        user = uow.users.get(account_id, found.user_id)
        if user is None:  # pragma: no cover - users are never removed, only marked deleted
            raise Unauthorized(WRONG_CREDENTIALS)
        refusal = sign_in_refusal(user, today=account.time_at(at).date())
        if refusal is not None:
            raise Unauthorized(REFUSAL_DETAILS.get(refusal, "this user cannot sign in"))
        if rehashed is not None:
            uow.users.set_password(user.id, rehashed)
        issued = issue_token(uow, user, at=at, created_by=f"user:{user.id}", ttl=ttl)
        uow.commit()
    return issued


def authenticate_token(uow: UnitOfWork, *, token: str, at: datetime) -> TokenUser:
    """One autocommit read (the token with its user and account); never
    cached, so a change to the user is seen by the next request in every
    process."""
    holder = uow.token_holder(hash_token(token))
    if holder is None:
        raise Unauthorized("unknown or revoked token")
    user = User(
        id=holder.user_id,
        account_id=holder.account_id,
        email="",
        first_name="",
        last_name="",
        role=holder.role,
        status=holder.status,
        valid_to=holder.valid_to,
    )
    refusal = token_refusal(
        user=user,
        token_role=holder.token_role,
        expires_at=holder.expires_at,
        revoked_at=holder.revoked_at,
        now=at,
        today=account_time(holder.test_clock, holder.clock_now, at).date(),
    )
    if refusal is not None:
        raise Unauthorized(REFUSAL_DETAILS.get(refusal, "this token no longer works"))
    return TokenUser(holder.user_id, holder.account_id, holder.role)


def revoke_token(uow: UnitOfWork, *, token: str, at: datetime) -> None:
    """Signing out: the token stops working for every later request."""
    token_hash = hash_token(token)
    with uow:
        account = uow.lock_account_of("user_token", token_hash)
        revoked = uow.user_tokens.revoke(token_hash, at=at)
        if revoked is not None:  # else another request revoked it first
            uow.record(
                "token.revoked",
                subject=f"token:{revoked.id}",
                account_id=account.id,
                at=account.time_at(at),
                before={"id": revoked.id, "user_id": revoked.user_id, "revoked_at": None},
                after={"id": revoked.id, "user_id": revoked.user_id, "revoked_at": at},
            )
        uow.commit()
