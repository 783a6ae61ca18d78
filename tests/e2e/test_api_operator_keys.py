"""Operator keys (issue 9 item 5): created, listed with their last use and
revoked, by API and CLI; a revoked key is 401 on the very next request."""

from __future__ import annotations

from datetime import datetime, timedelta

from typer.testing import CliRunner

from seatledger.entrypoints.cli import app as cli
from seatledger.services.operator_keys import create_operator_key, find_operator
from seatledger.services.unit_of_work import UnitOfWork


def _instant(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value.replace("Z", "+00:00")) if value else None


def _listed(api) -> dict[str, dict]:
    return {k["id"]: k for k in api.ok(api.client.get("/v1/operator-keys"))["data"]}


def test_an_operator_creates_a_key_shown_once_and_listed_without_it(api):
    created = api.ok(api.client.post("/v1/operator-keys", json={"name": "ci pipeline"}), 201)

    assert created["key"].startswith("slop_") and created["revoked_at"] is None
    assert _instant(created["created_at"]) == api.clock.now()
    listed = _listed(api)[created["id"]]
    assert "key" not in listed and "key_hash" not in listed
    assert (listed["name"], listed["last_used_at"]) == ("ci pipeline", None)
    api.problem(api.client.post("/v1/operator-keys", json={"name": ""}), 422, field="name")


def test_a_keys_last_use_is_listed_to_within_a_minute(api):
    created = api.ok(api.client.post("/v1/operator-keys", json={"name": "app"}), 201)
    client = api.new_client(token=created["key"])
    first_use = api.clock.now()

    api.ok(client.get("/v1/operator-keys"))
    assert _instant(_listed(api)[created["id"]]["last_used_at"]) == first_use
    api.clock.advance(timedelta(seconds=59))
    api.ok(client.get("/v1/operator-keys"))
    assert _instant(_listed(api)[created["id"]]["last_used_at"]) == first_use
    api.clock.advance(timedelta(seconds=1))
    api.ok(client.get("/v1/operator-keys"))

    assert _instant(_listed(api)[created["id"]]["last_used_at"]) == first_use + timedelta(minutes=1)


def test_a_revoked_key_is_401_on_the_very_next_request(api):
    created = api.ok(api.client.post("/v1/operator-keys", json={"name": "leaked"}), 201)
    client = api.new_client(token=created["key"])
    account_id = api.create_account()["id"]
    assert api.ok(client.get(f"/v1/accounts/{account_id}"))["id"] == account_id

    revoked = api.ok(api.client.delete(f"/v1/operator-keys/{created['id']}"))

    assert _instant(revoked["revoked_at"]) == api.clock.now()
    api.problem(client.get(f"/v1/accounts/{account_id}"), 401)
    api.problem(client.get("/v1/operator-keys"), 401)
    again = api.ok(api.client.delete(f"/v1/operator-keys/{created['id']}"))
    assert again["revoked_at"] == revoked["revoked_at"]
    assert _listed(api)[created["id"]]["revoked_at"] == revoked["revoked_at"]
    api.problem(api.client.delete("/v1/operator-keys/opk_" + "a" * 24), 404, field="key_id")


def test_only_operators_see_create_and_revoke_keys(api):
    account_id = api.account_with_pools(api.terms("console", 3))
    admin = api.create_user(account_id, "admin@example.com", role="admin")
    token = api.ok(api.client.post(f"/v1/accounts/{account_id}/users/{admin['id']}/tokens"), 201)
    user = api.new_client(token=token["token"])
    key_id = next(iter(_listed(api)))

    api.problem(user.get("/v1/operator-keys"), 403)
    api.problem(user.post("/v1/operator-keys", json={"name": "mine"}), 403)
    api.problem(user.delete(f"/v1/operator-keys/{key_id}"), 403)
    api.problem(api.anonymous.get("/v1/operator-keys"), 401)


def test_the_cli_lists_and_revokes_keys(engine, db_url, monkeypatch):
    monkeypatch.setenv("SEATLEDGER_DATABASE_URL", db_url)
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.delenv("SEATLEDGER_OPERATOR_KEY", raising=False)
    now = datetime.fromisoformat("2026-03-01T12:00:00+00:00")
    key = create_operator_key(UnitOfWork(engine), name="deploy", at=now)
    assert find_operator(UnitOfWork(engine), key=key.key, at=now) is not None
    runner = CliRunner()

    listed = runner.invoke(cli, ["operator-key", "list"])
    assert listed.exit_code == 0, listed.output
    assert key.id in listed.output and "deploy" in listed.output
    assert "2026-03-01T12:00:00+00:00" in listed.output  # created and last used

    revoked = runner.invoke(cli, ["operator-key", "revoke", key.id])
    assert revoked.exit_code == 0, revoked.output
    assert f"Revoked operator key {key.id}" in revoked.output
    assert find_operator(UnitOfWork(engine), key=key.key, at=now) is None
    unknown = runner.invoke(cli, ["operator-key", "revoke", "opk_" + "a" * 24])
    assert unknown.exit_code == 2 and "not found" in unknown.output
