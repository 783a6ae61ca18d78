"""Use cases: the installation's settings: the seller printed on every document
(PRODUCT.md §5 Documents)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from seatledger.adapters.parties import check_party
from seatledger.domain.errors import NotFound
from seatledger.domain.parties import Party
from seatledger.services.unit_of_work import UnitOfWork


def put_seller(uow: UnitOfWork, *, seller: Mapping[str, object], at: datetime) -> Party:
    """Sets the seller (its VAT id is required); documents already issued keep the
    seller they were issued with."""
    checked = check_party(seller, vat_id_required=True)
    with uow:
        before = uow.settings.seller()
        uow.settings.put_seller(checked, at=at)
        if checked != before:
            uow.record(
                "settings.seller_updated",
                subject="settings:seller",
                account_id=None,  # the installation's chain
                at=at,
                before=before,
                after=checked,
            )
        uow.commit()
    return checked


def get_seller(uow: UnitOfWork) -> Party:
    with uow:
        seller = uow.settings.seller()
    if seller is None:
        raise NotFound("no seller is set yet: PUT /v1/settings/seller", field="seller")
    return seller
