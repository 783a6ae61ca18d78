"""Repository: each document's PDF as first rendered, kept (insert-only, migration 0005)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, select

from seatledger.adapters.db import tables as t
from seatledger.adapters.db.rows import upsert


class InvoicePdfs:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def get(self, invoice_id: str) -> bytes | None:
        pdf = self.conn.execute(
            select(t.invoice_pdfs.c.pdf).where(t.invoice_pdfs.c.invoice_id == invoice_id)
        ).scalar()
        return None if pdf is None else bytes(pdf)

    def keep(self, invoice_id: str, pdf: bytes, *, at: datetime) -> bytes:
        """Keeps ``pdf`` unless a PDF of the document is kept already, and returns the
        one kept: on a primary-key conflict (another request kept one first) the
        INSERT does nothing, waiting for that request to commit, and the stored
        bytes win."""
        self.conn.execute(
            upsert(self.conn, t.invoice_pdfs)
            .values(invoice_id=invoice_id, pdf=pdf, rendered_at=at)
            .on_conflict_do_nothing(index_elements=["invoice_id"])
        )
        kept = self.get(invoice_id)
        assert kept is not None  # inserted now, or by the request that came first
        return kept
