"""The parties on a document: the seller (the installation, set by an operator) and
the buyer (the account's billing details), PRODUCT.md §5 Documents. A document keeps
both as they were when it was issued."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Party:
    legal_name: str
    address_lines: tuple[str, ...]
    postal_code: str
    city: str
    country: str  # ISO 3166-1 alpha-2
    vat_id: str | None = None  # compact form, with its country prefix ("DE123456789")
    email: str | None = None
