"""Roles on every route (issue 9 item 2, API.md "who", PRODUCT.md §2 rule 5).

The matrix is built from the application's own route list: every served route
× {anonymous, member, admin, owner, another account's owner, operator}, each
answered against ``WHO``, a table written here from API.md (not read from the
application), so a route missing from it fails the test.
"""

from __future__ import annotations

from typing import Any

from fastapi.routing import APIRoute, iter_route_contexts

A = "/v1/accounts/{account_id}"
U = f"{A}/users/{{user_id}}"

# API.md's "who" column. "member (itself)": admins and above, a member only its own user.
WHO: dict[tuple[str, str], str] = {
    ("GET", "/v1/health"): "anyone",
    ("GET", "/docs"): "anyone",
    ("POST", "/v1/auth/token"): "anyone",
    ("POST", "/v1/auth/setup"): "anyone",
    ("POST", "/v1/invitations/{token}/accept"): "anyone",
    ("GET", "/v1/auth/token"): "token holder",
    ("DELETE", "/v1/auth/token"): "user token holder",
    ("POST", "/v1/accounts"): "operator",
    ("GET", "/v1/accounts"): "operator",
    ("PATCH", A): "operator",
    ("POST", f"{A}/contracts"): "operator",
    ("GET", f"{A}/contracts"): "operator",
    ("POST", f"{U}/tokens"): "operator",
    ("POST", "/v1/access/check"): "operator",
    ("GET", "/v1/seat-requests"): "operator",
    ("POST", "/v1/seat-requests/{request_id}/approve"): "operator of the object",
    ("POST", "/v1/seat-requests/{request_id}/reject"): "operator of the object",
    ("POST", "/v1/billing-runs"): "operator",
    ("GET", "/v1/billing-runs/{run_id}"): "operator",
    ("POST", f"{A}/clock"): "operator",
    ("POST", "/v1/invoices/{invoice_id}/mark-paid"): "operator of the object",
    ("POST", "/v1/invoices/{invoice_id}/void"): "operator of the object",
    ("POST", "/v1/invoices/{invoice_id}/credit-notes"): "operator of the object",
    ("POST", f"{A}/what-if"): "operator",
    ("POST", "/v1/operator-keys"): "operator",
    ("GET", "/v1/operator-keys"): "operator",
    ("DELETE", "/v1/operator-keys/{key_id}"): "operator",
    ("PUT", "/v1/settings/seller"): "operator",
    ("GET", "/v1/settings/seller"): "operator",
    ("POST", "/v1/webhook-endpoints"): "operator",
    ("GET", "/v1/webhook-endpoints"): "operator",
    ("GET", "/v1/webhook-endpoints/{endpoint_id}"): "operator",
    ("DELETE", "/v1/webhook-endpoints/{endpoint_id}"): "operator",
    ("GET", "/v1/webhook-endpoints/{endpoint_id}/deliveries"): "operator",
    ("POST", f"{A}/seat-requests"): "owner",
    ("GET", f"{A}/seat-requests"): "owner",
    ("GET", f"{A}/invoices"): "owner",
    ("GET", f"{A}/invoices/upcoming"): "owner",
    ("GET", "/v1/invoices/{invoice_id}"): "owner of the object",
    ("GET", f"{A}/events"): "owner",
    ("GET", A): "admin",
    ("GET", f"{A}/pools"): "admin",
    ("POST", f"{A}/workspaces"): "admin",
    ("GET", f"{A}/workspaces"): "admin",
    ("POST", f"{A}/profiles"): "admin",
    ("GET", f"{A}/profiles"): "admin",
    ("POST", f"{A}/users"): "admin",
    ("GET", f"{A}/users"): "admin",
    ("PATCH", U): "admin",
    ("POST", f"{U}/activate"): "admin",
    ("POST", f"{U}/deactivate"): "admin",
    ("DELETE", U): "admin",
    ("POST", f"{A}/invitations"): "admin",
    ("GET", U): "member (itself)",
    ("POST", f"{A}/scim-tokens"): "owner",
    ("GET", f"{A}/scim-tokens"): "owner",
    ("DELETE", f"{A}/scim-tokens/{{token_id}}"): "owner",
    # API.md: "a SCIM token (it selects the account)"; RFC 7644 §4 discovery too.
    **{
        (method, f"/scim/v2/{path}"): "scim token"
        for method, path in (
            ("GET", "ServiceProviderConfig"),
            ("GET", "ResourceTypes"),
            ("GET", "ResourceTypes/{name}"),
            ("GET", "Schemas"),
            ("GET", "Schemas/{schema_uri}"),
            ("POST", ".search"),
            ("POST", "Users/.search"),
            ("POST", "Groups/.search"),
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

SELLER = {
    "legal_name": "Seatledger GmbH",
    "address_lines": ["Friedrichstraße 123"],
    "postal_code": "10117",
    "city": "Berlin",
    "country": "DE",
    "vat_id": "DE136695976",
}
CALLERS = ("anonymous", "member", "admin", "owner", "other owner", "operator", "scim")
RANK = {"member": 1, "admin": 2, "owner": 3}
ALLOWED = "allowed"


def expected(who: str, path: str, caller: str) -> str:
    """The status class API.md gives ``caller`` on ``path`` (a route of ``who``);
    the ids in every path are account A's, the other owner is account B's."""
    if who == "anyone":
        return ALLOWED
    if caller == "anonymous":
        return "401"
    # A SCIM token (account A's) passes the SCIM routes alone, and only it does.
    if who == "scim token" or caller == "scim":
        return ALLOWED if who == caller + " token" else "401"
    if who == "user token holder":  # an operator key is revoked as a key, not signed out
        return "403" if caller == "operator" else ALLOWED
    if who == "token holder" or caller == "operator":
        return ALLOWED
    in_account_a = "{account_id}" in path or who.endswith("of the object")
    if caller == "other owner":
        return "404" if in_account_a else "403"  # another account's ids are 404
    needed = who.split()[0]
    if needed == "operator":
        return "403"
    if needed == "member":  # a member itself only; the path names another user
        needed = "admin"
    return ALLOWED if RANK[caller] >= RANK[needed] else "403"


def served_routes(app: Any) -> list[tuple[str, str]]:
    return sorted(
        (method, route.path)
        for route in iter_route_contexts(app.routes)
        if isinstance(route.original_route, APIRoute)
        for method in route.methods or ()
    )


def status_class(status: int) -> str:
    if status in (401, 403, 404):
        return str(status)
    assert status < 500 or status == 501, status  # 501: POST /scim/v2/.search
    return ALLOWED


class World:
    """Account A (owner, admin, member, a seat request, an invoice, an
    invitation) and account B (its owner), each caller a client."""

    def __init__(self, api: Any) -> None:
        self.api = api
        self.a = api.create_account("A", test_clock=True, clock_start="2026-01-01T00:00:00Z")["id"]
        api.create_contract(
            self.a,
            [api.terms("console", 1000, unit_price="10.00")],
            start_date="2026-01-01",
            increase_approval="operator",
        )
        self.b = api.account_with_pools(api.terms("console", 10))
        api.ok(api.client.put("/v1/settings/seller", json=SELLER))
        self.users = {
            role: api.create_user(self.a, f"{role}@a.example.com", role=role)["id"]
            for role in ("owner", "admin", "member")
        }
        self.other_users = {
            role: api.create_user(self.b, f"{role}@b.example.com", role=role)["id"]
            for role in ("owner", "admin", "member")
        }
        # Each user caller as (account, user), so a fresh token can be minted.
        self.holders = {
            **{role: (self.a, user_id) for role, user_id in self.users.items()},
            **{f"other {role}": (self.b, u) for role, u in self.other_users.items()},
        }
        self.clients = {
            "anonymous": api.anonymous,
            "operator": api.client,
            "scim": api.new_client(token=self.spare_scim_token(token=True)),
            **{
                caller: api.new_client(token=self.mint(*holder))
                for caller, holder in self.holders.items()
            },
        }
        api.ok(
            api.client.post(f"/v1/accounts/{self.a}/clock", json={"now": "2026-02-02T00:00:00Z"})
        )
        invoices = api.ok(api.client.get(f"/v1/accounts/{self.a}/invoices"))["data"]
        self.invoice = invoices[0]["id"]
        self.request = api.ok(
            api.client.post(
                f"/v1/accounts/{self.a}/seat-requests",
                json={"module": "console", "target_capacity": 1001},
            ),
            201,
        )["id"]
        workspace = api.ok(api.client.get(f"/v1/accounts/{self.a}/workspaces"))["data"][0]["id"]
        self.invitation = api.ok(
            api.client.post(
                f"/v1/accounts/{self.a}/invitations",
                json={"email": "invitee@a.example.com", "workspace_id": workspace},
            ),
            201,
        )["token"]

    def spare_operator_key(self) -> str:
        """A key of its own for each call that may revoke one (never the caller's)."""
        created = self.api.client.post("/v1/operator-keys", json={"name": "spare"})
        return str(self.api.ok(created, 201)["id"])

    def spare_webhook_endpoint(self) -> str:
        """An endpoint of its own for each call (a call may delete it); at a
        public address, so no loopback allowance is needed (nothing is sent)."""
        created = self.api.client.post(
            "/v1/webhook-endpoints",
            json={"url": "https://93.184.215.14/hook", "events": ["user.created"]},
        )
        return str(self.api.ok(created, 201)["id"])

    def spare_scim_token(self, *, token: bool = False) -> str:
        """A SCIM token of A of its own for each call that may revoke one: its id,
        or the token itself."""
        created = self.api.client.post(f"/v1/accounts/{self.a}/scim-tokens", json={})
        return str(self.api.ok(created, 201)["token" if token else "id"])

    def billing_run(self) -> str:
        """A billing run (one with nothing due), for the routes that read one."""
        return str(self.api.ok(self.api.client.post("/v1/billing-runs", json={}))["id"])

    def spare_group(self) -> str:
        """A workspace of A, not the default one (a SCIM Group), for each call."""
        created = self.api.client.post(f"/v1/accounts/{self.a}/workspaces", json={"name": "G"})
        return str(self.api.ok(created, 201)["id"])

    def mint(self, account_id: str, user_id: str) -> str:
        return self.api.ok(
            self.api.client.post(f"/v1/accounts/{account_id}/users/{user_id}/tokens"), 201
        )["token"]

    def target_user(self) -> str:
        """A fresh member of A for each call on a user route (calls deactivate and delete it)."""
        return self.api.create_user(self.a)["id"]

    def url(self, path: str, user_id: str | None = None) -> str:
        """``path`` with account A's ids; ``user_id`` None: a fresh user of A."""
        if "{user_id}" in path:
            path = path.replace("{user_id}", user_id or self.target_user())
        return (
            path.replace("{account_id}", self.a)
            .replace("{request_id}", self.request)
            .replace("{invoice_id}", self.invoice)
            .replace("{token}", self.invitation)
            .replace("{key_id}", self.spare_operator_key() if "{key_id}" in path else "")
            .replace("{token_id}", self.spare_scim_token() if "{token_id}" in path else "")
            .replace("{group_id}", self.spare_group() if "{group_id}" in path else "")
            .replace("{run_id}", self.billing_run() if "{run_id}" in path else "")
            .replace("{name}", "User")
            .replace("{schema_uri}", "urn:ietf:params:scim:schemas:core:2.0:User")
            .replace(
                "{endpoint_id}", self.spare_webhook_endpoint() if "{endpoint_id}" in path else ""
            )
        )

    def call(self, caller: str, method: str, path: str, user_id: str | None = None) -> int:
        client = self.clients[caller]
        if (method, path) == ("DELETE", "/v1/auth/token") and caller in self.holders:
            # Signing out ends the token: sign out a fresh one of the same user.
            client = self.api.new_client(token=self.mint(*self.holders[caller]))
        # An empty JSON object: an allowed caller gets past the role check to a
        # 2xx, or to a 422 for the body (the role check comes before the body).
        body = {} if method in ("POST", "PUT", "PATCH") else None
        return client.request(method, self.url(path, user_id), json=body).status_code


def test_every_route_answers_each_role_as_api_md_says(api):
    world = World(api)
    routes = served_routes(api.app)
    assert sorted(set(routes) - set(WHO)) == [], "routes with no expected rule in this test"
    assert sorted(set(WHO) - set(routes)) == [], "rules for routes the application does not serve"

    wrong = []
    for method, path in routes:
        for caller in CALLERS:
            want = expected(WHO[(method, path)], path, caller)
            status = world.call(caller, method, path)
            if status_class(status) != want:
                wrong.append(f"{method} {path} as {caller}: {status}, expected {want}")
    assert wrong == [], "\n".join(wrong)
    print(
        f"role matrix: {len(routes)} routes x {len(CALLERS)} callers = {len(routes) * len(CALLERS)}"
    )


def test_a_member_reads_its_own_user_and_no_other(api):
    world = World(api)
    member = world.clients["member"]
    own = world.users["member"]

    assert api.ok(member.get(f"/v1/accounts/{world.a}/users/{own}"))["id"] == own
    api.problem(member.get(f"/v1/accounts/{world.a}/users/{world.users['admin']}"), 403)
    api.problem(member.get(f"/v1/accounts/{world.a}/users"), 403)


def test_admins_see_pools_without_prices_and_owners_with_them(api):
    world = World(api)
    url = f"/v1/accounts/{world.a}/pools"

    for caller in ("owner", "operator"):
        (pool,) = api.ok(world.clients[caller].get(url))["data"]
        assert pool["unit_price"] == "10.00"
    (pool,) = api.ok(world.clients["admin"].get(url))["data"]
    assert "unit_price" not in pool
    assert pool["capacity"] == 1000


def test_the_admin_pool_answer_is_its_own_schema_without_unit_price(api):
    schema = api.ok(api.anonymous.get("/openapi.json"))
    answer = schema["paths"]["/v1/accounts/{account_id}/pools"]["get"]["responses"]["200"]
    refs = str(answer["content"]["application/json"]["schema"])
    models = schema["components"]["schemas"]
    pages = [name for name in models if name.startswith("Page_Pool")]
    assert len(pages) == 2 and all(p in refs for p in pages), refs
    item_models = [models[p]["properties"]["data"]["items"]["$ref"].split("/")[-1] for p in pages]
    with_price = [m for m in item_models if "unit_price" in models[m]["properties"]]
    assert len(with_price) == 1


def test_only_owners_and_operators_grant_or_remove_the_owner_role(api):
    world = World(api)
    admin, owner = world.clients["admin"], world.clients["owner"]
    users_url = f"/v1/accounts/{world.a}/users"
    before = api.users(world.a, include_deleted="true")

    new_owner = {
        "email": "boss@a.example.com",
        "first_name": "B",
        "last_name": "Oss",
        "role": "owner",
    }
    problem = api.problem(admin.post(users_url, json=new_owner), 403)
    assert problem.get("field") == "role"
    member = world.users["member"]
    api.problem(admin.patch(f"{users_url}/{member}", json={"role": "owner"}), 403)
    api.problem(admin.patch(f"{users_url}/{world.users['owner']}", json={"role": "admin"}), 403)
    workspace = api.ok(api.client.get(f"/v1/accounts/{world.a}/workspaces"))["data"][0]["id"]
    invite = {"email": "boss2@a.example.com", "workspace_id": workspace, "role": "owner"}
    api.problem(admin.post(f"/v1/accounts/{world.a}/invitations", json=invite), 403)
    assert api.users(world.a, include_deleted="true") == before

    assert api.ok(admin.patch(f"{users_url}/{member}", json={"role": "admin"}))["role"] == "admin"
    assert api.ok(owner.patch(f"{users_url}/{member}", json={"role": "owner"}))["role"] == "owner"
    assert api.ok(owner.post(users_url, json=new_owner), 201)["role"] == "owner"
