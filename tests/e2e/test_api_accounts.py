"""Accounts, contracts, pools, workspaces and profiles through the real HTTP server,
plus the API's cross-cutting promises: authentication, problem+json, 404 for
malformed and foreign ids, and the OpenAPI document."""

from __future__ import annotations

import itertools
import json

import pytest

from seatledger.services.unit_of_work import UnitOfWork

BLOCK3 = {"module": "console", "capacity": 3, "unit_price": "10.00", "policy": "block"}


# --------------------------------------------------------------------------- accounts


def test_an_operator_creates_an_account_with_a_default_workspace_and_profile(api):
    account = api.create_account(
        name="Acme GmbH", currency="EUR", tax_rate="20", billing_email="billing@acme.example"
    )

    assert account["id"]
    assert account["name"] == "Acme GmbH"
    assert account["currency"] == "EUR"
    assert account["tax_rate"] == "20"
    assert account["billing_email"] == "billing@acme.example"
    assert account["test_clock"] is False
    assert api.ok(api.client.get(f"/v1/accounts/{account['id']}")) == account
    workspaces = api.ok(api.client.get(f"/v1/accounts/{account['id']}/workspaces"))["data"]
    assert [(w["name"], w["is_default"]) for w in workspaces] == [("Default", True)]
    profiles = api.ok(api.client.get(f"/v1/accounts/{account['id']}/profiles"))["data"]
    assert len(profiles) == 1
    assert profiles[0]["is_default"] is True
    assert profiles[0]["modules"] is None  # every module of the contract


def test_accounts_are_listed_with_cursor_pagination(api):
    created = {api.create_account(name=f"Account {c}")["id"] for c in "ABC"}

    first = api.ok(api.client.get("/v1/accounts", params={"limit": 2}))
    assert len(first["data"]) == 2
    assert first["next_cursor"]
    second = api.ok(
        api.client.get("/v1/accounts", params={"limit": 2, "cursor": first["next_cursor"]})
    )
    assert second["next_cursor"] is None
    assert {a["id"] for a in first["data"] + second["data"]} == created


INVALID_ACCOUNTS = [
    ({"name": "Acme", "currency": "eur"}, "currency"),
    ({"name": "Acme", "currency": "XYZ"}, "currency"),
    ({"name": "", "currency": "EUR"}, "name"),
    ({"name": "Acme\u0000", "currency": "EUR"}, "name"),
    ({"name": "Acme", "currency": "EUR", "tax_rate": 20}, "tax_rate"),
    ({"name": "Acme", "currency": "EUR", "tax_rate": "120"}, "tax_rate"),
    ({"name": "Acme", "currency": "EUR", "id": "acc_mine"}, "id"),
    ({"name": "Acme", "currency": "EUR", "plan": "gold"}, "plan"),
    ({"currency": "EUR"}, "name"),
]


def test_an_invalid_account_is_refused_with_422_naming_the_field_and_nothing_is_created(api):
    before = api.ok(api.client.get("/v1/accounts"))["data"]

    for body, field in INVALID_ACCOUNTS:
        api.problem(api.client.post("/v1/accounts", json=body), 422, field=field)

    assert api.ok(api.client.get("/v1/accounts"))["data"] == before


# -------------------------------------------------------------------------- contracts


def test_a_contract_creates_one_pool_per_module_with_its_terms(api):
    account_id = api.create_account()["id"]

    contract = api.create_contract(
        account_id,
        [
            {
                "module": "console",
                "capacity": 6,
                "minimum": 6,
                "unit_price": "30.00",
                "policy": "inactive_when_full",
                "charge_timing": "next_invoice",
                "proration": "second",
            },
            {"module": "documents", "unit_price": "10.00", "policy": "metered"},
        ],
        start_date="2026-01-01",
        end_date="2026-12-31",
        billing_interval="year",
        increase_approval="operator",
    )

    assert contract["version"] == 1
    assert contract["account_id"] == account_id
    assert (contract["start_date"], contract["end_date"]) == ("2026-01-01", "2026-12-31")
    assert contract["billing_interval"] == "year"
    assert contract["increase_approval"] == "operator"
    listed = api.ok(api.client.get(f"/v1/accounts/{account_id}/contracts"))["data"]
    assert [c["id"] for c in listed] == [contract["id"]]
    pools = api.pools(account_id)
    assert pools["console"] == {
        "module": "console",
        "capacity": 6,
        "minimum": 6,
        "in_use": 0,
        "available": 6,
        "additional": 0,
        "policy": "inactive_when_full",
        "charge_timing": "next_invoice",
        "proration": "second",
        "unit_price": "30.00",
    }
    assert pools["documents"]["capacity"] is None
    assert pools["documents"]["available"] is None
    assert pools["documents"]["unit_price"] == "10.00"


def test_a_contract_defaults_to_automatic_approval_immediate_charges_and_daily_proration(api):
    account_id = api.create_account()["id"]

    contract = api.create_contract(account_id, [BLOCK3])

    assert contract["increase_approval"] == "automatic"
    assert contract["end_date"] is None
    pool = api.pool(account_id)
    assert (pool["minimum"], pool["charge_timing"], pool["proration"]) == (0, "immediate", "day")
    assert (pool["capacity"], pool["available"], pool["additional"]) == (3, 3, 3)


def test_a_unit_price_in_jpy_has_no_decimals_and_in_bhd_three(api):
    jpy = api.account_with_pools({**BLOCK3, "unit_price": "1500"}, currency="JPY")
    bhd = api.account_with_pools({**BLOCK3, "unit_price": "1.250"}, currency="BHD")

    assert api.pool(jpy)["unit_price"] == "1500"
    assert api.pool(bhd)["unit_price"] == "1.250"


INVALID_POOLS = [
    ({**BLOCK3, "capacity": -1}, "pools[0].capacity"),
    ({**BLOCK3, "capacity": 2.5}, "pools[0].capacity"),
    ({**BLOCK3, "capacity": "3"}, "pools[0].capacity"),
    ({**BLOCK3, "capacity": True}, "pools[0].capacity"),
    ({**BLOCK3, "minimum": -2}, "pools[0].minimum"),
    ({**BLOCK3, "minimum": 4}, "pools[0].minimum"),
    ({**BLOCK3, "unit_price": "10.001"}, "pools[0].unit_price"),
    ({**BLOCK3, "unit_price": 10}, "pools[0].unit_price"),
    ({**BLOCK3, "unit_price": 10.5}, "pools[0].unit_price"),
    ({**BLOCK3, "unit_price": "-1.00"}, "pools[0].unit_price"),
    ({**BLOCK3, "unit_price": "1e3"}, "pools[0].unit_price"),
    ({**BLOCK3, "module": "Console"}, "pools[0].module"),
    ({**BLOCK3, "policy": "free"}, "pools[0].policy"),
    ({**BLOCK3, "charge_timing": "later"}, "pools[0].charge_timing"),
    ({**BLOCK3, "in_use": 0}, "pools[0].in_use"),
    (
        {"module": "console", "unit_price": "10.00", "policy": "metered", "capacity": 5},
        "pools[0].capacity",
    ),
]


def test_invalid_pool_terms_are_refused_with_422_naming_the_field_and_nothing_is_written(api):
    account_id = api.create_account()["id"]
    before = api.snapshot(account_id)

    for pool, field in INVALID_POOLS:
        body = {"start_date": "2026-01-01", "billing_interval": "month", "pools": [pool]}
        problem = api.problem(
            api.client.post(f"/v1/accounts/{account_id}/contracts", json=body), 422, field=field
        )
        assert problem["title"] == "Invalid request"

    assert api.snapshot(account_id) == before


INVALID_CONTRACTS = [
    ({"start_date": "01/01/2026"}, "start_date"),
    ({"end_date": "2025-12-31"}, "end_date"),
    ({"billing_interval": "week"}, "billing_interval"),
    ({"increase_approval": "manager"}, "increase_approval"),
    ({"account_id": "acc_other"}, "account_id"),
    ({"id": "ctr_mine"}, "id"),
    ({"version": 7}, "version"),
    ({"pools": [BLOCK3, BLOCK3]}, "pools[1].module"),
]


def test_an_invalid_contract_is_refused_with_422_naming_the_field_and_nothing_is_written(api):
    account_id = api.create_account()["id"]
    before = api.snapshot(account_id)

    for change, field in INVALID_CONTRACTS:
        body = {
            "start_date": "2026-01-01",
            "billing_interval": "month",
            "pools": [BLOCK3],
            **change,
        }
        api.problem(
            api.client.post(f"/v1/accounts/{account_id}/contracts", json=body), 422, field=field
        )

    assert api.snapshot(account_id) == before


def test_a_new_contract_version_cannot_drop_capacity_below_the_seats_in_use(api):
    account_id = api.account_with_pools(BLOCK3)
    for i in range(3):
        api.create_user(account_id, f"u{i}@example.com")
    before = api.snapshot(account_id)

    body = {
        "start_date": "2026-03-01",
        "billing_interval": "month",
        "pools": [{**BLOCK3, "capacity": 2}],
    }
    problem = api.problem(
        api.client.post(f"/v1/accounts/{account_id}/contracts", json=body),
        422,
        field="pools[0].capacity",
    )

    assert "remove users first" in problem["detail"]
    assert api.snapshot(account_id) == before


def test_a_new_contract_version_in_force_today_raises_the_capacity(api):
    account_id = api.account_with_pools(BLOCK3)

    second = api.create_contract(account_id, [{**BLOCK3, "capacity": 8}], start_date="2026-03-01")

    assert second["version"] == 2
    assert api.pool(account_id)["capacity"] == 8
    versions = api.ok(api.client.get(f"/v1/accounts/{account_id}/contracts"))["data"]
    assert [c["version"] for c in versions] == [1, 2]


# ------------------------------------------------------------ workspaces and profiles


def test_an_admin_creates_workspaces_and_they_are_listed(api):
    account_id = api.account_with_pools(BLOCK3)

    created = api.ok(
        api.client.post(f"/v1/accounts/{account_id}/workspaces", json={"name": "R&D / Team 2"}), 201
    )

    assert created["name"] == "R&D / Team 2"
    assert created["is_default"] is False
    assert created["account_id"] == account_id
    listed = api.ok(api.client.get(f"/v1/accounts/{account_id}/workspaces"))["data"]
    assert {w["id"] for w in listed} >= {created["id"]}
    assert len(listed) == 2


def test_an_invalid_workspace_or_profile_is_refused_with_422_and_nothing_is_written(api):
    account_id = api.account_with_pools(BLOCK3)
    before = api.snapshot(account_id)

    for body, field in [
        ({"name": ""}, "name"),
        ({"name": "Sales\u0007"}, "name"),
        ({"name": 12}, "name"),
        ({"name": "Sales", "is_default": True}, "is_default"),
        ({"name": "Sales", "id": "wsp_mine"}, "id"),
        ({}, "name"),
    ]:
        api.problem(
            api.client.post(f"/v1/accounts/{account_id}/workspaces", json=body), 422, field=field
        )
    for body, field in [
        ({"name": "X", "modules": ["billing"]}, "modules[0]"),
        ({"name": "X", "modules": ["console", "Reports"]}, "modules[1]"),
        ({"name": "X", "modules": "console"}, "modules"),
        ({"name": "", "modules": ["console"]}, "name"),
        ({"name": "X", "modules": ["console"], "account_id": "acc_x"}, "account_id"),
    ]:
        api.problem(
            api.client.post(f"/v1/accounts/{account_id}/profiles", json=body), 422, field=field
        )

    assert api.snapshot(account_id) == before


def test_a_profile_names_a_set_of_modules_of_the_contract(api):
    account_id = api.account_with_pools(
        {"module": "case_management", "capacity": 5, "unit_price": "10.00", "policy": "block"},
        {"module": "documents", "capacity": 3, "unit_price": "10.00", "policy": "block"},
    )

    both = api.ok(
        api.client.post(
            f"/v1/accounts/{account_id}/profiles",
            json={"name": "Case workers", "modules": ["documents", "case_management"]},
        ),
        201,
    )
    none = api.ok(
        api.client.post(
            f"/v1/accounts/{account_id}/profiles", json={"name": "Login only", "modules": []}
        ),
        201,
    )

    assert both["modules"] == ["case_management", "documents"]
    assert both["is_default"] is False
    assert none["modules"] == []
    listed = api.ok(api.client.get(f"/v1/accounts/{account_id}/profiles"))["data"]
    assert {p["id"] for p in listed} == {
        both["id"],
        none["id"],
        *(p["id"] for p in listed if p["is_default"]),
    }
    assert len(listed) == 3


# ------------------------------------------------------------------------------ pools


def test_pools_show_usage_and_the_plan_view_numbers(api):
    account_id = api.account_with_pools(
        {
            "module": "console",
            "capacity": 12,
            "minimum": 10,
            "unit_price": "30.00",
            "policy": "auto_purchase",
        },
        {"module": "documents", "unit_price": "10.00", "policy": "metered", "minimum": 2},
    )
    for i in range(4):
        api.create_user(account_id, f"u{i}@example.com")

    pools = api.pools(account_id)

    assert {
        k: pools["console"][k] for k in ("capacity", "minimum", "in_use", "available", "additional")
    } == {"capacity": 12, "minimum": 10, "in_use": 4, "available": 8, "additional": 2}
    assert {
        k: pools["documents"][k]
        for k in ("capacity", "minimum", "in_use", "available", "additional")
    } == {"capacity": None, "minimum": 2, "in_use": 4, "available": None, "additional": 0}


# --------------------------------------------------------- authentication, ids, errors


def test_a_request_without_a_valid_bearer_token_is_401_problem_json_and_writes_nothing(api):
    account_id = api.account_with_pools(BLOCK3)
    before = api.snapshot(account_id)

    for headers, (method, path, body) in itertools.product(
        [
            {},
            {"Authorization": "Bearer sk_op_not_a_real_key"},
            {"Authorization": "Bearer"},
            {"Authorization": "Basic dXNlcjpwYXNz"},
            {"Authorization": api.key},
        ],
        [
            ("GET", "/v1/accounts", None),
            ("POST", "/v1/accounts", {"name": "Intruder", "currency": "EUR"}),
            ("GET", f"/v1/accounts/{account_id}/pools", None),
            (
                "POST",
                f"/v1/accounts/{account_id}/users",
                {"email": "x@example.com", "first_name": "X", "last_name": "Y"},
            ),
            ("POST", "/v1/access/check", {"account_id": account_id, "email": "x@example.com"}),
            (
                "POST",
                f"/v1/accounts/{account_id}/seat-requests",
                {"module": "console", "target_capacity": 4},
            ),
            (
                "POST",
                f"/v1/accounts/{account_id}/contracts",
                {"start_date": "2026-01-01", "billing_interval": "month", "pools": [BLOCK3]},
            ),
        ],
    ):
        response = api.anonymous.request(method, path, json=body, headers=headers)
        api.problem(response, 401)
        assert response.headers["www-authenticate"].lower().startswith("bearer")

    assert api.snapshot(account_id) == before
    assert len(api.ok(api.client.get("/v1/accounts"))["data"]) == 1


def test_a_malformed_or_unknown_account_id_is_404_problem_json(api):
    unknown = api.create_account()["id"][:-3] + "zzz"
    for bad_id, (method, path, body) in itertools.product(
        [
            "nope",
            "acc_",
            "acc_' OR '1'='1",
            "acc_%C3%A9t%C3%A9",
            "0" * 300,
            unknown,
        ],
        [
            ("GET", "/v1/accounts/{bad_id}", None),
            ("GET", "/v1/accounts/{bad_id}/pools", None),
            ("GET", "/v1/accounts/{bad_id}/users", None),
            ("GET", "/v1/accounts/{bad_id}/contracts", None),
            ("GET", "/v1/accounts/{bad_id}/workspaces", None),
            ("GET", "/v1/accounts/{bad_id}/profiles", None),
            ("GET", "/v1/accounts/{bad_id}/seat-requests", None),
            ("POST", "/v1/accounts/{bad_id}/workspaces", {"name": "X"}),
            ("POST", "/v1/accounts/{bad_id}/profiles", {"name": "X", "modules": []}),
            (
                "POST",
                "/v1/accounts/{bad_id}/contracts",
                {"start_date": "2026-01-01", "billing_interval": "month", "pools": [BLOCK3]},
            ),
            (
                "POST",
                "/v1/accounts/{bad_id}/users",
                {"email": "a@example.com", "first_name": "A", "last_name": "B"},
            ),
            (
                "POST",
                "/v1/accounts/{bad_id}/seat-requests",
                {"module": "console", "target_capacity": 4},
            ),
            (
                "POST",
                "/v1/accounts/{bad_id}/invitations",
                {"email": "a@example.com", "workspace_id": "wsp_x"},
            ),
        ],
    ):
        api.problem(api.client.request(method, path.format(bad_id=bad_id), json=body), 404)
    assert len(api.ok(api.client.get("/v1/accounts"))["data"]) == 1


def test_an_unknown_route_and_a_wrong_method_answer_problem_json(api):
    api.problem(api.client.get("/v1/no-such-thing"), 404)
    api.problem(api.client.put("/v1/accounts", json={}), 405)


def test_a_body_that_is_not_a_json_object_is_422(api):
    account_id = api.account_with_pools(BLOCK3)
    before = api.snapshot(account_id)

    api.problem(api.client.post(f"/v1/accounts/{account_id}/users", json=[1, 2]), 422)
    api.problem(
        api.client.post(
            f"/v1/accounts/{account_id}/users",
            content=b"{not json",
            headers={"Content-Type": "application/json"},
        ),
        422,
    )

    assert api.snapshot(account_id) == before


# ---------------------------------------------------------------------------- OpenAPI


def test_the_openapi_document_describes_every_promised_route(api):
    response = api.anonymous.get("/openapi.json")

    assert response.status_code == 200
    doc = response.json()
    assert doc["openapi"].startswith("3.")
    assert doc["info"]["title"] == "seatledger"
    paths = doc["paths"]
    expected = {
        "/v1/accounts": {"post", "get"},
        "/v1/accounts/{account_id}": {"get"},
        "/v1/accounts/{account_id}/contracts": {"post", "get"},
        "/v1/accounts/{account_id}/pools": {"get"},
        "/v1/accounts/{account_id}/workspaces": {"post", "get"},
        "/v1/accounts/{account_id}/profiles": {"post", "get"},
        "/v1/accounts/{account_id}/users": {"post", "get"},
        "/v1/accounts/{account_id}/users/{user_id}": {"get", "patch", "delete"},
        "/v1/accounts/{account_id}/users/{user_id}/activate": {"post"},
        "/v1/accounts/{account_id}/users/{user_id}/deactivate": {"post"},
        "/v1/accounts/{account_id}/invitations": {"post"},
        "/v1/invitations/{token}/accept": {"post"},
        "/v1/auth/setup": {"post"},
        "/v1/accounts/{account_id}/seat-requests": {"post", "get"},
        "/v1/seat-requests/{request_id}/approve": {"post"},
        "/v1/seat-requests/{request_id}/reject": {"post"},
        "/v1/access/check": {"post"},
    }
    for path, methods in expected.items():
        assert path in paths, path
        assert methods <= set(paths[path]), (path, set(paths[path]))
    schemas = doc["components"]["schemas"]
    user_create = schemas["UserCreate"]
    assert user_create["additionalProperties"] is False
    assert {"email", "first_name", "last_name", "add_license", "valid_to"} <= set(
        user_create["properties"]
    )
    assert schemas["PoolTermsIn"]["properties"]["unit_price"]["type"] == "string"


def test_an_unexpected_server_error_is_still_problem_json(api):
    def broken() -> None:
        raise RuntimeError("a bug")

    api.app.add_api_route("/v1/test-only/broken", broken, methods=["GET"])
    api.allow_server_errors = True

    problem = api.problem(api.client.get("/v1/test-only/broken"), 500)

    assert "a bug" not in problem["detail"]  # no internals leak to the client
    assert api.server_errors and "500" in api.server_errors[0]


# ------------------------------------------------------------------ PATCH an account


def test_an_operator_changes_an_accounts_name_tax_rate_payment_terms_and_locale(api):
    created = api.create_account(name="Acme", tax_rate="20")
    assert (created["payment_terms_days"], created["locale"]) == (30, "en")  # the defaults
    changed = api.ok(
        api.client.patch(
            f"/v1/accounts/{created['id']}",
            json={
                "name": "Acme GmbH",
                "tax_rate": "19",
                "payment_terms_days": 14,
                "locale": "de-DE",
            },
        )
    )
    assert (changed["name"], changed["tax_rate"]) == ("Acme GmbH", "19")
    assert (changed["payment_terms_days"], changed["locale"]) == (14, "de_DE")
    assert changed["payment_method"] == "invoice"  # not given: unchanged
    assert api.ok(api.client.get(f"/v1/accounts/{created['id']}")) == changed
    cleared = api.ok(api.client.patch(f"/v1/accounts/{created['id']}", json={"tax_rate": None}))
    assert cleared["tax_rate"] is None and cleared["name"] == "Acme GmbH"


def test_an_account_patch_is_in_the_audit_log_as_the_callers_with_its_request_id(api, engine):
    account_id = api.create_account(name="Acme")["id"]
    api.ok(
        api.client.patch(
            f"/v1/accounts/{account_id}",
            json={"name": "Acme GmbH"},
            headers={"X-Request-Id": "req-patch-1"},
        )
    )
    with UnitOfWork(engine) as u:
        (entry,) = u.audit_log.events(account_id, types=["account.updated"])
    assert entry.actor.startswith("operator:") and entry.request_id == "req-patch-1"
    assert json.loads(entry.before or "")["name"] == "Acme"
    assert json.loads(entry.after or "")["name"] == "Acme GmbH"


def test_a_new_tax_rate_applies_to_later_documents_and_issued_ones_keep_theirs(api):
    account_id = api.create_account(
        tax_rate="20", test_clock=True, clock_start="2026-01-01T00:00:00Z"
    )["id"]
    api.create_contract(account_id, [api.terms("console", 1, policy="block", unit_price="100.00")])
    api.ok(
        api.client.post(f"/v1/accounts/{account_id}/clock", json={"now": "2026-01-01T00:00:00Z"})
    )
    api.ok(api.client.patch(f"/v1/accounts/{account_id}", json={"tax_rate": "10"}))
    api.ok(
        api.client.post(f"/v1/accounts/{account_id}/clock", json={"now": "2026-02-01T00:00:00Z"})
    )
    docs = api.ok(api.client.get(f"/v1/accounts/{account_id}/invoices"))["data"]
    # 100.00 × 20% = 20.00 on January's, issued before; 100.00 × 10% = 10.00 on February's
    assert [(d["period_start"], d["tax"], d["total"]) for d in docs] == [
        ("2026-01-01", "20.00", "120.00"),
        ("2026-02-01", "10.00", "110.00"),
    ]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"locale": "xx_YY"}, "locale"),
        ({"locale": None}, "locale"),
        ({"payment_terms_days": 366}, "payment_terms_days"),
        ({"payment_terms_days": -1}, "payment_terms_days"),
        ({"payment_terms_days": "30"}, "payment_terms_days"),
        ({"tax_rate": "101"}, "tax_rate"),
        ({"payment_method": "cash"}, "payment_method"),
        ({"name": ""}, "name"),
        ({"currency": "USD"}, "currency"),
        ({"test_clock": True}, "test_clock"),
    ],
)
def test_an_account_update_refuses_a_bad_value_naming_the_field_and_writes_nothing(
    api, body, field
):
    created = api.create_account(name="Acme", tax_rate="20")
    problem = api.problem(api.client.patch(f"/v1/accounts/{created['id']}", json=body), 422)
    assert problem["field"] == field
    assert api.ok(api.client.get(f"/v1/accounts/{created['id']}")) == created
