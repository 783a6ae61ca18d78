"""Use cases: the access check ("may this person log in / use this module now?")
and the pools' usage view."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from seatledger.domain.accounts import account_time
from seatledger.domain.contracts import check_module_name
from seatledger.domain.errors import InvalidInput, NotFound
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
    email_key = normalize_email(email)[1] if email is not None else None
    facts = uow.access_facts(
        account_id=account_id, user_id=user_id, email_key=email_key, module=module
    )
    if not facts.account_found:
        raise NotFound(f"account {account_id} not found", field="account_id")
    if not facts.module_known:
        raise InvalidInput(
            f"unknown module {module!r}: no pool of the account's contract names it", field="module"
        )
    today = account_time(facts.test_clock, facts.clock_now, at).date()
    ended = facts.has_contract and facts.end_date is not None and today > facts.end_date
    reason = access_reason(
        facts.user, today=today, module=module, holds_seat=facts.holds_seat, contract_ended=ended
    )
    return AccessAnswer(reason == "ok", reason, facts.user.id if facts.user else None)


def list_pools(uow: UnitOfWork, *, account_id: str) -> list[Pool]:
    with uow:
        uow.read_account(account_id)
        return list(uow.pools.live(account_id).values())
