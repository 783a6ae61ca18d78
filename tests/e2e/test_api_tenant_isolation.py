"""Tenant isolation (issue 9 item 3, API.md: another account's ids are 404).

With a user token of account B, every route taking an id, walked with account
A's ids (account routes and global ones: invoices, seat requests), is 404, not
403, and writes nothing; so are A's user ids under B's own account, and A's
profile and workspace ids in B's bodies (404 naming the field).
"""

from __future__ import annotations

from typing import Any

from tests.e2e.test_api_roles import WHO, World, served_routes

# The path parameters naming an object of one account. (An invitation token is
# the credential itself, anyone may use it; an operator key is no account's.)
ACCOUNT_IDS = ("{account_id}", "{user_id}", "{invoice_id}", "{request_id}")
OTHER_CALLERS = ("other owner", "other admin", "other member")


def everything_of(api: Any, account_id: str) -> dict[str, Any]:
    """All an operator sees of the account: unchanged means nothing was written."""
    invoices = api.ok(api.client.get(f"/v1/accounts/{account_id}/invoices"))["data"]
    return {**api.snapshot(account_id), "invoices": invoices}


def test_every_id_of_another_account_in_a_path_is_404_and_writes_nothing(api):
    world = World(api)
    id_routes = [
        (method, path)
        for method, path in served_routes(api.app)
        # NOTE: a /scim/v2 route takes only a SCIM token, which selects its account:
        # a user token there is 401 (test_scim.py); SCIM's isolation is tested below.
        if any(param in path for param in ACCOUNT_IDS) and not path.startswith("/scim/")
    ]
    before = everything_of(api, world.a)

    wrong = [
        f"{method} {path} as {caller}: {status}"
        for method, path in id_routes
        for caller in OTHER_CALLERS
        if (status := world.call(caller, method, path, user_id=world.users["member"])) != 404
    ]

    assert wrong == [], "\n".join(wrong)
    assert everything_of(api, world.a) == before
    assert len(id_routes) >= 30
    print(f"tenant isolation: {len(id_routes)} id routes x {len(OTHER_CALLERS)} callers")


def test_another_account_s_user_under_the_caller_s_own_account_is_404(api):
    world = World(api)
    user_routes = [
        (method, path)
        for method, path in served_routes(api.app)
        if "{user_id}" in path and WHO[(method, path)] in ("admin", "member (itself)")
    ]
    before = everything_of(api, world.a)

    wrong = []
    for method, path in user_routes:
        url = path.replace("{account_id}", world.b).replace("{user_id}", world.users["member"])
        for caller in ("other owner", "other admin"):
            body = {} if method in ("POST", "PATCH") else None
            status = world.clients[caller].request(method, url, json=body).status_code
            if status != 404:
                wrong.append(f"{method} {url} as {caller}: {status}")

    assert wrong == [], "\n".join(wrong)
    assert len(user_routes) == 5  # read, patch, activate, deactivate, delete
    assert everything_of(api, world.a) == before


def test_another_account_s_profile_and_workspace_ids_in_a_body_are_404_naming_the_field(api):
    world = World(api)
    a_profile = api.ok(
        api.client.post(
            f"/v1/accounts/{world.a}/profiles", json={"name": "A only", "modules": ["console"]}
        ),
        201,
    )["id"]
    a_workspace = api.ok(
        api.client.post(f"/v1/accounts/{world.a}/workspaces", json={"name": "A only"}), 201
    )["id"]
    b_workspace = api.ok(api.client.get(f"/v1/accounts/{world.b}/workspaces"))["data"][0]["id"]
    owner_b = world.clients["other owner"]
    users_b = f"/v1/accounts/{world.b}/users"
    person = {"email": "new@b.example.com", "first_name": "New", "last_name": "Person"}
    a_and_b = (everything_of(api, world.a), everything_of(api, world.b))

    api.problem(
        owner_b.post(users_b, json={**person, "profile_id": a_profile}), 404, field="profile_id"
    )
    api.problem(
        owner_b.post(users_b, json={**person, "workspace_ids": [a_workspace]}),
        404,
        field="workspace_ids",
    )
    b_member = f"{users_b}/{world.other_users['member']}"
    api.problem(owner_b.patch(b_member, json={"profile_id": a_profile}), 404, field="profile_id")
    api.problem(
        owner_b.patch(b_member, json={"workspace_ids": [a_workspace]}), 404, field="workspace_ids"
    )
    invitations_b = f"/v1/accounts/{world.b}/invitations"
    api.problem(
        owner_b.post(invitations_b, json={"email": person["email"], "workspace_id": a_workspace}),
        404,
        field="workspace_id",
    )
    api.problem(
        owner_b.post(
            invitations_b,
            json={"email": person["email"], "workspace_id": b_workspace, "profile_id": a_profile},
        ),
        404,
        field="profile_id",
    )

    assert (everything_of(api, world.a), everything_of(api, world.b)) == a_and_b


def test_the_access_check_finds_no_user_of_another_account(api):
    world = World(api)

    by_id = api.access(world.b, user_id=world.users["member"])
    by_email = api.access(world.b, email="member@a.example.com")

    assert (by_id["allowed"], by_id["reason"]) == (False, "not_found")
    assert (by_email["allowed"], by_email["reason"]) == (False, "not_found")
    assert api.access(world.a, user_id=world.users["member"])["reason"] != "not_found"


def test_a_scim_token_finds_no_user_or_group_of_another_account(api):
    """A SCIM token selects its account: another account's user and group ids
    are 404 on every method, in the SCIM error schema, and nothing is written."""
    from tests.e2e.test_scim import Scim, scim_error

    ours, theirs = Scim(api), Scim(api)
    their_user = theirs.create_user("theirs@example.com")["id"]
    their_group = theirs.ok(
        theirs.http.post(
            "/Groups",
            json={
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                "displayName": "Theirs",
            },
        ),
        201,
    )["id"]
    before = everything_of(api, theirs.account)
    patch = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "path": "active", "value": False}],
    }
    user = {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": "x@example.com",
        "name": {"givenName": "X", "familyName": "Y"},
    }
    group = {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "X"}
    for path, body in ((f"/Users/{their_user}", user), (f"/Groups/{their_group}", group)):
        scim_error(ours.http.get(path), 404)
        scim_error(ours.http.put(path, json=body), 404)
        scim_error(ours.http.patch(path, json=patch), 404)
        scim_error(ours.http.delete(path), 404)
    assert ours.ok(ours.http.get("/Users"))["totalResults"] == 0
    assert everything_of(api, theirs.account) == before
