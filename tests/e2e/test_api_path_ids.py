"""A path id of a form no id can have is "not found": 404 on SQLite and on
PostgreSQL alike, on every route (API.md: "ids that are malformed, unknown, or
another account's are 404"), and nothing is written.

Ids are a type prefix, ``_`` and 24 base32 characters (``acc_…``); invitation
tokens a prefix, ``_`` and 43 URL-safe characters. A NUL is the case that used
to differ: PostgreSQL refuses it in a string (a 422) where SQLite finds no row.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tests.e2e.conftest import Api

PASSWORD = "correct horse battery staple"

# (method, path template, body): every route with an id or a token in its path.
ROUTES: list[tuple[str, str, dict[str, Any] | None]] = [
    ("GET", "/v1/accounts/{account_id}", None),
    ("GET", "/v1/accounts/{account_id}/contracts", None),
    (
        "POST",
        "/v1/accounts/{account_id}/contracts",
        {
            "start_date": "2027-01-01",
            "billing_interval": "month",
            "pools": [
                {"module": "console", "capacity": 3, "unit_price": "1.00", "policy": "block"}
            ],
        },
    ),
    ("GET", "/v1/accounts/{account_id}/pools", None),
    ("GET", "/v1/accounts/{account_id}/workspaces", None),
    ("POST", "/v1/accounts/{account_id}/workspaces", {"name": "Elsewhere"}),
    ("GET", "/v1/accounts/{account_id}/profiles", None),
    ("POST", "/v1/accounts/{account_id}/profiles", {"name": "Other", "modules": ["console"]}),
    ("GET", "/v1/accounts/{account_id}/users", None),
    (
        "POST",
        "/v1/accounts/{account_id}/users",
        {"email": "new@example.com", "first_name": "New", "last_name": "Person"},
    ),
    ("GET", "/v1/accounts/{account_id}/users/{user_id}", None),
    ("PATCH", "/v1/accounts/{account_id}/users/{user_id}", {"first_name": "Renamed"}),
    ("DELETE", "/v1/accounts/{account_id}/users/{user_id}", None),
    ("POST", "/v1/accounts/{account_id}/users/{user_id}/activate", None),
    ("POST", "/v1/accounts/{account_id}/users/{user_id}/deactivate", None),
    (
        "POST",
        "/v1/accounts/{account_id}/invitations",
        {"email": "guest@example.com", "workspace_id": "{workspace_id}"},
    ),
    (
        "POST",
        "/v1/invitations/{token}/accept",
        {"first_name": "Grace", "last_name": "Hopper", "password": PASSWORD},
    ),
    ("GET", "/v1/accounts/{account_id}/seat-requests", None),
    (
        "POST",
        "/v1/accounts/{account_id}/seat-requests",
        {"module": "console", "target_capacity": 7},
    ),
    ("POST", "/v1/seat-requests/{request_id}/approve", None),
    ("POST", "/v1/seat-requests/{request_id}/reject", {"reason": "no"}),
    ("POST", "/v1/accounts/{account_id}/clock", {"now": "2026-03-01T00:00:00Z"}),
    ("GET", "/v1/accounts/{account_id}/invoices", None),
    ("GET", "/v1/accounts/{account_id}/invoices/upcoming", None),
    ("GET", "/v1/invoices/{invoice_id}", None),
    ("POST", "/v1/invoices/{invoice_id}/mark-paid", None),
    ("POST", "/v1/invoices/{invoice_id}/void", {"reason": "issued in error"}),
    ("POST", "/v1/invoices/{invoice_id}/credit-notes", {"amount": "1.00", "reason": "r"}),
    (
        "POST",
        "/v1/accounts/{account_id}/what-if",
        {
            "from": "2026-01-01",
            "to": "2026-02-01",
            "contract": {
                "billing_interval": "month",
                "pools": [
                    {"module": "console", "capacity": 5, "unit_price": "25.00", "policy": "block"}
                ],
            },
        },
    ),
]


def _seed(api: Api) -> dict[str, str]:
    """A real value for every path parameter: a test-clock account with an
    issued invoice, a user, a pending seat request and an open invitation."""
    account = api.create_account(test_clock=True, clock_start="2026-01-01T00:00:00Z")
    account_id = str(account["id"])
    api.create_contract(
        account_id, [api.terms("console", 5, unit_price="30.00")], increase_approval="operator"
    )
    user = api.create_user(account_id)
    moved = api.ok(
        api.client.post(f"/v1/accounts/{account_id}/clock", json={"now": "2026-02-01T00:00:00Z"})
    )
    request = api.ok(
        api.client.post(
            f"/v1/accounts/{account_id}/seat-requests",
            json={"module": "console", "target_capacity": 6},
        ),
        201,
    )
    workspace = api.ok(api.client.get(f"/v1/accounts/{account_id}/workspaces"))["data"][0]
    invitation = api.ok(
        api.client.post(
            f"/v1/accounts/{account_id}/invitations",
            json={"email": "invited@example.com", "workspace_id": workspace["id"]},
        ),
        201,
    )
    return {
        "account_id": account_id,
        "user_id": str(user["id"]),
        "invoice_id": str(moved["invoices"][0]["id"]),
        "request_id": str(request["id"]),
        "token": str(invitation["token"]),
        "workspace_id": str(workspace["id"]),  # in a body, not a path
    }


def _unknown(real: str) -> str:
    """An id (or token) of the right form that names nothing."""
    prefix, _, rest = real.partition("_")
    return f"{prefix}_{'a' * len(rest)}"


def _malformed(real: str) -> list[str]:
    """Path segments (percent-encoded as sent) that no id or token can be,
    most of them one character away from ``real``."""
    prefix = real.partition("_")[0]
    return [
        "%00",
        f"{real}%00",
        f"%00{real}",
        f"{real[:-1]}%00",
        f"{prefix}_%00",
        real.upper(),
        real[:-1],
        f"{real}a",
        f"{real[:-1]}%C3%A9",
        f"{prefix}_' OR '1'='1",
        "0" * 300,
    ]


def _everything(api: Api, seeded: dict[str, str]) -> dict[str, Any]:
    """What the API shows of the seeded account, its invoices and its requests."""
    account_id = seeded["account_id"]
    return {
        **api.snapshot(account_id),
        "invoices": api.ok(api.client.get(f"/v1/accounts/{account_id}/invoices"))["data"],
        "accounts": api.ok(api.client.get("/v1/accounts"))["data"],
    }


def test_a_path_id_of_a_form_no_id_has_is_404_on_every_route_and_writes_nothing(api: Api):
    """Each route gets a valid body: a well-formed unknown id in the same place
    is 404 too (so the body passed validation), and a malformed one is the same
    404, naming the path parameter."""
    seeded = _seed(api)
    before = _everything(api, seeded)

    checked = 0
    for method, template, body in ROUTES:
        names = [name for name in seeded if "{" + name + "}" in template]
        assert names, template
        valid_body = body and {
            k: v.format(**seeded) if isinstance(v, str) else v for k, v in body.items()
        }
        for name in names:
            unknown = template.format(**{**seeded, name: _unknown(seeded[name])})
            api.problem(api.client.request(method, unknown, json=valid_body), 404, field=name)
            for bad in _malformed(seeded[name]):
                path = template.format(**{**seeded, name: bad})
                response = api.client.request(method, path, json=valid_body)
                api.problem(response, 404, field=name)
                checked += 1

    assert checked > 300
    assert _everything(api, seeded) == before


def test_a_nul_in_a_path_id_is_404_like_an_unknown_id_not_422(api: Api):
    """The answer to a NUL is the answer to an id that is well formed but unknown."""
    seeded = _seed(api)
    account_id, user_id = seeded["account_id"], seeded["user_id"]
    unknown_user = f"usr_{'a' * 24}"
    unknown_invoice = f"inv_{'a' * 24}"
    unknown_token = f"inv_{'a' * 43}"
    for unknown, with_nul in [
        (
            f"/v1/accounts/{account_id}/users/{unknown_user}",
            f"/v1/accounts/{account_id}/users/{user_id}%00",
        ),
        (f"/v1/invoices/{unknown_invoice}", f"/v1/invoices/{seeded['invoice_id']}%00"),
    ]:
        api.problem(api.client.get(unknown), 404)
        api.problem(api.client.get(with_nul), 404)
    accept = {"first_name": "Grace", "last_name": "Hopper", "password": PASSWORD}
    api.problem(api.anonymous.post(f"/v1/invitations/{unknown_token}/accept", json=accept), 404)
    api.problem(
        api.anonymous.post(f"/v1/invitations/{seeded['token']}%00/accept", json=accept), 404
    )
    # the real token, unchanged, is still good
    accepted = api.ok(api.anonymous.post(f"/v1/invitations/{seeded['token']}/accept", json=accept))
    assert accepted["status"] == "active"
