"""Routes: the installation's settings (the seller on every document)."""

from __future__ import annotations

from fastapi import APIRouter

from seatledger.entrypoints.api.auth import CurrentPrincipal
from seatledger.entrypoints.api.deps import Now, Uow
from seatledger.entrypoints.api.schemas import PartyPublic, SellerIn
from seatledger.services import settings

router = APIRouter(prefix="/v1", tags=["settings"])


@router.put("/settings/seller", response_model=PartyPublic)
def put_seller(body: SellerIn, uow: Uow, now: Now, _: CurrentPrincipal) -> PartyPublic | None:
    return PartyPublic.of(settings.put_seller(uow, seller=body.model_dump(), at=now))


@router.get("/settings/seller", response_model=PartyPublic)
def get_seller(uow: Uow, _: CurrentPrincipal) -> PartyPublic | None:
    return PartyPublic.of(settings.get_seller(uow))
