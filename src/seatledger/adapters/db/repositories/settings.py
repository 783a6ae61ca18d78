"""Repository: the installation's settings (one row): the seller of every document."""

from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy import Connection, select

from seatledger.adapters.db import tables as t
from seatledger.adapters.db.rows import upsert
from seatledger.domain.parties import Party

_ROW = 1  # seller_settings holds one row (CHECK id = 1)


class Settings:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def seller(self) -> Party | None:
        row = self.conn.execute(
            select(t.seller_settings).where(t.seller_settings.c.id == _ROW)
        ).first()
        if row is None:
            return None
        return Party(
            legal_name=row.legal_name,
            address_lines=tuple(json.loads(row.address_lines)),
            postal_code=row.postal_code,
            city=row.city,
            country=row.country,
            vat_id=row.vat_id,
            email=row.email,
        )

    def put_seller(self, seller: Party, *, at: datetime) -> None:
        """Writes the one row, whether or not it exists (concurrent puts: the last wins)."""
        values = {
            "legal_name": seller.legal_name,
            "address_lines": json.dumps(list(seller.address_lines)),
            "postal_code": seller.postal_code,
            "city": seller.city,
            "country": seller.country,
            "vat_id": seller.vat_id,
            "email": seller.email,
            "updated_at": at,
        }
        self.conn.execute(
            upsert(self.conn, t.seller_settings)
            .values(id=_ROW, **values)
            .on_conflict_do_update(index_elements=["id"], set_=values)
        )
