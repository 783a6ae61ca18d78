"""Rule §2.2 through the real server: many HTTP clients race for the last
seats of a capped pool; the pool never goes over capacity, nobody gets a 5xx
or "database is locked", and the losers get a clean answer."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx

CLIENTS = 32
CAPACITY = 10
WARNING = (
    "Not enough available user licenses to add new active user. You can still create "
    "a user but it will be inactive until you free up the license"
)


def _race(api: Any, account_id: str, n: int = CLIENTS) -> list[httpx.Response]:
    """``n`` threads, each with its own HTTP client (own connection), create a
    user at the same instant."""
    barrier = threading.Barrier(n)
    clients = [api.new_client() for _ in range(n)]
    for c in clients:  # open every connection before the race starts
        assert c.get("/v1/health").status_code == 200

    def one(i: int) -> httpx.Response:
        body = {"email": f"racer{i:02d}@example.com", "first_name": "Racer", "last_name": "Number"}
        barrier.wait(timeout=30)
        return clients[i].post(f"/v1/accounts/{account_id}/users", json=body)

    with ThreadPoolExecutor(max_workers=n) as pool:
        return list(pool.map(one, range(n)))


def test_32_clients_racing_for_10_block_seats_give_exactly_10_users_and_clean_409s(api):
    account_id = api.account_with_pools(
        {"module": "console", "capacity": CAPACITY, "unit_price": "10.00", "policy": "block"}
    )

    responses = _race(api, account_id)

    statuses = [r.status_code for r in responses]
    assert not [s for s in statuses if s >= 500], statuses
    assert statuses.count(201) == CAPACITY, statuses
    assert statuses.count(409) == CLIENTS - CAPACITY, statuses
    for r in responses:
        if r.status_code == 409:
            body = api.problem(r, 409, type_suffix="/seat-limit-reached")
            assert body["module"] == "console"
            assert body["capacity"] == CAPACITY
            assert body["in_use"] == CAPACITY
            assert body["available"] == 0
        else:
            assert r.json()["status"] == "active"
            assert r.json()["seats"] == ["console"]
    pool = api.pool(account_id)
    assert (pool["in_use"], pool["capacity"], pool["available"]) == (CAPACITY, CAPACITY, 0)
    winners = {r.json()["id"] for r in responses if r.status_code == 201}
    listed = api.users(account_id)
    assert {u["id"] for u in listed} == winners  # the refused left nothing behind
    assert all(u["status"] == "active" for u in listed)


def test_32_clients_racing_under_inactive_when_full_give_10_active_and_22_inactive_users(api):
    account_id = api.account_with_pools(
        {
            "module": "console",
            "capacity": CAPACITY,
            "unit_price": "30.00",
            "policy": "inactive_when_full",
        }
    )

    responses = _race(api, account_id)

    statuses = [r.status_code for r in responses]
    assert statuses == [201] * CLIENTS, [(r.status_code, r.text) for r in responses]
    created = [r.json() for r in responses]
    active = [u for u in created if u["status"] == "active"]
    inactive = [u for u in created if u["status"] == "inactive"]
    assert len(active) == CAPACITY
    assert len(inactive) == CLIENTS - CAPACITY
    assert all(u["warnings"] == [WARNING] and u["seats"] == [] for u in inactive)
    assert all(u["warnings"] == [] and u["seats"] == ["console"] for u in active)
    pool = api.pool(account_id)
    assert (pool["in_use"], pool["capacity"]) == (CAPACITY, CAPACITY)
    assert len(api.users(account_id, status="active")) == CAPACITY
    assert len(api.users(account_id, status="inactive")) == CLIENTS - CAPACITY
