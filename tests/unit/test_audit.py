"""The audit chain (domain/audit.py): the hash formula its docstring documents,
checked against ``hashlib`` on content written out by hand; canonical JSON; and
every kind of break ``ChainCheck`` must find, with a Hypothesis property: any one
edit, deletion, reordering or swap of a generated chain is found at its position."""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from seatledger.domain.audit import (
    EVENT_TYPES,
    INSTALLATION_CHAIN,
    WEBHOOK_EVENT_TYPES,
    AuditEntry,
    Break,
    ChainCheck,
    Change,
    Head,
    canonical_json,
    chain,
)

T0 = datetime(2026, 1, 1, 9, 0, tzinfo=UTC)


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def entries_of(changes: list[Change], *, head: Head = Head()) -> tuple[list[AuditEntry], Head]:
    return chain(
        changes,
        head=head,
        ids=(f"evt_{head.position + n}" for n in range(1, len(changes) + 1)),
        actor="operator:opk_1",
        request_id="req_1",
    )


def change(n: int, account_id: str = "acc_1") -> Change:
    return Change(
        type="workspace.created",
        subject=f"workspace:wsp_{n}",
        account_id=account_id,
        at=T0 + timedelta(minutes=n),
        after={"id": f"wsp_{n}", "name": f"Team {n}"},
    )


def check(entries: list[AuditEntry], head: Head | None, name: str = "acc_1") -> Break | None:
    """What ``seatledger audit verify`` does for one chain: feed, then finish."""
    checker = ChainCheck(name)
    return checker.feed(entries) or checker.finish(head)


# ------------------------------------------------------------------- the formula


def test_each_hash_is_sha256_of_the_previous_hash_a_newline_and_the_canonical_content():
    """Written out from the documented formula, not from the code: content is the
    JSON of every stored field but the hash (keys sorted, no spaces, UTF-8 kept),
    ``at`` in ISO 8601 UTC, before/after as their canonical JSON text."""
    paris = timezone(timedelta(hours=1))
    changes = [
        Change(
            type="account.created",
            subject="account:acc_1",
            account_id="acc_1",
            at=T0,
            after={"tax_rate": Decimal("20.0"), "name": "Acme"},
        ),
        Change(
            type="account.updated",
            subject="account:acc_1",
            account_id="acc_1",
            at=datetime(2026, 1, 1, 11, 30, tzinfo=paris),  # stored as 10:30Z
            before={"name": "Acme"},
            after={"name": "Acmé", "password_hash": "never logged"},
            actor="user:usr_1",
        ),
    ]
    entries, head = entries_of(changes)

    first = (
        '{"account_id":"acc_1","actor":"operator:opk_1",'
        '"after":"{\\"name\\":\\"Acme\\",\\"tax_rate\\":\\"20.0\\"}",'
        '"at":"2026-01-01T09:00:00+00:00","before":null,"chain":"acc_1","id":"evt_1",'
        '"position":1,"request_id":"req_1","subject":"account:acc_1","type":"account.created"}'
    )
    second = (
        '{"account_id":"acc_1","actor":"user:usr_1","after":"{\\"name\\":\\"Acmé\\"}",'
        '"at":"2026-01-01T10:30:00+00:00","before":"{\\"name\\":\\"Acme\\"}","chain":"acc_1",'
        '"id":"evt_2","position":2,"request_id":"req_1","subject":"account:acc_1",'
        '"type":"account.updated"}'
    )
    h1 = sha256_hex("" + "\n" + first)
    h2 = sha256_hex(h1 + "\n" + second)
    assert [e.hash for e in entries] == [h1, h2]
    assert head == Head(2, h2)
    assert [e.position for e in entries] == [1, 2]
    assert entries[1].after == '{"name":"Acmé"}'  # the secret is never written
    assert entries[1].at == datetime(2026, 1, 1, 10, 30, tzinfo=UTC)


def test_a_chain_goes_on_from_its_head_and_changes_of_no_account_are_the_installation_chain():
    first, head = entries_of([change(1), change(2)])
    more, head = entries_of([change(3)], head=head)
    assert more[0].position == 3
    assert more[0].hash == sha256_hex(first[1].hash + "\n" + _content_by_hand(more[0]))
    assert check(first + more, head) is None

    setting = Change("settings.seller_updated", "settings:seller", None, T0, after={"a": 1})
    assert setting.chain == INSTALLATION_CHAIN
    (entry,), _ = entries_of([setting])
    assert (entry.chain, entry.account_id) == (INSTALLATION_CHAIN, None)


def _content_by_hand(entry: AuditEntry) -> str:
    import json

    fields = {
        "id": entry.id,
        "chain": entry.chain,
        "position": entry.position,
        "account_id": entry.account_id,
        "type": entry.type,
        "at": entry.at.isoformat(),
        "actor": entry.actor,
        "subject": entry.subject,
        "before": entry.before,
        "after": entry.after,
        "request_id": entry.request_id,
    }
    return json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def test_the_webhook_event_types_are_the_seventeen_of_the_spec_and_all_are_event_types():
    assert len(WEBHOOK_EVENT_TYPES) == 17
    assert set(WEBHOOK_EVENT_TYPES) <= set(EVENT_TYPES)
    assert all(text.endswith(".") for text in EVENT_TYPES.values())


# ---------------------------------------------------------------- canonical JSON


@dataclass
class _Thing:
    name: str
    price: Decimal
    modules: frozenset[str]
    token_hash: str
    when: datetime


def test_canonical_json_is_one_text_whatever_the_key_order_and_drops_secrets():
    a = {"b": 1, "a": {"y": [1, 2], "x": None}, "é": "ü"}
    b = {"é": "ü", "a": {"x": None, "y": [1, 2]}, "b": 1}
    assert canonical_json(a) == canonical_json(b) == '{"a":{"x":null,"y":[1,2]},"b":1,"é":"ü"}'
    thing = _Thing("Acme", Decimal("9.50"), frozenset({"z", "a"}), "secret", T0)
    assert canonical_json(thing) == (
        '{"modules":["a","z"],"name":"Acme","price":"9.50","when":"2026-01-01T09:00:00+00:00"}'
    )


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=4)
    ),
    max_leaves=12,
)


def _shuffled(value: object, rng: random.Random) -> object:
    if isinstance(value, dict):
        items = list(value.items())
        rng.shuffle(items)
        return {k: _shuffled(v, rng) for k, v in items}
    if isinstance(value, list):
        return [_shuffled(v, rng) for v in value]
    return value


@settings(max_examples=200, deadline=None)
@given(value=st.dictionaries(st.text(max_size=4), _json, max_size=6), seed=st.integers())
def test_canonical_json_does_not_depend_on_the_order_keys_were_inserted(value, seed):
    assert canonical_json(_shuffled(value, random.Random(seed))) == canonical_json(value)


# ------------------------------------------------------------ each kind of break


@pytest.fixture
def five() -> tuple[list[AuditEntry], Head]:
    return entries_of([change(n) for n in range(1, 6)])


def test_an_intact_chain_and_an_empty_one_have_no_break(five):
    entries, head = five
    assert check(entries, head) is None
    assert check([], Head()) is None


def test_an_edited_entry_is_found_at_its_position(five):
    entries, head = five
    entries[2] = replace(entries[2], actor="operator:someone_else")
    found = check(entries, head)
    assert found is not None and found.position == 3 and "does not match its hash" in found.reason


def test_an_edited_entry_with_its_hash_recomputed_breaks_the_next_link(five):
    """Rewriting one entry's hash to fit its new content breaks its successor."""
    from seatledger.domain.audit import link_hash

    entries, head = five
    edited = replace(entries[2], after='{"name":"forged"}')
    entries[2] = replace(edited, hash=link_hash(entries[1].hash, edited))
    found = check(entries, head)
    assert found is not None and found.position == 4


def test_a_deleted_entry_in_the_middle_is_found_where_it_is_missing(five):
    entries, head = five
    del entries[1]
    found = check(entries, head)
    assert found is not None and found.position == 2 and "missing" in found.reason


def test_deleted_last_entries_are_found_against_the_head(five):
    entries, head = five
    found = check(entries[:3], head)
    assert found is not None and found.position == 4 and "4..5 are missing" in found.reason
    found = check([], head)  # every entry deleted
    assert found is not None and found.position == 1


def test_two_entries_with_their_positions_swapped_are_found_at_the_first(five):
    entries, head = five
    a, b = entries[1], entries[3]
    swapped = [entries[0], replace(b, position=2), entries[2], replace(a, position=4), entries[4]]
    found = check(swapped, head)
    assert found is not None and found.position == 2


def test_entries_fed_out_of_order_are_found(five):
    entries, head = five
    entries[1], entries[2] = entries[2], entries[1]
    found = check(entries, head)
    assert found is not None and found.position == 2 and "missing" in found.reason


def test_an_entry_added_past_the_head_is_found_even_when_its_link_is_right(five):
    entries, head = five
    more, _ = entries_of([change(6)], head=head)  # a perfect link, but the head stayed
    found = check(entries + more, head)
    assert found is not None and found.position == 6 and "past its head" in found.reason


def test_an_entry_of_another_chain_a_changed_head_and_no_head_are_found(five):
    entries, head = five
    other, _ = entries_of([change(n, "acc_2") for n in range(1, 6)])
    assert check(entries[:2] + other[2:3], head).position == 3  # type: ignore[union-attr]
    assert check(entries, Head(5, "0" * 64)).position == 5  # type: ignore[union-attr]
    assert "no head" in check(entries, None).reason  # type: ignore[union-attr]


def test_a_chain_checked_in_pages_finds_what_it_finds_in_one():
    entries, head = entries_of([change(n) for n in range(1, 11)])
    del entries[6]
    checker = ChainCheck("acc_1")
    pages = [entries[i : i + 3] for i in range(0, len(entries), 3)]
    found = next((b for p in pages if (b := checker.feed(p)) is not None), None)
    assert found is not None and found.position == 7


# ------------------------------------------------------------------- the property

_FIELDS = ("type", "at", "actor", "subject", "before", "after", "request_id", "id", "hash")


def _edited(entry: AuditEntry, field: str) -> AuditEntry:
    value = getattr(entry, field)
    if field == "at":
        return replace(entry, at=value + timedelta(seconds=1))
    if field in ("before", "after") and value is None:
        return replace(entry, **{field: "{}"})
    return replace(entry, **{field: (value or "") + "x"})


_changes = st.lists(
    st.builds(
        Change,
        type=st.sampled_from(sorted(EVENT_TYPES)),
        subject=st.text(min_size=1, max_size=12),
        account_id=st.just("acc_1"),
        at=st.datetimes(
            min_value=datetime(2020, 1, 1), max_value=datetime(2040, 1, 1), timezones=st.just(UTC)
        ),
        before=st.none() | _json,
        after=st.none() | _json,
        actor=st.none() | st.sampled_from(["user:usr_1", "scim:sct_1", "system"]),
    ),
    min_size=2,
    max_size=25,
)


@settings(max_examples=300, deadline=None)
@given(changes=_changes, data=st.data())
def test_any_one_edit_deletion_or_swap_of_a_chain_is_found_at_its_position(changes, data):
    entries, head = entries_of(changes)
    assert check(entries, head) is None
    n = len(entries)
    tamper = data.draw(st.sampled_from(["edit", "delete", "swap", "reorder"]))
    if tamper == "edit":
        k = data.draw(st.integers(0, n - 1))
        field = data.draw(st.sampled_from(_FIELDS))
        entries[k] = _edited(entries[k], field)
        expected = k + 1
    elif tamper == "delete":
        k = data.draw(st.integers(0, n - 1))
        del entries[k]
        expected = k + 1  # in the middle: missing there; the last: the head is ahead
    else:
        i = data.draw(st.integers(0, n - 2))
        j = data.draw(st.integers(i + 1, n - 1))
        a, b = entries[i], entries[j]
        if tamper == "swap":  # their positions exchanged, read in position order
            entries[i], entries[j] = replace(b, position=i + 1), replace(a, position=j + 1)
        else:  # read in another order, positions kept
            entries[i], entries[j] = b, a
        expected = i + 1
    found = check(entries, head)
    assert found is not None, tamper
    assert (found.chain, found.position) == ("acc_1", expected), found
