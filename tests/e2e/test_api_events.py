"""The activity list and its live stream (issue 10 part 2): GET
/v1/accounts/{id}/events, as JSON pages and as server-sent events, on both
databases."""

from __future__ import annotations

import json
import secrets
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import text
from tests.e2e.sse import EventStream

FIELDS = {
    "id",
    "position",
    "type",
    "at",
    "actor",
    "subject",
    "before",
    "after",
    "request_id",
    "hash",
}


def _events_path(account_id: str) -> str:
    return f"/v1/accounts/{account_id}/events"


def _all_events(api: Any, account_id: str, **params: Any) -> list[dict[str, Any]]:
    return list(
        api.ok(api.client.get(_events_path(account_id), params={"limit": 500, **params}))["data"]
    )


def _token(api: Any, account_id: str, role: str) -> str:
    user = api.create_user(account_id, role=role)
    minted = api.client.post(f"/v1/accounts/{account_id}/users/{user['id']}/tokens")
    return str(api.ok(minted, 201)["token"])


# ------------------------------------------------------------------------- the list


def test_the_list_is_every_entry_in_position_order_in_cursor_pages(api):
    account_id = api.account_with_pools(api.terms("console", 10))
    users = [api.create_user(account_id) for _ in range(4)]

    everything = _all_events(api, account_id)
    assert [e["position"] for e in everything] == list(range(1, len(everything) + 1))
    assert everything[0]["type"] == "account.created"
    assert everything[0]["subject"] == f"account:{account_id}"
    created = [e for e in everything if e["type"] == "user.created"]
    assert [e["subject"] for e in created] == [f"user:{u['id']}" for u in users]
    for entry in everything:
        assert set(entry) == FIELDS
        assert entry["actor"].startswith("operator:")
        assert entry["before"] is None or isinstance(entry["before"], dict)
        assert entry["after"] is None or isinstance(entry["after"], dict)
        assert len(entry["hash"]) == 64
    assert created[0]["before"] is None
    assert created[0]["after"]["email"] == users[0]["email"]
    assert "setup_token_hash" not in created[0]["after"]

    pages, cursor = [], None
    while True:
        params = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        page = api.ok(api.client.get(_events_path(account_id), params=params))
        assert len(page["data"]) <= 3
        pages.append(page["data"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert [e for p in pages for e in p] == everything
    assert all(len(p) == 3 for p in pages[:-1])


def test_the_list_filters_by_type_repeated_or_as_a_comma_list(api):
    account_id = api.account_with_pools(api.terms("console", 10))
    user = api.create_user(account_id)
    api.ok(api.client.post(f"/v1/accounts/{account_id}/users/{user['id']}/deactivate"))
    everything = _all_events(api, account_id)
    wanted = {"user.created", "user.deactivated"}

    expected = [e for e in everything if e["type"] in wanted]
    assert {e["type"] for e in expected} == wanted
    assert _all_events(api, account_id, type=["user.created", "user.deactivated"]) == expected
    assert _all_events(api, account_id, type="user.deactivated,user.created") == expected
    assert _all_events(api, account_id, type="user.created") == [
        e for e in everything if e["type"] == "user.created"
    ]


def test_the_list_filters_by_the_time_on_the_accounts_clock(api):
    account_id = api.account_with_pools(api.terms("console", 10))
    start = api.clock.now()
    api.clock.advance(timedelta(hours=1))
    first = api.create_user(account_id)
    api.clock.advance(timedelta(hours=1))
    second = api.create_user(account_id)
    everything = _all_events(api, account_id)
    one_hour, two_hours = start + timedelta(hours=1), start + timedelta(hours=2)

    window = _all_events(api, account_id, since=one_hour.isoformat(), until=two_hours.isoformat())
    assert window == [
        e for e in everything if one_hour <= datetime.fromisoformat(e["at"]) < two_hours
    ]
    assert f"user:{first['id']}" in {e["subject"] for e in window}
    assert f"user:{second['id']}" not in {e["subject"] for e in window}
    later = _all_events(api, account_id, since=two_hours.isoformat())
    assert later and all(datetime.fromisoformat(e["at"]) >= two_hours for e in later)
    assert _all_events(api, account_id, until=start.isoformat()) == [
        e for e in everything if datetime.fromisoformat(e["at"]) < start
    ]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"type": "user.exploded"}, "type"),
        ({"type": "user.created,nope"}, "type"),
        ({"since": "yesterday"}, "since"),
        ({"since": "2026-03-01T12:00:00"}, "since"),  # an instant needs its offset
        ({"until": "2026-13-01T00:00:00Z"}, "until"),
        ({"since": "2026-03-02T00:00:00Z", "until": "2026-03-01T00:00:00Z"}, "until"),
        ({"cursor": "%%%"}, "cursor"),
        ({"cursor": "bm90LWEtbnVtYmVy"}, "cursor"),  # "not-a-number"
        ({"limit": 0}, "limit"),
    ],
)
def test_bad_filters_and_cursors_are_422_naming_them(api, params, field):
    account_id = api.create_account()["id"]
    api.problem(api.client.get(_events_path(account_id), params=params), 422, field=field)


def test_owners_and_operators_read_the_log_admins_and_members_do_not(api):
    account_id = api.account_with_pools(api.terms("console", 10))
    other_id = api.account_with_pools(api.terms("console", 10))
    owner = api.new_client(token=_token(api, account_id, "owner"))
    everything = _all_events(api, account_id)

    assert api.ok(owner.get(_events_path(account_id), params={"limit": 500}))["data"] == everything
    for role in ("admin", "member"):
        client = api.new_client(token=_token(api, account_id, role))
        api.problem(client.get(_events_path(account_id)), 403)
        with EventStream(client, _events_path(account_id)) as stream:
            assert stream.response.status_code == 403
    api.problem(owner.get(_events_path(other_id)), 404)
    api.problem(api.client.get(_events_path("acc_" + "0" * 26)), 404)
    with EventStream(owner, _events_path(other_id)) as stream:
        assert stream.response.status_code == 404


# ----------------------------------------------------------------------- the stream


def _event_entry(event: dict[str, str]) -> dict[str, Any]:
    """The entry an event carries, checked against the event's own fields."""
    entry = json.loads(event["data"])
    assert event["id"] == str(entry["position"])
    assert event["event"] == entry["type"]
    return dict(entry)


def test_a_change_made_while_streaming_arrives_within_a_second(api):
    account_id = api.account_with_pools(api.terms("console", 10))
    owner = api.new_client(token=_token(api, account_id, "owner"))
    head = _all_events(api, account_id)[-1]["position"]

    with EventStream(owner, _events_path(account_id)) as stream:
        assert stream.response.status_code == 200
        assert stream.response.headers["content-type"].startswith("text/event-stream")
        assert stream.nothing_more(0.3)  # no resume point: only what is new
        user = api.create_user(account_id)
        made = time.monotonic()
        entry = _event_entry(stream.next(timeout=1.0))
        assert time.monotonic() - made < 1.0
        assert entry["position"] == head + 1
        new = [e for e in _all_events(api, account_id) if e["position"] > head]
        assert f"user:{user['id']}" in {e["subject"] for e in new}
        received = [entry] + [_event_entry(e) for e in stream.events(len(new) - 1)]
        assert received == new


def test_a_stream_resumes_after_last_event_id_with_exactly_the_missed_entries(api):
    account_id = api.account_with_pools(api.terms("console", 10))
    seen = _all_events(api, account_id)[0]["position"]
    for _ in range(3):
        api.create_user(account_id)
    missed = [e for e in _all_events(api, account_id) if e["position"] > seen]

    path = _events_path(account_id)
    with EventStream(api.client, path, headers={"Last-Event-ID": str(seen)}) as stream:
        assert [_event_entry(e) for e in stream.events(len(missed))] == missed
        assert stream.nothing_more(0.3)
        api.create_user(account_id)
        assert _event_entry(stream.next(1.0))["position"] == missed[-1]["position"] + 1

    # The query parameter too (EventSource cannot send headers); the header wins.
    with EventStream(api.client, path, params={"last_event_id": 0}) as stream:
        assert stream.next(1.0) is not None and stream.response.status_code == 200
    everything = _all_events(api, account_id)
    with EventStream(
        api.client,
        path,
        params={"last_event_id": 0},
        headers={"Last-Event-ID": str(everything[-2]["position"])},
    ) as stream:
        assert _event_entry(stream.next(1.0)) == everything[-1]
        assert stream.nothing_more(0.3)


def test_a_filtered_stream_sends_only_the_filters_entries(api):
    account_id = api.account_with_pools(api.terms("console", 10))
    with EventStream(
        api.client, _events_path(account_id), params={"type": "user.created", "last_event_id": 0}
    ) as stream:
        first = api.create_user(account_id)
        second = api.create_user(account_id)
        received = [_event_entry(e) for e in stream.events(2)]
        assert [e["subject"] for e in received] == [f"user:{first['id']}", f"user:{second['id']}"]
        assert stream.nothing_more(0.3)


@pytest.mark.parametrize("value", ["abc", "-1", "1.5", "+1", "0x1", "", "9" * 30, "99"])
def test_a_last_event_id_that_is_not_ours_is_422_naming_it_and_nothing_streams(api, value):
    account_id = api.create_account()["id"]
    path = _events_path(account_id)
    with EventStream(api.client, path, headers={"Last-Event-ID": value}) as stream:
        api.problem(stream.response, 422, field="Last-Event-ID")
    with EventStream(api.client, path, params={"last_event_id": value}) as stream:
        api.problem(stream.response, 422, field="last_event_id")


def test_a_last_event_id_of_other_digits_than_ascii_is_422(api):
    account_id = api.create_account()["id"]
    with EventStream(api.client, _events_path(account_id), params={"last_event_id": "٣"}) as s:
        api.problem(s.response, 422, field="last_event_id")


def test_the_head_itself_is_a_resume_point_and_one_past_it_is_not(api):
    account_id = api.create_account()["id"]
    head = _all_events(api, account_id)[-1]["position"]
    path = _events_path(account_id)
    with EventStream(api.client, path, headers={"Last-Event-ID": str(head + 1)}) as stream:
        api.problem(stream.response, 422, field="Last-Event-ID")
    with EventStream(api.client, path, headers={"Last-Event-ID": str(head)}) as stream:
        assert stream.response.status_code == 200
        assert stream.nothing_more(0.3)


def test_heartbeats_keep_an_idle_stream_alive(api):
    api.app.state.event_hub.heartbeat = 0.2
    account_id = api.create_account()["id"]
    with EventStream(api.client, _events_path(account_id)) as stream:
        comments = []
        deadline = time.monotonic() + 2.0
        while len(comments) < 2 and time.monotonic() < deadline:
            item = stream.items.get(timeout=2.0)
            assert item is not None and "comment" in item, item
            comments.append(item["comment"])
        assert comments == ["heartbeat", "heartbeat"]


def _listeners(engine: Any) -> int:
    """PostgreSQL's own count of this database's connections waiting on LISTEN."""
    with engine.connect() as conn:
        return int(
            conn.execute(
                text(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                    "AND query = 'LISTEN audit_events'"
                )
            ).scalar_one()
        )


def _wait_for_listeners(engine: Any, count: int, timeout: float = 5.0) -> int:
    deadline = time.monotonic() + timeout
    while (found := _listeners(engine)) != count and time.monotonic() < deadline:
        time.sleep(0.05)
    return found


def test_streams_of_many_clients_share_one_watcher_which_stops_with_the_last(api, engine, backend):
    hub = api.app.state.event_hub
    account_id = api.account_with_pools(api.terms("console", 10))
    other_id = api.create_account()["id"]
    streams = [EventStream(api.client, _events_path(a)) for a in (account_id, account_id, other_id)]
    try:
        user = api.create_user(account_id)
        for stream in streams[:2]:
            _until_subject(stream, f"user:{user['id']}", timeout=1.0)
        assert streams[2].nothing_more(0.3)  # another account's change wakes nobody there
        assert hub.listening
        if backend == "postgres":
            assert _listeners(engine) == 1  # one LISTEN connection for the three streams
    finally:
        for stream in streams:
            stream.close()
    deadline = time.monotonic() + 2.0
    while hub.listening and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not hub.listening, "the watcher outlived the streams"
    if backend == "postgres":
        assert _wait_for_listeners(engine, 0) == 0, "the LISTEN connection outlived the streams"


def _until_subject(stream: EventStream, subject: str, timeout: float) -> None:
    """Reads events until one of ``subject`` came, within ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        event = stream.next(timeout=max(deadline - time.monotonic(), 0.0))
        assert event is not None, "the stream ended"
        if _event_entry(event)["subject"] == subject:
            return


def test_a_lost_listener_connection_is_polled_around_and_opened_again(api, engine, backend):
    if backend != "postgres":
        pytest.skip("SQLite has no listener: its streams always poll")
    account_id = api.account_with_pools(api.terms("console", 10))
    with EventStream(api.client, _events_path(account_id)) as stream:
        assert _wait_for_listeners(engine, 1) == 1
        with engine.connect() as conn:
            conn.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND query = 'LISTEN audit_events'"
                )
            )
        user = api.create_user(account_id)
        _until_subject(stream, f"user:{user['id']}", timeout=1.0)
        assert _wait_for_listeners(engine, 1) == 1, "the listener did not come back"
        again = api.create_user(account_id)
        _until_subject(stream, f"user:{again['id']}", timeout=1.0)


@pytest.mark.parametrize("change", ["sign out", "demote", "revoke key"])
def test_a_stream_ends_once_its_token_may_no_longer_read_the_log(api, change):
    account_id = api.account_with_pools(api.terms("console", 10))
    owner = api.create_user(account_id, role="owner")
    user_path = f"/v1/accounts/{account_id}/users/{owner['id']}"
    if change == "revoke key":
        key = api.ok(api.client.post("/v1/operator-keys", json={"name": "watcher"}), 201)
        client = api.new_client(token=key["key"])
    else:
        client = api.new_client(token=api.ok(api.client.post(f"{user_path}/tokens"), 201)["token"])
    with EventStream(client, _events_path(account_id)) as stream:
        first = api.create_user(account_id)
        _until_subject(stream, f"user:{first['id']}", timeout=1.0)
        while not stream.nothing_more(0.2):  # the rest of that change's entries
            pass

        if change == "sign out":
            api.ok(client.delete("/v1/auth/token"), 204)
        elif change == "demote":
            api.ok(api.client.patch(user_path, json={"role": "admin"}))
        else:
            api.ok(api.client.delete(f"/v1/operator-keys/{key['id']}"))
        api.create_user(account_id)

        assert stream.next(timeout=2.0) is None, "the stream sent entries after the change"


def test_a_stream_during_concurrent_writers_gets_every_entry_once_in_position_order(api):
    account_id = api.account_with_pools(api.terms("console", 100))
    head = _all_events(api, account_id)[-1]["position"]
    writers = [api.new_client() for _ in range(8)]

    def write(client: Any) -> None:
        for _ in range(4):
            body = {
                "email": f"{secrets.token_hex(6)}@example.com",
                "first_name": "A",
                "last_name": "B",
            }
            api.ok(client.post(f"/v1/accounts/{account_id}/users", json=body), 201)

    with EventStream(api.client, _events_path(account_id)) as stream:
        with ThreadPoolExecutor(len(writers)) as pool:
            list(pool.map(write, writers))
        everything = _all_events(api, account_id)
        new = [e for e in everything if e["position"] > head]
        received = [_event_entry(e) for e in stream.events(len(new), timeout=5.0)]
        assert received == new
        assert [e["position"] for e in received] == list(range(head + 1, head + 1 + len(new)))
        assert stream.nothing_more(0.3)
