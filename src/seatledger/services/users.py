"""Use cases: users and invitations, every one through the seat policies.

A use case enters the unit of work, locks the account, does its work and commits.
The ``*_step`` functions are the work of the user use cases that other use cases
compose (services/scim.py, services/workspaces.py): each runs inside an open unit
of work, after the account lock, and never commits; ``create_user`` is
``create_user_step`` between the lock and the commit, and so on."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from typing import Any

from seatledger.domain.accounts import Account
from seatledger.domain.contracts import check_seats_may_be_taken
from seatledger.domain.errors import (
    Conflict,
    ContractEnded,
    DuplicateEmail,
    Gone,
    InvalidInput,
    NotFound,
    SeatLimitReached,
)
from seatledger.domain.ids import new_id, new_token
from seatledger.domain.ledger import CAPACITY_CHANGED, CAUSE_ADD_LICENSE, LedgerEntry
from seatledger.domain.names import (
    check_display_name,
    check_external_id,
    check_person_name,
    normalize_email,
)
from seatledger.domain.seat_policies import plan_seat_take, purchase_message
from seatledger.domain.users import (
    ACTIVE,
    DELETED,
    INACTIVE,
    INVITED,
    MEMBER,
    ListedEmail,
    User,
    check_listed_emails,
    check_owner_granted_by_owner,
    check_password,
    check_role,
    check_role_change,
    check_transition,
    role_after_losing_seats,
)
from seatledger.services.charges import issue_charges, preview_charge
from seatledger.services.seats import SeatSync, sync_seats, wanted_modules
from seatledger.services.secrets import hash_password, hash_token
from seatledger.services.unit_of_work import UnitOfWork
from seatledger.services.unset import UNSET

INVITATION_LIFETIME = timedelta(days=7)


@dataclass
class UserResult:
    user: User
    seats: list[str]
    warnings: list[str] = field(default_factory=list)
    setup_token: str | None = None


def _as_now(user: User) -> User:
    """A copy of the user as it is now, for the audit log (the use case goes on
    changing ``user``; the log writes its changes at commit)."""
    return replace(user, workspace_ids=list(user.workspace_ids))


def _record_user(
    uow: UnitOfWork, type: str, user: User, *, at: datetime, actor: str, before: User | None
) -> None:
    uow.record(
        type,
        subject=f"user:{user.id}",
        account_id=user.account_id,
        at=at,
        before=before,
        after=_as_now(user),
        actor=actor,
    )


def _record_password_set(uow: UnitOfWork, user: User, *, at: datetime, via: str) -> None:
    """The user sets its own password (the hash is never logged)."""
    uow.record(
        "password.set",
        subject=f"user:{user.id}",
        account_id=user.account_id,
        at=at,
        after={"user_id": user.id, "via": via},
        actor=f"user:{user.id}",
    )


def _load_user(uow: UnitOfWork, account_id: str, user_id: str) -> tuple[User, dict[str, str]]:
    """The user and the seats it holds (module → pool id), in one query."""
    found = uow.users.with_seats(account_id, user_id)
    if found is None:
        raise NotFound(f"user {user_id} not found", field="user_id")
    return found


def _result(
    user: User,
    held: dict[str, str],
    change: SeatSync | None = None,
    setup_token: str | None = None,
) -> UserResult:
    """``held``: the seats as loaded, if ``change`` did not sync them."""
    return UserResult(
        user=user,
        seats=change.seats if change else sorted(held),
        warnings=change.warnings if change else [],
        setup_token=setup_token,
    )


def _check_workspaces(uow: UnitOfWork, account_id: str, workspace_ids: Any) -> list[str]:
    if not isinstance(workspace_ids, list) or not all(isinstance(w, str) for w in workspace_ids):
        raise InvalidInput("workspace_ids must be a list of ids", field="workspace_ids")
    unique = sorted(set(workspace_ids))
    found = uow.workspaces.existing_ids(account_id, unique)
    for w in unique:
        if w not in found:
            raise NotFound(f"workspace {w} not found", field="workspace_ids")
    return unique


def _check_profile(uow: UnitOfWork, account_id: str, profile_id: str | None) -> str:
    if profile_id is None:
        return uow.profiles.default(account_id).id
    if uow.profiles.get(account_id, profile_id) is None:
        raise NotFound(f"profile {profile_id} not found", field="profile_id")
    return profile_id


def _role_after_losing_seats(
    uow: UnitOfWork, user: User, *, action: str, by_identity_provider: bool
) -> str:
    active_privileged = (
        uow.users.count_active_privileged(user.account_id) if user.is_privileged else 0
    )
    return role_after_losing_seats(
        user,
        action=action,
        by_identity_provider=by_identity_provider,
        active_privileged=active_privileged,
    )


def _check_valid_to(value: Any) -> date | None:
    if value is None or isinstance(value, date):
        return value
    try:
        return date.fromisoformat(value)
    except (TypeError, ValueError):
        raise InvalidInput(
            f"valid_to {value!r} is not a date (YYYY-MM-DD)", field="valid_to"
        ) from None


def create_user(uow: UnitOfWork, *, account_id: str, **arguments: Any) -> UserResult:
    """A new user of the account, under the pools' policies.

    ``create_user_step`` (its arguments) in a unit of work of its own."""
    with uow:
        account = uow.lock_account(account_id)
        result = create_user_step(uow, account, **arguments)
        uow.commit()
    return result


def create_user_step(
    uow: UnitOfWork,
    account: Account,
    *,
    email: str,
    first_name: str,
    last_name: str,
    at: datetime,
    actor: str,
    role: str = MEMBER,
    department: str | None = None,
    profile_id: str | None = None,
    workspace_ids: list[str] | None = None,
    valid_to: Any = None,
    active: bool = True,
    add_license: bool = False,
    by_owner: bool = True,
    external_id: str | None = None,
    listed_emails: tuple[ListedEmail, ...] = (),
) -> UserResult:
    """``by_owner``: the caller is an owner or an operator (only they create owners).
    ``external_id`` and ``listed_emails``: what an identity provider knows the
    user by (SCIM ``externalId`` and ``emails``).

    Inside an open unit of work, after the account lock; never commits."""
    email, key = normalize_email(email)
    external_id = check_external_id(external_id)
    listed_emails = check_listed_emails(listed_emails)
    first_name = check_person_name(first_name, field="first_name")
    last_name = check_person_name(last_name, field="last_name")
    check_role(role)
    check_owner_granted_by_owner(None, role, by_owner=by_owner)
    department = check_display_name(department, field="department") if department else None
    valid_to_date = _check_valid_to(valid_to)
    at = account.time_at(at)
    if uow.users.email_taken(account.id, key):
        raise DuplicateEmail(f"a user with email {email} already exists", field="email")
    workspaces = (
        _check_workspaces(uow, account.id, workspace_ids)
        if workspace_ids is not None
        else [uow.workspaces.default_id(account.id)]
    )
    user = User(
        id=new_id("usr"),
        account_id=account.id,
        email=email,
        first_name=first_name,
        last_name=last_name,
        role=role,
        status=ACTIVE if active else INACTIVE,
        department=department,
        profile_id=_check_profile(uow, account.id, profile_id),
        workspace_ids=workspaces,
        valid_to=valid_to_date,
        created_at=at,
        external_id=external_id,
        listed_emails=listed_emails,
    )
    setup_token = new_token("setup")
    uow.users.add(user, at=at, setup_token_hash=hash_token(setup_token))
    change = sync_seats(
        uow, user=user, operation="create", at=at, actor=actor, add_license=add_license
    )
    issue_charges(uow, account, change.purchases)
    if user.status != ACTIVE:
        uow.users.save(user, at=at)
    # NOTE: a user's entry follows its seats' entries: its ``after`` is the user
    # as saved (a create may land inactive).
    _record_user(uow, "user.created", user, at=at, actor=actor, before=None)
    return _result(user, {}, change, setup_token)


def get_user(uow: UnitOfWork, *, account_id: str, user_id: str) -> UserResult:
    with uow:
        uow.read_account(account_id)
        return _result(*_load_user(uow, account_id, user_id))


SEARCH_MAX = 254  # the longest email


def _check_search(search: str | None) -> str | None:
    """A part of an email or a name: no control character, at most SEARCH_MAX."""
    search = (search or "").strip()
    if any(ord(c) < 32 or ord(c) == 127 for c in search) or len(search) > SEARCH_MAX:
        raise InvalidInput(
            f"search is at most {SEARCH_MAX} characters, without control characters",
            field="search",
        )
    return search or None


def list_users(
    uow: UnitOfWork,
    *,
    account_id: str,
    status: str | None = None,
    include_deleted: bool = False,
    limit: int = 100,
    after: str | None = None,
    search: str | None = None,
) -> list[UserResult]:
    """``search``: only users whose email or name contains it (any case)."""
    search = _check_search(search)
    with uow:
        uow.read_account(account_id)
        users = uow.users.list(
            account_id,
            status=status,
            include_deleted=include_deleted,
            limit=limit,
            after=after,
            search=search,
        )
        seats = uow.seats.held_by_users([u.id for u in users])
        return [UserResult(user=u, seats=seats[u.id]) for u in users]


def update_user(uow: UnitOfWork, *, account_id: str, **arguments: Any) -> UserResult:
    """Changes what is given of the user.

    ``update_user_step`` (its arguments) in a unit of work of its own."""
    with uow:
        account = uow.lock_account(account_id)
        result = update_user_step(uow, account, **arguments)
        uow.commit()
    return result


def update_user_step(
    uow: UnitOfWork,
    account: Account,
    *,
    user_id: str,
    at: datetime,
    actor: str,
    role: Any = UNSET,
    profile_id: Any = UNSET,
    workspace_ids: Any = UNSET,
    valid_to: Any = UNSET,
    first_name: Any = UNSET,
    last_name: Any = UNSET,
    department: Any = UNSET,
    add_license: bool = False,
    by_owner: bool = True,
    email: Any = UNSET,
    external_id: Any = UNSET,
    listed_emails: Any = UNSET,
) -> UserResult:
    """``by_owner``: the caller is an owner or an operator (only they change an
    owner's role or make an owner). ``email``: another address, not another
    live user's.

    Inside an open unit of work, after the account lock; never commits."""
    at = account.time_at(at)
    user, held = _load_user(uow, account.id, user_id)
    if user.status == DELETED:
        raise Conflict(f"user {user_id} is deleted", field="status")
    before = _as_now(user)
    if email is not UNSET:
        user.email, key = normalize_email(email)
        if uow.users.email_taken(account.id, key, except_id=user.id):
            raise DuplicateEmail(f"a user with email {user.email} already exists", field="email")
    if external_id is not UNSET:
        user.external_id = check_external_id(external_id)
    if listed_emails is not UNSET:
        user.listed_emails = check_listed_emails(listed_emails)
    if first_name is not UNSET:
        user.first_name = check_person_name(first_name, field="first_name")
    if last_name is not UNSET:
        user.last_name = check_person_name(last_name, field="last_name")
    if department is not UNSET:
        user.department = check_display_name(department, field="department") if department else None
    if valid_to is not UNSET:
        user.valid_to = _check_valid_to(valid_to)
    if role is not UNSET and role != user.role:
        check_owner_granted_by_owner(user.role, role, by_owner=by_owner)
        check_role_change(
            user, role, active_privileged=uow.users.count_active_privileged(account.id)
        )
        user.role = role
    if profile_id is not UNSET:
        user.profile_id = _check_profile(uow, account.id, profile_id)
    if workspace_ids is not UNSET:
        user.workspace_ids = _check_workspaces(uow, account.id, workspace_ids)
        uow.users.set_workspaces(user.id, user.workspace_ids)
    change = sync_seats(
        uow,
        user=user,
        operation="update",
        at=at,
        actor=actor,
        add_license=add_license,
        held=held,
    )
    issue_charges(uow, account, change.purchases)
    uow.users.save(user, at=at)
    if user != before:
        _record_user(uow, "user.updated", user, at=at, actor=actor, before=before)
    return _result(user, held, change)


def join_or_leave_workspace_step(
    uow: UnitOfWork,
    account: Account,
    *,
    workspace_id: str,
    joining: list[User],
    leaving: list[User],
    at: datetime,
    actor: str,
) -> None:
    """Inside an open unit of work, after the account lock; never commits. The
    users ``joining`` (live users of the account, not in the workspace) join it
    and those ``leaving`` (its members) leave it, in that order, each as
    ``update_user`` with its workspaces would change it: a ``user.updated`` entry,
    the seats it should hold afterwards taken under the policies (a first
    workspace joined) or released (the last one left).

    Whatever the number of users: their seats, the pools and the profiles are
    read once, the memberships written in one statement each way and the users
    saved in one. Only a user whose seats change goes through ``sync_seats``,
    which costs a few statements for each such user."""
    at = account.time_at(at)
    moving = [*joining, *leaving]
    held = uow.seats.held_by_users([user.id for user in moving])
    pools = uow.pools.live(account.id)
    profiles = {profile.id: profile for profile in uow.profiles.list(account.id)}
    for user in moving:
        before = _as_now(user)
        user.workspace_ids = sorted(set(user.workspace_ids) ^ {workspace_id})
        # NOTE: what sync_seats would change; as pools are only taken from, not
        # added or retired, here, the modules a user wants stay as read.
        if wanted_modules(uow, user, pools, profiles) != set(held[user.id]):
            change = sync_seats(uow, user=user, operation="update", at=at, actor=actor)
            issue_charges(uow, account, change.purchases)
        _record_user(uow, "user.updated", user, at=at, actor=actor, before=before)
    uow.workspaces.add_members(workspace_id, [user.id for user in joining])
    uow.workspaces.remove_members(workspace_id, [user.id for user in leaving])
    uow.users.save_all(moving, at=at)


def activate_user(uow: UnitOfWork, *, account_id: str, **arguments: Any) -> UserResult:
    """The user active again, its seats taken under the policies.

    ``activate_user_step`` (its arguments) in a unit of work of its own."""
    with uow:
        account = uow.lock_account(account_id)
        result = activate_user_step(uow, account, **arguments)
        uow.commit()
    return result


def activate_user_step(
    uow: UnitOfWork,
    account: Account,
    *,
    user_id: str,
    at: datetime,
    actor: str,
    add_license: bool = False,
) -> UserResult:
    """Inside an open unit of work, after the account lock; never commits."""
    at = account.time_at(at)
    user, held = _load_user(uow, account.id, user_id)
    check_transition(user, ACTIVE)
    change = None
    if user.status != ACTIVE:
        before = _as_now(user)
        user.status = ACTIVE
        change = sync_seats(
            uow,
            user=user,
            operation="activate",
            at=at,
            actor=actor,
            add_license=add_license,
            held=held,
        )
        issue_charges(uow, account, change.purchases)
        uow.users.save(user, at=at)
        _record_user(uow, "user.activated", user, at=at, actor=actor, before=before)
    return _result(user, held, change)


def deactivate_user(uow: UnitOfWork, *, account_id: str, **arguments: Any) -> UserResult:
    """The user inactive, its seats released.

    ``deactivate_user_step`` (its arguments) in a unit of work of its own."""
    with uow:
        account = uow.lock_account(account_id)
        result = deactivate_user_step(uow, account, **arguments)
        uow.commit()
    return result


def deactivate_user_step(
    uow: UnitOfWork,
    account: Account,
    *,
    user_id: str,
    at: datetime,
    actor: str,
    by_identity_provider: bool = False,
) -> UserResult:
    """``by_identity_provider`` (SCIM): an owner or admin loses the role in the
    same change, unless it is the last active one (§2.3).

    Inside an open unit of work, after the account lock; never commits."""
    at = account.time_at(at)
    user, held = _load_user(uow, account.id, user_id)
    check_transition(user, INACTIVE)
    role = user.role
    if user.status == ACTIVE:
        role = _role_after_losing_seats(
            uow, user, action="deactivate", by_identity_provider=by_identity_provider
        )
    if user.status == INVITED:
        # NOTE: an inactive user cannot sign up through an old invitation.
        uow.invitations.close_open_for_user(user.id, status="revoked", at=at)
    change = None
    if user.status != INACTIVE:
        before = _as_now(user)
        user.role, user.status = role, INACTIVE
        change = sync_seats(uow, user=user, operation="deactivate", at=at, actor=actor, held=held)
        uow.users.save(user, at=at)
        _record_user(uow, "user.deactivated", user, at=at, actor=actor, before=before)
    return _result(user, held, change)


def delete_user(uow: UnitOfWork, *, account_id: str, **arguments: Any) -> UserResult:
    """The user deleted, its seats released.

    ``delete_user_step`` (its arguments) in a unit of work of its own."""
    with uow:
        account = uow.lock_account(account_id)
        result = delete_user_step(uow, account, **arguments)
        uow.commit()
    return result


def delete_user_step(
    uow: UnitOfWork,
    account: Account,
    *,
    user_id: str,
    at: datetime,
    actor: str,
    by_identity_provider: bool = False,
) -> UserResult:
    """Frees the seats; never a credit (§5); the user stays in the ledger.
    ``by_identity_provider``: as for ``deactivate_user``.

    Inside an open unit of work, after the account lock; never commits."""
    at = account.time_at(at)
    user, held = _load_user(uow, account.id, user_id)
    check_transition(user, DELETED)
    role = _role_after_losing_seats(
        uow, user, action="delete", by_identity_provider=by_identity_provider
    )
    if user.status == INVITED:
        uow.invitations.close_open_for_user(user.id, status="revoked", at=at)
    before = _as_now(user)
    user.role, user.status = role, DELETED
    change = sync_seats(uow, user=user, operation="delete", at=at, actor=actor, held=held)
    uow.users.save(user, at=at)
    _record_user(uow, "user.deleted", user, at=at, actor=actor, before=before)
    return _result(user, held, change)


@dataclass
class InvitationResult:
    id: str
    token: str
    expires_at: datetime
    user: User


def invite_user(
    uow: UnitOfWork,
    *,
    account_id: str,
    email: str,
    workspace_id: str,
    at: datetime,
    actor: str,
    role: str = MEMBER,
    profile_id: str | None = None,
    by_owner: bool = True,
) -> InvitationResult:
    """An invited user takes no seat until it accepts (seed 001); only owners and
    operators (``by_owner``) invite an owner."""
    email, key = normalize_email(email)
    check_role(role)
    check_owner_granted_by_owner(None, role, by_owner=by_owner)
    with uow:
        account = uow.lock_account(account_id)
        at = account.time_at(at)
        if uow.users.email_taken(account_id, key):
            raise DuplicateEmail(f"a user with email {email} already exists", field="email")
        if not isinstance(workspace_id, str) or not uow.workspaces.existing_ids(
            account_id, [workspace_id]
        ):
            raise NotFound(f"workspace {workspace_id} not found", field="workspace_id")
        user = User(
            id=new_id("usr"),
            account_id=account_id,
            email=email,
            first_name="",
            last_name="",
            role=role,
            status=INVITED,
            profile_id=_check_profile(uow, account_id, profile_id),
            workspace_ids=[workspace_id],
            created_at=at,
        )
        uow.users.add(user, at=at)
        token = new_token("inv")
        invitation_id = new_id("inv")
        expires_at = at + INVITATION_LIFETIME
        uow.invitations.add(
            id=invitation_id,
            account_id=account_id,
            user_id=user.id,
            workspace_id=workspace_id,
            token_hash=hash_token(token),
            expires_at=expires_at,
            at=at,
        )
        uow.record(
            "invitation.created",
            subject=f"invitation:{invitation_id}",
            account_id=account_id,
            at=at,
            after={
                "id": invitation_id,
                "user_id": user.id,
                "email": user.email,
                "role": user.role,
                "profile_id": user.profile_id,
                "workspace_id": workspace_id,
                "expires_at": expires_at,
            },
            actor=actor,
        )
        uow.commit()
    return InvitationResult(invitation_id, token, expires_at, user)


def accept_invitation(
    uow: UnitOfWork,
    *,
    token: str,
    first_name: str,
    last_name: str,
    password: str,
    at: datetime,
) -> UserResult:
    """Accepting takes the seats under the policies; under a full block pool the
    accept is refused and the invitation stays open, under a full
    inactive_when_full pool the user is saved inactive with the warning (§3).
    The invitee buys nothing: only admins and above may trigger a charge
    (§2 rule 5), so an accept never sets ``add_license``."""
    first_name = check_person_name(first_name, field="first_name")
    last_name = check_person_name(last_name, field="last_name")
    # NOTE: the password is hashed (argon2id, tenths of a second) before any lock.
    password_hash = hash_password(check_password(password))
    with uow:
        account = uow.lock_account_of("invitation", hash_token(token))
        account_id = account.id
        at = account.time_at(at)
        invitation = uow.invitations.by_token(hash_token(token))
        if invitation.status != "open":
            raise Gone(f"this invitation is {invitation.status}", field="token")
        if at >= invitation.expires_at:
            raise Gone("this invitation has expired", field="token")
        user, held = _load_user(uow, account_id, invitation.user_id)
        invited = _as_now(user)
        user.first_name, user.last_name, user.status = first_name, last_name, ACTIVE
        invitee = f"user:{user.id}"  # the invitee acts, not the anonymous caller
        change = sync_seats(uow, user=user, operation="accept", at=at, actor=invitee, held=held)
        issue_charges(uow, account, change.purchases)
        uow.users.save(user, at=at)
        uow.users.set_password(user.id, password_hash)
        uow.invitations.close(invitation.id, status="accepted", at=at)
        _record_user(uow, "user.created", user, at=at, actor=invitee, before=invited)
        _record_password_set(uow, user, at=at, via="invitation")
        result = _result(user, held, change)
        uow.commit()
    return result


def set_password_with_setup_token(
    uow: UnitOfWork, *, token: str, password: str, at: datetime
) -> User:
    password_hash = hash_password(check_password(password))
    token_hash = hash_token(token)
    with uow:
        at = uow.lock_account_of("setup_token", token_hash).time_at(at)
        user = uow.users.by_setup_token(token_hash)
        if user is None:
            raise NotFound("setup token not found or already used", field="token")
        uow.users.set_password(user.id, password_hash)
        _record_password_set(uow, user, at=at, via="setup_token")
        uow.commit()
    return user


@dataclass(frozen=True)
class SeatPreview:
    """What creating a user would do under the pools' policies (PRODUCT.md §3)."""

    status: str  # "active" | "inactive" (saved inactive) | "refused"
    modules: list[str]  # the seats the user would take
    messages: list[str]  # the policies' sentences: a warning, a refusal, a purchase
    # A full inactive_when_full pool: the "Add user license" choice applies.
    add_license_applies: bool = False


def preview_create_user(
    uow: UnitOfWork,
    *,
    account_id: str,
    at: datetime,
    profile_id: str | None = None,
    workspace_ids: list[str] | None = None,
    add_license: bool = False,
    priced: bool = True,
) -> SeatPreview:
    """The policies' answer to ``create_user`` with this profile, these workspaces
    and ``add_license``, before saving (the console's Create user dialog): the
    plan ``create_user`` makes under its lock (``plan_seat_take``), from the pools
    as they are now. Reads only: no lock, nothing written. ``priced`` False (a
    caller who sees no prices): a purchase says that a charge follows, without
    its amount."""
    with uow:
        account = uow.read_account(account_id)
        at = account.time_at(at)
        user = User(
            id="",
            account_id=account_id,
            email="",
            first_name="",
            last_name="",
            profile_id=_check_profile(uow, account_id, profile_id),
            workspace_ids=_check_workspaces(uow, account_id, workspace_ids)
            if workspace_ids is not None
            else [uow.workspaces.default_id(account_id)],
        )
        pools = uow.pools.live(account_id)
        modules = sorted(wanted_modules(uow, user, pools))
        if not modules:
            return SeatPreview("active", [], [])
        try:
            check_seats_may_be_taken(uow.contracts.latest_end(account_id)[1], at.date())
            plan = plan_seat_take(
                [pools[m].state for m in modules], operation="create", add_license=add_license
            )
        except (SeatLimitReached, ContractEnded) as refusal:
            return SeatPreview("refused", modules, [refusal.message])
        if plan.outcome == "save_inactive":
            return SeatPreview("inactive", [], list(plan.warnings), add_license_applies=True)
        messages = list(plan.warnings)
        for step in plan.steps:
            if not step.grow:
                continue
            pool = pools[step.module]
            purchase = LedgerEntry(
                account_id=account_id,
                module=step.module,
                kind=CAPACITY_CHANGED,
                delta=+1,
                in_use_after=pool.in_use,
                capacity_after=pool.capacity + 1,
                at=at,
                actor=uow.actor,
                cause=step.cause or "purchase",
                purchased=True,
            )
            messages.append(
                purchase_message(step, preview_charge(uow, account, purchase), priced=priced)
            )
        applies = any(s.cause == CAUSE_ADD_LICENSE for s in plan.steps)
        return SeatPreview("active", modules, messages, add_license_applies=applies)


def count_users(uow: UnitOfWork, *, account_id: str) -> dict[str, int]:
    """Users of the account per status (the Users page's "n active users")."""
    with uow:
        uow.read_account(account_id)
        return uow.users.count_by_status(account_id)
