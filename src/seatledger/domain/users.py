"""Users: statuses, roles, the admin rule (§2.3) and the access decision (§2.1)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from seatledger.domain.errors import AdminRuleViolation, Conflict, Forbidden, InvalidInput
from seatledger.domain.names import check_display_name, normalize_email

INVITED, ACTIVE, INACTIVE, DELETED = "invited", "active", "inactive", "deleted"
STATUSES = (INVITED, ACTIVE, INACTIVE, DELETED)
OWNER, ADMIN, MEMBER = "owner", "admin", "member"
ROLES = (OWNER, ADMIN, MEMBER)
PRIVILEGED_ROLES = (OWNER, ADMIN)
MIN_PASSWORD_LENGTH = 10

ACCESS_REASONS = (
    "ok",
    "not_found",
    "invited",
    "inactive",
    "deleted",
    "expired",
    "no_seat",
    "contract_ended",
)


@dataclass(frozen=True)
class ListedEmail:
    """An address the identity provider lists for the user (SCIM ``emails``), kept
    as given; the user signs in with ``User.email`` (SCIM ``userName``) alone."""

    value: str
    type: str | None = None
    primary: bool = False


@dataclass
class User:
    id: str
    account_id: str
    email: str
    first_name: str
    last_name: str
    role: str = MEMBER
    status: str = ACTIVE
    department: str | None = None
    profile_id: str | None = None
    workspace_ids: list[str] = field(default_factory=list)
    valid_to: date | None = None
    created_at: datetime | None = None
    external_id: str | None = None  # the identity provider's id (SCIM externalId)
    listed_emails: tuple[ListedEmail, ...] = ()

    @property
    def is_privileged(self) -> bool:
        return self.role in PRIVILEGED_ROLES

    @property
    def needs_seats(self) -> bool:
        """§1: a user holds seats exactly when active and in ≥ 1 workspace
        (which pools: its profile decides)."""
        return self.status == ACTIVE and bool(self.workspace_ids)


def check_role(role: str, *, field: str = "role") -> str:
    if role not in ROLES:
        raise InvalidInput(f"role must be one of {', '.join(ROLES)}", field=field)
    return role


def check_password(password: object, *, field: str = "password") -> str:
    if not isinstance(password, str) or len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(
            f"password must have at least {MIN_PASSWORD_LENGTH} characters", field=field
        )
    return password


def check_may_lose_seats(user: User, *, action: str) -> None:
    """Seed 003: the administrator role must be removed before deactivation
    (and deletion). This also keeps rule §2.3, as only a demotion can take away
    the last admin, and ``check_role_change`` guards that."""
    if user.is_privileged:
        raise AdminRuleViolation(
            f"Remove the {user.role} role from {user.email} before you {action} this user.",
            field="role",
            user_id=user.id,
        )


def role_after_losing_seats(
    user: User, *, action: str, by_identity_provider: bool, active_privileged: int
) -> str:
    """The role ``user`` keeps once deactivated or deleted (§2.3, seed 003).

    A member keeps its role. An owner or admin must lose the role first
    (``check_may_lose_seats``), except when the identity provider deactivates or
    deletes it (SCIM, ``by_identity_provider``): the provider is the authority, so
    the role goes in the same change, unless it is the account's last active
    owner or admin (refused like its demotion)."""
    if not user.is_privileged:
        return user.role
    if not by_identity_provider:
        check_may_lose_seats(user, action=action)
    check_role_change(user, MEMBER, active_privileged=active_privileged)
    return MEMBER


def check_listed_emails(emails: object, *, field: str = "emails") -> tuple[ListedEmail, ...]:
    """The identity provider's addresses: each a valid email, its type a label,
    at most one primary (RFC 7643 §2.4)."""
    if not isinstance(emails, (list, tuple)) or not all(isinstance(e, ListedEmail) for e in emails):
        raise InvalidInput(f"{field} must be a list of emails", field=field)
    checked = []
    for index, email in enumerate(emails):
        value = normalize_email(email.value, field=f"{field}[{index}].value")[0]
        kind = (
            check_display_name(email.type, field=f"{field}[{index}].type") if email.type else None
        )
        checked.append(ListedEmail(value, kind, bool(email.primary)))
    if sum(e.primary for e in checked) > 1:
        raise InvalidInput(f"at most one of {field} is primary", field=field)
    return tuple(checked)


def check_owner_granted_by_owner(before: str | None, after: str, *, by_owner: bool) -> None:
    """§2 rule 5: only owners and operators (``by_owner``) grant or remove the
    owner role: giving it (``before`` None on a create) or taking it away is 403
    for anybody else."""
    if not by_owner and before != after and OWNER in (before, after):
        raise Forbidden("only owners and operators grant or remove the owner role", field="role")


def check_role_change(user: User, new_role: str, *, active_privileged: int) -> None:
    """§2.3: demoting the last active owner or admin is refused.

    ``active_privileged`` counts active owners and admins of the account,
    ``user`` included if it is one."""
    check_role(new_role)
    if (
        user.status == ACTIVE
        and user.is_privileged
        and new_role not in PRIVILEGED_ROLES
        and active_privileged <= 1
    ):
        raise AdminRuleViolation(
            "The account must keep at least one active owner or administrator.",
            field="role",
            user_id=user.id,
        )


def check_transition(user: User, target: str) -> None:
    if user.status == DELETED:
        raise Conflict(f"user {user.id} is deleted", field="status")
    if target == ACTIVE and user.status == INVITED:
        raise Conflict("an invited user becomes active by accepting the invitation", field="status")


def access_reason(
    user: User | None,
    *,
    today: date,
    module: str | None,
    holds_seat: bool,
    contract_ended: bool,
) -> str:
    """§2.1 and API.md: the one access decision. Order: existence, status,
    the contract, then ``valid_to`` (which blocks login with or without a
    module), then the seat."""
    if user is None:
        return "not_found"
    if user.status != ACTIVE:
        return user.status  # invited, inactive, deleted
    if contract_ended:
        return "contract_ended"
    if user.valid_to is not None and today > user.valid_to:
        return "expired"
    if module is not None and not holds_seat:
        return "no_seat"
    return "ok"
