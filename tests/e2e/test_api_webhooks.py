"""Webhooks over HTTP (PRODUCT.md §7, API.md): operators register endpoints
(the secret shown once), list, read and delete them and see their deliveries;
a change made through the API reaches a real receiver (tests/webhook_receiver.py),
which checks every signature with the ``standardwebhooks`` library and every
body against the OpenAPI document's ``webhooks`` section (``jsonschema_rs``).

The delivery worker runs here in the test, one round at a time, on the server's
database with a ``FixedClock`` of its own (the worker's clock, not the API's),
started at the real time so that the library's tolerance holds.
"""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import jsonschema_rs
import pytest
from tests.webhook_receiver import Receiver, verify

from seatledger.adapters.webhook_sender import HttpxSender, WebhookAddresses
from seatledger.clock import FixedClock
from seatledger.domain.audit import WEBHOOK_EVENT_TYPES
from seatledger.services.unit_of_work import UnitOfWork
from seatledger.services.webhook_delivery import deliver_due

if TYPE_CHECKING:
    from tests.e2e.conftest import Api

HOOKS = "/v1/webhook-endpoints"


@pytest.fixture
def loopback_allowed(monkeypatch: pytest.MonkeyPatch) -> None:
    """SEATLEDGER_WEBHOOK_ALLOW_PRIVATE=loopback for the server (ask for it
    before ``api``): the receiver listens on 127.0.0.1."""
    monkeypatch.setenv("SEATLEDGER_WEBHOOK_ALLOW_PRIVATE", "loopback")


def worker_round(api: Api, clock: FixedClock) -> Any:
    return deliver_due(
        lambda: UnitOfWork(api.app.state.engine),
        sender=HttpxSender(WebhookAddresses(frozenset({"loopback"}))),
        clock=clock,
        timeout=5,
        limit=8,
    )


def register(api: Api, url: str, events: list[str], **extra: Any) -> dict[str, Any]:
    return api.ok(api.client.post(HOOKS, json={"url": url, "events": events, **extra}), 201)


def deliveries(api: Api, endpoint_id: str, **params: Any) -> list[dict[str, Any]]:
    return list(api.ok(api.client.get(f"{HOOKS}/{endpoint_id}/deliveries", params=params))["data"])


def payload_schema(document: dict[str, Any], event_type: str) -> Any:
    body = document["webhooks"][event_type]["post"]["requestBody"]["content"]["application/json"]
    return jsonschema_rs.validator_for({**body["schema"], "components": document["components"]})


def test_an_endpoint_is_registered_with_a_secret_shown_once(loopback_allowed, api):
    created = register(
        api, "https://93.184.215.14/x", ["user.created", "seat.taken"], description="CRM"
    )
    assert created["secret"].startswith("whsec_")
    assert len(base64.b64decode(created["secret"].removeprefix("whsec_"))) >= 24
    assert created["events"] == ["user.created", "seat.taken"]
    assert created["account_id"] is None and created["deleted_at"] is None
    assert created["description"] == "CRM"

    shown = api.ok(api.client.get(f"{HOOKS}/{created['id']}"))
    assert shown == {k: v for k, v in created.items() if k != "secret"}
    second = register(api, "http://127.0.0.1:9/y", ["invoice.paid"])
    first_page = api.ok(api.client.get(HOOKS, params={"limit": 1}))
    rest = api.ok(api.client.get(HOOKS, params={"cursor": first_page["next_cursor"]}))
    listed = first_page["data"] + rest["data"]
    assert sorted(e["id"] for e in listed) == sorted([created["id"], second["id"]])
    assert all("secret" not in e for e in listed)
    assert rest["next_cursor"] is None


def test_a_user_created_through_the_api_reaches_the_receiver_signed_and_as_documented(
    loopback_allowed, api
):
    account_id = api.account_with_pools(api.terms("console", 5))
    clock = FixedClock(datetime.now(UTC))
    document = api.ok(api.anonymous.get("/openapi.json"))
    with Receiver() as receiver:
        hook = register(api, receiver.url, ["user.created"], account_id=account_id)
        other = api.account_with_pools(api.terms("console", 5))
        api.create_user(other, "elsewhere@example.com")  # another account's: not sent
        user = api.create_user(account_id, "grace@example.com", first_name="Grace")
        assert worker_round(api, clock).delivered == 1
        (got,) = receiver.received
        message = verify(got, hook["secret"])

    assert message["type"] == "user.created"
    assert message["data"]["account_id"] == account_id
    assert message["data"]["subject"] == f"user:{user['id']}"
    assert message["data"]["after"]["email"] == "grace@example.com"
    assert message["data"]["actor"].startswith("operator:")
    payload_schema(document, "user.created").validate(json.loads(got.body))
    assert not payload_schema(document, "seat.taken").is_valid(json.loads(got.body))

    (delivery,) = deliveries(api, hook["id"])
    assert delivery["event_id"] == got.webhook_id == message["data"]["event_id"]
    assert delivery["event_type"] == "user.created"
    assert (delivery["status"], delivery["attempts"], delivery["last_status_code"]) == (
        "delivered",
        1,
        204,
    )
    assert delivery["next_attempt_at"] is None and delivery["last_error"] is None
    assert delivery["delivered_at"] is not None and delivery["last_attempt_at"] is not None


def test_a_500_is_retried_with_the_same_webhook_id_and_the_deliveries_show_the_backoff(
    loopback_allowed, api
):
    account_id = api.account_with_pools(api.terms("console", 5))
    clock = FixedClock(datetime.now(UTC))
    with Receiver(lambda _id, nth: 500 if nth == 1 else 200) as receiver:
        hook = register(api, receiver.url, ["user.created"])
        api.create_user(account_id)
        assert worker_round(api, clock).retrying == 1
        (pending,) = deliveries(api, hook["id"])
        assert (pending["status"], pending["attempts"], pending["last_status_code"]) == (
            "pending",
            1,
            500,
        )
        retry_at = datetime.fromisoformat(pending["next_attempt_at"])
        wait = retry_at - datetime.fromisoformat(pending["last_attempt_at"])
        assert timedelta(0) <= wait < timedelta(seconds=5)  # the first step: under 5 s

        clock.set(retry_at)
        assert worker_round(api, clock).delivered == 1
        first, second = receiver.received
        for got in (first, second):
            verify(got, hook["secret"])
    assert first.webhook_id == second.webhook_id == pending["event_id"]
    (delivered,) = deliveries(api, hook["id"])
    assert (delivered["status"], delivered["attempts"], delivered["last_status_code"]) == (
        "delivered",
        2,
        200,
    )


def test_deleting_an_endpoint_stops_its_pending_deliveries(loopback_allowed, api):
    account_id = api.account_with_pools(api.terms("console", 5))
    hook = register(api, "http://127.0.0.1:9/never", ["user.created"])
    api.create_user(account_id)

    deleted = api.ok(api.client.delete(f"{HOOKS}/{hook['id']}"))
    assert deleted["deleted_at"] is not None
    assert api.ok(api.client.delete(f"{HOOKS}/{hook['id']}")) == deleted
    assert api.ok(api.client.get(f"{HOOKS}/{hook['id']}")) == deleted
    assert hook["id"] not in [e["id"] for e in api.ok(api.client.get(HOOKS))["data"]]
    api.create_user(account_id)
    (stopped,) = deliveries(api, hook["id"])
    assert (stopped["status"], stopped["last_error"]) == ("failed", "endpoint deleted")
    api.problem(api.client.get(f"{HOOKS}/whe_{'a' * 24}"), 404)
    api.problem(api.client.delete(f"{HOOKS}/whe_{'a' * 24}"), 404)


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("http://127.0.0.1:8080/hooks", "loopback"),  # loopback not allowed on this server
        ("http://10.1.2.3/hooks", "private"),
        ("http://169.254.169.254/latest/meta-data/", "link-local"),
        ("http://[::1]:8080/hooks", "loopback"),
        ("http://localhost:8080/hooks", "the host localhost resolves to"),
        ("ftp://example.com/hooks", "http"),
        ("http:///hooks", "no host"),
    ],
)
def test_an_endpoint_that_is_not_http_or_points_inside_is_refused_naming_url(api, url, why):
    problem = api.problem(
        api.client.post(HOOKS, json={"url": url, "events": ["user.created"]}), 422, field="url"
    )
    assert why in problem["detail"], problem
    assert api.ok(api.client.get(HOOKS))["data"] == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"events": ["user.exploded"]}, "events"),
        ({"events": ["account.created"]}, "events"),  # an audit event, not a webhook one
        ({"events": []}, "events"),
        ({"events": "user.created"}, "events"),
        ({"url": "https://93.184.215.14/" + "a" * 2000}, "url"),
        ({"description": "x" * 201}, "description"),
        ({"secret": "whsec_mine"}, "secret"),  # the server makes the secret
    ],
)
def test_bad_input_is_422_naming_the_field_and_writes_nothing(api, body, field):
    full = {"url": "https://93.184.215.14/hooks", "events": ["user.created"], **body}
    api.problem(api.client.post(HOOKS, json=full), 422, field=field)
    assert api.ok(api.client.get(HOOKS))["data"] == []


def test_an_unknown_account_is_404_and_writes_nothing(api):
    body = {"url": "https://93.184.215.14/h", "events": ["user.created"]}
    api.problem(
        api.client.post(HOOKS, json={**body, "account_id": f"acc_{'a' * 24}"}),
        404,
        field="account_id",
    )
    assert api.ok(api.client.get(HOOKS))["data"] == []


def test_the_document_describes_every_webhook_event(api):
    document = api.ok(api.anonymous.get("/openapi.json"))
    assert document["openapi"].startswith("3.1")
    assert set(document["webhooks"]) == set(WEBHOOK_EVENT_TYPES)
    for event_type, item in document["webhooks"].items():
        operation = item["post"]
        headers = {p["name"] for p in operation["parameters"] if p["in"] == "header"}
        assert headers == {"webhook-id", "webhook-timestamp", "webhook-signature"}
        sample = {
            "type": event_type,
            "timestamp": "2026-03-01T12:00:00+00:00",
            "data": {
                "event_id": "evt_x",
                "account_id": None,
                "position": 1,
                "actor": "system",
                "subject": "user:usr_x",
                "before": None,
                "after": {"id": "usr_x"},
                "request_id": None,
            },
        }
        assert payload_schema(document, event_type).is_valid(sample), event_type
        assert not payload_schema(document, event_type).is_valid({**sample, "type": "other"})
    create = document["paths"][HOOKS]["post"]["requestBody"]["content"]["application/json"]
    ref = create["schema"]["$ref"].split("/")[-1]
    events = document["components"]["schemas"][ref]["properties"]["events"]
    assert events["items"]["enum"] == list(WEBHOOK_EVENT_TYPES)
