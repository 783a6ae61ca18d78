"""Use cases: the access check ("may this person log in / use this module now?")
and the pools' usage view."""

from __future__ import annotations

from contextlib import nullcontext
from dataclasses import dataclass
from datetime import datetime, timedelta

from seatledger.adapters.db.read_cache import ReadCache
from seatledger.adapters.db.repositories import AccessFacts
from seatledger.domain.accounts import Account, account_time
from seatledger.domain.contracts import check_module_name
from seatledger.domain.errors import InvalidInput, NotFound
from seatledger.domain.ledger import UsagePoint, usage_series
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
    cache: ReadCache | None = None,
) -> AccessAnswer:
    """``cache``: the facts are taken from it when kept there, else read (one
    statement) and kept; the answer is always worked out at ``at``."""
    key = _facts_key(account_id, user_id, email, module)
    facts = cache.get(account_id, key) if cache is not None else None
    if facts is None:
        with cache.reading(account_id) if cache is not None else nullcontext(None) as keep:
            facts = uow.access_facts(
                account_id=account_id, user_id=user_id, email_key=key[1], module=module
            )
            if keep is not None and facts.account_found:
                keep(key, facts)
    return _answer(facts, account_id=account_id, module=module, at=at)


def cached_answer(
    cache: ReadCache,
    *,
    account_id: str,
    at: datetime,
    user_id: str | None = None,
    email: str | None = None,
    module: str | None = None,
) -> AccessAnswer | None:
    """The answer from the facts kept in ``cache`` (no I/O), or None when they
    are not kept; the same refusals as ``check_access``."""
    facts = cache.get(account_id, _facts_key(account_id, user_id, email, module))
    return None if facts is None else _answer(facts, account_id=account_id, module=module, at=at)


def _facts_key(
    account_id: str, user_id: str | None, email: str | None, module: str | None
) -> tuple[str | None, str | None, str | None]:
    """(user id, email key, module): what the facts of one account depend on."""
    if (user_id is None) == (email is None):
        raise InvalidInput("give exactly one of user_id and email", field="user_id")
    if module is not None:
        check_module_name(module)
    email_key = normalize_email(email)[1] if email is not None else None
    return user_id, email_key, module


def _answer(
    facts: AccessFacts, *, account_id: str, module: str | None, at: datetime
) -> AccessAnswer:
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


@dataclass(frozen=True)
class AccountUsage:
    account: Account
    pools: list[Pool]  # live, by module


def list_accounts_usage(uow: UnitOfWork, *, limit: int, after: str | None) -> list[AccountUsage]:
    """A page of accounts, each with its pools' numbers (two queries a page)."""
    with uow:
        accounts = uow.accounts.list(limit=limit, after=after)
        pools = uow.pools.live_of_accounts([a.id for a in accounts])
    return [AccountUsage(a, pools[a.id]) for a in accounts]


HISTORY = timedelta(days=365)  # how far back the usage history reaches


@dataclass(frozen=True)
class UsageHistory:
    start: datetime
    end: datetime  # the account's now
    pools: list[tuple[Pool, list[UsagePoint]]]  # live pools, by module, with their steps


def usage_history(uow: UnitOfWork, *, account_id: str, at: datetime) -> UsageHistory:
    """Seats in use against capacity over time, from the seat ledger: the last
    ``HISTORY`` up to the account's now (from its first entry when that is later).
    Reads the entries of the range and one per module before it."""
    with uow:
        account = uow.read_account(account_id)
        end = account.time_at(at)
        since = end - HISTORY
        before = uow.ledger.last_before(account_id, since)
        entries = uow.ledger.entries(account_id, since=since, until=end)
        pools = uow.pools.live(account_id)
    start = since if before else min((e.at for e in entries), default=end)
    series = usage_series(start, end, before, entries)
    return UsageHistory(start, end, [(p, series.get(m, [])) for m, p in sorted(pools.items())])
