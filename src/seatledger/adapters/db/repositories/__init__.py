"""Repositories: rows in, domain objects out. Thin; no business rule here."""

from seatledger.adapters.db.repositories.accounts import (
    Accounts,
    Contracts,
    Profiles,
    Workspaces,
)
from seatledger.adapters.db.repositories.audit import AuditLog
from seatledger.adapters.db.repositories.billing import BillingMarkers, BillingStates, Invoices
from seatledger.adapters.db.repositories.billing_runs import BillingJobs, BillingRuns
from seatledger.adapters.db.repositories.credentials import OperatorKeys, ScimTokens
from seatledger.adapters.db.repositories.documents import InvoicePdfs
from seatledger.adapters.db.repositories.seats import Ledger, Pools, SeatRequests, Seats
from seatledger.adapters.db.repositories.settings import Settings
from seatledger.adapters.db.repositories.tokens import TokenHolder, UserTokens
from seatledger.adapters.db.repositories.users import (
    AccessFacts,
    Invitations,
    Users,
    access_facts,
)
from seatledger.adapters.db.repositories.webhooks import WebhookEndpoints, WebhookOutbox

__all__ = [
    "AccessFacts",
    "Accounts",
    "AuditLog",
    "BillingJobs",
    "BillingMarkers",
    "BillingRuns",
    "BillingStates",
    "Contracts",
    "Invitations",
    "InvoicePdfs",
    "Invoices",
    "Ledger",
    "OperatorKeys",
    "Pools",
    "Profiles",
    "ScimTokens",
    "SeatRequests",
    "Seats",
    "Settings",
    "TokenHolder",
    "UserTokens",
    "Users",
    "WebhookEndpoints",
    "WebhookOutbox",
    "Workspaces",
    "access_facts",
]
