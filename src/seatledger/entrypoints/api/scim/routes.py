"""Routes: SCIM 2.0 under /scim/v2 (RFC 7644), for identity providers.

Authenticated by a SCIM token, which selects the account (roles.py, "scim
token"); the unit of work's actor is "scim:<token id>". Answers are
``application/scim+json``; errors the SCIM error schema (scim/errors.py). The
routes only translate: scim2-models reads and writes the resources and applies
PATCH operations, services/scim.py does the work. They are left out of the
OpenAPI document, which describes /v1: SCIM describes itself (/Schemas,
/ResourceTypes, /ServiceProviderConfig).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import ValidationError
from scim2_models import (
    Context,
    InvalidFilterException,
    InvalidSyntaxException,
    InvalidValueException,
    ListResponse,
    NotImplementedException,
    PatchOp,
    ResponseParameters,
    ScimFilter,
)
from scim2_models.path import CompareOperator, Comparison
from scim2_server.service import ScimService, is_json_media_type

from seatledger.domain.errors import UnsupportedMediaType
from seatledger.domain.users import ACTIVE
from seatledger.entrypoints.api.auth import CurrentPrincipal
from seatledger.entrypoints.api.deps import Now, Uow
from seatledger.entrypoints.api.scim.errors import PREFIX, SCIM_JSON, invalid
from seatledger.entrypoints.api.scim.resources import (
    GROUP_SCHEMA,
    KNOWN_SCHEMAS,
    MAX_RESULTS,
    POLICY,
    PROVIDER,
    TOLERATED_SCHEMAS,
    USER_SCHEMA,
    Group,
    UserResource,
    group_resource,
    group_state,
    user_resource,
    user_state,
)
from seatledger.services import scim
from seatledger.services.scim import GroupState, ScimUser, UserState
from seatledger.services.unit_of_work import UnitOfWork
from seatledger.services.workspaces import WorkspaceMembers

router = APIRouter(prefix=PREFIX, tags=["scim"], include_in_schema=False)
DISCOVERY = ScimService(PROVIDER)
# Filters we evaluate: ``<attribute> eq "<value>"``, by endpoint (lowercase names).
USER_FILTERS = {"username": "email", "externalid": "external_id"}
GROUP_FILTERS = {"displayname": "name", "externalid": "external_id"}


# --- reading requests ----------------------------------------------------------------


async def scim_body(request: Request) -> dict[str, Any]:
    """The request's JSON object (application/scim+json or application/json)."""
    if not is_json_media_type(request.headers.get("content-type")):
        raise UnsupportedMediaType(
            "a SCIM body is application/scim+json (or application/json)", field="content-type"
        )
    try:
        body = json.loads(await request.body())
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise InvalidSyntaxException(detail="the body is not valid JSON") from None
    if not isinstance(body, dict):
        raise InvalidSyntaxException(detail="the body must be a JSON object")
    return body


Body = Annotated[dict[str, Any], Depends(scim_body)]


def _checked(body: dict[str, Any], endpoint: str) -> dict[str, Any]:
    """Refuses schema URNs the endpoint does not serve, in ``schemas`` or as the
    key of an extension (RFC 7643 §3: invalidSyntax); the body without the
    tolerated ones."""
    known = {urn.lower() for urn in KNOWN_SCHEMAS[endpoint]}
    listed = body.get("schemas")
    named = list(listed) if isinstance(listed, list) else []
    named += [key for key in body if isinstance(key, str) and key.lower().startswith("urn:")]
    for urn in named:
        if not isinstance(urn, str) or (urn.lower() not in known and urn not in TOLERATED_SCHEMAS):
            raise InvalidSyntaxException(detail=f"unknown schema {urn!r} for /{endpoint}")
    if isinstance(listed, list):
        body = {**body, "schemas": [urn for urn in listed if urn not in TOLERATED_SCHEMAS]}
    return body


def _validated(model: Any, payload: Any, context: Context | None = None) -> Any:
    try:
        return model.model_validate(
            payload, scim_ctx=context, scim_policy=POLICY, scim_provider=PROVIDER
        )
    except ValidationError as exc:
        raise invalid(exc) from None


def _read(model: Any, body: dict[str, Any], endpoint: str, context: Context) -> Any:
    return _validated(model, _checked(body, endpoint), context)


def _read_user(body: dict[str, Any], context: Context) -> UserResource:
    """A User of a POST or PUT. ``active`` is required in our schema (a user is
    active or not: it always has a value, and no PATCH removes it, RFC 7644
    §3.5.2.2), yet a body may leave it out (or null), as the core schema allows:
    the User comes back with ``active`` unassigned, which _user_state reads as
    active on a create and as it is on a replace."""
    said = [key for key in body if isinstance(key, str) and key.lower() == "active"]
    if any(body[key] is not None for key in said):
        return _read(UserResource, body, "Users", context)
    rest = {key: value for key, value in body.items() if key not in said}
    resource = _read(UserResource, {**rest, "active": True}, "Users", context)
    resource.active = None
    return resource


def _read_group(body: dict[str, Any], context: Context) -> Group:
    return _read(Group, body, "Groups", context)


def _read_patch(model: Any, body: dict[str, Any]) -> Any:
    """A PatchOp; in the entries a value lists, a null sub-attribute is left out
    (RFC 7643 §2.5: null is unassigned), so that Entra ID's remove of
    ``[{"$ref": null, "value": id}]`` selects the member with that value."""
    operations = body.get("Operations")
    if isinstance(operations, list):
        body = {**body, "Operations": [_entries_without_nulls(op) for op in operations]}
    return _validated(PatchOp[model], body, Context.RESOURCE_PATCH_REQUEST)


def _entries_without_nulls(operation: Any) -> Any:
    value = operation.get("value") if isinstance(operation, dict) else None
    if not isinstance(value, list):
        return operation
    entries = [
        {k: v for k, v in entry.items() if v is not None} if isinstance(entry, dict) else entry
        for entry in value
    ]
    return {**operation, "value": entries}


def _filter(expression: str | None, supported: dict[str, str], schema: str) -> dict[str, str]:
    """``attribute eq "value"`` as {use case argument: value}; any other filter
    is invalidFilter (RFC 7644 §3.4.2.2)."""
    if expression is None:
        return {}
    try:
        node = ScimFilter(expression).ast
    except Exception:  # the grammar's refusal, whatever its class
        raise InvalidFilterException(detail=f"{expression!r} is not a SCIM filter") from None
    attr = getattr(node, "attr_path", None)
    if (
        not isinstance(node, Comparison)
        or node.op != CompareOperator.eq
        or not isinstance(node.value, str)
        or attr is None
        or attr.sub_attr is not None
        or (attr.uri is not None and attr.uri.lower() != schema.lower())
        or attr.attr.lower() not in supported
    ):
        names = " or ".join(f'{name} eq "…"' for name in _spelled(supported))
        raise InvalidFilterException(detail=f"the filters supported here are {names}")
    return {supported[attr.attr.lower()]: node.value}


def _spelled(supported: dict[str, str]) -> list[str]:
    spelling = {"username": "userName", "externalid": "externalId", "displayname": "displayName"}
    return [spelling[name] for name in supported]


def _paging(start_index: str | None, count: str | None) -> tuple[int, int, int]:
    """(offset, limit, startIndex) from RFC 7644 §3.4.2.4's parameters: a startIndex
    below 1 is 1, a negative count 0, a count over MAX_RESULTS MAX_RESULTS."""

    def number(value: str | None, name: str, default: int) -> int:
        if value is None:
            return default
        try:
            return int(value)
        except ValueError:
            raise InvalidValueException(detail=f"{name} must be an integer") from None

    first = max(1, number(start_index, "startIndex", 1))
    size = min(MAX_RESULTS, max(0, number(count, "count", MAX_RESULTS)))
    return first - 1, size, first


def _shown(model: Any, asked: Shown) -> Any:
    """RFC 7644 §3.9 ``attributes`` / ``excludedAttributes``, checked against ``model``."""
    if asked.attributes is None and asked.excluded is None:
        return None
    return _validated(
        ResponseParameters[model],
        {"attributes": asked.attributes, "excludedAttributes": asked.excluded},
    )


def _base_url(request: Request) -> str:
    return str(request.base_url).rstrip("/") + PREFIX


def _answer(payload: dict[str, Any], status: int = 200, location: str | None = None) -> Response:
    headers = {"Location": location} if location else None
    return JSONResponse(payload, status_code=status, media_type=SCIM_JSON, headers=headers)


def _dump(resource: Any, context: Context, shown: Any = None) -> dict[str, Any]:
    return resource.model_dump(scim_ctx=context, response_parameters=shown, scim_provider=PROVIDER)


StartIndex = Annotated[str | None, Query(alias="startIndex")]
Count = Annotated[str | None, Query(alias="count")]
Filter = Annotated[str | None, Query(alias="filter")]
Attributes = Annotated[str | None, Query(alias="attributes")]
Excluded = Annotated[str | None, Query(alias="excludedAttributes")]


# --- discovery (RFC 7644 §4) ---------------------------------------------------------


@router.get("/ServiceProviderConfig")
def scim_service_provider_config(request: Request, _: CurrentPrincipal) -> Response:
    answer = DISCOVERY.service_provider_config(str(request.url), request.query_params)
    return _answer(answer.body or {})


@router.get("/ResourceTypes")
def scim_resource_types(request: Request, _: CurrentPrincipal) -> Response:
    answer = DISCOVERY.resource_types(_base_url(request) + "/ResourceTypes", request.query_params)
    return _answer(answer.body or {})


@router.get("/ResourceTypes/{name}")
def scim_resource_type(name: str, request: Request, _: CurrentPrincipal) -> Response:
    answer = DISCOVERY.resource_type(str(request.url), name, request.query_params)
    return _answer(answer.body or {})


@router.get("/Schemas")
def scim_schemas(request: Request, _: CurrentPrincipal) -> Response:
    answer = DISCOVERY.schemas(_base_url(request) + "/Schemas", request.query_params)
    return _answer(answer.body or {})


@router.get("/Schemas/{schema_uri}")
def scim_schema(schema_uri: str, request: Request, _: CurrentPrincipal) -> Response:
    answer = DISCOVERY.schema(str(request.url), schema_uri, request.query_params)
    return _answer(answer.body or {})


@router.post("/.search")
@router.post("/Users/.search")
@router.post("/Groups/.search")
def scim_search(_: CurrentPrincipal) -> Response:
    """RFC 7644 §3.4.3's search with POST (at the root: every resource type at
    once): not here, the GET of /Users and /Groups with its query does it."""
    raise NotImplementedException(
        detail="search with POST is not supported; use GET /Users or GET /Groups"
    )


# --- users and groups: one implementation, by resource type ---------------------------


@dataclass(frozen=True)
class ScimCall:
    """A provisioning request: its unit of work and time, the SCIM token's account
    and actor ("scim:<token id>"), and the endpoint's URL for the locations."""

    uow: UnitOfWork
    at: datetime
    account_id: str
    actor: str
    base_url: str


def scim_call(request: Request, uow: Uow, now: Now, principal: CurrentPrincipal) -> ScimCall:
    return ScimCall(uow, now, principal.account_id, principal.actor, _base_url(request))


@dataclass(frozen=True)
class Shown:
    """RFC 7644 §3.9 ``attributes`` / ``excludedAttributes``, as asked."""

    attributes: str | None
    excluded: str | None


def shown_attributes(attributes: Attributes = None, excluded_attributes: Excluded = None) -> Shown:
    return Shown(attributes, excluded_attributes)


@dataclass(frozen=True)
class Listing:
    """A list's query (RFC 7644 §3.4.2): its filter, its page, what it shows."""

    filter: str | None
    start_index: str | None
    count: str | None
    shown: Shown


def listing(
    shown: Annotated[Shown, Depends(shown_attributes)],
    filter: Filter = None,
    start_index: StartIndex = None,
    count: Count = None,
) -> Listing:
    return Listing(filter, start_index, count, shown)


Call = Annotated[ScimCall, Depends(scim_call)]
ShownAttributes = Annotated[Shown, Depends(shown_attributes)]
ListQuery = Annotated[Listing, Depends(listing)]


@dataclass(frozen=True)
class ResourceKind:
    """What tells /Users and /Groups apart: the resource's model, endpoint, core
    schema and filters, the use cases' keyword for its id, its use cases
    (services/scim.py), and the translations both ways: ``read`` a POST's or PUT's
    body as the resource, ``resource`` the use cases' answer as the SCIM resource,
    ``state`` what a resource asks for, from the resource as it is now (None on a
    create). What a PATCH may not leave (a required attribute unassigned: RFC 7644
    §3.5.2.2, 400 mutability) scim2-models refuses from the schema."""

    model: Any
    endpoint: str
    schema: str
    filters: dict[str, str]
    id_name: str
    create: Callable[..., Any]
    get: Callable[..., Any]
    list: Callable[..., scim.Page]
    change: Callable[..., Any]
    delete: Callable[..., None]
    read: Callable[[dict[str, Any], Context], Any]
    resource: Callable[[Any, str], Any]
    state: Callable[[Any, Any], Any]


def _user_state(resource: UserResource, current: ScimUser | None) -> UserState:
    """``active`` left out: active on a create, as it is on a replace."""
    return user_state(resource, active_if_unsaid=current is None or current.user.status == ACTIVE)


def _group_state(resource: Group, _current: WorkspaceMembers | None) -> GroupState:
    return group_state(resource)


USERS = ResourceKind(
    model=UserResource,
    endpoint="Users",
    schema=USER_SCHEMA,
    filters=USER_FILTERS,
    id_name="user_id",
    create=scim.create_user,
    get=scim.get_user,
    list=scim.list_users,
    change=scim.change_user,
    delete=scim.delete_user,
    read=_read_user,
    resource=user_resource,
    state=_user_state,
)
GROUPS = ResourceKind(
    model=Group,
    endpoint="Groups",
    schema=GROUP_SCHEMA,
    filters=GROUP_FILTERS,
    id_name="group_id",
    create=scim.create_group,
    get=scim.get_group,
    list=scim.list_groups,
    change=scim.change_group,
    delete=scim.delete_group,
    read=_read_group,
    resource=group_resource,
    state=_group_state,
)


def _create(kind: ResourceKind, call: ScimCall, body: dict[str, Any]) -> Response:
    resource = kind.read(body, Context.RESOURCE_CREATION_REQUEST)
    created = kind.create(
        call.uow,
        account_id=call.account_id,
        state=kind.state(resource, None),
        at=call.at,
        actor=call.actor,
    )
    out = kind.resource(created, call.base_url)
    return _answer(_dump(out, Context.RESOURCE_CREATION_RESPONSE), 201, out.meta.location)


def _list(kind: ResourceKind, call: ScimCall, query: Listing) -> Response:
    wanted = _filter(query.filter, kind.filters, kind.schema)
    shown = _shown(kind.model, query.shown)
    offset, limit, first = _paging(query.start_index, query.count)
    page = kind.list(call.uow, account_id=call.account_id, offset=offset, limit=limit, **wanted)
    listed = ListResponse[kind.model](
        total_results=page.total,
        start_index=first,
        items_per_page=len(page.items),
        resources=[kind.resource(found, call.base_url) for found in page.items] or None,
    )
    return _answer(_dump(listed, Context.SEARCH_RESPONSE, shown))


def _get(kind: ResourceKind, call: ScimCall, resource_id: str, asked: Shown) -> Response:
    shown = _shown(kind.model, asked)
    found = kind.get(call.uow, account_id=call.account_id, **{kind.id_name: resource_id})
    out = kind.resource(found, call.base_url)
    return _answer(_dump(out, Context.RESOURCE_QUERY_RESPONSE, shown))


def _change(
    kind: ResourceKind,
    call: ScimCall,
    resource_id: str,
    change: Callable[[Any], Any],
    context: Context,
) -> Response:
    """``change``: the state asked for, from the resource's state now (read under
    the account's lock by the use case)."""
    changed = kind.change(
        call.uow,
        account_id=call.account_id,
        at=call.at,
        actor=call.actor,
        change=change,
        **{kind.id_name: resource_id},
    )
    return _answer(_dump(kind.resource(changed, call.base_url), context))


def _replace(
    kind: ResourceKind, call: ScimCall, resource_id: str, body: dict[str, Any]
) -> Response:
    resource = kind.read(body, Context.RESOURCE_REPLACEMENT_REQUEST)
    return _change(
        kind,
        call,
        resource_id,
        lambda current: kind.state(resource, current),
        Context.RESOURCE_REPLACEMENT_RESPONSE,
    )


def _patch(kind: ResourceKind, call: ScimCall, resource_id: str, body: dict[str, Any]) -> Response:
    """RFC 7644 §3.5.2 operations, applied in order to the resource as it is, all
    or nothing."""
    operations = _read_patch(kind.model, body)

    def patch(current: Any) -> Any:
        resource = kind.resource(current, call.base_url)
        operations.patch(resource, scim_policy=POLICY)
        return kind.state(resource, current)

    return _change(kind, call, resource_id, patch, Context.RESOURCE_PATCH_RESPONSE)


def _delete(kind: ResourceKind, call: ScimCall, resource_id: str) -> Response:
    kind.delete(
        call.uow,
        account_id=call.account_id,
        at=call.at,
        actor=call.actor,
        **{kind.id_name: resource_id},
    )
    return Response(status_code=204)


# --- users ---------------------------------------------------------------------------


@router.post("/Users")
def scim_create_user(body: Body, call: Call) -> Response:
    return _create(USERS, call, body)


@router.get("/Users")
def scim_list_users(call: Call, query: ListQuery) -> Response:
    return _list(USERS, call, query)


@router.get("/Users/{user_id}")
def scim_get_user(user_id: str, call: Call, shown: ShownAttributes) -> Response:
    return _get(USERS, call, user_id, shown)


@router.put("/Users/{user_id}")
def scim_replace_user(user_id: str, body: Body, call: Call) -> Response:
    """The user as the body says: what it leaves out is cleared, ``active`` left
    out stays as it is."""
    return _replace(USERS, call, user_id, body)


@router.patch("/Users/{user_id}")
def scim_patch_user(user_id: str, body: Body, call: Call) -> Response:
    """The forms Entra ID and Okta send are understood (any case of ``op``, a
    value object without a path, a remove carrying its value); ``active`` is
    required: removing it is refused (400 mutability)."""
    return _patch(USERS, call, user_id, body)


@router.delete("/Users/{user_id}", status_code=204)
def scim_delete_user(user_id: str, call: Call) -> Response:
    """An owner or admin loses the role with it, except the last one."""
    return _delete(USERS, call, user_id)


# --- groups --------------------------------------------------------------------------


@router.post("/Groups")
def scim_create_group(body: Body, call: Call) -> Response:
    return _create(GROUPS, call, body)


@router.get("/Groups")
def scim_list_groups(call: Call, query: ListQuery) -> Response:
    return _list(GROUPS, call, query)


@router.get("/Groups/{group_id}")
def scim_get_group(group_id: str, call: Call, shown: ShownAttributes) -> Response:
    return _get(GROUPS, call, group_id, shown)


@router.put("/Groups/{group_id}")
def scim_replace_group(group_id: str, body: Body, call: Call) -> Response:
    return _replace(GROUPS, call, group_id, body)


@router.patch("/Groups/{group_id}")
def scim_patch_group(group_id: str, body: Body, call: Call) -> Response:
    """Members added and removed as Entra ID and Okta send them (``members`` add,
    ``members[value eq "…"]`` remove, a remove listing its values), all or
    nothing under the seat policies."""
    return _patch(GROUPS, call, group_id, body)


@router.delete("/Groups/{group_id}", status_code=204)
def scim_delete_group(group_id: str, call: Call) -> Response:
    """Its members leave the workspace; those left in no workspace release their seats."""
    return _delete(GROUPS, call, group_id)
