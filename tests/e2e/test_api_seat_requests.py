"""Seat-change requests (the Billing tab, PRODUCT.md §4) through the real HTTP
server: previews, automatic and operator approval, decreases, refusals."""

from __future__ import annotations

BELOW_MINIMUM = "The number of licenses cannot be less than the minimum set for your account"


def _request(api, account_id: str, **body):
    return api.client.post(f"/v1/accounts/{account_id}/seat-requests", json=body)


def _requests(api, account_id: str, **params) -> list[dict]:
    return api.ok(api.client.get(f"/v1/accounts/{account_id}/seat-requests", params=params))["data"]


def test_a_preview_answers_what_would_happen_and_stores_nothing(api):
    account_id = api.account_with_pools(
        api.terms("console", 7, minimum=6, policy="inactive_when_full")
    )
    before = api.snapshot(account_id)

    up = api.ok(_request(api, account_id, module="console", target_capacity=8, preview=True))
    up3 = api.ok(_request(api, account_id, module="console", target_capacity=10, preview=True))
    down = api.ok(_request(api, account_id, module="console", target_capacity=6, preview=True))

    assert up["preview"] is True and up["id"] is None
    assert (up["from_capacity"], up["target_capacity"], up["delta"]) == (7, 8, 1)
    assert up["message"].startswith("+1 seat will be requested")
    assert up3["message"].startswith("+3 seats will be requested")
    assert down["message"].startswith("\u22121 seat will be requested")
    assert down["status"] == "pending"
    assert api.snapshot(account_id) == before
    assert _requests(api, account_id) == []


def test_an_increase_under_automatic_approval_is_applied_at_once(api):
    account_id = api.account_with_pools(api.terms("console", 5))

    response = _request(api, account_id, module="console", target_capacity=7)

    created = api.ok(response, 201)
    assert created["id"] and created["preview"] is False
    assert (created["status"], created["delta"], created["effective"]) == ("applied", 2, "now")
    assert created["message"].startswith("+2 seats will be requested")
    assert api.pool(account_id)["capacity"] == 7
    assert [r["id"] for r in _requests(api, account_id)] == [created["id"]]
    assert [r["id"] for r in _requests(api, account_id, status="applied")] == [created["id"]]
    assert _requests(api, account_id, status="pending") == []


def test_an_increase_under_operator_approval_waits_for_the_operator(api):
    account_id = api.account_with_pools(
        api.terms("case_management", 5), increase_approval="operator"
    )

    pending = api.ok(_request(api, account_id, module="case_management", target_capacity=6), 201)

    assert pending["status"] == "pending"
    assert api.pool(account_id, "case_management")["capacity"] == 5
    operator_view = api.ok(api.client.get("/v1/seat-requests", params={"status": "pending"}))
    assert [r["id"] for r in operator_view["data"]] == [pending["id"]]
    approved = api.ok(api.client.post(f"/v1/seat-requests/{pending['id']}/approve"))
    assert (approved["status"], approved["effective"]) == ("applied", "now")
    assert approved["decided_at"]
    assert api.pool(account_id, "case_management")["capacity"] == 6
    api.problem(api.client.post(f"/v1/seat-requests/{pending['id']}/approve"), 409)
    api.problem(
        api.client.post(f"/v1/seat-requests/{pending['id']}/reject", json={"reason": "too late"}),
        409,
    )


def test_a_decrease_waits_and_is_applied_now_scheduled_for_renewal_or_rejected(api):
    account_id = api.account_with_pools(api.terms("console", 10, minimum=2))
    now_req = api.ok(_request(api, account_id, module="console", target_capacity=8), 201)
    assert (now_req["status"], now_req["delta"]) == ("pending", -2)
    assert now_req["message"].startswith("\u22122 seats will be requested")
    assert api.pool(account_id)["capacity"] == 10

    applied = api.ok(
        api.client.post(f"/v1/seat-requests/{now_req['id']}/approve", json={"effective": "now"})
    )
    assert (applied["status"], applied["effective"]) == ("applied", "now")
    assert api.pool(account_id)["capacity"] == 8

    renewal_req = api.ok(_request(api, account_id, module="console", target_capacity=6), 201)
    scheduled = api.ok(api.client.post(f"/v1/seat-requests/{renewal_req['id']}/approve", json={}))
    assert (scheduled["status"], scheduled["effective"]) == ("scheduled", "renewal")
    assert api.pool(account_id)["capacity"] == 8

    rejected_req = api.ok(_request(api, account_id, module="console", target_capacity=4), 201)
    before = api.snapshot(account_id)
    for body, field in [
        ({}, "reason"),
        ({"reason": "   "}, "reason"),
        ({"reason": 5}, "reason"),
        ({"reason": "no", "status": "rejected"}, "status"),
    ]:
        api.problem(
            api.client.post(f"/v1/seat-requests/{rejected_req['id']}/reject", json=body),
            422,
            field=field,
        )
    assert api.snapshot(account_id) == before
    rejected = api.ok(
        api.client.post(
            f"/v1/seat-requests/{rejected_req['id']}/reject",
            json={"reason": "Keep the licenses until renewal"},
        )
    )
    assert (rejected["status"], rejected["reason"]) == (
        "rejected",
        "Keep the licenses until renewal",
    )
    assert api.pool(account_id)["capacity"] == 8
    statuses = {r["id"]: r["status"] for r in _requests(api, account_id)}
    assert statuses == {
        now_req["id"]: "applied",
        renewal_req["id"]: "scheduled",
        rejected_req["id"]: "rejected",
    }


def test_refused_requests_are_422_with_the_reason_and_store_nothing(api):
    account_id = api.account_with_pools(
        api.terms("console", 7, minimum=6, policy="inactive_when_full"),
        api.terms("documents", 3),
        api.terms("analytics", None, policy="metered"),
    )
    for i in range(3):
        api.create_user(account_id, f"u{i}@example.com")
    before = api.snapshot(account_id)

    for body, field, detail in [
        ({"module": "console", "target_capacity": 5}, "target_capacity", BELOW_MINIMUM),
        ({"module": "console", "target_capacity": 0}, "target_capacity", BELOW_MINIMUM),
        ({"module": "documents", "target_capacity": 2}, "target_capacity", "remove users first"),
        ({"module": "analytics", "target_capacity": 5}, "module", "metered"),
        ({"module": "console", "target_capacity": 7}, "target_capacity", "already"),
        ({"module": "billing", "target_capacity": 5}, "module", "unknown module"),
        ({"module": "console", "target_capacity": -1}, "target_capacity", None),
        ({"module": "console", "target_capacity": 2.5}, "target_capacity", None),
        ({"module": "console", "target_capacity": "8"}, "target_capacity", None),
        ({"module": "console"}, "target_capacity", None),
        ({"module": "console", "target_capacity": 8, "preview": "yes"}, "preview", None),
        ({"module": "console", "target_capacity": 8, "status": "applied"}, "status", None),
        ({"module": "console", "target_capacity": 8, "delta": 1}, "delta", None),
    ]:
        for preview in (False, True):
            payload = {**body, "preview": preview} if "preview" not in body else body
            problem = api.problem(_request(api, account_id, **payload), 422, field=field)
            if detail == BELOW_MINIMUM:
                assert problem["detail"] == BELOW_MINIMUM
            elif detail is not None:
                assert detail in problem["detail"], problem

    assert api.snapshot(account_id) == before


def test_a_decrease_is_checked_again_when_the_operator_applies_it(api):
    account_id = api.account_with_pools(api.terms("console", 5))
    api.create_user(account_id, "a@example.com")
    request = api.ok(_request(api, account_id, module="console", target_capacity=2), 201)
    for i in range(3):
        api.create_user(account_id, f"late{i}@example.com")
    before = api.snapshot(account_id)

    problem = api.problem(
        api.client.post(f"/v1/seat-requests/{request['id']}/approve", json={"effective": "now"}),
        422,
    )

    assert "remove users first" in problem["detail"]
    assert api.snapshot(account_id) == before


def test_approving_or_rejecting_an_unknown_or_malformed_request_is_404(api):
    account_id = api.account_with_pools(api.terms("console", 5))
    real = api.ok(_request(api, account_id, module="console", target_capacity=3), 201)
    before = api.snapshot(account_id)

    for bad in ["nope", "sreq_", real["id"] + "x", "sreq_' OR 1=1 --"]:
        api.problem(api.client.post(f"/v1/seat-requests/{bad}/approve", json={}), 404)
        api.problem(api.client.post(f"/v1/seat-requests/{bad}/reject", json={"reason": "no"}), 404)
    api.problem(
        api.client.post(f"/v1/seat-requests/{real['id']}/approve", json={"effective": "tomorrow"}),
        422,
        field="effective",
    )

    assert api.snapshot(account_id) == before


def test_seat_requests_of_one_account_are_not_listed_in_another(api):
    mine = api.account_with_pools(api.terms("console", 5))
    theirs = api.account_with_pools(api.terms("console", 5))
    theirs_req = api.ok(_request(api, theirs, module="console", target_capacity=3), 201)

    assert _requests(api, mine) == []
    assert [r["id"] for r in _requests(api, theirs)] == [theirs_req["id"]]
    every = api.ok(api.client.get("/v1/seat-requests"))["data"]
    assert [r["account_id"] for r in every] == [theirs]


def test_a_decrease_approved_after_capacity_fell_below_it_is_rejected_not_inverted(api):
    # the case: 10 → 8 and 10 → 6 pending; 10 → 6 approved now; then 10 → 8
    account_id = api.account_with_pools(api.terms("console", 10, unit_price="30.00"))
    to_eight = api.ok(_request(api, account_id, module="console", target_capacity=8), 201)
    to_six = api.ok(_request(api, account_id, module="console", target_capacity=6), 201)
    api.ok(api.client.post(f"/v1/seat-requests/{to_six['id']}/approve", json={"effective": "now"}))
    assert api.pool(account_id)["capacity"] == 6
    invoices = f"/v1/accounts/{account_id}/invoices"
    invoices_before = api.ok(api.client.get(invoices))["data"]

    decided = api.ok(
        api.client.post(f"/v1/seat-requests/{to_eight['id']}/approve", json={"effective": "now"})
    )

    assert decided["status"] == "rejected"
    assert "has 6 seats now" in decided["reason"]
    assert "no longer decreases" in decided["reason"]
    assert api.pool(account_id)["capacity"] == 6
    assert api.ok(api.client.get(invoices))["data"] == invoices_before
    assert {r["id"]: r["status"] for r in _requests(api, account_id)} == {
        to_eight["id"]: "rejected",
        to_six["id"]: "applied",
    }


def test_a_seat_request_target_is_at_most_one_million_seats_like_a_contract_capacity(api):
    account_id = api.account_with_pools(api.terms("console", 2, unit_price="30.00"))
    before = api.snapshot(account_id)
    invoices = f"/v1/accounts/{account_id}/invoices"

    for target in (1_000_001, 2**63 - 1, 2**63, 2**64):
        for preview in (False, True):
            body = {"module": "console", "target_capacity": target, "preview": preview}
            problem = api.problem(_request(api, account_id, **body), 422, field="target_capacity")
            assert "at most 1000000" in problem["detail"], problem

    assert api.snapshot(account_id) == before
    assert api.ok(api.client.get(invoices))["data"] == []
