"""The SCIM resources seatledger serves (RFC 7643), as scim2-models classes.

The schemas are ours: the core User and Group schemas cut down to the attributes
seatledger keeps, which is what ``/Schemas`` publishes (RFC 7643 §7), plus the
department of the enterprise extension. A request may carry other attributes of
the core schemas (``displayName``, ``locale``, ``password``, ``groups``...: what
Okta and Entra ID send): they are ignored (``POLICY``), as are PATCH operations
on them; a schema URN we do not serve is refused.

How they map (PRODUCT.md §7): ``userName`` is the email, ``name.givenName`` and
``name.familyName`` the names, ``active`` the status (invited, inactive and
deleted are not active), ``emails`` the addresses the provider lists (kept as
given), ``externalId`` the provider's id; the enterprise ``department`` the
department. A Group is a workspace other than the default one: ``displayName``
its name, ``members`` its users.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import Field
from scim2_models import (
    URN,
    AuthenticationScheme,
    Bulk,
    CaseExact,
    ChangePassword,
    ComplexAttribute,
    ETag,
    Extension,
    Filter,
    Meta,
    Mutability,
    Pagination,
    Patch,
    Reference,
    Required,
    Resource,
    ResourceType,
    Schema,
    ScimPolicy,
    ScimProvider,
    ServiceProviderConfig,
    Sort,
    Uniqueness,
)

from seatledger.domain.users import ACTIVE, ListedEmail
from seatledger.services.scim import GroupState, ScimUser, UserState
from seatledger.services.workspaces import WorkspaceMembers

USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE_SCHEMA = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"
MAX_RESULTS = 200  # a list's page holds at most this many resources


class Name(ComplexAttribute):
    """The user's names (seatledger's name rules: letters, spaces, ' - .)."""

    given_name: Annotated[str | None, Required.true] = None
    """The first name."""

    family_name: Annotated[str | None, Required.true] = None
    """The last name."""


class Email(ComplexAttribute):
    """An address the identity provider lists, kept as given; the user signs in
    with its userName."""

    value: Annotated[str | None, Required.true] = None
    """An email address."""

    type: str | None = None
    """A label: work, home, other..."""

    primary: bool | None = None
    """The preferred address (at most one)."""


class User(Resource[Any]):
    """A user of the account: userName is its email."""

    __schema__ = URN(USER_SCHEMA)

    user_name: Annotated[str | None, Required.true, Uniqueness.server] = None
    """The email the user signs in with, unique in the account (any case)."""

    name: Annotated[Name | None, Required.true] = None
    """The user's names."""

    active: Annotated[bool | None, Required.true] = None
    """Whether the user is active: it holds seats and may sign in. A user is
    active or not, never unassigned: no PATCH removes it. A create that leaves it
    out makes the user active, a replace keeps it as it is."""

    emails: list[Email] | None = None
    """The addresses the identity provider lists."""


class EnterpriseUser(Extension):
    """The enterprise extension, cut down to the attribute seatledger keeps."""

    __schema__ = URN(ENTERPRISE_SCHEMA)

    department: str | None = None
    """The user's department."""


class GroupMember(ComplexAttribute):
    """A user of the group (groups hold users only)."""

    value: Annotated[str | None, Mutability.immutable, CaseExact.true, Required.true] = None
    """The user's id."""

    ref: Annotated[Reference[User] | None, Mutability.immutable] = Field(
        None, serialization_alias="$ref", validation_alias="$ref"
    )
    """The user's URI."""

    type: Annotated[str | None, Mutability.immutable] = None
    """Always User."""


class Group(Resource[Any]):
    """A workspace of the account, other than the default one."""

    __schema__ = URN(GROUP_SCHEMA)

    display_name: Annotated[str | None, Required.true] = None
    """The workspace's name."""

    members: list[GroupMember] | None = None
    """The workspace's users."""


UserResource = User[EnterpriseUser]
RESOURCE_TYPES = [
    ResourceType(
        id="User",
        name="User",
        description="A user of the account",
        endpoint="/Users",
        schema_=USER_SCHEMA,
        schema_extensions=[{"schema": ENTERPRISE_SCHEMA, "required": False}],
    ),
    ResourceType(
        id="Group",
        name="Group",
        description="A workspace of the account, other than the default one",
        endpoint="/Groups",
        schema_=GROUP_SCHEMA,
    ),
]
CONFIG = ServiceProviderConfig(
    documentation_uri=None,
    patch=Patch(supported=True),
    bulk=Bulk(supported=False, max_operations=0, max_payload_size=0),
    filter=Filter(supported=True, max_results=MAX_RESULTS),
    change_password=ChangePassword(supported=False),
    sort=Sort(supported=False),
    etag=ETag(supported=False),
    pagination=Pagination(index=True, cursor=False, default_pagination_method="index"),
    authentication_schemes=[
        AuthenticationScheme(
            type="oauthbearertoken",
            name="SCIM token",
            description="Authorization: Bearer <a SCIM token of the account>",
            primary=True,
        )
    ],
)
# NOTE: attributes of the core schemas we do not keep are ignored, not refused:
# identity providers send them (Okta: locale, password, groups; Entra ID: roles).
# Entra ID's forms: a remove carrying the value to remove, and a filtered path that
# matches no entry (it then adds the entry).
POLICY = ScimPolicy(
    unknown=ScimPolicy.Unknown.ignore,
    remove_value_as_filter=ScimPolicy.RemoveValue.apply,
    unmatched_path_filter=ScimPolicy.UnmatchedPathFilter.create,
)
PROVIDER = ScimProvider(
    models=[User, EnterpriseUser, Group, ServiceProviderConfig, ResourceType, Schema],
    resource_types=RESOURCE_TYPES,
    config=CONFIG,
    policy=POLICY,
)
KNOWN_SCHEMAS = {
    "Users": {USER_SCHEMA, ENTERPRISE_SCHEMA},
    "Groups": {GROUP_SCHEMA},
}
# NOTE: Entra ID lists its own schema on the groups it creates, with no attribute
# under it: passed over, where any other schema we do not serve is refused.
TOLERATED_SCHEMAS = {"http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/Group"}


def _meta(resource_type: str, location: str, created: Any, modified: datetime | None) -> Meta:
    return Meta(
        resource_type=resource_type,
        created=created,
        last_modified=modified or created,
        location=location,
    )


def user_resource(found: ScimUser, base_url: str) -> Any:
    """The SCIM User for a user of the account."""
    user = found.user
    resource = UserResource(
        id=user.id,
        external_id=user.external_id,
        user_name=user.email,
        name=Name(given_name=user.first_name or None, family_name=user.last_name or None),
        active=user.status == ACTIVE,
        emails=[Email(value=e.value, type=e.type, primary=e.primary) for e in user.listed_emails]
        or None,
        meta=_meta("User", f"{base_url}/Users/{user.id}", user.created_at, found.modified_at),
    )
    if user.department:
        resource[EnterpriseUser] = EnterpriseUser(department=user.department)
    return resource


def user_state(resource: Any, *, active_if_unsaid: bool) -> UserState:
    """What a validated SCIM User says; ``active`` left out is ``active_if_unsaid``."""
    name = resource.name or Name()
    extension = resource[EnterpriseUser]
    return UserState(
        email=resource.user_name,
        first_name=name.given_name,
        last_name=name.family_name,
        active=active_if_unsaid if resource.active is None else resource.active,
        external_id=resource.external_id,
        department=extension.department if extension is not None else None,
        listed_emails=tuple(
            ListedEmail(e.value, str(e.type) if e.type else None, bool(e.primary))
            for e in resource.emails or ()
        ),
    )


def group_resource(found: WorkspaceMembers, base_url: str) -> Group:
    workspace = found.workspace
    return Group(
        id=workspace.id,
        external_id=workspace.external_id,
        display_name=workspace.name,
        members=[
            GroupMember(value=user_id, ref=f"{base_url}/Users/{user_id}", type="User")
            for user_id in found.member_ids
        ]
        or None,
        meta=_meta(
            "Group",
            f"{base_url}/Groups/{workspace.id}",
            workspace.created_at,
            workspace.updated_at,
        ),
    )


def group_state(resource: Group) -> GroupState:
    return GroupState(
        name=resource.display_name,
        external_id=resource.external_id,
        member_ids=tuple(m.value for m in resource.members or () if m.value is not None),
    )
