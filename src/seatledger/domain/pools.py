"""License pools: one per account and module (PRODUCT.md §1)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from seatledger.domain.contracts import PoolTerms
from seatledger.domain.seat_policies import METERED, PoolState


@dataclass
class Pool:
    id: str
    account_id: str
    module: str
    capacity: int
    minimum: int
    unit_price: Decimal
    policy: str
    charge_timing: str
    proration: str
    in_use: int = 0
    committed_capacity: int = 0
    retired: bool = False

    @property
    def state(self) -> PoolState:
        return PoolState(
            module=self.module,
            policy=self.policy,
            capacity=self.capacity,
            minimum=self.minimum,
            in_use=self.in_use,
            committed_capacity=self.committed_capacity,
        )

    @property
    def terms(self) -> PoolTerms:
        return PoolTerms(
            module=self.module,
            capacity=self.capacity,
            minimum=self.minimum,
            unit_price=self.unit_price,
            policy=self.policy,
            charge_timing=self.charge_timing,
            proration=self.proration,
        )

    @property
    def is_metered(self) -> bool:
        return self.policy == METERED
