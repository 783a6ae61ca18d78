"""Users through the real HTTP server: create, list, get, patch, activate,
deactivate, delete, under the seat policies; input rules; foreign and malformed ids."""

from __future__ import annotations

SEED_000_WARNING = (
    "Not enough available user licenses to add new active user. You can still create a user "
    "but it will be inactive until you free up the license"
)


def _users_path(account_id: str, user_id: str | None = None, action: str | None = None) -> str:
    path = f"/v1/accounts/{account_id}/users"
    if user_id is not None:
        path += f"/{user_id}"
    if action is not None:
        path += f"/{action}"
    return path


# ----------------------------------------------------------------------------- create


def test_a_created_user_is_active_in_the_default_workspace_and_profile_and_holds_its_seats(api):
    account_id = api.account_with_pools(
        api.terms("console", 3), api.terms("documents", 2, policy="inactive_when_full")
    )
    workspaces = api.ok(api.client.get(f"/v1/accounts/{account_id}/workspaces"))["data"]
    profiles = api.ok(api.client.get(f"/v1/accounts/{account_id}/profiles"))["data"]

    user = api.create_user(
        account_id,
        "Ada@Example.com",
        first_name="Ada",
        last_name="Lovelace",
        department="Engineering",
    )

    assert user["id"]
    assert user["account_id"] == account_id
    assert user["email"] == "Ada@Example.com"
    assert (user["first_name"], user["last_name"]) == ("Ada", "Lovelace")
    assert user["department"] == "Engineering"
    assert (user["status"], user["role"]) == ("active", "member")
    assert user["warnings"] == []
    assert user["seats"] == ["console", "documents"]
    assert user["workspace_ids"] == [workspaces[0]["id"]]
    assert user["profile_id"] == profiles[0]["id"]
    assert user["setup_token"]
    assert user["created_at"].startswith("2026-03-01T12:00:00")
    fetched = api.ok(api.client.get(_users_path(account_id, user["id"])))
    assert "setup_token" not in fetched  # shown once
    assert {k: fetched[k] for k in ("id", "email", "status", "seats")} == {
        "id": user["id"],
        "email": "Ada@Example.com",
        "status": "active",
        "seats": ["console", "documents"],
    }
    pools = api.pools(account_id)
    assert (pools["console"]["in_use"], pools["console"]["available"]) == (1, 2)
    assert (pools["documents"]["in_use"], pools["documents"]["available"]) == (1, 1)


def test_names_of_any_script_with_marks_apostrophes_hyphens_and_periods_are_accepted(api):
    account_id = api.account_with_pools(api.terms("console", 20))

    for i, (first, last) in enumerate(
        [
            ("Zoë", "O'Brien-Smith"),
            ("José-María", "Núñez"),
            ("Nguyễn", "Thị Minh Khai"),
            ("J. R. R.", "Tolkien"),
            ("李", "小龍"),
            ("Ægir", "O\u2019Neill"),
            ("Zoe\u0308", "D'Arcy"),
        ]
    ):
        user = api.create_user(account_id, f"name{i}@example.com", first_name=first, last_name=last)
        assert user["status"] == "active"
        assert user["last_name"] == last

    assert {u["first_name"] for u in api.users(account_id)} >= {"Zoë", "李", "J. R. R."}


def test_invalid_user_input_is_refused_with_422_naming_the_field_and_nothing_is_written(api):
    account_id = api.account_with_pools(api.terms("console", 5))
    api.create_user(account_id, "existing@example.com")
    before = api.snapshot(account_id)
    good = {"email": "new@example.com", "first_name": "Ann", "last_name": "Lee"}

    cases = [
        ({"email": ""}, "email"),
        ({"email": "   "}, "email"),
        ({"email": "no-at-sign"}, "email"),
        ({"email": "a@b"}, "email"),
        ({"email": "a@@example.com"}, "email"),
        ({"email": "a b@example.com"}, "email"),
        ({"email": "a..b@example.com"}, "email"),
        ({"email": "ann@exa_mple.com"}, "email"),
        ({"email": 42}, "email"),
        ({"first_name": ""}, "first_name"),
        ({"first_name": "   "}, "first_name"),
        ({"first_name": "Ann\u0000"}, "first_name"),
        ({"first_name": "Ann\nMarie"}, "first_name"),
        ({"last_name": "Lee\t"}, "last_name"),
        ({"last_name": "\u001b[31mLee"}, "last_name"),
        ({"last_name": "R2D2"}, "last_name"),
        ({"last_name": "x" * 101}, "last_name"),
        ({"first_name": None}, "first_name"),
        ({"department": "Sales\u0007"}, "department"),
        ({"valid_to": "31/12/2026"}, "valid_to"),
        ({"valid_to": "2026-13-01"}, "valid_to"),
        ({"valid_to": 20261231}, "valid_to"),
        ({"role": "superuser"}, "role"),
        ({"active": "yes"}, "active"),
        ({"add_license": 1}, "add_license"),
        ({"workspace_ids": "wsp_x"}, "workspace_ids"),
        ({"nickname": "Annie"}, "nickname"),
        ({"id": "usr_mine"}, "id"),
        ({"status": "active"}, "status"),
        ({"account_id": account_id}, "account_id"),
        ({"capacity": 10}, "capacity"),
        ({"seats": ["console"]}, "seats"),
        ({"setup_token": "x"}, "setup_token"),
    ]
    for change, field in cases:
        body = {**good, **change}
        problem = api.problem(api.client.post(_users_path(account_id), json=body), 422, field=field)
        assert problem["type"].endswith("/invalid-input"), (change, problem)

    assert api.snapshot(account_id) == before


def test_a_duplicate_email_is_409_whatever_its_case_and_nothing_is_written(api):
    account_id = api.account_with_pools(api.terms("console", 5))
    api.create_user(account_id, "Ada.Lovelace@Example.com")
    before = api.snapshot(account_id)

    for email in [
        "ada.lovelace@example.com",
        "ADA.LOVELACE@EXAMPLE.COM",
        "Ada.Lovelace@Example.com",
        " ada.lovelace@example.com ",
    ]:
        body = {"email": email, "first_name": "Ada", "last_name": "Byron"}
        problem = api.problem(
            api.client.post(_users_path(account_id), json=body), 409, field="email"
        )
        assert problem["type"].endswith("/duplicate-email")

    assert api.snapshot(account_id) == before


def test_the_same_email_may_exist_in_two_accounts_and_again_after_deletion(api):
    first = api.account_with_pools(api.terms("console", 5))
    second = api.account_with_pools(api.terms("console", 5))
    old = api.create_user(first, "shared@example.com")
    api.create_user(second, "SHARED@example.com")

    api.ok(api.client.delete(_users_path(first, old["id"])))
    again = api.create_user(first, "Shared@Example.com")

    assert again["id"] != old["id"]
    assert again["status"] == "active"
    assert [u["email"] for u in api.users(first)] == ["Shared@Example.com"]


def test_a_user_created_inactive_or_without_workspaces_holds_no_seat(api):
    account_id = api.account_with_pools(api.terms("console", 2))

    inactive = api.create_user(account_id, "off@example.com", active=False)
    nowhere = api.create_user(account_id, "nowhere@example.com", workspace_ids=[])

    assert (inactive["status"], inactive["seats"], inactive["warnings"]) == ("inactive", [], [])
    assert (nowhere["status"], nowhere["seats"], nowhere["workspace_ids"]) == ("active", [], [])
    assert api.pool(account_id)["in_use"] == 0


def test_a_profile_with_several_modules_costs_one_seat_in_each_and_none_costs_nothing(api):
    account_id = api.account_with_pools(api.terms("case_management", 5), api.terms("documents", 3))
    both = api.ok(
        api.client.post(
            f"/v1/accounts/{account_id}/profiles",
            json={"name": "Both", "modules": ["case_management", "documents"]},
        ),
        201,
    )
    none = api.ok(
        api.client.post(
            f"/v1/accounts/{account_id}/profiles", json={"name": "None", "modules": []}
        ),
        201,
    )
    second_ws = api.ok(
        api.client.post(f"/v1/accounts/{account_id}/workspaces", json={"name": "Second"}), 201
    )
    default_ws = api.ok(api.client.get(f"/v1/accounts/{account_id}/workspaces"))["data"]
    default_ws_id = next(w["id"] for w in default_ws if w["is_default"])

    worker = api.create_user(
        account_id,
        "worker@example.com",
        profile_id=both["id"],
        workspace_ids=[default_ws_id, second_ws["id"]],
    )
    viewer = api.create_user(account_id, "viewer@example.com", profile_id=none["id"])

    assert worker["seats"] == ["case_management", "documents"]
    assert sorted(worker["workspace_ids"]) == sorted([default_ws_id, second_ws["id"]])
    assert viewer["seats"] == []
    pools = api.pools(account_id)
    assert (pools["case_management"]["in_use"], pools["documents"]["in_use"]) == (1, 1)


# ----------------------------------------------------------------- policies on create


def test_a_full_block_pool_refuses_a_create_with_409_and_the_pools_numbers(api):
    account_id = api.account_with_pools(api.terms("console", 2))
    for i in range(2):
        api.create_user(account_id, f"u{i}@example.com")
    before = api.snapshot(account_id)

    response = api.client.post(
        _users_path(account_id),
        json={"email": "third@example.com", "first_name": "Third", "last_name": "User"},
    )

    problem = api.problem(response, 409, type_suffix="/seat-limit-reached")
    assert problem["title"] == "Conflict"
    assert (problem["module"], problem["capacity"], problem["in_use"], problem["available"]) == (
        "console",
        2,
        2,
        0,
    )
    assert "console" in problem["detail"]
    assert api.snapshot(account_id) == before


def test_a_user_needing_a_full_block_pool_takes_nothing_in_its_other_pools(api):
    account_id = api.account_with_pools(api.terms("case_management", 5), api.terms("documents", 1))
    api.create_user(account_id, "first@example.com")
    before = api.snapshot(account_id)

    problem = api.problem(
        api.client.post(
            _users_path(account_id),
            json={"email": "second@example.com", "first_name": "Second", "last_name": "User"},
        ),
        409,
        type_suffix="/seat-limit-reached",
    )

    assert problem["module"] == "documents"
    assert api.snapshot(account_id) == before
    assert api.pools(account_id)["case_management"]["in_use"] == 1


def test_a_create_into_a_full_inactive_when_full_pool_lands_inactive_with_the_seed_000_warning(api):
    account_id = api.account_with_pools(api.terms("console", 1, policy="inactive_when_full"))
    api.create_user(account_id, "first@example.com")

    late = api.create_user(account_id, "late@example.com")

    assert late["status"] == "inactive"
    assert late["warnings"] == [SEED_000_WARNING]
    assert late["seats"] == []
    assert api.ok(api.client.get(_users_path(account_id, late["id"])))["status"] == "inactive"
    pool = api.pool(account_id)
    assert (pool["capacity"], pool["in_use"]) == (1, 1)


def test_add_license_on_a_full_inactive_when_full_pool_buys_a_seat_and_is_ignored_when_free(api):
    account_id = api.account_with_pools(api.terms("console", 2, policy="inactive_when_full"))

    free = api.create_user(account_id, "free@example.com", add_license=True)
    assert (free["status"], api.pool(account_id)["capacity"]) == ("active", 2)
    api.create_user(account_id, "second@example.com")
    bought = api.create_user(account_id, "bought@example.com", add_license=True)

    assert (bought["status"], bought["warnings"], bought["seats"]) == ("active", [], ["console"])
    pool = api.pool(account_id)
    assert (pool["capacity"], pool["in_use"], pool["available"]) == (3, 3, 0)


def test_a_true_up_create_over_capacity_is_allowed_with_a_warning_about_the_months_close(api):
    account_id = api.account_with_pools(api.terms("console", 1, policy="true_up"))
    within = api.create_user(account_id, "within@example.com")

    over = api.create_user(account_id, "over@example.com")

    assert within["warnings"] == []
    assert over["status"] == "active"
    assert over["seats"] == ["console"]
    assert len(over["warnings"]) == 1
    warning = over["warnings"][0]
    assert "month" in warning and "close" in warning
    assert "console" in warning
    pool = api.pool(account_id)
    assert (pool["capacity"], pool["in_use"], pool["available"]) == (1, 2, 0)


def test_a_metered_pool_is_never_full(api):
    account_id = api.account_with_pools(api.terms("console", None, policy="metered"))

    for i in range(4):
        assert api.create_user(account_id, f"m{i}@example.com")["seats"] == ["console"]

    pool = api.pool(account_id)
    assert (pool["capacity"], pool["available"], pool["in_use"]) == (None, None, 4)


# ------------------------------------------------------------------------- list, get


def test_users_are_listed_by_status_with_deleted_ones_hidden_unless_asked_for(api):
    account_id = api.account_with_pools(api.terms("console", 10))
    ids = [api.create_user(account_id, f"u{i}@example.com")["id"] for i in range(5)]
    api.ok(api.client.post(_users_path(account_id, ids[0], "deactivate")))
    api.ok(api.client.delete(_users_path(account_id, ids[1])))

    assert {u["id"] for u in api.users(account_id)} == set(ids) - {ids[1]}
    assert {u["id"] for u in api.users(account_id, status="active")} == set(ids[2:])
    assert [u["id"] for u in api.users(account_id, status="inactive")] == [ids[0]]
    assert [u["id"] for u in api.users(account_id, status="deleted")] == [ids[1]]
    assert {u["id"] for u in api.users(account_id, include_deleted="true")} == set(ids)
    api.problem(
        api.client.get(_users_path(account_id), params={"status": "gone"}), 422, field="status"
    )


def test_users_are_paginated_with_a_cursor(api):
    account_id = api.account_with_pools(api.terms("console", 10))
    ids = {api.create_user(account_id, f"p{i}@example.com")["id"] for i in range(5)}

    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = api.ok(api.client.get(_users_path(account_id), params=params))
        seen += [u["id"] for u in page["data"]]
        pages += 1
        cursor = page["next_cursor"]
        if not cursor:
            break

    assert pages == 3
    assert sorted(seen) == sorted(ids) and len(seen) == 5
    api.problem(api.client.get(_users_path(account_id), params={"limit": 0}), 422, field="limit")
    api.problem(
        api.client.get(_users_path(account_id), params={"cursor": "%%%"}), 422, field="cursor"
    )


# ----------------------------------------------------------------------------- patch


def test_patch_changes_names_department_role_and_valid_to(api):
    account_id = api.account_with_pools(api.terms("console", 3))
    user = api.create_user(account_id, "p@example.com")

    patched = api.ok(
        api.client.patch(
            _users_path(account_id, user["id"]),
            json={
                "first_name": "Zoë",
                "last_name": "O'Brien-Smith",
                "department": "R&D",
                "role": "admin",
                "valid_to": "2026-12-31",
            },
        )
    )

    assert (patched["first_name"], patched["last_name"]) == ("Zoë", "O'Brien-Smith")
    assert (patched["department"], patched["role"], patched["valid_to"]) == (
        "R&D",
        "admin",
        "2026-12-31",
    )
    assert api.ok(api.client.get(_users_path(account_id, user["id"]))) == patched
    cleared = api.ok(api.client.patch(_users_path(account_id, user["id"]), json={"valid_to": None}))
    assert cleared["valid_to"] is None


def test_patching_the_profile_or_workspaces_takes_and_releases_seats(api):
    account_id = api.account_with_pools(api.terms("case_management", 5), api.terms("documents", 1))
    docs_only = api.ok(
        api.client.post(
            f"/v1/accounts/{account_id}/profiles", json={"name": "Docs", "modules": ["documents"]}
        ),
        201,
    )
    none = api.ok(
        api.client.post(
            f"/v1/accounts/{account_id}/profiles", json={"name": "None", "modules": []}
        ),
        201,
    )
    second_ws = api.ok(
        api.client.post(f"/v1/accounts/{account_id}/workspaces", json={"name": "Second"}), 201
    )
    user = api.create_user(account_id, "mover@example.com", profile_id=none["id"])
    other = api.create_user(account_id, "other@example.com", profile_id=none["id"])
    path = _users_path(account_id, user["id"])

    assert api.ok(api.client.patch(path, json={"profile_id": docs_only["id"]}))["seats"] == [
        "documents"
    ]
    # the only documents seat is taken: giving it to another user too is refused
    before = api.snapshot(account_id)
    api.problem(
        api.client.patch(
            _users_path(account_id, other["id"]), json={"profile_id": docs_only["id"]}
        ),
        409,
        type_suffix="/seat-limit-reached",
    )
    assert api.snapshot(account_id) == before
    # a second workspace takes no second seat; no workspace releases the seat
    both_ws = api.ok(
        api.client.patch(path, json={"workspace_ids": [*user["workspace_ids"], second_ws["id"]]})
    )
    assert both_ws["seats"] == ["documents"]
    assert api.pools(account_id)["documents"]["in_use"] == 1
    nowhere = api.ok(api.client.patch(path, json={"workspace_ids": []}))
    assert (nowhere["seats"], nowhere["workspace_ids"], nowhere["status"]) == ([], [], "active")
    assert api.pools(account_id)["documents"]["in_use"] == 0
    back = api.ok(api.client.patch(path, json={"workspace_ids": [second_ws["id"]]}))
    assert back["seats"] == ["documents"]
    default = api.ok(api.client.patch(path, json={"profile_id": None}))
    assert default["seats"] == ["case_management", "documents"]


def test_invalid_or_read_only_patch_fields_are_422_and_nothing_is_written(api):
    account_id = api.account_with_pools(api.terms("console", 3))
    user = api.create_user(account_id, "keep@example.com")
    path = _users_path(account_id, user["id"])
    before = api.snapshot(account_id)

    for body, field in [
        ({"first_name": ""}, "first_name"),
        ({"first_name": "Bad\u0000Name"}, "first_name"),
        ({"last_name": "Line\nBreak"}, "last_name"),
        ({"valid_to": "31/12/2026"}, "valid_to"),
        ({"role": "root"}, "role"),
        ({"workspace_ids": None}, "workspace_ids"),
        ({"email": "new@example.com"}, "email"),
        ({"status": "inactive"}, "status"),
        ({"id": "usr_other"}, "id"),
        ({"account_id": "acc_other"}, "account_id"),
        ({"capacity": 9}, "capacity"),
        ({"seats": []}, "seats"),
        ({"first_name": "Ok", "mystery": 1}, "mystery"),
    ]:
        api.problem(api.client.patch(path, json=body), 422, field=field)

    assert api.snapshot(account_id) == before


# --------------------------------------------------------- activate, deactivate, delete


def test_deactivating_frees_the_seat_and_activating_takes_it_again(api):
    account_id = api.account_with_pools(api.terms("console", 1))
    user = api.create_user(account_id, "cycle@example.com")

    off = api.ok(api.client.post(_users_path(account_id, user["id"], "deactivate")))
    assert (off["status"], off["seats"]) == ("inactive", [])
    assert api.pool(account_id)["in_use"] == 0
    assert (
        api.ok(api.client.post(_users_path(account_id, user["id"], "deactivate")))["status"]
        == "inactive"
    )  # idempotent

    on = api.ok(api.client.post(_users_path(account_id, user["id"], "activate")))
    assert (on["status"], on["seats"]) == ("active", ["console"])
    assert api.pool(account_id)["in_use"] == 1
    again = api.ok(api.client.post(_users_path(account_id, user["id"], "activate"), json={}))
    assert again["status"] == "active"
    assert api.pool(account_id)["in_use"] == 1


def test_activating_into_a_full_block_pool_is_409_and_changes_nothing(api):
    account_id = api.account_with_pools(api.terms("console", 1))
    api.create_user(account_id, "holder@example.com")
    waiting = api.create_user(account_id, "waiting@example.com", active=False)
    before = api.snapshot(account_id)

    problem = api.problem(
        api.client.post(_users_path(account_id, waiting["id"], "activate")),
        409,
        type_suffix="/seat-limit-reached",
    )

    assert (problem["capacity"], problem["in_use"], problem["available"], problem["module"]) == (
        1,
        1,
        0,
        "console",
    )
    assert api.snapshot(account_id) == before


def test_activating_into_a_full_inactive_when_full_pool_is_refused_unless_add_license(api):
    account_id = api.account_with_pools(api.terms("console", 1, policy="inactive_when_full"))
    api.create_user(account_id, "holder@example.com")
    waiting = api.create_user(account_id, "waiting@example.com")
    assert waiting["status"] == "inactive"
    before = api.snapshot(account_id)

    problem = api.problem(
        api.client.post(_users_path(account_id, waiting["id"], "activate")),
        409,
        type_suffix="/seat-limit-reached",
    )
    assert problem["detail"] == SEED_000_WARNING
    assert api.snapshot(account_id) == before

    api.problem(
        api.client.post(
            _users_path(account_id, waiting["id"], "activate"), json={"add_license": "yes"}
        ),
        422,
        field="add_license",
    )
    activated = api.ok(
        api.client.post(
            _users_path(account_id, waiting["id"], "activate"), json={"add_license": True}
        )
    )
    assert (activated["status"], activated["seats"]) == ("active", ["console"])
    pool = api.pool(account_id)
    assert (pool["capacity"], pool["in_use"]) == (2, 2)


def test_deleting_frees_the_seat_and_a_deleted_user_cannot_come_back(api):
    account_id = api.account_with_pools(api.terms("console", 1))
    user = api.create_user(account_id, "gone@example.com")

    deleted = api.ok(api.client.delete(_users_path(account_id, user["id"])))

    assert (deleted["status"], deleted["seats"]) == ("deleted", [])
    assert api.pool(account_id)["in_use"] == 0
    assert api.users(account_id) == []
    assert api.ok(api.client.get(_users_path(account_id, user["id"])))["status"] == "deleted"
    before = api.snapshot(account_id)
    for method, action, body in [
        ("POST", "activate", None),
        ("POST", "deactivate", None),
        ("DELETE", None, None),
        ("PATCH", None, {"first_name": "X"}),
    ]:
        api.problem(
            api.client.request(method, _users_path(account_id, user["id"], action), json=body), 409
        )
    assert api.snapshot(account_id) == before
    # its seat is free for someone else
    assert api.create_user(account_id, "next@example.com")["seats"] == ["console"]


def test_an_admin_must_lose_the_role_before_deactivation_or_deletion(api):
    account_id = api.account_with_pools(api.terms("console", 5))
    owner = api.create_user(account_id, "owner@example.com", role="owner")
    admin = api.create_user(account_id, "admin@example.com", role="admin")
    before = api.snapshot(account_id)

    for user in (owner, admin):
        for method, action in [("POST", "deactivate"), ("DELETE", None)]:
            problem = api.problem(
                api.client.request(method, _users_path(account_id, user["id"], action)), 409
            )
            assert "role" in problem["detail"]
    assert api.snapshot(account_id) == before

    demoted = api.ok(
        api.client.patch(_users_path(account_id, admin["id"]), json={"role": "member"})
    )
    assert demoted["role"] == "member"
    assert (
        api.ok(api.client.post(_users_path(account_id, admin["id"], "deactivate")))["status"]
        == "inactive"
    )
    # the owner is now the last active owner or admin: demoting it is refused
    before = api.snapshot(account_id)
    api.problem(
        api.client.patch(_users_path(account_id, owner["id"]), json={"role": "member"}),
        409,
        field="role",
    )
    assert api.snapshot(account_id) == before


# ------------------------------------------------------------- foreign and malformed ids


def test_a_user_of_another_account_is_404_on_every_user_route_and_nothing_changes(api):
    mine = api.account_with_pools(api.terms("console", 5))
    theirs = api.account_with_pools(api.terms("console", 5))
    stranger = api.create_user(theirs, "stranger@example.com")
    before_mine, before_theirs = api.snapshot(mine), api.snapshot(theirs)

    for method, action, body in [
        ("GET", None, None),
        ("PATCH", None, {"first_name": "Hijack"}),
        ("POST", "activate", None),
        ("POST", "deactivate", None),
        ("DELETE", None, None),
    ]:
        api.problem(
            api.client.request(method, _users_path(mine, stranger["id"], action), json=body),
            404,
            field="user_id",
        )

    assert api.snapshot(mine) == before_mine
    assert api.snapshot(theirs) == before_theirs


def test_a_workspace_or_profile_of_another_account_is_404_and_nothing_is_written(api):
    mine = api.account_with_pools(api.terms("console", 5))
    theirs = api.account_with_pools(api.terms("console", 5))
    their_ws = api.ok(
        api.client.post(f"/v1/accounts/{theirs}/workspaces", json={"name": "Theirs"}), 201
    )
    their_profile = api.ok(
        api.client.post(
            f"/v1/accounts/{theirs}/profiles", json={"name": "Theirs", "modules": ["console"]}
        ),
        201,
    )
    user = api.create_user(mine, "mine@example.com")
    before = api.snapshot(mine)
    new = {"email": "new@example.com", "first_name": "New", "last_name": "User"}

    api.problem(
        api.client.post(_users_path(mine), json={**new, "workspace_ids": [their_ws["id"]]}),
        404,
        field="workspace_ids",
    )
    api.problem(
        api.client.post(_users_path(mine), json={**new, "profile_id": their_profile["id"]}),
        404,
        field="profile_id",
    )
    api.problem(
        api.client.patch(_users_path(mine, user["id"]), json={"workspace_ids": [their_ws["id"]]}),
        404,
        field="workspace_ids",
    )
    api.problem(
        api.client.patch(_users_path(mine, user["id"]), json={"profile_id": their_profile["id"]}),
        404,
        field="profile_id",
    )
    api.problem(
        api.client.post(
            f"/v1/accounts/{mine}/invitations",
            json={"email": "inv@example.com", "workspace_id": their_ws["id"]},
        ),
        404,
        field="workspace_id",
    )

    assert api.snapshot(mine) == before


def test_a_malformed_or_unknown_user_id_is_404(api):
    account_id = api.account_with_pools(api.terms("console", 5))
    real = api.create_user(account_id, "real@example.com")
    before = api.snapshot(account_id)

    for bad in [
        "nope",
        "usr_",
        "usr_' OR 1=1 --",
        real["id"] + "x",
        real["id"].upper(),
        "%E2%9C%93",
        "9" * 200,
    ]:
        for method, action in [
            ("GET", None),
            ("PATCH", None),
            ("POST", "activate"),
            ("POST", "deactivate"),
            ("DELETE", None),
        ]:
            body = {"department": "X"} if method == "PATCH" else None
            api.problem(
                api.client.request(method, _users_path(account_id, bad, action), json=body), 404
            )

    assert api.snapshot(account_id) == before
