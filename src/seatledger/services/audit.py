"""Use cases: the audit log, verified and listed."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from seatledger.domain.audit import Break, ChainCheck
from seatledger.services.unit_of_work import UnitOfWork

PAGE = 1000  # entries read at a time: memory stays flat however long a chain is


@dataclass(frozen=True)
class Verification:
    chains: int  # chains checked
    entries: int  # entries checked
    breaks: list[Break]  # the first break of each broken chain


def verify_audit(
    uow_factory: Callable[..., UnitOfWork], *, account_id: str | None = None
) -> Verification:
    """Every chain (or the account's), from its first entry to its head, in one
    snapshot of the database: names the first broken link of each chain."""
    breaks: list[Break] = []
    checked = 0
    with uow_factory(snapshot=True) as uow:
        heads = uow.audit_log.heads(account_id)
        chains = set(heads)
        if account_id is None:
            # NOTE: entries whose head is gone are a broken chain too.
            chains |= uow.audit_log.chains()
        elif account_id not in heads:
            uow.read_account(account_id)  # NotFound for an unknown account
            chains.add(account_id)
        for name in sorted(chains):
            check = ChainCheck(name)
            found = None
            while found is None:
                page = uow.audit_log.chain_page(name, after=check.position, limit=PAGE)
                if not page:
                    break
                found = check.feed(page)
                checked += len(page)
            found = found or check.finish(heads.get(name))
            if found is not None:
                breaks.append(found)
    return Verification(chains=len(chains), entries=checked, breaks=breaks)
