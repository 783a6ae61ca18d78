"""Use case (read only): what-if pricing of an account's real history (PRODUCT.md §5).

The arithmetic is ``domain.what_if`` over ``domain.planner.plan``, the planner that
bills for real. This use case only reads, like the upcoming preview: no write lock,
nothing written, no number consumed.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from seatledger.domain.errors import InvalidInput
from seatledger.domain.periods import instant
from seatledger.domain.what_if import WhatIf, check_range, side_by_side, what_if_documents
from seatledger.services.accounts import contract_version
from seatledger.services.unit_of_work import UnitOfWork


def what_if(
    uow: UnitOfWork,
    *,
    account_id: str,
    start: date,
    end: date,
    contract: Mapping[str, Any],
    at: datetime,
) -> WhatIf:
    """The documents issued in ``[start, end)`` beside those ``contract`` (the body of
    a new contract, as ``accounts.create_contract`` takes it; ``start_date`` defaults
    to the start of the account's first contract version, else ``start``) would have
    issued over the account's real seat ledger. ``end`` may not lie after the account's
    now, nor more than 5 years after ``start`` (422 naming ``to``); a contract invalid
    as a contract is 422 naming its field under ``contract.``."""
    with uow:
        account = uow.read_account(account_id)
        now = account.time_at(at)
        check_range(start, end, now)
        real = uow.contracts.all(account_id)
        given = dict(contract)
        if given.get("start_date") is None:
            given["start_date"] = real[0].start_date if real else start
        try:
            terms = contract_version(
                account, today=now.date(), version=1, recorded_at=None, **given
            )
        except InvalidInput as refusal:
            field = f"contract.{refusal.field}" if refusal.field else "contract"
            raise InvalidInput(refusal.message, field=field, **refusal.extra) from None
        ledger = uow.ledger.entries(account_id)
        actual = [
            d
            for d in uow.invoices.issued_since(account_id, instant(start))
            if d.issued_at < instant(end)
        ]
    drafts = what_if_documents(
        currency=account.currency,
        tax_rate=account.tax_rate,
        contract=terms,
        ledger=ledger,
        start=start,
        end=end,
    )
    return side_by_side(account.currency, actual, drafts)
