"""Use cases: the access check ("may this person log in / use this module now?")
and the pools' usage view."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from seatledger.domain.contracts import check_module_name
from seatledger.domain.errors import InvalidInput
from seatledger.domain.names import normalize_email
from seatledger.domain.pools import Pool
from seatledger.domain.users import access_reason
from seatledger.services.unit_of_work import UnitOfWork


@dataclass(frozen=True)
class AccessAnswer:
    allowed: bool
    reason: str
    user_id: str | None = None


def check_access(
    uow: UnitOfWork,
    *,
    account_id: str,
    at: datetime,
    user_id: str | None = None,
    email: str | None = None,
    module: str | None = None,
) -> AccessAnswer:
    if (user_id is None) == (email is None):
        raise InvalidInput("give exactly one of user_id and email", field="user_id")
    if module is not None:
        check_module_name(module)
    with uow:
        account = uow.read_account(account_id)
        if user_id is not None:
            user = uow.users.get(account_id, user_id)
        else:
            user = uow.users.by_email(account_id, normalize_email(email)[1])
        today = account.time_at(at).date()
        has_contract, end_date = uow.contracts.latest_end(account_id)
        ended = has_contract and end_date is not None and today > end_date
        holds = bool(user and module and uow.seats.holds(user.id, module))
        reason = access_reason(user, today=today, module=module, holds_seat=holds,
                               contract_ended=ended)
        return AccessAnswer(reason == "ok", reason, user.id if user else None)


def list_pools(uow: UnitOfWork, *, account_id: str) -> list[Pool]:
    with uow:
        uow.read_account(account_id)
        return list(uow.pools.live(account_id).values())
