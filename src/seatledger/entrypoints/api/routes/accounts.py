"""Routes: accounts, contracts, pools, workspaces, profiles."""

from __future__ import annotations

from fastapi import APIRouter, status

from seatledger.entrypoints.api.auth import CurrentPrincipal
from seatledger.entrypoints.api.deps import Now, Paging, Uow
from seatledger.entrypoints.api.schemas import (
    AccountCreate,
    AccountPublic,
    AccountUpdate,
    ContractCreate,
    ContractPublic,
    Page,
    PoolCounts,
    PoolPublic,
    ProfileCreate,
    ProfilePublic,
    WorkspaceCreate,
    WorkspacePublic,
)
from seatledger.services import access, accounts

router = APIRouter(prefix="/v1", tags=["accounts"])


@router.post("/accounts", status_code=status.HTTP_201_CREATED, response_model=AccountPublic)
def create_account(body: AccountCreate, uow: Uow, now: Now, _: CurrentPrincipal) -> AccountPublic:
    account = accounts.create_account(
        uow,
        name=body.name,
        currency=body.currency,
        tax_rate=body.tax_rate,
        test_clock=body.test_clock,
        clock_start=body.clock_start,
        payment_method=body.payment_method,
        billing_email=body.billing_email,
        payment_terms_days=body.payment_terms_days,
        locale=body.locale,
        billing=body.billing.model_dump() if body.billing else None,
        at=now,
    )
    return AccountPublic.of(account)


@router.patch("/accounts/{account_id}", response_model=AccountPublic)
def update_account(
    account_id: str, body: AccountUpdate, uow: Uow, now: Now, _: CurrentPrincipal
) -> AccountPublic:
    given = body.model_dump(include=body.model_fields_set)
    return AccountPublic.of(accounts.update_account(uow, account_id=account_id, at=now, **given))


@router.get("/accounts", response_model=Page[AccountPublic])
def list_accounts(uow: Uow, page: Paging, _: CurrentPrincipal) -> dict:  # type: ignore[type-arg]
    items = accounts.list_accounts(uow, limit=page.limit + 1, after=page.after)
    return page.respond([AccountPublic.of(a) for a in items], [a.id for a in items])


@router.get("/accounts/{account_id}", response_model=AccountPublic)
def get_account(account_id: str, uow: Uow, _: CurrentPrincipal) -> AccountPublic:
    return AccountPublic.of(accounts.get_account(uow, account_id=account_id))


@router.post(
    "/accounts/{account_id}/contracts",
    status_code=status.HTTP_201_CREATED,
    response_model=ContractPublic,
)
def create_contract(
    account_id: str, body: ContractCreate, uow: Uow, now: Now, principal: CurrentPrincipal
) -> ContractPublic:
    contract = accounts.create_contract(
        uow,
        account_id=account_id,
        start_date=body.start_date,
        end_date=body.end_date,
        billing_interval=body.billing_interval,
        billing_anchor=body.billing_anchor,
        trial_end=body.trial_end,
        renewal_capacity=body.renewal_capacity,
        minimum_spend=body.minimum_spend,
        increase_approval=body.increase_approval,
        pools=[p.model_dump() for p in body.pools],
        at=now,
        actor=principal.actor,
    )
    currency = accounts.get_account(uow, account_id=account_id).currency
    return ContractPublic.of(contract, currency)


@router.get("/accounts/{account_id}/contracts", response_model=Page[ContractPublic])
def list_contracts(account_id: str, uow: Uow, _: CurrentPrincipal) -> dict:  # type: ignore[type-arg]
    currency = accounts.get_account(uow, account_id=account_id).currency
    items = accounts.list_contracts(uow, account_id=account_id)
    return {"data": [ContractPublic.of(c, currency) for c in items], "next_cursor": None}


@router.get("/accounts/{account_id}/pools", response_model=Page[PoolPublic] | Page[PoolCounts])
def list_pools(
    account_id: str, uow: Uow, principal: CurrentPrincipal
) -> Page[PoolPublic] | Page[PoolCounts]:
    """Owners and operators get each pool with its unit_price; admins the counts
    only, as another model (PRODUCT.md §2 rule 5)."""
    items = access.list_pools(uow, account_id=account_id)
    if not principal.may_act_on(account_id, "owner"):
        return Page[PoolCounts](data=[PoolCounts.of(p) for p in items], next_cursor=None)
    currency = accounts.get_account(uow, account_id=account_id).currency
    return Page[PoolPublic](data=[PoolPublic.priced(p, currency) for p in items], next_cursor=None)


@router.post(
    "/accounts/{account_id}/workspaces",
    status_code=status.HTTP_201_CREATED,
    response_model=WorkspacePublic,
)
def create_workspace(
    account_id: str, body: WorkspaceCreate, uow: Uow, now: Now, _: CurrentPrincipal
) -> WorkspacePublic:
    return WorkspacePublic.of(
        accounts.create_workspace(uow, account_id=account_id, name=body.name, at=now)
    )


@router.get("/accounts/{account_id}/workspaces", response_model=Page[WorkspacePublic])
def list_workspaces(account_id: str, uow: Uow, _: CurrentPrincipal) -> dict:  # type: ignore[type-arg]
    items = accounts.list_workspaces(uow, account_id=account_id)
    return {"data": [WorkspacePublic.of(w) for w in items], "next_cursor": None}


@router.post(
    "/accounts/{account_id}/profiles",
    status_code=status.HTTP_201_CREATED,
    response_model=ProfilePublic,
)
def create_profile(
    account_id: str, body: ProfileCreate, uow: Uow, now: Now, _: CurrentPrincipal
) -> ProfilePublic:
    return ProfilePublic.of(
        accounts.create_profile(
            uow, account_id=account_id, name=body.name, modules=body.modules, at=now
        )
    )


@router.get("/accounts/{account_id}/profiles", response_model=Page[ProfilePublic])
def list_profiles(account_id: str, uow: Uow, _: CurrentPrincipal) -> dict:  # type: ignore[type-arg]
    items = accounts.list_profiles(uow, account_id=account_id)
    return {"data": [ProfilePublic.of(p) for p in items], "next_cursor": None}
