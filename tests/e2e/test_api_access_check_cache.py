"""POST /v1/access/check answered from the read cache (access_fast_path.py,
adapters/db/read_cache.py), through the real HTTP server on SQLite and
PostgreSQL: a kept answer sends no statement and is the route's answer byte for
byte; a seat change made through this server is in its very next answer; and
every rule of the full stack still holds once the answer is kept (401, 403, 413,
415, 422, 404, idempotent replays, request ids)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

from sqlalchemy import Engine, event

from seatledger.entrypoints.api.limits import MAX_BODY_BYTES

JSON = {"content-type": "application/json"}


@contextmanager
def statements(engine: Engine) -> Iterator[list[str]]:
    sent: list[str] = []

    def count(conn, cursor, statement, *args):  # type: ignore[no-untyped-def]
        sent.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield sent
    finally:
        event.remove(engine, "before_cursor_execute", count)


def _kept(api, account_id: str) -> tuple[str, bytes]:
    """A user whose check is answered, then kept; the check's body."""
    user = api.create_user(account_id, "kept@example.com")
    body = json.dumps({"account_id": account_id, "user_id": user["id"], "module": "console"})
    api.ok(api.client.post("/v1/access/check", content=body, headers=JSON))
    return user["id"], body.encode()


def test_a_kept_answer_sends_no_statement_and_is_the_routes_answer_byte_for_byte(api, engine):
    account_id = api.account_with_pools(api.terms("console", 3))
    user = api.create_user(account_id, "ada@example.com")
    body = json.dumps({"account_id": account_id, "user_id": user["id"], "module": "console"})

    with statements(engine) as first_sent:
        first = api.client.post("/v1/access/check", content=body, headers=JSON)
    # The facts; and the key too when the cache's watcher did not prove itself within
    # its 0.5 s window meanwhile (a loaded machine): then nothing was used from memory.
    assert 1 <= len(first_sent) <= 2
    # NOTE: on PostgreSQL the notification of the user's creation may land after
    # that read and drop what it kept (never a stale entry, at worst one more read).
    deadline = time.monotonic() + 5
    while True:
        with statements(engine) as kept_sent:
            kept = api.client.post("/v1/access/check", content=body, headers=JSON)
        if not kept_sent or time.monotonic() > deadline:
            break
    assert kept_sent == []
    assert (kept.status_code, kept.content) == (first.status_code, first.content)
    assert kept.json() == {"allowed": True, "reason": "ok", "user_id": user["id"]}
    for header in ("content-type", "content-length"):
        assert kept.headers[header] == first.headers[header]
    assert kept.headers["x-request-id"] != first.headers["x-request-id"]


def test_a_seat_change_through_this_server_is_in_its_next_answer(api, engine):
    account_id = api.account_with_pools(api.terms("console", 3), api.terms("documents", 3))
    user_id, _ = _kept(api, account_id)
    users = f"/v1/accounts/{account_id}/users/{user_id}"

    def reason(module: str = "console") -> str:
        return str(api.access(account_id, user_id=user_id, module=module)["reason"])

    assert reason("documents") == "ok"
    api.ok(api.client.post(f"{users}/deactivate"))
    assert reason() == "inactive"
    api.ok(api.client.post(f"{users}/activate"))
    assert reason() == "ok"
    console_only = api.ok(
        api.client.post(
            f"/v1/accounts/{account_id}/profiles", json={"name": "C", "modules": ["console"]}
        ),
        201,
    )
    api.ok(api.client.patch(users, json={"profile_id": console_only["id"]}))
    assert (reason(), reason("documents")) == ("ok", "no_seat")
    api.ok(api.client.patch(users, json={"valid_to": "2026-03-01"}))
    assert reason() == "ok"
    api.clock.advance(timedelta(days=1))  # time alone: the kept facts, judged now
    assert reason() == "expired"
    api.ok(api.client.delete(users))
    assert reason() == "deleted"


def test_every_rule_of_the_route_holds_once_the_answer_is_kept(api):
    account_id = api.account_with_pools(api.terms("console", 3))
    user_id, body = _kept(api, account_id)
    check = "/v1/access/check"

    api.problem(api.anonymous.post(check, content=body, headers=JSON), 401)
    api.problem(
        api.anonymous.post(check, content=body, headers={**JSON, "authorization": "Bearer nope"}),
        401,
    )
    member = api.create_user(account_id, "member@example.com")
    token = api.ok(api.client.post(f"/v1/accounts/{account_id}/users/{member['id']}/tokens"), 201)
    api.problem(api.new_client(token=token["token"]).post(check, content=body, headers=JSON), 403)
    api.problem(api.client.post(check, content=body, headers={"content-type": "text/plain"}), 415)
    api.problem(api.client.post(check, content=body), 415)  # no content type
    padded = body[:-1] + b" " * MAX_BODY_BYTES + b"}"
    api.problem(api.client.post(check, content=padded, headers=JSON), 413)
    api.problem(api.client.post(check, content=body[:-1], headers=JSON), 422)
    extra = {**json.loads(body), "admin": True}
    api.problem(api.client.post(check, json=extra), 422)
    both = {**json.loads(body), "email": "kept@example.com"}
    api.problem(api.client.post(check, json=both), 422, field="user_id")
    api.problem(api.client.post(check, json={**json.loads(body), "module": "nope"}), 422)
    unknown = {**json.loads(body), "account_id": account_id[:-3] + "zzz"}
    api.problem(api.client.post(check, json=unknown), 404, field="account_id")

    request_id = {"X-Request-Id": "req-kept-1"}
    answer = api.client.post(check, content=body, headers={**JSON, **request_id})
    assert answer.headers["x-request-id"] == "req-kept-1"
    key = {"Idempotency-Key": "check-1"}
    first = api.client.post(check, content=body, headers={**JSON, **key})
    again = api.client.post(check, content=body, headers={**JSON, **key})
    assert "idempotent-replayed" not in first.headers
    assert again.headers["idempotent-replayed"] == "true"
    assert again.content == first.content == answer.content


def test_an_operator_key_revoked_through_this_server_is_refused_by_its_next_check(api):
    account_id = api.account_with_pools(api.terms("console", 3))
    _, body = _kept(api, account_id)
    created = api.ok(api.client.post("/v1/operator-keys", json={"name": "app"}), 201)
    app = api.new_client(token=created["key"])
    for _ in range(3):  # its first use written, then kept
        api.ok(app.post("/v1/access/check", content=body, headers=JSON))

    api.ok(api.client.delete(f"/v1/operator-keys/{created['id']}"))

    api.problem(app.post("/v1/access/check", content=body, headers=JSON), 401)


def test_a_kept_key_still_records_its_last_use_once_a_minute(api):
    account_id = api.account_with_pools(api.terms("console", 3))
    _, body = _kept(api, account_id)
    created = api.ok(api.client.post("/v1/operator-keys", json={"name": "app"}), 201)
    app = api.new_client(token=created["key"])

    def last_use() -> str | None:
        keys = api.ok(api.client.get("/v1/operator-keys"))["data"]
        return next(k["last_used_at"] for k in keys if k["id"] == created["id"])

    api.ok(app.post("/v1/access/check", content=body, headers=JSON))
    first = last_use()
    api.clock.advance(timedelta(seconds=59))
    api.ok(app.post("/v1/access/check", content=body, headers=JSON))
    assert last_use() == first
    api.clock.advance(timedelta(seconds=1))
    api.ok(app.post("/v1/access/check", content=body, headers=JSON))
    assert last_use() != first
