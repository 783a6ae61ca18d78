"""The seat rules of PRODUCT.md §2–§4, as properties of random use-case
sequences on the service layer (Hypothesis stateful testing), on SQLite and
PostgreSQL.

Every example is a new account (everything is per account, so a new account
is a fresh world) with one pool per policy — block, inactive_when_full,
true_up, auto_purchase, metered — and runs random creates, invitations and
accepts, activations, deactivations, deletions, role, profile and workspace
changes, seat-change requests (with approvals and rejections) and contract
versions. After every step every seat rule is checked against the database:

- capped pools (block, inactive_when_full) never have in_use > capacity;
- capacity never below minimum (requests refuse it; contracts keep
  minimum ≤ capacity); a metered pool has no capacity;
- a seat request's outcome is the one §4 prescribes (below minimum, below in
  use under a capped policy, below what auto_purchase bought this term,
  metered: refused and nothing stored);
- pools.in_use == recount of the ledger == seats rows; the ledger never
  records a breach or drifts from its own numbers;
- a user holds a seat in P exactly when active, its profile grants P and it
  is in at least one workspace (so invited users hold none);
- seat-giving operations are all or nothing: a refusal changes nothing;
- auto_purchase capacity never decreases through user operations and grows
  (by one) only when in_use was ≥ capacity; add_license grows an
  inactive_when_full pool only when it was full; nothing else grows capacity
  through user operations;
- once the account has an active owner or admin it keeps at least one.
"""

from __future__ import annotations

import contextlib
import os
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import select

from seatledger.adapters.db import tables as t
from seatledger.domain.accounts import Profile
from seatledger.domain.errors import (
    AdminRuleViolation,
    Conflict,
    DuplicateEmail,
    Gone,
    InvalidInput,
    RuleRefusal,
    SeatLimitReached,
)
from seatledger.domain.ledger import (
    CAPACITY_CHANGED,
    LedgerEntry,
    PoolCount,
    limit_breaches,
    replay,
)
from seatledger.domain.pools import Pool
from seatledger.domain.seat_policies import CAPPED_POLICIES, INACTIVE_WHEN_FULL_WARNING
from seatledger.domain.seat_requests import BELOW_MINIMUM
from seatledger.domain.users import ACTIVE, INVITED, PRIVILEGED_ROLES, User
from seatledger.services import accounts, seat_requests, users
from seatledger.services.unit_of_work import UnitOfWork

STRESS = 10 if os.environ.get("SEATLEDGER_STRESS", "").strip() not in ("", "0") else 1
MAX_EXAMPLES = 25 * STRESS
STEPS = 30

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
OPERATOR = "operator:prop"
PASSWORD = "a long enough password"

# one pool per policy, named after it
POLICY_OF = {
    "blk": "block",
    "iwf": "inactive_when_full",
    "tru": "true_up",
    "auto": "auto_purchase",
    "met": "metered",
}
MODULES = sorted(POLICY_OF)
CAPPED = {m for m, p in POLICY_OF.items() if p in CAPPED_POLICIES}
CAPACITY_MODULES = [m for m in MODULES if POLICY_OF[m] != "metered"]
PROFILE_MODULES: list[list[str] | None] = [
    None,  # the default profile: every module
    [],
    ["blk"],
    ["iwf"],
    ["tru", "met"],
    ["auto"],
    ["blk", "iwf", "auto"],
]
SEAT_GIVING = ("create", "accept", "activate", "update")

Uow = Callable[[], UnitOfWork]

capacities = st.integers(min_value=0, max_value=4)
picks = st.integers(min_value=0, max_value=10_000)
roles = st.sampled_from(["member", "member", "member", "admin", "owner"])
workspace_choices = st.sampled_from(["default", "second", "both", "none"])


@st.composite
def pool_terms(draw: st.DrawFn) -> list[dict[str, Any]]:
    terms = []
    for module in MODULES:
        policy = POLICY_OF[module]
        if policy == "metered":
            terms.append(
                {
                    "module": module,
                    "policy": policy,
                    "unit_price": "10.00",
                    "minimum": draw(st.integers(0, 2)),
                }
            )
            continue
        capacity = draw(capacities)
        terms.append(
            {
                "module": module,
                "policy": policy,
                "unit_price": "30.00",
                "capacity": capacity,
                "minimum": draw(st.integers(0, capacity)),
            }
        )
    return terms


@dataclass
class Snapshot:
    pools: dict[str, Pool]
    entries: list[LedgerEntry]
    users: dict[str, User]
    seats: dict[str, set[str]]
    seat_rows: dict[str, int]
    profiles: dict[str, Profile]

    def key(self) -> tuple[Any, ...]:
        """What a refused operation must leave exactly as it was."""
        return (
            {
                m: (p.capacity, p.in_use, p.minimum, p.committed_capacity)
                for m, p in self.pools.items()
            },
            len(self.entries),
            {
                u.id: (u.status, u.role, u.profile_id, tuple(u.workspace_ids))
                for u in self.users.values()
            },
            {u: frozenset(s) for u, s in self.seats.items()},
        )

    def active_privileged(self) -> int:
        return sum(
            1 for u in self.users.values() if u.status == ACTIVE and u.role in PRIVILEGED_ROLES
        )


def take_snapshot(uow: Uow, account_id: str) -> Snapshot:
    with uow() as u:
        pools = u.pools.live(account_id)
        entries = u.ledger.entries(account_id)
        listed = u.users.list(
            account_id, status=None, include_deleted=True, limit=10**6, after=None
        )
        seats: dict[str, set[str]] = {user.id: set() for user in listed}
        seat_rows: dict[str, int] = {}
        for row in u.conn.execute(select(t.seats).where(t.seats.c.account_id == account_id)):
            seats.setdefault(row.user_id, set()).add(row.module)
            seat_rows[row.module] = seat_rows.get(row.module, 0) + 1
        profiles = {p.id: p for p in u.profiles.list(account_id)}
    return Snapshot(pools, entries, {user.id: user for user in listed}, seats, seat_rows, profiles)


OUTCOMES: Counter[str] = Counter()


def outcome(name: str) -> None:
    """Tally what the random sequences did (printed with ``pytest -s``), to see
    that refusals, purchases and approvals are really exercised."""
    OUTCOMES[name] += 1


def make_machine(uow: Uow) -> type[RuleBasedStateMachine]:
    class SeatRules(RuleBasedStateMachine):
        """One example: one account, a random sequence of use cases."""

        def __init__(self) -> None:
            super().__init__()
            self.account_id = ""
            self.approval = "automatic"
            self.profile_ids: list[str] = []
            self.workspaces: dict[str, list[str]] = {}
            self.user_ids: list[str] = []
            self.invitations: list[tuple[str, str]] = []  # (token, user id)
            self.request_ids: list[str] = []
            self.serial = 0
            self.had_admin = False
            self._cache: Snapshot | None = None
            self._fresh = False
            self.refused: BaseException | None = None  # the last refusal of a seat operation

        # ------------------------------------------------------------ setup

        @initialize(terms=pool_terms(), approval=st.sampled_from(["automatic", "operator"]))
        def open_account(self, terms: list[dict[str, Any]], approval: str) -> None:
            account = accounts.create_account(uow(), name="Prop", currency="EUR", at=NOW)
            self.account_id, self.approval = account.id, approval
            accounts.create_contract(
                uow(),
                account_id=account.id,
                start_date=date(2026, 1, 1),
                billing_interval="month",
                pools=terms,
                at=NOW,
                actor=OPERATOR,
                increase_approval=approval,
            )
            default_profile = next(
                p for p in accounts.list_profiles(uow(), account_id=account.id) if p.is_default
            )
            self.profile_ids = [default_profile.id] + [
                accounts.create_profile(
                    uow(), account_id=account.id, name=f"P {n}", modules=modules, at=NOW
                ).id
                for n, modules in enumerate(PROFILE_MODULES[1:])
            ]
            default_ws = accounts.list_workspaces(uow(), account_id=account.id)[0].id
            second_ws = accounts.create_workspace(
                uow(), account_id=account.id, name="Team 2", at=NOW
            ).id
            self.workspaces = {
                "default": [default_ws],
                "second": [second_ws],
                "both": [default_ws, second_ws],
                "none": [],
            }

        # ---------------------------------------------------------- helpers

        def _before(self) -> Snapshot:
            """The state before this step: the one the last invariant check read
            (invariants run after every step, so nothing moved since)."""
            if self._cache is None:
                self._cache = take_snapshot(uow, self.account_id)
            return self._cache

        def _after(self) -> Snapshot:
            """The state this step left (the invariant check reuses it)."""
            self._cache, self._fresh = take_snapshot(uow, self.account_id), True
            return self._cache

        def _pick(self, items: list[str], pick: int) -> str | None:
            return items[pick % len(items)] if items else None

        def _email(self) -> str:
            self.serial += 1
            return f"user{self.serial}@example.com"

        def _needed(self, snap: Snapshot, user: User) -> set[str]:
            if user.status != ACTIVE or not user.workspace_ids or user.profile_id is None:
                return set()
            return snap.profiles[user.profile_id].grants(set(snap.pools))

        def _seat_operation(
            self,
            operation: str,
            call: Callable[[], Any],
            add_license: bool = False,
            expected: tuple[type[BaseException], ...] = (),
        ) -> Any:
            """Run a use case that may give seats and check its effect on the
            pools: all or nothing, and capacity moves only as the policies say."""
            before = self._before()
            self.refused = None
            try:
                result = call()
            except (SeatLimitReached, *expected) as refused:
                self.refused = refused
                after = self._after()
                assert after.key() == before.key(), f"refused {operation} changed state"
                if isinstance(refused, SeatLimitReached):
                    module = refused.extra["module"]
                    pool = before.pools[module]
                    assert pool.policy in CAPPED_POLICIES
                    assert pool.in_use >= pool.capacity, "refused while a seat was free"
                    if pool.policy == "inactive_when_full":
                        assert not add_license
                        assert operation not in ("create", "accept")
                        assert refused.message == INACTIVE_WHEN_FULL_WARNING
                outcome(f"{operation}: {type(refused).__name__}")
                return None
            after = self._after()
            outcome(f"{operation}: ok")
            for module, old in before.pools.items():
                new = after.pools[module]
                grown = new.capacity - old.capacity
                assert grown >= 0, f"{operation} lowered the capacity of {module}"
                if grown:
                    outcome(f"{operation}: bought a {old.policy} seat")
                    assert grown == 1
                    assert old.in_use >= old.capacity, f"{module} grew while a seat was free"
                    assert old.policy == "auto_purchase" or (
                        old.policy == "inactive_when_full" and add_license
                    )
            if INACTIVE_WHEN_FULL_WARNING in getattr(result, "warnings", []):
                outcome(f"{operation}: saved inactive")
                assert operation in ("create", "accept")
                assert result.user.status != ACTIVE and result.seats == []
                assert after.key()[0] == before.key()[0], "a user saved inactive took seats"
            return result

        # ------------------------------------------------------------ users

        @rule(
            profile=picks,
            where=workspace_choices,
            role=roles,
            active=st.booleans(),
            add_license=st.booleans(),
        )
        def create_user(
            self, profile: int, where: str, role: str, active: bool, add_license: bool
        ) -> None:
            result = self._seat_operation(
                "create",
                lambda: users.create_user(
                    uow(),
                    account_id=self.account_id,
                    email=self._email(),
                    first_name="Prop",
                    last_name="User",
                    at=NOW,
                    actor=OPERATOR,
                    role=role,
                    profile_id=self._pick(self.profile_ids, profile),
                    workspace_ids=self.workspaces[where],
                    active=active,
                    add_license=add_license,
                ),
                add_license=add_license,
            )
            if result is not None:
                self.user_ids.append(result.user.id)

        @rule(profile=picks, role=roles)
        def invite_user(self, profile: int, role: str) -> None:
            invitation = users.invite_user(
                uow(),
                account_id=self.account_id,
                email=self._email(),
                workspace_id=self.workspaces["default"][0],
                at=NOW,
                actor=OPERATOR,
                role=role,
                profile_id=self._pick(self.profile_ids, profile),
            )
            assert invitation.user.status == INVITED
            self.user_ids.append(invitation.user.id)
            self.invitations.append((invitation.token, invitation.user.id))

        @rule(pick=picks, late=st.booleans())
        @precondition(lambda self: bool(self.invitations))
        def accept_invitation(self, pick: int, late: bool) -> None:
            if not self.invitations:
                return
            token, _user_id = self.invitations[pick % len(self.invitations)]
            self._seat_operation(
                "accept",
                lambda: users.accept_invitation(
                    uow(),
                    token=token,
                    first_name="Invited",
                    last_name="User",
                    password=PASSWORD,
                    at=NOW + timedelta(days=8 if late else 1),
                ),
                expected=(Gone,),
            )

        @rule(pick=picks, add_license=st.booleans())
        @precondition(lambda self: bool(self.user_ids))
        def activate(self, pick: int, add_license: bool) -> None:
            user_id = self._pick(self.user_ids, pick)
            if user_id is None:
                return
            self._seat_operation(
                "activate",
                lambda: users.activate_user(
                    uow(),
                    account_id=self.account_id,
                    user_id=user_id,
                    at=NOW,
                    actor=OPERATOR,
                    add_license=add_license,
                ),
                add_license=add_license,
                expected=(Conflict,),
            )

        @rule(pick=picks)
        @precondition(lambda self: bool(self.user_ids))
        def deactivate(self, pick: int) -> None:
            user_id = self._pick(self.user_ids, pick)
            if user_id is None:
                return
            self._seat_operation(
                "deactivate",
                lambda: users.deactivate_user(
                    uow(), account_id=self.account_id, user_id=user_id, at=NOW, actor=OPERATOR
                ),
                expected=(AdminRuleViolation, Conflict),
            )

        @rule(pick=picks)
        @precondition(lambda self: bool(self.user_ids))
        def delete(self, pick: int) -> None:
            user_id = self._pick(self.user_ids, pick)
            if user_id is None:
                return
            self._seat_operation(
                "delete",
                lambda: users.delete_user(
                    uow(), account_id=self.account_id, user_id=user_id, at=NOW, actor=OPERATOR
                ),
                expected=(AdminRuleViolation, Conflict),
            )

        @rule(pick=picks, role=roles)
        @precondition(lambda self: bool(self.user_ids))
        def change_role(self, pick: int, role: str) -> None:
            user_id = self._pick(self.user_ids, pick)
            if user_id is None:
                return
            self._seat_operation(
                "update",
                lambda: users.update_user(
                    uow(),
                    account_id=self.account_id,
                    user_id=user_id,
                    role=role,
                    at=NOW,
                    actor=OPERATOR,
                ),
                expected=(AdminRuleViolation, Conflict),
            )

        @rule(pick=picks, profile=picks, add_license=st.booleans())
        @precondition(lambda self: bool(self.user_ids))
        def change_profile(self, pick: int, profile: int, add_license: bool) -> None:
            user_id = self._pick(self.user_ids, pick)
            if user_id is None:
                return
            self._seat_operation(
                "update",
                lambda: users.update_user(
                    uow(),
                    account_id=self.account_id,
                    user_id=user_id,
                    profile_id=self._pick(self.profile_ids, profile),
                    at=NOW,
                    actor=OPERATOR,
                    add_license=add_license,
                ),
                add_license=add_license,
                expected=(Conflict,),
            )

        @rule(pick=picks, where=workspace_choices)
        @precondition(lambda self: bool(self.user_ids))
        def change_workspaces(self, pick: int, where: str) -> None:
            user_id = self._pick(self.user_ids, pick)
            if user_id is None:
                return
            self._seat_operation(
                "update",
                lambda: users.update_user(
                    uow(),
                    account_id=self.account_id,
                    user_id=user_id,
                    workspace_ids=self.workspaces[where],
                    at=NOW,
                    actor=OPERATOR,
                ),
                expected=(Conflict,),
            )

        @rule(pick=picks)
        @precondition(lambda self: bool(self.user_ids))
        def duplicate_email(self, pick: int) -> None:
            user_id = self._pick(self.user_ids, pick)
            if user_id is None:
                return
            before = self._before()
            user = before.users[user_id]
            live_with_email = any(
                u.email.casefold() == user.email.casefold() and u.status != "deleted"
                for u in before.users.values()
            )
            result = self._seat_operation(
                "create",
                lambda: users.create_user(
                    uow(),
                    account_id=self.account_id,
                    email=user.email.upper(),
                    first_name="Dup",
                    last_name="Licate",
                    at=NOW,
                    actor=OPERATOR,
                ),
                expected=(DuplicateEmail,),
            )
            if live_with_email:
                assert isinstance(self.refused, DuplicateEmail), "a live email was taken twice"
            else:
                assert not isinstance(self.refused, DuplicateEmail), "a deleted user's email"
                if result is not None:
                    self.user_ids.append(result.user.id)

        # ---------------------------------------------------- seat requests

        @rule(module=st.sampled_from(MODULES), change=st.integers(-4, 4), preview=st.booleans())
        def request_seats(self, module: str, change: int, preview: bool) -> None:
            before = self._before()
            pool = before.pools[module]
            target = max(0, pool.capacity + change)
            refusal = None
            if pool.policy == "metered":
                refusal = "metered"
            elif target == pool.capacity:
                refusal = "already has"
            elif target < pool.minimum:
                refusal = BELOW_MINIMUM
            elif pool.policy in CAPPED_POLICIES and target < pool.in_use:
                refusal = "remove users first"
            # NOTE: a target below the seats added this term is accepted for the renewal
            # only (§4): a decrease is pending anyway.
            try:
                result = seat_requests.request_seat_change(
                    uow(),
                    account_id=self.account_id,
                    module=module,
                    target_capacity=target,
                    at=NOW,
                    actor="user:owner",
                    preview=preview,
                )
            except RuleRefusal as refused:
                assert refusal is not None, f"unexpected refusal: {refused.message}"
                outcome(f"seat request refused: {refusal}")
                assert refusal in refused.message
                assert self._after().key() == before.key()
                assert len(
                    seat_requests.list_seat_requests(uow(), account_id=self.account_id)
                ) == len(self.request_ids)
                return
            assert refusal is None, f"expected a refusal ({refusal})"
            after = self._after()
            stored = seat_requests.list_seat_requests(uow(), account_id=self.account_id)
            if preview:
                assert not result.stored
                assert after.key() == before.key()
                assert len(stored) == len(self.request_ids)
                return
            outcome(f"seat request {result.request.status}")
            self.request_ids.append(result.request.id)
            assert len(stored) == len(self.request_ids)
            if target > pool.capacity and self.approval == "automatic":
                assert result.request.status == "applied"
                assert after.pools[module].capacity == target
            else:
                assert result.request.status == "pending"
                assert after.pools[module].capacity == pool.capacity

        @rule(
            pick=picks,
            effective=st.sampled_from(["now", "renewal"]),
            only_pending=st.sampled_from([True, True, True, False]),
        )
        @precondition(lambda self: bool(self.request_ids))
        def approve(self, pick: int, effective: str, only_pending: bool) -> None:
            pending = [
                r.id
                for r in seat_requests.list_seat_requests(
                    uow(), account_id=self.account_id, status="pending"
                )
            ]
            request_id = self._pick(pending if only_pending else self.request_ids, pick)
            if request_id is None:
                return
            before = self._before()
            request = seat_requests.get_seat_request(uow(), request_id=request_id)
            try:
                decided = seat_requests.approve_seat_request(
                    uow(), request_id=request_id, at=NOW, actor=OPERATOR, effective=effective
                )
            except (RuleRefusal, Conflict) as refused:
                outcome(f"approval refused: {type(refused).__name__}")
                assert self._after().key() == before.key()
                return
            assert request.status == "pending"
            outcome(f"approval: {decided.status}")
            after = self._after()
            pool = after.pools[request.module]
            was = before.pools[request.module].capacity
            # a request keeps its direction: one that no longer goes its way from
            # the capacity now is rejected with the reason, never inverted
            if (request.target_capacity - was) * request.delta <= 0:
                assert decided.status == "rejected" and decided.reason
                assert after.key() == before.key()
                return
            if request.target_capacity > was:
                assert decided.status == "applied", "an increase waits after its approval"
            if decided.status == "applied":
                # a decrease applies at once only when the operator says "now"
                assert request.target_capacity > was or effective == "now"
                assert pool.capacity == request.target_capacity
                assert pool.capacity >= pool.minimum
                if pool.policy in CAPPED_POLICIES:
                    assert pool.capacity >= pool.in_use
            else:
                assert decided.status == "scheduled"
                assert after.key()[0] == before.key()[0]

        @rule(pick=picks)
        @precondition(lambda self: bool(self.request_ids))
        def reject(self, pick: int) -> None:
            request_id = self._pick(self.request_ids, pick)
            if request_id is None:
                return
            before = self._before()
            with contextlib.suppress(Conflict):  # not pending nor scheduled
                seat_requests.reject_seat_request(
                    uow(), request_id=request_id, reason="Not now", at=NOW, actor=OPERATOR
                )
            assert self._after().key()[0] == before.key()[0]

        # --------------------------------------------------------- contracts

        @rule(terms=pool_terms())
        def new_contract_version(self, terms: list[dict[str, Any]]) -> None:
            before = self._before()
            too_small = [
                term["module"]
                for term in terms
                if term["module"] in CAPPED
                and term["capacity"] < before.pools[term["module"]].in_use
            ]
            # §5: a version sets no capacity below the seats added this term (422)
            below_committed = [
                term["module"]
                for term in terms
                if term.get("capacity", 0) < before.pools[term["module"]].committed_capacity
            ]
            try:
                accounts.create_contract(
                    uow(),
                    account_id=self.account_id,
                    start_date=NOW.date(),
                    billing_interval="month",
                    pools=terms,
                    at=NOW,
                    actor=OPERATOR,
                    increase_approval=self.approval,
                )
            except InvalidInput as refused:
                assert below_committed, f"unexpected refusal: {refused.message}"
                assert "cannot be reduced" in refused.message
                outcome("contract version refused: below the seats added this term")
                assert self._after().key() == before.key()
                return
            except RuleRefusal as refused:
                assert too_small, f"unexpected refusal: {refused.message}"
                outcome("contract version refused")
                assert self._after().key() == before.key()
                return
            assert not below_committed, f"capacity set below this term's seats: {below_committed}"
            assert not too_small, f"capacity set below the seats in use of {too_small}"
            after = self._after()
            for term in terms:
                pool = after.pools[term["module"]]
                assert (pool.capacity, pool.minimum) == (term.get("capacity", 0), term["minimum"])

        # -------------------------------------------------------- invariants

        @invariant()
        def seat_rules_hold(self) -> None:
            if not self.account_id:
                return
            # the state the step left, read once: the step's own "after" if it took one
            snap = self._cache if self._fresh else take_snapshot(uow, self.account_id)
            self._cache, self._fresh = snap, False
            # counters == ledger recount == seats rows; no breach, no drift
            assert limit_breaches(snap.entries, CAPPED) == []
            counted = replay(snap.entries)
            for module, pool in snap.pools.items():
                recount = counted.get(module, PoolCount())
                assert (pool.in_use, pool.capacity) == (recount.in_use, recount.capacity)
                assert pool.in_use == snap.seat_rows.get(module, 0)
                if pool.policy in CAPPED_POLICIES:
                    assert pool.in_use <= pool.capacity
                if pool.policy == "metered":
                    assert pool.capacity == 0
                else:
                    assert pool.capacity >= pool.minimum
                    assert pool.capacity >= pool.committed_capacity
            # a purchase is never a decrease (no credit from a decrease, §5)
            for entry in snap.entries:
                if entry.kind == CAPACITY_CHANGED and entry.purchased:
                    assert entry.delta > 0, entry
            # a seat exactly when active, granted by the profile, in a workspace
            for user in snap.users.values():
                held = snap.seats.get(user.id, set())
                assert held == self._needed(snap, user), (user.status, user.workspace_ids)
                if user.status == INVITED:
                    assert held == set()
            # §2.3: once there is an active owner or admin, there always is one
            privileged = snap.active_privileged()
            if self.had_admin:
                assert privileged >= 1, "the account lost its last active owner or admin"
            self.had_admin = self.had_admin or privileged >= 1

    return SeatRules


def test_seat_rules_hold_under_random_sequences_of_use_cases(uow_factory, backend):
    OUTCOMES.clear()
    machine = make_machine(uow_factory)
    run_state_machine_as_test(
        machine,
        settings=settings(
            max_examples=MAX_EXAMPLES,
            stateful_step_count=STEPS,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        ),
    )
    print(f"\n[{backend}] outcomes: " + ", ".join(f"{k}={v}" for k, v in sorted(OUTCOMES.items())))
