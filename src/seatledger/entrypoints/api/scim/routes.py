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


def _shown(model: Any, attributes: str | None, excluded: str | None) -> Any:
    """RFC 7644 §3.9 ``attributes`` / ``excludedAttributes``."""
    if attributes is None and excluded is None:
        return None
    return _validated(
        ResponseParameters[model], {"attributes": attributes, "excludedAttributes": excluded}
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


def _actor(principal: Any) -> tuple[str, str]:
    """(account_id, actor): the SCIM token's account and "scim:<token id>"."""
    return principal.account_id, principal.actor


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
def scim_search(_: CurrentPrincipal) -> Response:
    """RFC 7644 §3.4.3 lets a server search every resource type at once: not here."""
    raise NotImplementedException(detail="search with POST is not supported; use GET /Users")


# --- users ---------------------------------------------------------------------------


@router.post("/Users")
def scim_create_user(
    request: Request, body: Body, uow: Uow, now: Now, principal: CurrentPrincipal
) -> Response:
    resource = _read(UserResource, body, "Users", Context.RESOURCE_CREATION_REQUEST)
    account_id, actor = _actor(principal)
    created = scim.create_user(
        uow,
        account_id=account_id,
        state=user_state(resource, active_if_unsaid=True),
        at=now,
        actor=actor,
    )
    out = user_resource(created, _base_url(request))
    return _answer(_dump(out, Context.RESOURCE_CREATION_RESPONSE), 201, out.meta.location)


@router.get("/Users")
def scim_list_users(
    request: Request,
    uow: Uow,
    principal: CurrentPrincipal,
    filter: Filter = None,
    start_index: StartIndex = None,
    count: Count = None,
    attributes: Attributes = None,
    excluded_attributes: Excluded = None,
) -> Response:
    wanted = _filter(filter, USER_FILTERS, USER_SCHEMA)
    shown = _shown(UserResource, attributes, excluded_attributes)
    offset, limit, first = _paging(start_index, count)
    page = scim.list_users(
        uow, account_id=principal.account_id, offset=offset, limit=limit, **wanted
    )
    base = _base_url(request)
    listed = ListResponse[UserResource](
        total_results=page.total,
        start_index=first,
        items_per_page=len(page.items),
        resources=[user_resource(u, base) for u in page.items] or None,
    )
    return _answer(_dump(listed, Context.SEARCH_RESPONSE, shown))


@router.get("/Users/{user_id}")
def scim_get_user(
    user_id: str,
    request: Request,
    uow: Uow,
    principal: CurrentPrincipal,
    attributes: Attributes = None,
    excluded_attributes: Excluded = None,
) -> Response:
    shown = _shown(UserResource, attributes, excluded_attributes)
    found = scim.get_user(uow, account_id=principal.account_id, user_id=user_id)
    return _answer(
        _dump(user_resource(found, _base_url(request)), Context.RESOURCE_QUERY_RESPONSE, shown)
    )


def _change_user(
    request: Request,
    uow: Uow,
    now: Now,
    principal: Any,
    user_id: str,
    change: Callable[[ScimUser], UserState],
    context: Context,
) -> Response:
    account_id, actor = _actor(principal)
    changed = scim.change_user(
        uow, account_id=account_id, user_id=user_id, at=now, actor=actor, change=change
    )
    return _answer(_dump(user_resource(changed, _base_url(request)), context))


@router.put("/Users/{user_id}")
def scim_replace_user(
    user_id: str, request: Request, body: Body, uow: Uow, now: Now, principal: CurrentPrincipal
) -> Response:
    """The user as the body says: what it leaves out is cleared, ``active`` left
    out stays as it is."""
    resource = _read(UserResource, body, "Users", Context.RESOURCE_REPLACEMENT_REQUEST)

    def replace(current: ScimUser) -> UserState:
        return user_state(resource, active_if_unsaid=current.user.status == ACTIVE)

    return _change_user(
        request, uow, now, principal, user_id, replace, Context.RESOURCE_REPLACEMENT_RESPONSE
    )


@router.patch("/Users/{user_id}")
def scim_patch_user(
    user_id: str, request: Request, body: Body, uow: Uow, now: Now, principal: CurrentPrincipal
) -> Response:
    """RFC 7644 §3.5.2 operations, applied in order to the user as it is, all or
    nothing; the forms Entra ID and Okta send are understood (any case of ``op``,
    a value object without a path, a remove carrying its value)."""
    operations = _read_patch(UserResource, body)
    base = _base_url(request)

    def patch(current: ScimUser) -> UserState:
        resource = user_resource(current, base)
        operations.patch(resource, scim_policy=POLICY)
        if resource.active is None:
            raise InvalidValueException(detail="active cannot be removed: a user is active or not")
        return user_state(resource, active_if_unsaid=True)

    return _change_user(
        request, uow, now, principal, user_id, patch, Context.RESOURCE_PATCH_RESPONSE
    )


@router.delete("/Users/{user_id}", status_code=204)
def scim_delete_user(user_id: str, uow: Uow, now: Now, principal: CurrentPrincipal) -> Response:
    account_id, actor = _actor(principal)
    scim.delete_user(uow, account_id=account_id, user_id=user_id, at=now, actor=actor)
    return Response(status_code=204)


# --- groups --------------------------------------------------------------------------


@router.post("/Groups")
def scim_create_group(
    request: Request, body: Body, uow: Uow, now: Now, principal: CurrentPrincipal
) -> Response:
    resource = _read(Group, body, "Groups", Context.RESOURCE_CREATION_REQUEST)
    account_id, actor = _actor(principal)
    created = scim.create_group(
        uow, account_id=account_id, state=group_state(resource), at=now, actor=actor
    )
    out = group_resource(created, _base_url(request))
    return _answer(_dump(out, Context.RESOURCE_CREATION_RESPONSE), 201, out.meta.location)


@router.get("/Groups")
def scim_list_groups(
    request: Request,
    uow: Uow,
    principal: CurrentPrincipal,
    filter: Filter = None,
    start_index: StartIndex = None,
    count: Count = None,
    attributes: Attributes = None,
    excluded_attributes: Excluded = None,
) -> Response:
    wanted = _filter(filter, GROUP_FILTERS, GROUP_SCHEMA)
    shown = _shown(Group, attributes, excluded_attributes)
    offset, limit, first = _paging(start_index, count)
    page = scim.list_groups(
        uow, account_id=principal.account_id, offset=offset, limit=limit, **wanted
    )
    base = _base_url(request)
    listed = ListResponse[Group](
        total_results=page.total,
        start_index=first,
        items_per_page=len(page.items),
        resources=[group_resource(g, base) for g in page.items] or None,
    )
    return _answer(_dump(listed, Context.SEARCH_RESPONSE, shown))


@router.get("/Groups/{group_id}")
def scim_get_group(
    group_id: str,
    request: Request,
    uow: Uow,
    principal: CurrentPrincipal,
    attributes: Attributes = None,
    excluded_attributes: Excluded = None,
) -> Response:
    shown = _shown(Group, attributes, excluded_attributes)
    found = scim.get_group(uow, account_id=principal.account_id, group_id=group_id)
    return _answer(
        _dump(group_resource(found, _base_url(request)), Context.RESOURCE_QUERY_RESPONSE, shown)
    )


def _change_group(
    request: Request,
    uow: Uow,
    now: Now,
    principal: Any,
    group_id: str,
    change: Callable[[WorkspaceMembers], GroupState],
    context: Context,
) -> Response:
    account_id, actor = _actor(principal)
    changed = scim.change_group(
        uow, account_id=account_id, group_id=group_id, at=now, actor=actor, change=change
    )
    return _answer(_dump(group_resource(changed, _base_url(request)), context))


@router.put("/Groups/{group_id}")
def scim_replace_group(
    group_id: str, request: Request, body: Body, uow: Uow, now: Now, principal: CurrentPrincipal
) -> Response:
    resource = _read(Group, body, "Groups", Context.RESOURCE_REPLACEMENT_REQUEST)
    return _change_group(
        request,
        uow,
        now,
        principal,
        group_id,
        lambda _: group_state(resource),
        Context.RESOURCE_REPLACEMENT_RESPONSE,
    )


@router.patch("/Groups/{group_id}")
def scim_patch_group(
    group_id: str, request: Request, body: Body, uow: Uow, now: Now, principal: CurrentPrincipal
) -> Response:
    """Members added and removed as Entra ID and Okta send them (``members`` add,
    ``members[value eq "…"]`` remove, a remove listing its values), all or
    nothing under the seat policies."""
    operations = _read_patch(Group, body)
    base = _base_url(request)

    def patch(current: WorkspaceMembers) -> GroupState:
        resource = group_resource(current, base)
        operations.patch(resource, scim_policy=POLICY)
        return group_state(resource)

    return _change_group(
        request, uow, now, principal, group_id, patch, Context.RESOURCE_PATCH_RESPONSE
    )


@router.delete("/Groups/{group_id}", status_code=204)
def scim_delete_group(group_id: str, uow: Uow, now: Now, principal: CurrentPrincipal) -> Response:
    """Its members leave the workspace; those left in no workspace release their seats."""
    account_id, actor = _actor(principal)
    scim.delete_group(uow, account_id=account_id, group_id=group_id, at=now, actor=actor)
    return Response(status_code=204)
