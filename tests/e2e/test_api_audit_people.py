"""The audit log of the people side (issue 10 part 1) through the real HTTP
server, on SQLite and PostgreSQL: every change of users, invitations,
passwords, seats, user tokens, operator keys and the seller is logged with the
caller as actor, the account clock's time and the request's ``X-Request-Id``
(answered back in the same header); a refused request logs nothing; no secret
reaches the log. Entries are read from the database as stored."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import httpx
from sqlalchemy import Engine, select

from seatledger.adapters.db import tables as t
from seatledger.domain.audit import INSTALLATION_CHAIN, SYSTEM, AuditEntry
from seatledger.services.unit_of_work import UnitOfWork

CLOCK = "2026-01-20T09:30:00Z"  # the test-clock account's time (the server's: 2026-03-01)
CLOCK_AT = datetime(2026, 1, 20, 9, 30, tzinfo=UTC)
PASSWORD = "correct horse battery"
SELLER = {
    "legal_name": "Seatledger GmbH",
    "address_lines": ["Friedrichstraße 123"],
    "postal_code": "10117",
    "city": "Berlin",
    "country": "DE",
    "vat_id": "DE136695976",
}


def on_clock_account(api: Any, capacity: int = 5, policy: str = "block") -> str:
    account_id = api.create_account(test_clock=True, clock_start=CLOCK)["id"]
    api.create_contract(account_id, [api.terms("console", capacity, policy=policy)])
    return str(account_id)


def entries(engine: Engine, account_id: str, after: int = 0) -> list[AuditEntry]:
    with UnitOfWork(engine) as uow:
        return uow.audit_log.events(account_id, after=after, limit=1000)


def installation(engine: Engine) -> list[AuditEntry]:
    with UnitOfWork(engine) as uow:
        return uow.audit_log.chain_page(INSTALLATION_CHAIN, after=0, limit=1000)


def last(engine: Engine, account_id: str) -> int:
    found = entries(engine, account_id)
    return found[-1].position if found else 0


def after_of(entry: AuditEntry) -> dict[str, Any]:
    assert entry.after is not None, entry
    return dict(json.loads(entry.after))


def before_of(entry: AuditEntry) -> dict[str, Any]:
    assert entry.before is not None, entry
    return dict(json.loads(entry.before))


def operator_actor(api: Any) -> str:
    caller = api.ok(api.client.get("/v1/auth/token"))
    assert caller["kind"] == "operator"
    return f"operator:{caller['id']}"


def sent(response: httpx.Response, request_id: str, status: int) -> Any:
    """The answer, after checking its status and that it echoes the request id."""
    assert response.status_code == status, response.text
    assert response.headers["x-request-id"] == request_id
    return response.json() if response.content else None


def rid(request_id: str) -> dict[str, str]:
    return {"X-Request-Id": request_id}


# ------------------------------------------------------------------------------- users


def test_user_changes_are_logged_as_the_caller_with_its_request_id(api, engine) -> None:
    account_id = on_clock_account(api)
    operator = operator_actor(api)
    base = f"/v1/accounts/{account_id}/users"
    start = last(engine, account_id)

    body = {"email": "ada@example.com", "first_name": "Ada", "last_name": "Lovelace"}
    user = sent(api.client.post(base, json=body, headers=rid("req-create-1")), "req-create-1", 201)

    found = entries(engine, account_id, start)
    assert [e.type for e in found] == ["seat.taken", "user.created"]
    for entry in found:
        assert (entry.actor, entry.request_id, entry.at) == (operator, "req-create-1", CLOCK_AT)
    assert found[0].subject == f"seat:{user['id']}:console"
    assert (found[1].subject, after_of(found[1])["email"]) == (f"user:{user['id']}", body["email"])

    def change(method: str, path: str, request_id: str, **kwargs: Any) -> list[AuditEntry]:
        start = last(engine, account_id)
        response = api.client.request(method, base + path, headers=rid(request_id), **kwargs)
        sent(response, request_id, 200)
        found = entries(engine, account_id, start)
        assert all(
            (e.actor, e.request_id, e.at) == (operator, request_id, CLOCK_AT) for e in found
        ), found
        return found

    (updated,) = change("PATCH", f"/{user['id']}", "req-patch", json={"last_name": "King"})
    assert updated.type == "user.updated"
    assert (before_of(updated)["last_name"], after_of(updated)["last_name"]) == (
        "Lovelace",
        "King",
    )
    released, deactivated = change("POST", f"/{user['id']}/deactivate", "req-deactivate")
    assert (released.type, deactivated.type) == ("seat.released", "user.deactivated")
    taken, activated = change("POST", f"/{user['id']}/activate", "req-activate")
    assert (taken.type, activated.type) == ("seat.taken", "user.activated")
    released, deleted = change("DELETE", f"/{user['id']}", "req-delete")
    assert (released.type, deleted.type) == ("seat.released", "user.deleted")
    assert (before_of(deleted)["status"], after_of(deleted)["status"]) == ("active", "deleted")


def test_the_last_seat_logs_limit_reached_and_refused_requests_log_nothing(api, engine) -> None:
    account_id = on_clock_account(api, capacity=1)
    base = f"/v1/accounts/{account_id}/users"
    first = api.create_user(account_id, "one@example.com")
    (reached,) = [e for e in entries(engine, account_id) if e.type == "seat.limit_reached"]
    assert (after_of(reached)["user_id"], after_of(reached)["reason"]) == (
        first["id"],
        "last_seat_taken",
    )
    start = last(engine, account_id)

    full = api.client.post(
        base,
        json={"email": "two@example.com", "first_name": "B", "last_name": "C"},
        headers=rid("req-full"),
    )
    assert full.headers["x-request-id"] == "req-full"
    api.problem(full, 409)
    api.problem(
        api.client.post(base, json={"email": "nope", "first_name": "B", "last_name": "C"}), 422
    )
    api.problem(api.client.patch(f"{base}/{first['id']}", json={"valid_to": "soon"}), 422)

    assert entries(engine, account_id, start) == []


# ------------------------------------------------------------------ invitations, tokens


def _default_workspace(api: Any, account_id: str) -> str:
    workspaces = api.ok(api.client.get(f"/v1/accounts/{account_id}/workspaces"))["data"]
    return str(next(w["id"] for w in workspaces if w["is_default"]))


def test_an_invitation_is_logged_as_the_operator_and_its_accept_as_the_invitee(api, engine) -> None:
    account_id = on_clock_account(api)
    operator = operator_actor(api)
    start = last(engine, account_id)

    invitation = sent(
        api.client.post(
            f"/v1/accounts/{account_id}/invitations",
            json={
                "email": "grace@example.com",
                "workspace_id": _default_workspace(api, account_id),
            },
            headers=rid("req-invite"),
        ),
        "req-invite",
        201,
    )
    (invited,) = entries(engine, account_id, start)
    assert (invited.type, invited.subject, invited.actor, invited.request_id, invited.at) == (
        "invitation.created",
        f"invitation:{invitation['id']}",
        operator,
        "req-invite",
        CLOCK_AT,
    )
    start = last(engine, account_id)

    accepted = sent(
        api.anonymous.post(
            f"/v1/invitations/{invitation['token']}/accept",
            json={"first_name": "Grace", "last_name": "Hopper", "password": PASSWORD},
            headers=rid("req-accept"),
        ),
        "req-accept",
        200,
    )

    found = entries(engine, account_id, start)
    assert [e.type for e in found] == ["seat.taken", "user.created", "password.set"]
    invitee = f"user:{accepted['id']}"
    assert all((e.actor, e.request_id, e.at) == (invitee, "req-accept", CLOCK_AT) for e in found)


def test_setup_sign_in_sign_out_and_minted_tokens_are_logged(api, engine) -> None:
    account_id = on_clock_account(api)
    operator = operator_actor(api)
    user = api.create_user(account_id, "ada@example.com")
    me = f"user:{user['id']}"
    start = last(engine, account_id)

    sent(
        api.anonymous.post(
            "/v1/auth/setup",
            json={"token": user["setup_token"], "password": PASSWORD},
            headers=rid("req-setup"),
        ),
        "req-setup",
        204,
    )
    signed_in = sent(
        api.anonymous.post(
            "/v1/auth/token",
            json={"account_id": account_id, "email": "ada@example.com", "password": PASSWORD},
            headers=rid("req-sign-in"),
        ),
        "req-sign-in",
        201,
    )
    sent(
        api.new_client(token=signed_in["token"]).delete(
            "/v1/auth/token", headers=rid("req-sign-out")
        ),
        "req-sign-out",
        204,
    )
    wrong = api.anonymous.post(
        "/v1/auth/token",
        json={"account_id": account_id, "email": "ada@example.com", "password": "not it at all"},
    )
    api.problem(wrong, 401)

    password_set, issued, revoked = entries(engine, account_id, start)
    assert [(e.type, e.actor, e.request_id, e.at) for e in (password_set, issued, revoked)] == [
        ("password.set", me, "req-setup", CLOCK_AT),
        ("token.issued", me, "req-sign-in", CLOCK_AT),
        ("token.revoked", me, "req-sign-out", CLOCK_AT),
    ]
    assert issued.subject == revoked.subject and issued.subject.startswith("token:")
    assert after_of(issued)["user_id"] == user["id"]
    start = last(engine, account_id)

    sent(
        api.client.post(
            f"/v1/accounts/{account_id}/users/{user['id']}/tokens", headers=rid("req-mint")
        ),
        "req-mint",
        201,
    )

    (minted,) = entries(engine, account_id, start)
    assert (minted.type, minted.actor, minted.request_id) == ("token.issued", operator, "req-mint")
    assert after_of(minted)["created_by"] == operator


# --------------------------------------------------------------- operator keys, seller


def test_operator_keys_and_the_seller_are_logged_on_the_installation_chain(api, engine) -> None:
    operator = operator_actor(api)
    (from_env,) = installation(engine)  # the server's key, registered at start
    assert (from_env.type, from_env.actor, from_env.account_id) == (
        "operator_key.created",
        SYSTEM,
        None,
    )

    created = sent(
        api.client.post("/v1/operator-keys", json={"name": "ci"}, headers=rid("req-key")),
        "req-key",
        201,
    )
    sent(
        api.client.delete(f"/v1/operator-keys/{created['id']}", headers=rid("req-rev")),
        "req-rev",
        200,
    )
    sent(
        api.client.put("/v1/settings/seller", json=SELLER, headers=rid("req-seller")),
        "req-seller",
        200,
    )

    _, made, revoked, seller = installation(engine)
    assert [(e.type, e.subject, e.actor, e.request_id) for e in (made, revoked, seller)] == [
        ("operator_key.created", f"operator_key:{created['id']}", operator, "req-key"),
        ("operator_key.revoked", f"operator_key:{created['id']}", operator, "req-rev"),
        ("settings.seller_updated", "settings:seller", operator, "req-seller"),
    ]
    assert (before_of(revoked)["revoked_at"], after_of(revoked)["revoked_at"] is not None) == (
        None,
        True,
    )
    assert seller.before is None and after_of(seller)["legal_name"] == SELLER["legal_name"]
    assert created["key"] not in (made.after or "")


def test_no_secret_reaches_the_log(api, engine) -> None:
    account_id = on_clock_account(api)
    user = api.create_user(account_id, "ada@example.com")
    api.ok(
        api.anonymous.post(
            "/v1/auth/setup", json={"token": user["setup_token"], "password": PASSWORD}
        ),
        204,
    )
    token = api.ok(
        api.anonymous.post(
            "/v1/auth/token",
            json={"account_id": account_id, "email": "ada@example.com", "password": PASSWORD},
        ),
        201,
    )["token"]
    api.ok(api.new_client(token=token).delete("/v1/auth/token"), 204)
    key = api.ok(api.client.post("/v1/operator-keys", json={"name": "ci"}), 201)["key"]

    with engine.connect() as conn:
        stored = [
            s
            for column in (
                t.users.c.password_hash,
                t.user_tokens.c.token_hash,
                t.operator_keys.c.key_hash,
            )
            for s in conn.execute(select(column)).scalars()
            if s
        ]
        text = "\n".join(
            value
            for row in conn.execute(select(t.audit_events.c.before, t.audit_events.c.after))
            for value in row
            if value
        )
    assert len(stored) >= 4  # a password, a token, two keys
    for secret in [*stored, user["setup_token"], token, key, api.key, PASSWORD]:
        assert secret not in text
