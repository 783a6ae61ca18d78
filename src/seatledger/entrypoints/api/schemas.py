"""Request and response bodies. ``XCreate`` / ``XUpdate`` in, ``XPublic`` out.

Requests accept only documented fields (``extra="forbid"``: unknown and
read-only fields are 422). Money travels as decimal strings. Form rules live in
the domain; here only types.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time
from typing import Annotated, Any, Generic, Literal, TypeVar

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    StrictStr,
)

from seatledger.domain.accounts import Account, Profile, Workspace
from seatledger.domain.audit import AuditEntry
from seatledger.domain.billing_runs import BillingRun
from seatledger.domain.contracts import (
    MAX_CAPACITY,
    MAX_POOLS,
    MAX_UNIT_PRICE,
    MAX_YEARS_BEFORE_NOW,
    Contract,
)
from seatledger.domain.credit_notes import MAX_DESCRIPTION_LENGTH, MAX_LINES, MAX_REASON_LENGTH
from seatledger.domain.invoicing import DraftInvoice, IssuedInvoice
from seatledger.domain.money import format_amount, format_percentage
from seatledger.domain.parties import MAX_ADDRESS_LINES, Party
from seatledger.domain.pools import Pool
from seatledger.domain.seat_requests import SeatRequest
from seatledger.domain.what_if import MAX_WHAT_IF_YEARS, WhatIf
from seatledger.services.users import UserResult

DecimalString = Annotated[StrictStr, Field(examples=["15.00"], max_length=40)]
# Money and rates as the API answers them: decimal strings, never floats.
DecimalOut = Annotated[str, Field(pattern=r"^-?[0-9]+(\.[0-9]+)?$", examples=["15.00"])]
# The closed sets of values, one alias each (requests and answers): enums in OpenAPI.
Policy = Literal["block", "inactive_when_full", "true_up", "auto_purchase", "metered"]
ChargeTiming = Literal["immediate", "next_invoice"]
Proration = Literal["day", "second"]
BillingInterval = Literal["month", "quarter", "half_year", "year"]
RenewalCapacity = Literal["carry", "in_use"]
IncreaseApproval = Literal["automatic", "operator"]
PaymentMethod = Literal["invoice", "card"]
Role = Literal["owner", "admin", "member"]
UserStatus = Literal["invited", "active", "inactive", "deleted"]
SeatRequestStatus = Literal["pending", "scheduled", "applied", "rejected"]
SeatRequestEffective = Literal["now", "renewal"]
InvoiceStatus = Literal["draft", "issued", "paid", "void"]
InvoiceType = Literal["invoice", "credit_note"]
# NOTE: the calendar the engine computes in. Python's dates stop at the years 1
# and 9999: an instant near either end overflows when moved to UTC or by a
# billing period (a 500, found by tests/e2e/test_api_fuzz.py), so a date or an
# instant outside this window is refused as invalid input.
_T = TypeVar("_T")
EARLIEST = date(1900, 1, 1)
LATEST = date(9000, 12, 31)


def _within_calendar(value: _T) -> _T:
    if isinstance(value, date):
        day = value.date() if isinstance(value, datetime) else value
        if not EARLIEST <= day <= LATEST:
            raise ValueError(f"must lie between {EARLIEST} and {LATEST}")
    return value


DateString = Annotated[
    date, Field(strict=False, examples=["2026-03-01"]), AfterValidator(_within_calendar)
]
Instant = Annotated[datetime, AfterValidator(_within_calendar)]
AwareInstant = Annotated[AwareDatetime, AfterValidator(_within_calendar)]


class In(BaseModel):
    model_config = ConfigDict(extra="forbid")


# --- parties ----------------------------------------------------------------
class PartyIn(In):
    """A party on documents (PRODUCT.md §5 Documents); checked in the domain and
    against ISO 3166-1 and python-stdnum."""

    legal_name: StrictStr
    address_lines: list[StrictStr] = Field(max_length=MAX_ADDRESS_LINES)
    postal_code: StrictStr
    city: StrictStr
    country: StrictStr = Field(description="ISO 3166-1 alpha-2", examples=["DE"])
    vat_id: StrictStr | None = Field(
        None, description="with its country prefix; checked against the country's rules"
    )
    email: StrictStr | None = None


class SellerIn(PartyIn):
    """The installation as the seller printed on every document."""

    vat_id: StrictStr = Field(description="with its country prefix", examples=["DE136695976"])


class PartyPublic(BaseModel):
    legal_name: str
    address_lines: list[str]
    postal_code: str
    city: str
    country: str
    vat_id: str | None
    email: str | None

    @classmethod
    def of(cls, p: Party | None) -> PartyPublic | None:
        if p is None:
            return None
        return cls(
            legal_name=p.legal_name,
            address_lines=list(p.address_lines),
            postal_code=p.postal_code,
            city=p.city,
            country=p.country,
            vat_id=p.vat_id,
            email=p.email,
        )


# --- accounts -------------------------------------------------------------
class AccountCreate(In):
    name: StrictStr
    currency: StrictStr = Field(examples=["EUR"])
    tax_rate: DecimalString | None = Field(
        None, description='percentage string from "0" to "100": "20" is 20%'
    )
    payment_method: PaymentMethod = "invoice"
    billing_email: StrictStr | None = None
    payment_terms_days: StrictInt = Field(30, description="due date = issue date + these days")
    locale: StrictStr = Field("en", description="for documents, e.g. en, de_DE", max_length=35)
    billing: PartyIn | None = Field(None, description="the buyer on the account's documents")
    test_clock: StrictBool = False
    clock_start: AwareInstant | None = None


class AccountUpdate(In):
    """Only the fields given change; documents already issued keep what they had."""

    name: StrictStr | None = None
    tax_rate: DecimalString | None = Field(
        None, description='percentage string from "0" to "100"; null removes the tax'
    )
    payment_method: PaymentMethod | None = None
    billing_email: StrictStr | None = None
    payment_terms_days: StrictInt | None = None
    locale: StrictStr | None = Field(None, max_length=35)
    billing: PartyIn | None = Field(None, description="null removes the billing details")


class AccountPublic(BaseModel):
    id: str
    name: str
    currency: str
    tax_rate: str | None
    payment_method: PaymentMethod
    billing_email: str | None
    payment_terms_days: int
    locale: str
    billing: PartyPublic | None
    test_clock: bool
    clock_now: datetime | None
    created_at: datetime | None

    @classmethod
    def of(cls, a: Account) -> AccountPublic:
        return cls(
            id=a.id,
            name=a.name,
            currency=a.currency,
            tax_rate=format_percentage(a.tax_rate) if a.tax_rate is not None else None,
            payment_method=a.payment_method,
            billing_email=a.billing_email,
            payment_terms_days=a.payment_terms_days,
            locale=a.locale,
            billing=PartyPublic.of(a.billing),
            test_clock=a.test_clock,
            clock_now=a.clock_now,
            created_at=a.created_at,
        )


class PoolTermsIn(In):
    module: StrictStr
    capacity: StrictInt | None = Field(None, description=f"0 to {MAX_CAPACITY} seats")
    minimum: StrictInt | None = Field(None, description=f"0 to {MAX_CAPACITY} seats")
    unit_price: DecimalString = Field(
        description=f"per seat and billing interval, at most {MAX_UNIT_PRICE}"
    )
    policy: Policy
    charge_timing: ChargeTiming = "immediate"
    proration: Proration = "day"


class ContractCreate(In):
    start_date: DateString = Field(
        description=f"at most {MAX_YEARS_BEFORE_NOW} years before the account's today"
    )
    end_date: DateString | None = Field(None, description="the last day, inclusive")
    billing_interval: BillingInterval
    billing_anchor: DateString | None = Field(
        None, description="the day periods are anchored on (default: the start)"
    )
    trial_end: DateString | None = Field(None, description="the first day billed")
    renewal_capacity: RenewalCapacity = "carry"
    minimum_spend: DecimalString | None = Field(None, description="per billing period")
    increase_approval: IncreaseApproval = "automatic"
    pools: list[PoolTermsIn] = Field(max_length=MAX_POOLS)


class PoolTermsPublic(BaseModel):
    module: str
    capacity: int | None
    minimum: int
    unit_price: DecimalOut
    policy: Policy
    charge_timing: ChargeTiming
    proration: Proration


class ContractPublic(BaseModel):
    id: str
    account_id: str
    version: int
    start_date: date
    end_date: date | None
    billing_interval: BillingInterval
    billing_anchor: date | None
    trial_end: date | None
    renewal_capacity: RenewalCapacity
    minimum_spend: DecimalOut | None
    increase_approval: IncreaseApproval
    pools: list[PoolTermsPublic]

    @classmethod
    def of(cls, c: Contract, currency: str) -> ContractPublic:
        return cls(
            id=c.id,
            account_id=c.account_id,
            version=c.version,
            start_date=c.start_date,
            end_date=c.end_date,
            billing_interval=c.billing_interval,
            billing_anchor=c.billing_anchor,
            trial_end=c.trial_end,
            renewal_capacity=c.renewal_capacity,
            minimum_spend=(
                format_amount(c.minimum_spend, currency) if c.minimum_spend is not None else None
            ),
            increase_approval=c.increase_approval,
            pools=[
                PoolTermsPublic(
                    module=p.module,
                    capacity=None if p.policy == "metered" else p.capacity,
                    minimum=p.minimum,
                    unit_price=format_amount(p.unit_price, currency),
                    policy=p.policy,
                    charge_timing=p.charge_timing,
                    proration=p.proration,
                )
                for p in c.pools
            ],
        )


class PoolCounts(BaseModel):
    """A pool as admins see it: seat counts, no price (PRODUCT.md §2 rule 5).
    Extra fields are refused, so a price can never leak into this answer."""

    model_config = ConfigDict(extra="forbid")

    module: str
    capacity: int | None
    minimum: int
    in_use: int
    available: int | None
    additional: int
    policy: Policy
    charge_timing: ChargeTiming
    proration: Proration

    @classmethod
    def of(cls, p: Pool) -> PoolCounts:
        s = p.state
        return cls(
            module=p.module,
            capacity=None if p.is_metered else p.capacity,
            minimum=p.minimum,
            in_use=p.in_use,
            available=s.available,
            additional=s.additional,
            policy=p.policy,
            charge_timing=p.charge_timing,
            proration=p.proration,
        )


class PoolPublic(PoolCounts):
    """A pool as owners and operators see it: the counts and the unit price."""

    unit_price: DecimalOut

    @classmethod
    def priced(cls, p: Pool, currency: str) -> PoolPublic:
        return cls(
            **PoolCounts.of(p).model_dump(), unit_price=format_amount(p.unit_price, currency)
        )


# --- workspaces, profiles ---------------------------------------------------
class WorkspaceCreate(In):
    name: StrictStr


class WorkspacePublic(BaseModel):
    id: str
    account_id: str
    name: str
    is_default: bool

    @classmethod
    def of(cls, w: Workspace) -> WorkspacePublic:
        return cls(id=w.id, account_id=w.account_id, name=w.name, is_default=w.is_default)


class ProfileCreate(In):
    name: StrictStr
    modules: list[StrictStr] = Field(max_length=100)


class ProfilePublic(BaseModel):
    id: str
    account_id: str
    name: str
    modules: list[str] | None = Field(description="null: every module of the contract")
    is_default: bool

    @classmethod
    def of(cls, p: Profile) -> ProfilePublic:
        return cls(
            id=p.id,
            account_id=p.account_id,
            name=p.name,
            is_default=p.is_default,
            modules=sorted(p.modules) if p.modules is not None else None,
        )


# --- users ----------------------------------------------------------------
class UserCreate(In):
    email: StrictStr
    first_name: StrictStr
    last_name: StrictStr
    role: Role = "member"
    department: StrictStr | None = None
    profile_id: StrictStr | None = None
    workspace_ids: list[StrictStr] | None = None
    valid_to: StrictStr | None = Field(None, examples=["2026-12-31"])
    active: StrictBool = True
    add_license: StrictBool = False


class UserUpdate(In):
    role: Role | None = None
    profile_id: StrictStr | None = None
    workspace_ids: list[StrictStr] | None = None
    valid_to: StrictStr | None = None
    first_name: StrictStr | None = None
    last_name: StrictStr | None = None
    department: StrictStr | None = None
    add_license: StrictBool = False


class ActivateIn(In):
    add_license: StrictBool = False


class UserPublic(BaseModel):
    id: str
    account_id: str
    email: str
    first_name: str
    last_name: str
    department: str | None
    role: Role
    status: UserStatus
    profile_id: str | None
    workspace_ids: list[str]
    valid_to: date | None
    seats: list[str]
    created_at: datetime | None
    warnings: list[str] = []

    @classmethod
    def of(cls, r: UserResult) -> UserPublic:
        u = r.user
        return cls(
            id=u.id,
            account_id=u.account_id,
            email=u.email,
            first_name=u.first_name,
            last_name=u.last_name,
            department=u.department,
            role=u.role,
            status=u.status,
            profile_id=u.profile_id,
            workspace_ids=u.workspace_ids,
            valid_to=u.valid_to,
            seats=r.seats,
            created_at=u.created_at,
            warnings=r.warnings,
        )


class UserCreated(UserPublic):
    setup_token: str | None = Field(None, description="shown once: lets the person set a password")


class InvitationCreate(In):
    email: StrictStr
    workspace_id: StrictStr
    role: Role = "member"
    profile_id: StrictStr | None = None


class InvitationPublic(BaseModel):
    id: str
    token: str
    expires_at: datetime
    user_id: str


class InvitationAccept(In):
    """No ``add_license``: the invitee is no admin, and only admins and above
    may trigger a charge (PRODUCT.md §2 rule 5)."""

    first_name: StrictStr
    last_name: StrictStr
    password: StrictStr


class SetupIn(In):
    token: StrictStr
    password: StrictStr


class SignInIn(In):
    account_id: StrictStr
    email: StrictStr
    password: StrictStr


class CallerOut(BaseModel):
    """Who a bearer token speaks for, as the server sees it now."""

    kind: Literal["operator", "user"]
    id: str
    account_id: str | None = None
    role: Role | None = None


class OperatorKeyCreate(In):
    name: StrictStr


class OperatorKeyPublic(BaseModel):
    id: str
    name: str
    created_at: datetime
    last_used_at: datetime | None = Field(
        None, description="the key's last use, to within a minute; null if never used"
    )
    revoked_at: datetime | None = None


class OperatorKeyCreated(OperatorKeyPublic):
    key: str = Field(description="the key itself, shown only this once")


class TokenOut(BaseModel):
    """A user token, shown once: ``Authorization: Bearer <token>`` until ``expires_at``."""

    token: str
    expires_at: datetime


class ScimTokenCreate(In):
    name: StrictStr | None = Field(None, description="what the token is for (Okta, Entra ID)")


class ScimTokenPublic(BaseModel):
    id: str
    name: str | None = None
    created_at: datetime
    created_by: str = Field(description="who issued it (operator:<id>, user:<id>)")
    last_used_at: datetime | None = Field(
        None, description="the token's last use, to within a minute; null if never used"
    )
    revoked_at: datetime | None = None


class ScimTokenCreated(ScimTokenPublic):
    token: str = Field(
        description="the bearer token for the account's /scim/v2 endpoint, shown only this once"
    )


# --- seat requests, access --------------------------------------------------
class SeatRequestCreate(In):
    module: StrictStr
    target_capacity: StrictInt
    preview: StrictBool = False


class SeatRequestPublic(BaseModel):
    id: str | None
    account_id: str
    module: str
    from_capacity: int
    target_capacity: int
    delta: int
    status: SeatRequestStatus
    message: str
    effective: SeatRequestEffective | None
    reason: str | None
    created_at: datetime | None
    decided_at: datetime | None
    preview: bool = False

    @classmethod
    def of(cls, r: SeatRequest, *, preview: bool = False) -> SeatRequestPublic:
        return cls(
            id=None if preview else r.id,
            account_id=r.account_id,
            module=r.module,
            from_capacity=r.from_capacity,
            target_capacity=r.target_capacity,
            delta=r.delta,
            status=r.status,
            message=r.message,
            effective=r.effective,
            reason=r.reason,
            created_at=r.created_at,
            decided_at=r.decided_at,
            preview=preview,
        )


class ApproveIn(In):
    effective: SeatRequestEffective = "renewal"
    reason: StrictStr | None = None


class RejectIn(In):
    reason: StrictStr


class AccessCheckIn(In):
    account_id: StrictStr
    user_id: StrictStr | None = None
    email: StrictStr | None = None
    module: StrictStr | None = None


class AccessCheckOut(BaseModel):
    allowed: bool
    reason: Literal[
        "ok", "not_found", "invited", "inactive", "deleted", "expired", "no_seat", "contract_ended"
    ]
    user_id: str | None = None


# --- billing ----------------------------------------------------------------
class LinePublic(BaseModel):
    kind: str
    module: str | None
    description: str
    quantity: int
    unit_price: DecimalOut
    amount: DecimalOut
    period_start: date | None
    period_end: date | None


class InvoicePublic(BaseModel):
    id: str | None
    number: str | None
    type: InvoiceType
    kind: str
    account_id: str
    status: InvoiceStatus
    issued_at: datetime
    period_start: date | None
    period_end: date | None
    currency: str
    lines: list[LinePublic]
    subtotal: DecimalOut
    tax: DecimalOut
    total: DecimalOut
    credited_invoice_id: str | None = None
    credited_invoice_number: str | None = None
    reason: str | None = None
    # as they were when the document was issued (null on a draft)
    seller: PartyPublic | None = None
    buyer: PartyPublic | None = None
    due_date: date | None = Field(None, description="issue date + payment_terms_days")
    payment_method: PaymentMethod | None = None
    payment_terms_days: int | None = None
    locale: str | None = None
    tax_rate: str | None = Field(None, description='percentage string: "19" is 19%')

    @classmethod
    def of(
        cls, inv: IssuedInvoice | DraftInvoice, *, account_id: str | None = None
    ) -> InvoicePublic:
        c = inv.currency
        issued = isinstance(inv, IssuedInvoice)
        return cls(
            id=inv.id if issued else None,
            number=inv.number if issued else None,
            type=inv.type,
            kind=inv.kind,
            account_id=inv.account_id if issued else (account_id or ""),
            status=inv.status if issued else "draft",
            issued_at=inv.issued_at,
            period_start=inv.period_start,
            period_end=inv.period_end,
            currency=c,
            lines=[
                LinePublic(
                    kind=ln.kind,
                    module=ln.module,
                    description=ln.description,
                    quantity=ln.quantity,
                    unit_price=format_amount(ln.unit_price, c),
                    amount=format_amount(ln.amount, c),
                    period_start=ln.period_start,
                    period_end=ln.period_end,
                )
                for ln in inv.lines
            ],
            subtotal=format_amount(inv.subtotal, c),
            tax=format_amount(inv.tax, c),
            total=format_amount(inv.total, c),
            credited_invoice_id=inv.credited_invoice_id if issued else None,
            credited_invoice_number=inv.credited_invoice_number if issued else None,
            reason=inv.reason if issued else None,
            **(_terms_as_issued(inv) if issued else {}),
        )


def _terms_as_issued(inv: IssuedInvoice) -> dict[str, Any]:
    return {
        "seller": PartyPublic.of(inv.seller),
        "buyer": PartyPublic.of(inv.buyer),
        "due_date": inv.due_date,
        "payment_method": inv.payment_method,
        "payment_terms_days": inv.payment_terms_days,
        "locale": inv.locale,
        "tax_rate": format_percentage(inv.tax_rate) if inv.tax_rate is not None else None,
    }


class CreditLineIn(In):
    description: StrictStr = Field(description=f"at most {MAX_DESCRIPTION_LENGTH} characters")
    amount: DecimalString = Field(description="net amount to credit, before tax")


class CreditNoteCreate(In):
    """Exactly one of ``amount`` (gross, tax included: the note's total) or
    ``lines`` (net; tax is added at the invoice's rate). Amounts on a credit note
    are positive; its ``type`` says the money goes back to the customer."""

    amount: DecimalString | None = Field(None, description="gross amount to credit")
    lines: list[CreditLineIn] | None = Field(None, max_length=MAX_LINES)
    reason: StrictStr = Field(description=f"at most {MAX_REASON_LENGTH} characters")


class VoidIn(In):
    reason: StrictStr = Field(description=f"why it is void, at most {MAX_REASON_LENGTH} characters")


class ClockIn(In):
    now: Instant


class ClockOut(BaseModel):
    account_id: str
    now: datetime
    invoices_issued: int
    invoices: list[InvoicePublic]


def _plain_date_at_midnight_utc(value: object) -> object:
    """A plain date ("2026-06-01") is 00:00 UTC of that day (§1 Time)."""
    if isinstance(value, str) and len(value) == 10:
        try:
            return datetime.combine(date.fromisoformat(value), time(0), tzinfo=UTC)
        except ValueError:
            return value
    return value


MAX_BILLING_RUN_WAIT = 300


class BillingRunIn(In):
    as_of: Annotated[
        AwareInstant | None,
        BeforeValidator(_plain_date_at_midnight_utc),
        Field(description="an instant with its offset, or a date (00:00 UTC of it)"),
    ] = None
    wait: float | None = Field(
        None,
        ge=0,
        le=MAX_BILLING_RUN_WAIT,
        description="seconds to wait for the run to be done (default 30, or the query's "
        "`wait`); past them the answer is 202 with the run as it stands",
    )


class BillingRunFailure(BaseModel):
    account_id: str
    detail: str


class BillingRunOut(BaseModel):
    id: str
    status: Literal["running", "done"]
    as_of: datetime
    batches_total: int = Field(description="the run's batches of accounts")
    batches_done: int
    accounts: int = Field(description="accounts billed (or failed) so far")
    invoices_issued: int
    failures: list[BillingRunFailure] = Field(
        default=[],
        description="accounts not billed, whatever failed, each with the reason: "
        "their work rolled back, every other account billed",
    )
    requested_by: str
    started_at: datetime
    finished_at: datetime | None

    @classmethod
    def of(cls, run: BillingRun) -> BillingRunOut:
        return cls(
            id=run.id,
            status=run.status,  # type: ignore[arg-type]
            as_of=run.as_of,
            batches_total=run.batches_total,
            batches_done=run.batches_done,
            accounts=run.accounts,
            invoices_issued=run.invoices_issued,
            failures=[BillingRunFailure(account_id=a, detail=d) for a, d in run.failures],
            requested_by=run.requested_by,
            started_at=run.started_at,
            finished_at=run.finished_at,
        )


# --- what-if pricing --------------------------------------------------------
class WhatIfContract(ContractCreate):
    """The terms to price the history under: a contract as ``POST
    /v1/accounts/{id}/contracts`` takes it, checked by the same rules."""

    start_date: DateString | None = Field(  # type: ignore[assignment]
        None, description="default: the start of the account's first contract version"
    )


class WhatIfIn(In):
    from_: DateString = Field(alias="from", description="the first day replayed")
    to: DateString = Field(
        description=f"the day after the last day replayed ([from, to)): not after the "
        f"account's now, at most {MAX_WHAT_IF_YEARS} years after from"
    )
    contract: WhatIfContract


class WhatIfOut(BaseModel):
    """The documents issued in [from, to) and those the contract would have issued
    (drafts: no id, no number), over the same seat ledger."""

    account_id: str
    currency: str
    actual: list[InvoicePublic]
    what_if: list[InvoicePublic]
    difference: DecimalString = Field(
        description="Σ what_if totals − Σ actual totals; credit notes count negative, "
        "void invoices not at all"
    )

    @classmethod
    def of(cls, account_id: str, w: WhatIf) -> WhatIfOut:
        return cls(
            account_id=account_id,
            currency=w.currency,
            actual=[InvoicePublic.of(d) for d in w.actual],
            what_if=[InvoicePublic.of(d, account_id=account_id) for d in w.what_if],
            difference=format_amount(w.difference, w.currency),
        )


# --- the audit log ----------------------------------------------------------
class EventPublic(BaseModel):
    """An audit-log entry (GET /v1/accounts/{id}/events): ``position`` is its
    place in the account's chain (1, 2, ... without gaps; an event stream's ids),
    ``hash`` chains it to the entry before it (docs/events.md)."""

    id: str
    position: int
    type: str = Field(description="what changed, e.g. user.created")
    at: datetime = Field(description="when, on the account's clock")
    actor: str = Field(description='who: "operator:<id>", "user:<id>", "scim:<id>" or "system"')
    subject: str = Field(description='what: "<kind>:<id>", e.g. "user:usr_..."')
    before: dict[str, Any] | None = Field(description="the subject before the change")
    after: dict[str, Any] | None = Field(description="the subject after the change")
    request_id: str | None = Field(description="the X-Request-Id of the request that made it")
    hash: str

    @classmethod
    def of(cls, entry: AuditEntry) -> EventPublic:
        return cls(
            id=entry.id,
            position=entry.position,
            type=entry.type,
            at=entry.at,
            actor=entry.actor,
            subject=entry.subject,
            before=None if entry.before is None else json.loads(entry.before),
            after=None if entry.after is None else json.loads(entry.after),
            request_id=entry.request_id,
            hash=entry.hash,
        )


# --- lists and problems -----------------------------------------------------
_Item = TypeVar("_Item")


class Page(BaseModel, Generic[_Item]):
    """One page of a list; ``next_cursor`` (null on the last page) asks for the next
    one as ``?cursor=``."""

    data: list[_Item]
    next_cursor: str | None


class FieldProblem(BaseModel):
    field: str
    message: str


class Problem(BaseModel):
    """An error, as application/problem+json (RFC 9457)."""

    model_config = ConfigDict(extra="allow")

    type: str = Field(examples=["https://seatledger.dev/problems/not-found"])
    title: str
    status: int
    detail: str
    code: str | None = Field(None, description="the machine-readable reason")
    field: str | None = Field(None, description="the input at fault")
    errors: list[FieldProblem] | None = Field(None, description="every invalid field (422)")
    retry_after: int | None = Field(None, description="seconds to wait (429)")


class SeatLimitProblem(Problem):
    """A seat refused (409, ``type`` ending in ``/seat-limit-reached``), with the
    pool's numbers."""

    module: str
    capacity: int | None
    in_use: int
    available: int | None
    policy: Policy
