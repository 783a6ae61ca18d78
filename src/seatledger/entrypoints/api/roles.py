"""Who may call each route: the one table to audit (API.md "who", PRODUCT.md §2 rule 5).

``RULES`` maps every route, as ``(method, path template)``, to who may call it.
``enforce`` is an application dependency, so it runs before every route: it
finds the matched route's rule and refuses the call before the route's code.

How a user token is judged (operators pass every rule but ``anyone``, which
asks nothing of anybody, and ``scim token``: the /scim/v2 routes take a SCIM
token alone, whose account is the one in scope, and it passes no other rule):

1. The account in scope is the path's ``account_id``, or for a route with no
   account in its path the account of the object its ``owned_by`` parameter
   names (an invoice, a seat request). Another account's, or an unknown
   object's, is 404 as if unknown (API.md: another account's ids are 404),
   before any role is considered: a user learns nothing of other tenants.
2. Then the role: ``owner`` > ``admin`` > ``member``; a role that may not do it
   is 403. ``member (itself)`` lets a member read only its own user.

A route with no rule is operator-only (closed until someone writes its rule);
tests/e2e/test_api_roles.py fails for any route missing from its own table.
Rules the route itself still applies, because they depend on the body or on
the object: an admin may not grant or remove ``owner`` (services/users.py),
and pools answer admins without prices (routes/accounts.py).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from fastapi import FastAPI, Request
from fastapi.routing import APIRoute, iter_route_contexts
from starlette.concurrency import run_in_threadpool

from seatledger.domain.errors import Forbidden, NotFound
from seatledger.entrypoints.api.auth import ROLE_RANK, Principal, rate_counted, scim_counted
from seatledger.services import invoices, seat_requests
from seatledger.services.unit_of_work import UnitOfWork

Who = Literal[
    "anyone", "token holder", "operator", "owner", "admin", "member (itself)", "scim token"
]


@dataclass(frozen=True)
class Rule:
    who: Who
    why: str
    # For a route with no account in its path: the path parameter naming the
    # object whose account scopes the call.
    owned_by: str | None = None


def _anyone(why: str) -> Rule:
    return Rule("anyone", why)


def _operator(why: str, owned_by: str | None = None) -> Rule:
    return Rule("operator", why, owned_by)


def _owner(why: str, owned_by: str | None = None) -> Rule:
    return Rule("owner", why, owned_by)


def _scim(why: str) -> Rule:
    return Rule("scim token", why)


def _admin(why: str) -> Rule:
    return Rule("admin", why)


A = "/v1/accounts/{account_id}"
U = f"{A}/users/{{user_id}}"

RULES: dict[tuple[str, str], Rule] = {
    # --- open: no bearer token -------------------------------------------------
    ("GET", "/v1/health"): _anyone("liveness, no data"),
    ("GET", "/docs"): _anyone("the API's own documentation"),
    ("POST", "/v1/auth/token"): _anyone("signing in: email and password are the credential"),
    ("POST", "/v1/auth/setup"): _anyone("the setup token in the body is the credential"),
    ("POST", "/v1/invitations/{token}/accept"): _anyone("the invitation token is the credential"),
    # --- any valid token ---------------------------------------------------------
    ("GET", "/v1/auth/token"): Rule("token holder", "whom the caller's own token speaks for"),
    ("DELETE", "/v1/auth/token"): Rule("token holder", "signing out ends the caller's own token"),
    # --- the vendor's staff: the installation and every account -----------------
    ("POST", "/v1/accounts"): _operator("accounts are the vendor's customers"),
    ("GET", "/v1/accounts"): _operator("lists every tenant"),
    ("PATCH", A): _operator("the account's terms and billing details"),
    ("POST", f"{A}/contracts"): _operator("contracts set prices and capacity"),
    ("GET", f"{A}/contracts"): _operator("contracts carry prices; owners read them as pools"),
    ("POST", f"{U}/tokens"): _operator("tokens for integrations act as the user"),
    ("POST", "/v1/access/check"): _operator("the vendor application's check, any account"),
    ("GET", "/v1/seat-requests"): _operator("every account's requests, for approval"),
    ("POST", "/v1/seat-requests/{request_id}/approve"): _operator(
        "approval changes capacity and charges", owned_by="request_id"
    ),
    ("POST", "/v1/seat-requests/{request_id}/reject"): _operator(
        "the vendor decides on requests", owned_by="request_id"
    ),
    ("POST", "/v1/billing-runs"): _operator("bills every account"),
    ("GET", "/v1/billing-runs/{run_id}"): _operator("a run is over every account"),
    ("POST", f"{A}/clock"): _operator("test clocks move billing time"),
    ("POST", "/v1/invoices/{invoice_id}/mark-paid"): _operator(
        "payment status is the vendor's", owned_by="invoice_id"
    ),
    ("POST", "/v1/invoices/{invoice_id}/void"): _operator(
        "voiding is the vendor's", owned_by="invoice_id"
    ),
    ("POST", "/v1/invoices/{invoice_id}/credit-notes"): _operator(
        "corrections are the vendor's", owned_by="invoice_id"
    ),
    ("POST", f"{A}/what-if"): _operator("prices other contract terms"),
    ("POST", "/v1/operator-keys"): _operator("a key may do everything"),
    ("GET", "/v1/operator-keys"): _operator("the vendor's keys"),
    ("DELETE", "/v1/operator-keys/{key_id}"): _operator("revoking a vendor's key"),
    ("PUT", "/v1/settings/seller"): _operator("the seller on every document"),
    ("GET", "/v1/settings/seller"): _operator("installation settings"),
    ("POST", "/v1/webhook-endpoints"): _operator("webhooks carry every account's changes"),
    ("GET", "/v1/webhook-endpoints"): _operator("the installation's webhook endpoints"),
    ("GET", "/v1/webhook-endpoints/{endpoint_id}"): _operator("a webhook endpoint"),
    ("DELETE", "/v1/webhook-endpoints/{endpoint_id}"): _operator("stops a webhook endpoint"),
    ("GET", "/v1/webhook-endpoints/{endpoint_id}/deliveries"): _operator(
        "deliveries carry every account's changes"
    ),
    # --- owners: prices and billing (PRODUCT.md §2 rule 5) -----------------------
    ("POST", f"{A}/seat-requests"): _owner("a request to buy or drop seats"),
    ("GET", f"{A}/seat-requests"): _owner("seat requests are billing"),
    ("GET", f"{A}/invoices"): _owner("invoices"),
    ("GET", f"{A}/invoices/upcoming"): _owner("the next invoice"),
    ("GET", "/v1/invoices/{invoice_id}"): _owner("an invoice", owned_by="invoice_id"),
    ("GET", f"{A}/events"): _owner("the audit log shows every change, prices included"),
    # --- admins: users and seat counts, no prices --------------------------------
    ("GET", A): _admin("the account's name and settings"),
    ("GET", f"{A}/pools"): _admin("seat counts; unit_price only for owners (a second model)"),
    ("POST", f"{A}/workspaces"): _admin("workspaces organise users"),
    ("GET", f"{A}/workspaces"): _admin("workspaces organise users"),
    ("POST", f"{A}/profiles"): _admin("profiles give users modules"),
    ("GET", f"{A}/profiles"): _admin("profiles give users modules"),
    ("POST", f"{A}/users"): _admin("admins manage users (owner role: owners only)"),
    ("GET", f"{A}/users"): _admin("a member sees only itself, never the list"),
    ("PATCH", U): _admin("admins manage users (owner role: owners only)"),
    ("POST", f"{U}/activate"): _admin("admins manage users; may charge by policy"),
    ("POST", f"{U}/deactivate"): _admin("admins manage users"),
    ("DELETE", U): _admin("admins manage users"),
    ("POST", f"{A}/invitations"): _admin("admins manage users (owner role: owners only)"),
    ("POST", f"{A}/scim-tokens"): _owner("a SCIM token provisions the account's users"),
    ("GET", f"{A}/scim-tokens"): _owner("the account's SCIM tokens"),
    ("DELETE", f"{A}/scim-tokens/{{token_id}}"): _owner("revoking a SCIM token"),
    # --- members: themselves -----------------------------------------------------
    ("GET", U): Rule("member (itself)", "admins read any user of the account, a member itself"),
}

# --- identity providers: a SCIM token, which selects its account ---------------
# Its own kind of caller: no user or operator token passes these, and a SCIM
# token passes no other route (401 both ways).
S = "/scim/v2"
_PROVISIONING = "an identity provider provisions the token's account"
_DISCOVERY = "RFC 7644 §4 discovery"
RULES.update(
    {
        ("GET", f"{S}/ServiceProviderConfig"): _scim(_DISCOVERY),
        ("GET", f"{S}/ResourceTypes"): _scim(_DISCOVERY),
        ("GET", f"{S}/ResourceTypes/{{name}}"): _scim(_DISCOVERY),
        ("GET", f"{S}/Schemas"): _scim(_DISCOVERY),
        ("GET", f"{S}/Schemas/{{schema_uri}}"): _scim(_DISCOVERY),
        ("POST", f"{S}/.search"): _scim("answered 501: not supported"),
        ("POST", f"{S}/Users/.search"): _scim("answered 501: not supported"),
        ("POST", f"{S}/Groups/.search"): _scim("answered 501: not supported"),
        **{
            (method, f"{S}/{path}"): _scim(_PROVISIONING)
            for method, path in (
                ("POST", "Users"),
                ("GET", "Users"),
                ("GET", "Users/{user_id}"),
                ("PUT", "Users/{user_id}"),
                ("PATCH", "Users/{user_id}"),
                ("DELETE", "Users/{user_id}"),
                ("POST", "Groups"),
                ("GET", "Groups"),
                ("GET", "Groups/{group_id}"),
                ("PUT", "Groups/{group_id}"),
                ("PATCH", "Groups/{group_id}"),
                ("DELETE", "Groups/{group_id}"),
            )
        },
    }
)

CLOSED = _operator("no rule written for this route: operators only until there is one")

# The account an object belongs to, for the ``owned_by`` parameters above;
# None when there is no such object.
_ACCOUNT_OF: dict[str, Callable[[UnitOfWork, str], str | None]] = {
    "invoice_id": lambda uow, id_: invoices.account_of_invoice(uow, invoice_id=id_),
    "request_id": lambda uow, id_: seat_requests.account_of_request(uow, request_id=id_),
}


def install(app: FastAPI) -> None:
    """Index the rules by each served route's endpoint, which is what a request
    carries (``scope["route"]``); call once every route is added."""
    app.state.route_rules = {
        (method, route.endpoint): RULES.get((method, route.path), CLOSED)
        for route in iter_route_contexts(app.routes)
        if isinstance(route.original_route, APIRoute)
        for method in route.methods or ()
    }


def allows(principal: Principal, method: str, path: str, **params: str) -> bool:
    """Whether the API would let ``principal`` call ``method path`` (a template of
    ``RULES``) with these path parameters: the judgement ``enforce`` makes, for the
    console (entrypoints/console), which shows a page or an action only to whom
    the API would answer the route it stands for. For a route scoped by
    ``owned_by``, pass the object's account as ``account_id``."""
    rule = RULES.get((method, path), CLOSED)
    if rule.who in ("anyone", "scim token"):
        return rule.who == "anyone"  # a SCIM token is no principal's
    if principal.kind == "operator" or rule.who == "token holder":
        return True
    account_id = params.get("account_id")
    if account_id is not None and account_id != principal.account_id:
        return False
    return _role_allows(rule, principal, params)


def sees_prices(principal: Principal, account_id: str) -> bool:
    """Prices and billing are for owners and operators (PRODUCT.md §2 rule 5): the
    pools route answers anyone else without ``unit_price``."""
    return principal.may_act_on(account_id, "owner")


def may_manage_owners(principal: Principal, account_id: str) -> bool:
    """Only owners and operators grant or remove the ``owner`` role (PRODUCT.md §2 rule 5)."""
    return principal.may_act_on(account_id, "owner")


async def enforce(request: Request) -> None:
    """The matched route's rule, before the route runs: 401 without a valid
    token, 404 for another account's ids, 403 for a role that may not."""
    route = request.scope.get("route")
    rule = request.app.state.route_rules.get(
        (request.method, getattr(route, "endpoint", None)), CLOSED
    )
    if rule.who == "anyone":
        return
    if rule.who == "scim token":
        await scim_counted(request)  # the token's account is the one in scope
        return
    principal = await rate_counted(request)
    if principal.kind == "operator" or rule.who == "token holder":
        return
    params = request.path_params
    scope_field = "account_id" if "account_id" in params else rule.owned_by
    if scope_field is not None:
        account_id = (
            params[scope_field]
            if scope_field == "account_id"
            else await run_in_threadpool(
                _ACCOUNT_OF[scope_field], UnitOfWork(request.app.state.engine), params[scope_field]
            )
        )
        if account_id != principal.account_id:
            raise NotFound(f"{scope_field} {params[scope_field]} not found", field=scope_field)
    if not _role_allows(rule, principal, params):
        raise Forbidden(f"the {principal.role} role may not do this ({rule.why})")


def _role_allows(rule: Rule, principal: Principal, params: dict[str, str]) -> bool:
    rank = ROLE_RANK.get(principal.role or "", 0)
    if rule.who == "member (itself)":
        return rank >= ROLE_RANK["admin"] or params.get("user_id") == principal.id
    if rule.who in ("owner", "admin"):
        return rank >= ROLE_RANK[rule.who]
    return False  # operator
