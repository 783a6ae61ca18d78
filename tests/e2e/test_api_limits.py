"""Limits (API.md Conventions): a body over 1 MiB is 413, a body other than
JSON on a JSON route is 415, a user or SCIM token over its rate is 429 with
Retry-After; operator keys have no rate by default. Nothing refused is written.

A user's token is minted by an operator (POST .../users/{id}/tokens).
"""

from __future__ import annotations

import json
import secrets
from typing import TYPE_CHECKING

import httpx
import pytest
import redis

from seatledger.domain.errors import RateLimited
from seatledger.entrypoints.api.limits import MAX_BODY_BYTES, RateLimiter, RateLimits

if TYPE_CHECKING:
    from tests.e2e.conftest import Api

REDIS_URL = "redis://127.0.0.1:6379"


def _user_client(api: Api, account_id: str) -> httpx.Client:
    """A client carrying a real token of a new admin of the account."""
    user = api.create_user(account_id, role="admin")
    minted = api.ok(api.client.post(f"/v1/accounts/{account_id}/users/{user['id']}/tokens"), 201)
    return api.new_client(token=minted["token"])


def test_a_body_over_one_mebibyte_is_413_and_nothing_is_written(api: Api) -> None:
    before = api.ok(api.client.get("/v1/accounts"))["data"]
    body = json.dumps({"name": "x" * MAX_BODY_BYTES, "currency": "EUR"})
    api.problem(
        api.client.post("/v1/accounts", content=body, headers={"content-type": "application/json"}),
        413,
        type_suffix="/body-too-large",
    )
    # Streamed without a Content-Length: counted as it arrives.
    chunks = (b"x" * 65536 for _ in range(MAX_BODY_BYTES // 65536 + 1))
    api.problem(
        api.client.post(
            "/v1/accounts", content=chunks, headers={"content-type": "application/json"}
        ),
        413,
    )
    assert api.ok(api.client.get("/v1/accounts"))["data"] == before


def test_a_body_of_exactly_one_mebibyte_is_read(api: Api) -> None:
    padding = MAX_BODY_BYTES - len(json.dumps({"name": "", "currency": "EUR"}))
    body = json.dumps({"name": " " * padding, "currency": "EUR"})
    assert len(body) == MAX_BODY_BYTES
    answer = api.client.post(
        "/v1/accounts", content=body, headers={"content-type": "application/json"}
    )
    assert answer.status_code == 422, answer.text  # read and judged (a blank name), not 413


def test_a_body_that_is_not_json_on_a_json_route_is_415_and_nothing_is_written(api: Api) -> None:
    before = api.ok(api.client.get("/v1/accounts"))["data"]
    for content_type in ("text/plain", "application/x-www-form-urlencoded", "multipart/form-data"):
        api.problem(
            api.client.post(
                "/v1/accounts",
                content=b'{"name": "Acme", "currency": "EUR"}',
                headers={"content-type": content_type},
            ),
            415,
            type_suffix="/unsupported-media-type",
        )
    assert api.ok(api.client.get("/v1/accounts"))["data"] == before
    # JSON with parameters, or a +json type, is JSON.
    created = api.client.post(
        "/v1/accounts",
        content=b'{"name": "Acme", "currency": "EUR"}',
        headers={"content-type": "application/json; charset=utf-8"},
    )
    assert created.status_code == 201, created.text


def test_a_user_token_over_its_rate_is_429_with_retry_after(api: Api) -> None:
    account_id = api.account_with_pools(api.terms("console", 5))
    user = _user_client(api, account_id)
    api.app.state.rate_limiter = RateLimiter(RateLimits(user="3/minute"))
    for _ in range(3):
        api.ok(user.get(f"/v1/accounts/{account_id}/users"))
    refused = user.get(f"/v1/accounts/{account_id}/users")
    api.problem(refused, 429, type_suffix="/rate-limited")
    assert 1 <= int(refused.headers["retry-after"]) <= 60


def test_operator_keys_have_no_rate_by_default(api: Api) -> None:
    api.app.state.rate_limiter = RateLimiter(RateLimits(user="1/minute", scim="1/minute"))
    for _ in range(20):
        api.ok(api.client.get("/v1/accounts"))


def test_the_rates_of_several_processes_add_up_in_redis() -> None:
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
    except redis.RedisError as exc:
        pytest.skip(f"no Redis at {REDIS_URL}: {exc}")
    # Two limiters, as two API processes would have, sharing one Redis.
    first, second = (
        RateLimiter(RateLimits(user="3/minute", storage_url=REDIS_URL)) for _ in range(2)
    )
    token = "us_" + secrets.token_hex(8)
    first.hit("user", token)
    second.hit("user", token)
    first.hit("user", token)
    with pytest.raises(RateLimited) as refused:
        second.hit("user", token)
    assert refused.value.extra["retry_after"] >= 1


def test_a_user_token_while_the_rate_counter_is_unreachable_is_503_with_retry_after(
    api: Api,
) -> None:
    account_id = api.account_with_pools(api.terms("console", 5))
    user = _user_client(api, account_id)
    api.allow_server_errors = True  # the 503 is the point
    # Nothing listens on port 9 (discard): every count fails.
    api.app.state.rate_limiter = RateLimiter(
        RateLimits(user="3/minute", storage_url="redis://127.0.0.1:9")
    )
    refused = user.get(f"/v1/accounts/{account_id}/users")
    api.problem(refused, 503, type_suffix="/unavailable")
    assert int(refused.headers["retry-after"]) >= 1
    # Operator keys have no rate, so they do not need the counter.
    api.ok(api.client.get(f"/v1/accounts/{account_id}/users"))
