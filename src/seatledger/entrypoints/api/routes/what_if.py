"""Route: what-if pricing of an account's real history (PRODUCT.md §5)."""

from __future__ import annotations

from fastapi import APIRouter

from seatledger.entrypoints.api.auth import CurrentPrincipal
from seatledger.entrypoints.api.deps import Now, Uow
from seatledger.entrypoints.api.schemas import WhatIfIn, WhatIfOut
from seatledger.services import what_if

router = APIRouter(prefix="/v1", tags=["billing"])


@router.post("/accounts/{account_id}/what-if", response_model=WhatIfOut)
def price_what_if(
    account_id: str, body: WhatIfIn, uow: Uow, now: Now, _: CurrentPrincipal
) -> WhatIfOut:
    """The documents issued in [from, to) beside those the contract would have issued
    over the same seat ledger, through the same billing. Stores nothing, consumes no
    number."""
    result = what_if.what_if(
        uow,
        account_id=account_id,
        start=body.from_,
        end=body.to,
        contract=body.contract.model_dump(),
        at=now,
    )
    return WhatIfOut.of(account_id, result)
