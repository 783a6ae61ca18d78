"""SQLAlchemy Core tables: the schema the migrations build.

Integrity rules live here too, so the database refuses what the code must
never do: a capped pool over capacity (CHECK), two live users with one email
(partial unique index), two seats of one user in one pool (primary key).
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)

from seatledger.adapters.db.types import Money, UTCDateTime

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

Id = String(40)
# NOTE: SQLite only auto-increments INTEGER PRIMARY KEY.
BigId = BigInteger().with_variant(Integer(), "sqlite")

operator_keys = Table(
    "operator_keys",
    metadata,
    Column("id", Id, primary_key=True),
    Column("name", String(100), nullable=False),
    Column("key_hash", String(64), nullable=False, unique=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("last_used_at", UTCDateTime, nullable=True),
    Column("revoked_at", UTCDateTime, nullable=True),
)

user_tokens = Table(
    "user_tokens",
    metadata,
    # NOTE: only the token's hash is kept; every request checks the user as it is now.
    Column("id", Id, primary_key=True),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("account_id", Id, ForeignKey("accounts.id"), nullable=False),
    Column("user_id", Id, ForeignKey("users.id"), nullable=False, index=False),
    Column("role", String(10), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Column("revoked_at", UTCDateTime, nullable=True),
    Column("created_by", String(100), nullable=False),
    CheckConstraint("expires_at > created_at", name="expiry"),
    Index("ix_user_tokens_user", "user_id"),
)

idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    # NOTE: claimed by a unique insert in the same transaction as the effect.
    Column("caller", String(100), primary_key=True),
    Column("key", String(255), primary_key=True),
    Column("fingerprint", String(64), nullable=False),
    Column("status_code", Integer, nullable=True),
    Column("body", LargeBinary, nullable=True),
    Column("content_type", String(100), nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Index("ix_idempotency_keys_created_at", "created_at"),
)

accounts = Table(
    "accounts",
    metadata,
    Column("id", Id, primary_key=True),
    Column("name", String(100), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("tax_rate", Money, nullable=True),
    Column("payment_method", String(20), nullable=False, server_default="invoice"),
    Column("billing_email", String(254), nullable=True),
    Column("payment_terms_days", Integer, nullable=False, server_default="30"),
    Column("locale", String(35), nullable=False, server_default="en"),
    Column("billing", Text, nullable=True),  # JSON: domain.parties.Party
    Column("test_clock", Boolean, nullable=False, server_default=text("false")),
    Column("clock_now", UTCDateTime, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    # NOTE: every write use case starts with the account lock (repositories/accounts.py):
    # on SQLite UPDATE accounts SET lock_version = lock_version + 1, which takes the write
    # lock as the transaction's first statement; on PostgreSQL the account's row (and its
    # audit head's) locked FOR NO KEY UPDATE by a SELECT (lock_real_clock and lock_owner
    # still UPDATE lock_version), which serializes writes per account.
    Column("lock_version", BigInteger, nullable=False, server_default="0"),
    CheckConstraint("payment_terms_days BETWEEN 0 AND 365", name="payment_terms_days"),
)

workspaces = Table(
    "workspaces",
    metadata,
    Column("id", Id, primary_key=True),
    Column("account_id", Id, ForeignKey("accounts.id"), nullable=False, index=True),
    Column("name", String(100), nullable=False),
    Column("is_default", Boolean, nullable=False, server_default=text("false")),
    Column("created_at", UTCDateTime, nullable=False),
    # NOTE: the identity provider's id for the group (SCIM externalId).
    Column("external_id", String(255), nullable=True),
    Column("updated_at", UTCDateTime, nullable=True),  # None: unchanged since created_at
    # NOTE: a deleted workspace (a SCIM Group deleted) keeps its row, for the
    # invitations and the audit log that name it; never the default one (trigger).
    Column("deleted_at", UTCDateTime, nullable=True),
)

profiles = Table(
    "profiles",
    metadata,
    Column("id", Id, primary_key=True),
    Column("account_id", Id, ForeignKey("accounts.id"), nullable=False, index=True),
    Column("name", String(100), nullable=False),
    # NOTE: all_modules: the default profile grants every module of the contract in force.
    Column("all_modules", Boolean, nullable=False, server_default=text("false")),
    Column("is_default", Boolean, nullable=False, server_default=text("false")),
    Column("created_at", UTCDateTime, nullable=False),
)

profile_modules = Table(
    "profile_modules",
    metadata,
    Column("profile_id", Id, ForeignKey("profiles.id"), primary_key=True),
    Column("module", String(64), primary_key=True),
)

contracts = Table(
    "contracts",
    metadata,
    Column("id", Id, primary_key=True),
    Column("account_id", Id, ForeignKey("accounts.id"), nullable=False),
    Column("version", Integer, nullable=False),
    Column("start_date", Date, nullable=False),
    Column("end_date", Date, nullable=True),
    Column("billing_interval", String(10), nullable=False),
    Column("increase_approval", String(10), nullable=False),
    Column("applied", Boolean, nullable=False, server_default=text("false")),
    # NOTE: when the version was recorded: its difference falls due at the later of
    # its start and this moment (PRODUCT.md §5).
    Column("created_at", UTCDateTime, nullable=False),
    Column("billing_anchor", Date, nullable=True),
    Column("trial_end", Date, nullable=True),
    Column("renewal_capacity", String(10), nullable=False, server_default="carry"),
    Column("minimum_spend", Money, nullable=True),
    UniqueConstraint("account_id", "version", name="uq_contracts_account_version"),
    CheckConstraint("end_date IS NULL OR end_date >= start_date", name="dates"),
    CheckConstraint("trial_end IS NULL OR trial_end > start_date", name="trial"),
    CheckConstraint(
        "billing_interval IN ('month', 'quarter', 'half_year', 'year')", name="interval"
    ),
    CheckConstraint("renewal_capacity IN ('carry', 'in_use')", name="renewal_capacity"),
    CheckConstraint(
        "minimum_spend IS NULL OR CAST(minimum_spend AS NUMERIC) BETWEEN 0 AND 1000000000000000",
        name="minimum_spend",
    ),
)

contract_pools = Table(
    "contract_pools",
    metadata,
    Column("contract_id", Id, ForeignKey("contracts.id"), primary_key=True),
    Column("module", String(64), primary_key=True),
    Column("capacity", Integer, nullable=False),
    Column("minimum", Integer, nullable=False),
    Column("unit_price", Money, nullable=False),
    Column("policy", String(20), nullable=False),
    Column("charge_timing", String(20), nullable=False),
    Column("proration", String(10), nullable=False),
    CheckConstraint(
        "capacity BETWEEN 0 AND 1000000 AND minimum BETWEEN 0 AND 1000000 "
        "AND CAST(unit_price AS NUMERIC) BETWEEN 0 AND 1000000000",
        name="bounds",
    ),
)

pools = Table(
    "pools",
    metadata,
    Column("id", Id, primary_key=True),
    Column("account_id", Id, ForeignKey("accounts.id"), nullable=False),
    Column("module", String(64), nullable=False),
    Column("capacity", Integer, nullable=False),
    Column("minimum", Integer, nullable=False),
    Column("unit_price", Money, nullable=False),
    Column("policy", String(20), nullable=False),
    Column("charge_timing", String(20), nullable=False),
    Column("proration", String(10), nullable=False),
    Column("in_use", Integer, nullable=False, server_default="0"),
    # NOTE: capacity reached this term through true_up / auto_purchase: never reduced below.
    Column("committed_capacity", Integer, nullable=False, server_default="0"),
    # NOTE: a pool dropped by a newer contract version stays (its ledger refers to it).
    Column("retired", Boolean, nullable=False, server_default=text("false")),
    UniqueConstraint("account_id", "module", name="uq_pools_account_module"),
    CheckConstraint("in_use >= 0 AND capacity >= 0 AND minimum >= 0", name="non_negative"),
    CheckConstraint(
        "policy NOT IN ('block', 'inactive_when_full') OR in_use <= capacity",
        name="capped_in_use",
    ),
)

users = Table(
    "users",
    metadata,
    Column("id", Id, primary_key=True),
    Column("account_id", Id, ForeignKey("accounts.id"), nullable=False),
    Column("email", String(254), nullable=False),
    Column("email_key", String(254), nullable=False),
    Column("first_name", String(100), nullable=False, server_default=""),
    Column("last_name", String(100), nullable=False, server_default=""),
    Column("department", String(100), nullable=True),
    Column("role", String(10), nullable=False),
    Column("status", String(10), nullable=False),
    Column("profile_id", Id, ForeignKey("profiles.id"), nullable=True),
    Column("valid_to", Date, nullable=True),
    Column("password_hash", String(200), nullable=True),
    Column("setup_token_hash", String(64), nullable=True, unique=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    # NOTE: the identity provider's id for the user (SCIM externalId).
    Column("external_id", String(255), nullable=True),
    # NOTE: JSON, the addresses the identity provider lists (SCIM emails), as sent;
    # the user signs in with ``email`` (SCIM userName) alone.
    Column("listed_emails", Text, nullable=True),
    Index("ix_users_account_status", "account_id", "status"),
    Index("ix_users_account_external_id", "account_id", "external_id"),
    # NOTE: emails are unique per account among users not deleted, case-insensitively.
    Index(
        "uq_users_live_email",
        "account_id",
        "email_key",
        unique=True,
        sqlite_where=text("status <> 'deleted'"),
        postgresql_where=text("status <> 'deleted'"),
    ),
)

user_workspaces = Table(
    "user_workspaces",
    metadata,
    Column("user_id", Id, ForeignKey("users.id"), primary_key=True),
    Column("workspace_id", Id, ForeignKey("workspaces.id"), primary_key=True),
)

seats = Table(
    "seats",
    metadata,
    # NOTE: a projection of the ledger: one row per held seat; at most one per user and module.
    Column("user_id", Id, ForeignKey("users.id"), primary_key=True),
    Column("module", String(64), primary_key=True),
    Column("pool_id", Id, ForeignKey("pools.id"), nullable=False, index=True),
    Column("account_id", Id, ForeignKey("accounts.id"), nullable=False),
    Column("taken_at", UTCDateTime, nullable=False),
)

seat_ledger = Table(
    "seat_ledger",
    metadata,
    # NOTE: append-only. No code updates or deletes a row; triggers refuse it on both databases.
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("account_id", Id, ForeignKey("accounts.id"), nullable=False),
    Column("pool_id", Id, ForeignKey("pools.id"), nullable=False),
    Column("module", String(64), nullable=False),
    Column("kind", String(20), nullable=False),
    Column("user_id", Id, nullable=True),
    Column("delta", Integer, nullable=False),
    Column("in_use_after", Integer, nullable=False),
    Column("capacity_after", Integer, nullable=False),
    Column("purchased", Boolean, nullable=False, server_default=text("false")),
    Column("at", UTCDateTime, nullable=False),
    Column("actor", String(100), nullable=False),
    Column("cause", String(40), nullable=False),
    Index("ix_seat_ledger_pool_at", "pool_id", "at"),
    Index("ix_seat_ledger_account_id", "account_id", "id"),
    Index("ix_seat_ledger_account_at", "account_id", "at"),
)

invitations = Table(
    "invitations",
    metadata,
    Column("id", Id, primary_key=True),
    Column("account_id", Id, ForeignKey("accounts.id"), nullable=False),
    Column("user_id", Id, ForeignKey("users.id"), nullable=False),
    Column("workspace_id", Id, ForeignKey("workspaces.id"), nullable=False),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("status", String(10), nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("accepted_at", UTCDateTime, nullable=True),
)

seat_requests = Table(
    "seat_requests",
    metadata,
    Column("id", Id, primary_key=True),
    Column("account_id", Id, ForeignKey("accounts.id"), nullable=False, index=True),
    Column("pool_id", Id, ForeignKey("pools.id"), nullable=False),
    Column("module", String(64), nullable=False),
    Column("from_capacity", Integer, nullable=False),
    Column("target_capacity", Integer, nullable=False),
    CheckConstraint("target_capacity BETWEEN 0 AND 1000000", name="target_bounds"),
    Column("delta", Integer, nullable=False),
    Column("status", String(10), nullable=False),
    Column("message", Text, nullable=False),
    Column("effective", String(10), nullable=True),
    Column("reason", Text, nullable=True),
    Column("requested_by", String(100), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("decided_at", UTCDateTime, nullable=True),
)

# --- billing ---------------------------------------------------------------

invoices = Table(
    "invoices",
    metadata,
    Column("id", Id, primary_key=True),
    Column("account_id", Id, ForeignKey("accounts.id"), nullable=False),
    # NOTE: exactly-once billing: `key` names what the document is for
    # ("period:2026-04-01", "charge:<ledger id>", "true_up:<instant>", "final:<date>",
    # "credit:<uuid>"); UNIQUE(account_id, key) with no nullable column in it.
    Column("key", String(80), nullable=False),
    Column("number", String(32), nullable=False, unique=True),
    Column("type", String(12), nullable=False),  # invoice | credit_note
    Column("kind", String(10), nullable=False),  # period | ad_hoc
    # NOTE: moves only from issued to paid or to void, and only on an invoice (a
    # trigger, migration 0003); on SQLite the status CHECK below is a trigger too.
    Column("status", String(10), nullable=False),  # issued | paid | void
    Column("issued_at", UTCDateTime, nullable=False),
    Column("period_start", Date, nullable=True),
    Column("period_end", Date, nullable=True),
    Column("currency", String(3), nullable=False),
    Column("subtotal", Money, nullable=False),
    Column("tax", Money, nullable=False),
    Column("total", Money, nullable=False),
    Column("credited_invoice_id", Id, ForeignKey("invoices.id"), nullable=True),
    Column("reason", Text, nullable=True),
    Column("status_changed_at", UTCDateTime, nullable=True),
    # NOTE: the parties and terms as they were when the document was issued (JSON
    # domain.parties.Party for seller and buyer): written with it, never changed.
    Column("seller", Text, nullable=True),
    Column("buyer", Text, nullable=True),
    Column("due_date", Date, nullable=True),
    Column("payment_method", String(20), nullable=True),
    Column("payment_terms_days", Integer, nullable=True),
    Column("locale", String(35), nullable=True),
    Column("tax_rate", Money, nullable=True),
    # NOTE: the number of lines, written with the invoice and never changed: a line
    # is accepted only at a position below it, so an issued document takes no line.
    Column("line_count", Integer, nullable=False, server_default="0"),
    CheckConstraint("line_count >= 0", name="line_count"),
    CheckConstraint("status IN ('issued', 'paid', 'void')", name="status"),
    UniqueConstraint("account_id", "key", name="uq_invoices_account_key"),
    Index("ix_invoices_account_issued", "account_id", "issued_at"),
)

invoice_lines = Table(
    "invoice_lines",
    metadata,
    Column("invoice_id", Id, ForeignKey("invoices.id"), primary_key=True),
    Column("position", Integer, primary_key=True),
    Column("kind", String(12), nullable=False),
    Column("module", String(64), nullable=True),
    Column("description", Text, nullable=False),
    Column("quantity", Integer, nullable=False),
    Column("unit_price", Money, nullable=False),
    Column("amount", Money, nullable=False),
    Column("period_start", Date, nullable=True),
    Column("period_end", Date, nullable=True),
)

number_sequences = Table(
    "number_sequences",
    metadata,
    # NOTE: gapless: the increment commits or rolls back with the document it numbers.
    Column("name", String(24), primary_key=True),  # "INV-2026", "TEST-CN-2026"
    Column("last", Integer, nullable=False),
)

billing_markers = Table(
    "billing_markers",
    metadata,
    # NOTE: a month close or a renewal done for an account, written in the same
    # transaction as its effects: UNIQUE(account_id, key) makes it exactly once.
    Column("account_id", Id, ForeignKey("accounts.id"), primary_key=True),
    Column("key", String(80), primary_key=True),
    Column("done_at", UTCDateTime, nullable=False),
    Index("ix_billing_markers_account_done", "account_id", "done_at"),
)

seller_settings = Table(
    "seller_settings",
    metadata,
    # NOTE: one row: the installation is the seller of every document.
    Column("id", Integer, primary_key=True),
    Column("legal_name", String(200), nullable=False),
    Column("address_lines", Text, nullable=False),  # JSON list of lines
    Column("postal_code", String(20), nullable=False),
    Column("city", String(100), nullable=False),
    Column("country", String(2), nullable=False),
    Column("vat_id", String(20), nullable=True),
    Column("email", String(254), nullable=True),
    Column("updated_at", UTCDateTime, nullable=False),
    CheckConstraint("id = 1", name="one_row"),
)

invoice_pdfs = Table(
    "invoice_pdfs",
    metadata,
    # NOTE: insert-only (triggers): a document's PDF is rendered once and kept.
    Column("invoice_id", Id, ForeignKey("invoices.id"), primary_key=True),
    Column("pdf", LargeBinary, nullable=False),
    Column("rendered_at", UTCDateTime, nullable=False),
)

billing_states = Table(
    "billing_states",
    metadata,
    # NOTE: what the planner starts from (domain.planner.BillingState): the pools just
    # before `since` (JSON), so a billing run reads only the ledger after it; and
    # `next_due_at`, so a run finds the accounts with something due in one query.
    Column("account_id", Id, ForeignKey("accounts.id"), primary_key=True),
    Column("since", UTCDateTime, nullable=True),
    Column("base", Text, nullable=False, server_default="{}"),
    Column("billed_through", UTCDateTime, nullable=True),
    Column("pending", Text, nullable=False, server_default="[]"),
    Column("next_due_at", UTCDateTime, nullable=True),
    Index("ix_billing_states_next_due_at", "next_due_at"),
)

audit_heads = Table(
    "audit_heads",
    metadata,
    # NOTE: the head of each audit chain: an account's id, or "installation" for
    # changes of no account (operator keys, seller settings, webhook endpoints).
    # `position` is the last entry's position (0: none yet) and only grows; `hash`
    # is the last entry's hash ("" when none), so a deletion of the last entries is
    # found as a chain shorter than its head.
    Column("chain", Id, primary_key=True),
    Column("position", BigInteger, nullable=False, server_default="0"),
    Column("hash", String(64), nullable=False, server_default=""),
    CheckConstraint("position >= 0", name="position"),
)

audit_events = Table(
    "audit_events",
    metadata,
    # NOTE: append-only (triggers on both databases), written in the change's own
    # transaction. Entry n of a chain has position n (1, 2, ... gapless) and
    # hash = sha256(hash of entry n-1, or "" for the first, + canonical content):
    # domain/audit.py defines the content and the formula.
    Column("id", Id, primary_key=True),
    Column("chain", Id, nullable=False),
    Column("position", BigInteger, nullable=False),
    Column("account_id", Id, ForeignKey("accounts.id"), nullable=True),
    Column("type", String(64), nullable=False),
    Column("at", UTCDateTime, nullable=False),  # the account's clock
    Column(
        "actor", String(100), nullable=False
    ),  # "operator:<id>", "user:<id>", "scim:<id>", "system"
    Column("subject", String(100), nullable=False),  # "user:<id>", "invoice:<id>", ...
    Column("before", Text, nullable=True),  # canonical JSON
    Column("after", Text, nullable=True),  # canonical JSON
    Column("request_id", String(100), nullable=True),
    Column("hash", String(64), nullable=False),
    UniqueConstraint("chain", "position", name="uq_audit_events_chain_position"),
    Index("ix_audit_events_account_type_position", "account_id", "type", "position"),
)

webhook_endpoints = Table(
    "webhook_endpoints",
    metadata,
    # NOTE: the secret signs deliveries (Standard Webhooks, "whsec_" + base64): it is
    # shown once at creation and must stay readable to sign, so it is kept as is.
    Column("id", Id, primary_key=True),
    Column("url", String(2000), nullable=False),
    Column("events", Text, nullable=False),  # JSON list of event types
    Column("account_id", Id, ForeignKey("accounts.id"), nullable=True),  # None: every account
    Column("secret", String(100), nullable=False),
    Column("description", String(200), nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("deleted_at", UTCDateTime, nullable=True),
)

webhook_deliveries = Table(
    "webhook_deliveries",
    metadata,
    # NOTE: the outbox: one row per event and endpoint, written in the change's
    # transaction. `payload` is the exact body every attempt sends; `webhook-id`
    # is the event id, the same on every attempt. A worker leases a row by moving
    # `next_attempt_at` past the attempt's timeout before sending, so a worker killed
    # mid-delivery leaves it due again, never lost.
    Column("id", Id, primary_key=True),
    Column("endpoint_id", Id, ForeignKey("webhook_endpoints.id"), nullable=False),
    Column("event_id", Id, ForeignKey("audit_events.id"), nullable=False),
    Column("event_type", String(64), nullable=False),
    Column("payload", Text, nullable=False),
    Column("status", String(10), nullable=False, server_default="pending"),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("next_attempt_at", UTCDateTime, nullable=True),
    Column("last_attempt_at", UTCDateTime, nullable=True),
    Column("last_status_code", Integer, nullable=True),
    Column("last_error", String(500), nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("delivered_at", UTCDateTime, nullable=True),
    UniqueConstraint("endpoint_id", "event_id", name="uq_webhook_deliveries_endpoint_event"),
    CheckConstraint("status IN ('pending', 'delivered', 'failed')", name="status"),
    CheckConstraint("attempts >= 0", name="attempts"),
    Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),
    Index("ix_webhook_deliveries_endpoint", "endpoint_id", "created_at"),
)

scim_tokens = Table(
    "scim_tokens",
    metadata,
    # NOTE: a bearer token for one account's /scim/v2 endpoint; only its hash is kept.
    Column("id", Id, primary_key=True),
    Column("account_id", Id, ForeignKey("accounts.id"), nullable=False, index=True),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("name", String(100), nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("created_by", String(100), nullable=False),
    Column("last_used_at", UTCDateTime, nullable=True),
    Column("revoked_at", UTCDateTime, nullable=True),
)

billing_runs = Table(
    "billing_runs",
    metadata,
    # NOTE: one billing run (PRODUCT.md §5): the accounts due at `as_of`, split into
    # `batches_total` batches, each billed in one transaction that also adds its
    # figures here and its row to billing_run_batches, so what a run says it did is
    # exactly what is committed, however often a batch is retried.
    Column("id", Id, primary_key=True),
    Column("as_of", UTCDateTime, nullable=False),
    Column("status", String(10), nullable=False),  # running | done
    Column("batches_total", Integer, nullable=False),
    Column("batches_done", Integer, nullable=False, server_default="0"),
    Column("accounts", Integer, nullable=False, server_default="0"),
    Column("invoices_issued", Integer, nullable=False, server_default="0"),
    # JSON [{"account_id", "detail"}]: accounts not billed, with the reason
    Column("failures", Text, nullable=False, server_default="[]"),
    # who started it and the request's id: every change the run makes is logged as theirs
    Column("requested_by", String(100), nullable=False),
    Column("request_id", String(100), nullable=True),
    Column("started_at", UTCDateTime, nullable=False),
    Column("finished_at", UTCDateTime, nullable=True),
    CheckConstraint("status IN ('running', 'done')", name="status"),
    CheckConstraint("batches_done BETWEEN 0 AND batches_total", name="batches"),
    CheckConstraint(
        "(status = 'done') = (batches_done = batches_total AND finished_at IS NOT NULL)",
        name="done",
    ),
    Index("ix_billing_runs_started_at", "started_at"),
)

billing_run_batches = Table(
    "billing_run_batches",
    metadata,
    # NOTE: a batch of a run, written in the transaction that bills it: its primary
    # key lets a batch count once, when a job runs twice (a worker lost mid-batch).
    Column("run_id", Id, ForeignKey("billing_runs.id"), primary_key=True),
    Column("batch", Integer, primary_key=True),
    Column("done_at", UTCDateTime, nullable=False),
)
