"""Issue 10 part 2: the live stream with several server processes on one
database. Two real `seatledger serve` processes on one PostgreSQL database, and
on one SQLite file: a change made through one shows on the other's stream
within a second; a server asked to stop (SIGTERM) with a stream open ends it
and exits."""

from __future__ import annotations

import json
import secrets
import subprocess
import time
from collections.abc import Iterator

import httpx
import pytest
from tests.e2e.sse import EventStream
from tests.e2e.test_api_tokens_across_processes import _serve, _wait_until_up

Server = tuple[subprocess.Popen[bytes], str]


def _stop(process: subprocess.Popen[bytes], timeout: float = 15) -> None:
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@pytest.fixture
def two_servers(db_url: str) -> Iterator[tuple[Server, Server, str]]:
    key = "slop_" + secrets.token_urlsafe(32)
    first = _serve(db_url, key)
    try:
        _wait_until_up(*first)  # the first migrates; the second then finds nothing to do
        second = _serve(db_url, key)
        try:
            _wait_until_up(*second)
            yield first, second, key
        finally:
            _stop(second[0])
    finally:
        _stop(first[0])


def _client(url: str, token: str) -> httpx.Client:
    return httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=30)


def _ok(response: httpx.Response, status: int = 200) -> dict:  # type: ignore[type-arg]
    assert response.status_code == status, response.text
    return dict(response.json())


def _account(client: httpx.Client) -> str:
    account_id = _ok(client.post("/v1/accounts", json={"name": "Acme", "currency": "EUR"}), 201)[
        "id"
    ]
    pool = {"module": "console", "capacity": 10, "unit_price": "10.00", "policy": "block"}
    contract = {"start_date": "2026-01-01", "billing_interval": "month", "pools": [pool]}
    _ok(client.post(f"/v1/accounts/{account_id}/contracts", json=contract), 201)
    return str(account_id)


def _create_user(client: httpx.Client, account_id: str) -> str:
    body = {
        "email": f"user-{secrets.token_hex(4)}@example.com",
        "first_name": "Ada",
        "last_name": "Lovelace",
    }
    return str(_ok(client.post(f"/v1/accounts/{account_id}/users", json=body), 201)["id"])


def test_a_change_through_one_process_shows_on_the_others_stream_within_a_second(two_servers):
    (_, url_a), (_, url_b), key = two_servers
    with _client(url_a, key) as a, _client(url_b, key) as b:
        account_id = _account(a)
        with EventStream(b, f"/v1/accounts/{account_id}/events") as stream:
            assert stream.response.status_code == 200
            latencies = []
            for _ in range(5):
                user_id = _create_user(a, account_id)
                made = time.monotonic()
                subjects = []
                while f"user:{user_id}" not in subjects:
                    event = stream.next(timeout=1.0)
                    assert event is not None, "the stream ended"
                    subjects.append(json.loads(event["data"])["subject"])
                latencies.append(time.monotonic() - made)
                assert latencies[-1] < 1.0, subjects
            print(f"\nA's change on B's stream after {max(latencies) * 1000:.0f} ms at most")

        # ... and the other way round: B's change on a stream of A.
        seen = _ok(a.get(f"/v1/accounts/{account_id}/events", params={"limit": 500}))["data"]
        with EventStream(
            a,
            f"/v1/accounts/{account_id}/events",
            headers={"Last-Event-ID": str(seen[-1]["position"])},
        ) as stream:
            user_id = _create_user(b, account_id)
            made = time.monotonic()
            event = stream.next(timeout=1.0)
            assert event is not None and time.monotonic() - made < 1.0
            assert int(event["id"]) == seen[-1]["position"] + 1
            listed = _ok(a.get(f"/v1/accounts/{account_id}/events", params={"limit": 500}))
            new = [e for e in listed["data"] if e["position"] > seen[-1]["position"]]
            assert f"user:{user_id}" in {e["subject"] for e in new}
            received = [event] + stream.events(len(new) - 1, timeout=1.0)
            assert [json.loads(e["data"]) for e in received] == new


def test_a_server_asked_to_stop_ends_its_open_streams_and_exits(two_servers):
    (_, url_a), (process_b, url_b), key = two_servers
    with _client(url_a, key) as a, _client(url_b, key) as b:
        account_id = _account(a)
        with EventStream(b, f"/v1/accounts/{account_id}/events") as stream:
            assert stream.response.status_code == 200
            asked = time.monotonic()
            process_b.terminate()
            process_b.wait(timeout=10)  # TimeoutExpired: the open stream held the server up
            assert stream.next(timeout=5.0) is None  # the stream ended with the server
            stopped = time.monotonic() - asked
            assert stopped < 10.0
            print(f"\nB stopped {stopped:.2f} s after SIGTERM with a stream open")
