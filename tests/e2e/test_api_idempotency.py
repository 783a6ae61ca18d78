"""``Idempotency-Key`` on POSTs (API.md Conventions, issue 9 item 4) through the
real server, on SQLite and PostgreSQL: a retry with the same key and body gets
the first answer with ``Idempotent-Replayed: true`` and changes nothing, also
when 20 retries arrive at the same moment; another body is 422 naming the
header; keys are the caller's own and are purged after 24 hours."""

from __future__ import annotations

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import httpx

from seatledger.adapters.db.repositories.idempotency import IdempotencyClaim
from seatledger.entrypoints.api import idempotency
from seatledger.entrypoints.scheduler import BillingScheduler
from seatledger.services.operator_keys import create_operator_key, find_operator
from seatledger.services.unit_of_work import UnitOfWork

HEADER = "Idempotency-Key"
RETRIES = 20


def _key() -> dict[str, str]:
    return {HEADER: str(uuid.uuid4())}


def _accounts(api: Any) -> list[dict[str, Any]]:
    return list(api.ok(api.client.get("/v1/accounts", params={"limit": 500}))["data"])


def _invoices(api: Any, account_id: str) -> list[dict[str, Any]]:
    return list(api.ok(api.client.get(f"/v1/accounts/{account_id}/invoices"))["data"])


def _at_once(
    api: Any, path: str, body: dict[str, Any], headers: dict[str, str]
) -> list[httpx.Response]:
    """``RETRIES`` clients, each on its own connection, send the same POST at one instant."""
    clients = [api.new_client() for _ in range(RETRIES)]
    for client in clients:  # connections open, and the key used once, before the burst
        assert client.get("/v1/accounts", params={"limit": 1}).status_code == 200
    barrier = threading.Barrier(RETRIES)

    def one(client: httpx.Client) -> httpx.Response:
        barrier.wait(timeout=30)
        return client.post(path, json=body, headers=headers)

    with ThreadPoolExecutor(max_workers=RETRIES) as pool:
        return list(pool.map(one, clients))


def _one_answer(responses: list[httpx.Response]) -> httpx.Response:
    """Every response has the same status and body; all but the first are replays."""
    assert {(r.status_code, r.content) for r in responses} == {
        (responses[0].status_code, responses[0].content)
    }, [(r.status_code, r.text[:200]) for r in responses]
    replayed = [r.headers.get("Idempotent-Replayed") for r in responses]
    assert replayed.count("true") == RETRIES - 1, replayed
    return responses[0]


def test_a_retry_with_the_same_key_and_body_replays_the_first_answer_and_writes_nothing(api):
    headers = _key()
    body = {"name": "Acme", "currency": "EUR"}

    first = api.client.post("/v1/accounts", json=body, headers=headers)
    after_first = _accounts(api)
    retry = api.client.post("/v1/accounts", json=body, headers=headers)

    assert first.status_code == 201 and "Idempotent-Replayed" not in first.headers
    assert (retry.status_code, retry.content) == (first.status_code, first.content)
    assert retry.headers["Idempotent-Replayed"] == "true"
    assert retry.headers["content-type"] == first.headers["content-type"]
    assert _accounts(api) == after_first and len(after_first) == 1


def test_a_refusal_is_replayed_too_while_the_same_body_without_a_key_is_run_again(api):
    account_id = api.account_with_pools(api.terms("console", 1, policy="block"))
    api.create_user(account_id, "only@example.com")
    path = f"/v1/accounts/{account_id}/users"
    body = {"email": "late@example.com", "first_name": "Late", "last_name": "Comer"}
    headers = _key()

    refused = api.client.post(path, json=body, headers=headers)
    api.problem(refused, 409, type_suffix="/seat-limit-reached")
    api.ok(
        api.client.post(
            f"/v1/accounts/{account_id}/contracts",
            json={
                "start_date": "2026-01-01",
                "billing_interval": "month",
                "pools": [api.terms("console", 2, policy="block")],
            },
        ),
        201,
    )
    replayed = api.client.post(path, json=body, headers=headers)
    without_key = api.client.post(path, json=body)

    assert (replayed.status_code, replayed.content) == (409, refused.content)
    assert replayed.headers["Idempotent-Replayed"] == "true"
    assert api.ok(without_key, 201)["email"] == "late@example.com"


def test_the_same_key_with_another_body_is_422_naming_the_header_and_writes_nothing(api):
    headers = _key()
    api.ok(
        api.client.post("/v1/accounts", json={"name": "Acme", "currency": "EUR"}, headers=headers),
        201,
    )
    before = _accounts(api)

    other_body = api.client.post(
        "/v1/accounts", json={"name": "Other", "currency": "EUR"}, headers=headers
    )
    other_path = api.client.post("/v1/billing-runs", json={}, headers=headers)

    api.problem(other_body, 422, field=HEADER)
    api.problem(other_path, 422, field=HEADER)
    assert "Idempotent-Replayed" not in other_body.headers
    assert _accounts(api) == before


def test_a_malformed_key_is_422_naming_the_header_and_writes_nothing(api):
    for key in (b"", b"x" * 256, b"has space", "caf\u00e9".encode()):
        response = api.client.post(
            "/v1/accounts",
            json={"name": "Acme", "currency": "EUR"},
            headers={HEADER: key},
        )
        api.problem(response, 422, field=HEADER)
    assert _accounts(api) == []


def test_the_keys_of_two_callers_do_not_collide(api, engine):
    other = create_operator_key(UnitOfWork(engine), name="second", at=api.clock.now())
    second = api.new_client(token=other.key)
    headers = _key()
    body = {"name": "Acme", "currency": "EUR"}

    mine = api.ok(api.client.post("/v1/accounts", json=body, headers=headers), 201)
    theirs = second.post("/v1/accounts", json=body, headers=headers)

    assert api.ok(theirs, 201)["id"] != mine["id"]
    assert "Idempotent-Replayed" not in theirs.headers
    assert len(_accounts(api)) == 2


def test_a_key_without_a_valid_token_is_not_kept_the_request_is_401(api):
    headers = _key()
    body = {"name": "Acme", "currency": "EUR"}

    anonymous = api.anonymous.post("/v1/accounts", json=body, headers=headers)
    mine = api.client.post("/v1/accounts", json=body, headers=headers)

    api.problem(anonymous, 401)
    assert api.ok(mine, 201) and "Idempotent-Replayed" not in mine.headers


def test_20_identical_account_creates_at_once_create_one_account_and_answer_alike(api):
    # No account lock and no rule refuses a second account: only the key's
    # claim, in the same transaction as the insert, keeps the 19 others out.
    responses = _at_once(api, "/v1/accounts", {"name": "Acme", "currency": "EUR"}, _key())

    created = api.ok(_one_answer(responses), 201)
    assert [a["id"] for a in _accounts(api)] == [created["id"]]


def test_20_identical_seat_increases_at_once_change_capacity_once_charge_once_and_answer_alike(api):
    account_id = api.account_with_pools(api.terms("console", 5, unit_price="30.00"))
    invoices_before = _invoices(api, account_id)

    responses = _at_once(
        api,
        f"/v1/accounts/{account_id}/seat-requests",
        {"module": "console", "target_capacity": 6},
        _key(),
    )

    created = api.ok(_one_answer(responses), 201)
    assert (created["status"], created["delta"]) == ("applied", 1)
    assert api.pool(account_id)["capacity"] == 6
    requests = api.ok(api.client.get(f"/v1/accounts/{account_id}/seat-requests"))["data"]
    assert [r["id"] for r in requests] == [created["id"]]
    new_invoices = [i for i in _invoices(api, account_id) if i not in invoices_before]
    assert len(new_invoices) == 1, new_invoices


def test_20_identical_creates_with_add_license_at_once_buy_one_seat_one_invoice_one_user(api):
    account_id = api.account_with_pools(api.terms("console", 1, policy="inactive_when_full"))
    api.create_user(account_id, "first@example.com")
    invoices_before = _invoices(api, account_id)
    body = {
        "email": "bought@example.com",
        "first_name": "Ada",
        "last_name": "Lovelace",
        "add_license": True,
    }

    responses = _at_once(api, f"/v1/accounts/{account_id}/users", body, _key())

    created = api.ok(_one_answer(responses), 201)
    assert (created["status"], created["seats"]) == ("active", ["console"])
    pool = api.pool(account_id)
    assert (pool["capacity"], pool["in_use"]) == (2, 2)
    assert [u["email"] for u in api.users(account_id)].count("bought@example.com") == 1
    new_invoices = [i for i in _invoices(api, account_id) if i not in invoices_before]
    assert len(new_invoices) == 1, new_invoices


def test_the_scheduler_purges_keys_after_24_hours_and_keeps_younger_ones(api, engine):
    old, young = _key(), _key()
    api.ok(
        api.client.post("/v1/accounts", json={"name": "Old", "currency": "EUR"}, headers=old), 201
    )
    api.clock.advance(timedelta(hours=1))
    young_first = api.client.post(
        "/v1/accounts", json={"name": "Young", "currency": "EUR"}, headers=young
    )
    api.clock.advance(timedelta(hours=23, seconds=1))

    BillingScheduler(engine=engine, clock=api.clock, interval=3600).run_once()

    # Purged: the old key is free again, another body is run, not refused.
    reused = api.client.post("/v1/accounts", json={"name": "Again", "currency": "EUR"}, headers=old)
    assert api.ok(reused, 201)["name"] == "Again"
    assert "Idempotent-Replayed" not in reused.headers
    # 23 h 00 min 01 s old: still kept and replayed.
    young_again = api.client.post(
        "/v1/accounts", json={"name": "Young", "currency": "EUR"}, headers=young
    )
    assert (young_again.status_code, young_again.content) == (201, young_first.content)
    assert young_again.headers["Idempotent-Replayed"] == "true"


def test_a_key_whose_change_was_kept_but_whose_answer_was_lost_is_409_and_never_run_again(
    api, engine, monkeypatch
):
    # The process died between the effect's commit (which claimed the key) and
    # storing its answer: running the request again would repeat the effect.
    monkeypatch.setattr(idempotency, "ANSWER_WAIT_SECONDS", 0.2)
    body = b'{"name": "Acme", "currency": "EUR"}'
    operator = find_operator(UnitOfWork(engine), key=api.key, at=api.clock.now())
    assert operator is not None
    claim = IdempotencyClaim(
        caller=f"operator:{operator.id}",
        key="lost-answer",
        fingerprint=idempotency.fingerprint(
            {"method": "POST", "path": "/v1/accounts", "query_string": b""}, body
        ),
        at=api.clock.now(),
    )
    with UnitOfWork(engine, idempotency=claim) as uow:
        uow.commit()

    retry = api.client.post(
        "/v1/accounts",
        content=body,
        headers={HEADER: "lost-answer", "content-type": "application/json"},
    )

    api.problem(retry, 409, field=HEADER)
    assert _accounts(api) == []


def test_the_openapi_document_declares_the_optional_key_on_every_post(api):
    document = api.ok(api.anonymous.get("/openapi.json"))

    posts = [
        (path, operation)
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if method == "post"
    ]
    assert posts
    for path, operation in posts:
        headers = [p for p in operation.get("parameters", []) if p["in"] == "header"]
        assert [(p["name"], p["required"]) for p in headers] == [(HEADER, False)], path
