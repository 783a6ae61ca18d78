"""Use cases: accounts, contracts, workspaces, profiles."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import date, datetime
from typing import Any

from seatledger.adapters.db.repositories.seats import SeatTerms
from seatledger.adapters.locales import check_locale
from seatledger.adapters.parties import check_party
from seatledger.domain import money
from seatledger.domain.accounts import (
    Account,
    Profile,
    Workspace,
    check_account_name,
    check_payment_method,
    check_payment_terms_days,
)
from seatledger.domain.contracts import (
    Contract,
    PoolTerms,
    check_contract,
    check_minimum_spend,
    check_module_name,
)
from seatledger.domain.errors import InvalidInput, NotFound, RuleRefusal
from seatledger.domain.ids import new_id
from seatledger.domain.ledger import CAUSE_CONTRACT, LedgerEntry
from seatledger.domain.money import parse_amount
from seatledger.domain.names import check_display_name, check_external_id, normalize_email
from seatledger.domain.parties import Party
from seatledger.domain.periods import instant
from seatledger.domain.pools import Pool
from seatledger.domain.seat_policies import CAPPED_POLICIES
from seatledger.domain.users import ACTIVE
from seatledger.services.charges import issue_charges
from seatledger.services.seats import record_capacity_change, sync_seats
from seatledger.services.unit_of_work import UnitOfWork
from seatledger.services.unset import UNSET


def create_account(
    uow: UnitOfWork,
    *,
    name: str,
    currency: str,
    at: datetime,
    tax_rate: str | None = None,
    test_clock: bool = False,
    clock_start: datetime | None = None,
    payment_method: str = "invoice",
    billing_email: str | None = None,
    payment_terms_days: int = 30,
    locale: str = "en",
    billing: Mapping[str, object] | None = None,
) -> Account:
    """An account starts with a default workspace and a default profile that
    grants every module of its contract (§1). ``billing``: the buyer on its
    documents."""
    account = Account(
        id=new_id("acc"),
        name=check_account_name(name),
        currency=money.check_currency(currency),
        tax_rate=money.parse_percentage(tax_rate) if tax_rate is not None else None,
        payment_method=check_payment_method(payment_method),
        billing_email=normalize_email(billing_email, field="billing_email")[0]
        if billing_email
        else None,
        payment_terms_days=check_payment_terms_days(payment_terms_days),
        locale=check_locale(locale),
        billing=_billing(billing),
        test_clock=test_clock,
        clock_now=(clock_start or at) if test_clock else None,
        created_at=at,
    )
    if clock_start is not None and not test_clock:
        raise InvalidInput("clock_start needs test_clock: true", field="clock_start")
    with uow:
        uow.accounts.add(account)
        uow.own_new_account(account)
        uow.workspaces.add(Workspace(new_id("wsp"), account.id, "Default", is_default=True), at=at)
        uow.profiles.add(
            Profile(new_id("prf"), account.id, "Default", None, is_default=True), at=at
        )
        uow.record(
            "account.created",
            subject=f"account:{account.id}",
            account_id=account.id,
            at=account.time_at(at),
            after=account,
        )
        uow.commit()
    return account


def update_account(
    uow: UnitOfWork,
    *,
    account_id: str,
    at: datetime,
    name: Any = UNSET,
    tax_rate: Any = UNSET,
    payment_method: Any = UNSET,
    billing_email: Any = UNSET,
    payment_terms_days: Any = UNSET,
    locale: Any = UNSET,
    billing: Any = UNSET,
) -> Account:
    """Changes what is given (None clears ``tax_rate``, ``billing_email`` and
    ``billing``). Documents already issued keep what they had: they are frozen.
    ``at``: now (the account's clock, on a test clock); a change is logged, a
    request that changes nothing is not."""
    with uow:
        account = uow.lock_account(account_id)
        before = replace(account)
        if name is not UNSET:
            account.name = check_account_name(name)
        if tax_rate is not UNSET:
            account.tax_rate = money.parse_percentage(tax_rate) if tax_rate is not None else None
        if payment_method is not UNSET:
            account.payment_method = check_payment_method(payment_method)
        if billing_email is not UNSET:
            account.billing_email = (
                normalize_email(billing_email, field="billing_email")[0] if billing_email else None
            )
        if payment_terms_days is not UNSET:
            account.payment_terms_days = check_payment_terms_days(payment_terms_days)
        if locale is not UNSET:
            account.locale = check_locale(locale)
        if billing is not UNSET:
            account.billing = _billing(billing)
        uow.accounts.save(account)
        if account != before:
            uow.record(
                "account.updated",
                subject=f"account:{account.id}",
                account_id=account.id,
                at=account.time_at(at),
                before=before,
                after=account,
            )
        uow.commit()
    return account


def _billing(raw: Mapping[str, object] | None) -> Party | None:
    return None if raw is None else check_party(raw, field_prefix="billing.")


def get_account(uow: UnitOfWork, *, account_id: str) -> Account:
    with uow:
        return uow.read_account(account_id)


def list_accounts(uow: UnitOfWork, *, limit: int, after: str | None) -> list[Account]:
    with uow:
        return uow.accounts.list(limit=limit, after=after)


def _parse_pools(raw_pools: list[dict[str, Any]], currency: str) -> list[PoolTerms]:
    terms: list[PoolTerms] = []
    for index, raw in enumerate(raw_pools):
        where = f"pools[{index}]"
        module = check_module_name(raw.get("module"), field=f"{where}.module")
        policy = raw.get("policy")
        capacity = raw.get("capacity")
        if capacity is None and policy == "metered":
            capacity = 0
        if capacity is None:
            raise InvalidInput("capacity is required", field=f"{where}.capacity")
        terms.append(
            PoolTerms(
                module=module,
                capacity=capacity,
                minimum=raw.get("minimum") if raw.get("minimum") is not None else 0,
                unit_price=money.parse_amount(
                    raw.get("unit_price"), currency, field=f"{where}.unit_price"
                ),
                policy=policy,  # type: ignore[arg-type]
                charge_timing=raw.get("charge_timing") or "immediate",
                proration=raw.get("proration") or "day",
            )
        )
    return terms


def contract_version(
    account: Account,
    *,
    today: date,
    version: int,
    recorded_at: datetime | None,
    start_date: date,
    billing_interval: str,
    pools: list[dict[str, Any]],
    end_date: date | None = None,
    increase_approval: str = "automatic",
    billing_anchor: date | None = None,
    trial_end: date | None = None,
    renewal_capacity: str = "carry",
    minimum_spend: str | None = None,
) -> Contract:
    """A contract version of ``account`` as given, by the form rules of a contract
    (``check_contract``; ``today`` is the account's day), its pools and minimum spend
    parsed for the account's currency. Pure: nothing is read or stored."""
    terms = _parse_pools(pools, account.currency)
    check_contract(
        start_date=start_date,
        end_date=end_date,
        billing_interval=billing_interval,
        increase_approval=increase_approval,
        pools=terms,
        today=today,
        billing_anchor=billing_anchor,
        trial_end=trial_end,
        renewal_capacity=renewal_capacity,
    )
    spend = (
        check_minimum_spend(parse_amount(minimum_spend, account.currency, field="minimum_spend"))
        if minimum_spend is not None
        else None
    )
    return Contract(
        id=new_id("ctr"),
        account_id=account.id,
        version=version,
        start_date=start_date,
        end_date=end_date,
        billing_interval=billing_interval,
        increase_approval=increase_approval,
        pools=terms,
        billing_anchor=billing_anchor,
        trial_end=trial_end,
        renewal_capacity=renewal_capacity,
        minimum_spend=spend,
        recorded_at=recorded_at,
    )


def create_contract(
    uow: UnitOfWork,
    *,
    account_id: str,
    start_date: date,
    billing_interval: str,
    pools: list[dict[str, Any]],
    at: datetime,
    actor: str,
    end_date: date | None = None,
    increase_approval: str = "automatic",
    billing_anchor: date | None = None,
    trial_end: date | None = None,
    renewal_capacity: str = "carry",
    minimum_spend: str | None = None,
) -> Contract:
    """A new contract version. The first version is applied at once (an account is
    set up before its start); a later one takes effect from its start date: at once
    when that date has come, else when a billing run or clock move reaches it. What
    it changes inside a period already billed is billed by the next run (§5)."""
    with uow:
        account = uow.lock_account(account_id)
        at = account.time_at(at)
        today = at.date()
        version = uow.contracts.next_version(account_id)
        contract = contract_version(
            account,
            today=today,
            version=version,
            recorded_at=at,
            start_date=start_date,
            end_date=end_date,
            billing_interval=billing_interval,
            increase_approval=increase_approval,
            pools=pools,
            billing_anchor=billing_anchor,
            trial_end=trial_end,
            renewal_capacity=renewal_capacity,
            minimum_spend=minimum_spend,
        )
        if version > 1:
            _check_later_version(
                uow,
                account_id,
                start_date,
                contract.pools,
                billing_anchor=billing_anchor,
                trial_end=trial_end,
            )
        apply_now = version == 1 or start_date <= today
        uow.contracts.add(contract, at=at, applied=apply_now)
        uow.record(
            "contract.created",
            subject=f"contract:{contract.id}",
            account_id=account_id,
            at=at,
            after=contract,
        )
        if apply_now:
            # NOTE: a first version governs from its start: a back-dated one has had
            # its capacity since then (its periods are billed by the next run).
            effective = min(at, instant(start_date)) if version == 1 else at
            purchases = apply_contract_terms(
                uow, account=account, contract=contract, at=effective, actor=actor, seats_at=at
            )
            issue_charges(uow, account, purchases)
        uow.billing_states.due_no_later(account_id, instant(start_date))
        uow.commit()
    return contract


def _check_later_version(
    uow: UnitOfWork,
    account_id: str,
    start_date: date,
    terms: list[PoolTerms],
    *,
    billing_anchor: date | None,
    trial_end: date | None,
) -> None:
    """§5: a later version keeps the account's anchor; it starts no earlier than the
    last instant already billed, nor before the version it follows; and it sets no
    capacity below the capacity added this term by true-up or auto_purchase."""
    if billing_anchor is not None:
        raise InvalidInput(
            "billing_anchor is the account's: only its first contract version sets it",
            field="billing_anchor",
        )
    if trial_end is not None:
        raise InvalidInput(
            "trial_end applies to an account's first contract version only", field="trial_end"
        )
    billed_through = uow.billing_states.get(account_id).billed_through
    if billed_through is not None and instant(start_date) < billed_through:
        raise InvalidInput(
            f"a new version may start no earlier than {billed_through.isoformat()}, "
            "the last instant already billed",
            field="start_date",
            billed_through=billed_through.isoformat(),
        )
    latest = uow.contracts.all(account_id)[-1]
    if start_date < latest.start_date:
        raise InvalidInput(
            f"a new version may not start before version {latest.version} ({latest.start_date})",
            field="start_date",
        )
    pools = uow.pools.all(account_id)
    for index, term in enumerate(terms):
        pool = pools.get(term.module)
        if pool is not None and term.capacity < pool.committed_capacity:
            raise InvalidInput(
                f"capacity {term.capacity} of pool {term.module!r} is below the "
                f"{pool.committed_capacity} seats added this term, which cannot be reduced "
                "for the duration of the contract",
                field=f"pools[{index}].capacity",
                committed_capacity=pool.committed_capacity,
            )


def apply_contract_terms(
    uow: UnitOfWork,
    *,
    account: Account,
    contract: Contract,
    at: datetime,
    actor: str,
    seats_at: datetime | None = None,
    keep_seats_in_use: bool = False,
) -> list[LedgerEntry]:
    """Bring the pools to a contract version's terms (helper, no commit); returns the
    seats bought meanwhile (users taking the seats of a module it adds), to charge.

    Rule §2.4: under block / inactive_when_full, capacity never drops below
    the seats in use: a version recorded now below them is refused; one recorded
    earlier that takes effect now (``keep_seats_in_use``, a billing run reaching its
    start) keeps the seats in use as capacity, since seatledger never deactivates
    users to make room. A module dropped by the version must hold no seat.
    Users whose profile grants a newly added module take its seat under the
    pool's policy (a full block pool refuses the whole version)."""
    existing = uow.pools.all(account.id)
    new_modules: list[str] = []
    for index, term in enumerate(contract.pools):
        pool = existing.get(term.module)
        if pool is None:
            pool = Pool(
                id=new_id("pool"),
                account_id=account.id,
                module=term.module,
                capacity=0,
                minimum=term.minimum,
                unit_price=term.unit_price,
                policy=term.policy,
                charge_timing=term.charge_timing,
                proration=term.proration,
            )
            uow.pools.add(pool)
            new_modules.append(term.module)
        elif pool.retired:
            new_modules.append(term.module)
        capacity = term.capacity
        if term.policy in CAPPED_POLICIES and capacity < pool.in_use and keep_seats_in_use:
            capacity = pool.in_use
        if term.policy in CAPPED_POLICIES and capacity < pool.in_use:
            raise RuleRefusal(
                f"{pool.in_use} seats of pool {term.module!r} are in use: remove users first "
                f"before reducing the licenses to {term.capacity}.",
                field=f"pools[{index}].capacity",
                in_use=pool.in_use,
            )
        delta = capacity - pool.capacity
        updated = replace(
            pool,
            minimum=term.minimum,
            unit_price=term.unit_price,
            policy=term.policy,
            charge_timing=term.charge_timing,
            proration=term.proration,
            committed_capacity=0,
            retired=False,
        )
        uow.pools.save_terms(updated)
        if delta:
            record_capacity_change(
                uow,
                pool=updated,
                delta=delta,
                at=at,
                actor=actor,
                cause=CAUSE_CONTRACT,
                recorded_at=seats_at,
            )
    for module, pool in existing.items():
        if module in contract.modules or pool.retired:
            continue
        if pool.in_use:
            raise RuleRefusal(
                f"{pool.in_use} users hold seats in module {module!r}, which this version "
                "drops: move them to another profile first.",
                field="pools",
            )
        uow.pools.save_terms(replace(pool, retired=True))
        if pool.capacity:
            record_capacity_change(
                uow,
                pool=pool,
                delta=-pool.capacity,
                at=at,
                actor=actor,
                cause=CAUSE_CONTRACT,
                recorded_at=seats_at,
            )
    purchases: list[LedgerEntry] = []
    if new_modules:
        # NOTE: read once for all the active users (not per user): the pools, kept
        # current in memory by sync_seats as each user takes its seats, the
        # profiles, the seats held and the contract's end.
        live = uow.pools.live(account.id)
        profiles = {p.id: p for p in uow.profiles.list(account.id)}
        _, contract_end = uow.contracts.latest_end(account.id)
        active = uow.users.list(
            account.id, status=ACTIVE, include_deleted=False, limit=None, after=None
        )
        held = uow.seats.held_by_each([u.id for u in active])
        for user in active:
            terms = SeatTerms(live, profiles.get(user.profile_id or ""), contract_end)
            change = sync_seats(
                uow,
                user=user,
                operation="contract",
                at=seats_at or at,
                actor=actor,
                terms=terms,
                held=held[user.id],
            )
            purchases += change.purchases
    return purchases


def list_contracts(uow: UnitOfWork, *, account_id: str) -> list[Contract]:
    with uow:
        uow.read_account(account_id)
        return uow.contracts.all(account_id)


def create_workspace(
    uow: UnitOfWork, *, account_id: str, name: str, at: datetime, external_id: str | None = None
) -> Workspace:
    """``external_id``: the identity provider's id for it (a SCIM Group)."""
    with uow:
        account = uow.lock_account(account_id)
        workspace = create_workspace_step(uow, account, name=name, at=at, external_id=external_id)
        uow.commit()
    return workspace


def create_workspace_step(
    uow: UnitOfWork, account: Account, *, name: str, at: datetime, external_id: str | None = None
) -> Workspace:
    """``create_workspace`` inside an open unit of work, after the account lock
    (services/scim.py composes it); never commits."""
    workspace = Workspace(
        new_id("wsp"),
        account.id,
        check_display_name(name, field="name"),
        external_id=check_external_id(external_id),
    )
    at = account.time_at(at)
    uow.workspaces.add(workspace, at=at)
    uow.record(
        "workspace.created",
        subject=f"workspace:{workspace.id}",
        account_id=account.id,
        at=at,
        after=workspace,
    )
    return workspace


def list_workspaces(uow: UnitOfWork, *, account_id: str) -> list[Workspace]:
    with uow:
        uow.read_account(account_id)
        return uow.workspaces.list(account_id)


def create_profile(
    uow: UnitOfWork, *, account_id: str, name: str, modules: list[str], at: datetime
) -> Profile:
    name = check_display_name(name, field="name")
    if not isinstance(modules, list):
        raise InvalidInput("modules must be a list", field="modules")
    with uow:
        at = uow.lock_account(account_id).time_at(at)
        known = set(uow.pools.live(account_id))
        for index, module in enumerate(modules):
            check_module_name(module, field=f"modules[{index}]")
            if module not in known:
                raise InvalidInput(
                    f"unknown module {module!r}: no pool of the account's contract names it",
                    field=f"modules[{index}]",
                )
        profile = Profile(new_id("prf"), account_id, name, frozenset(modules))
        uow.profiles.add(profile, at=at)
        uow.record(
            "profile.created",
            subject=f"profile:{profile.id}",
            account_id=account_id,
            at=at,
            after=profile,
        )
        uow.commit()
    return profile


def list_profiles(uow: UnitOfWork, *, account_id: str) -> list[Profile]:
    with uow:
        uow.read_account(account_id)
        return uow.profiles.list(account_id)


def get_profile(uow: UnitOfWork, *, account_id: str, profile_id: str) -> Profile:
    with uow:
        profile = uow.profiles.get(account_id, profile_id)
        if profile is None:
            raise NotFound(f"profile {profile_id} not found", field="profile_id")
        return profile
