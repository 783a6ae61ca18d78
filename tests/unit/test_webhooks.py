"""Webhooks in the domain: the retry schedule, which addresses an endpoint may
point at, and the event types an endpoint names."""

from __future__ import annotations

from datetime import timedelta

import pytest

from seatledger.domain.audit import WEBHOOK_EVENT_TYPES
from seatledger.domain.errors import InvalidInput
from seatledger.domain.webhooks import (
    address_kind,
    address_refusal,
    check_event_types,
    parse_allowance,
    retry_delay,
)

S, M, H = timedelta(seconds=1), timedelta(minutes=1), timedelta(hours=1)
# docs/webhooks.md: the longest wait after attempt 1, 2, ... 6, then 12 h each.
STEPS = [5 * S, 5 * M, 30 * M, 2 * H, 5 * H, 10 * H]
THREE_DAYS = timedelta(days=3)


def schedule(seed: str) -> list[timedelta]:
    """Every wait of one delivery that always fails: after attempt 1, 2, ..."""
    waits = []
    while (wait := retry_delay(len(waits) + 1, seed=seed)) is not None:
        waits.append(wait)
    return waits


SEEDS = [f"dlv_{n:024d}" for n in range(400)]


def test_each_wait_is_drawn_below_its_step():
    for seed in SEEDS:
        for n, wait in enumerate(schedule(seed), start=1):
            step = STEPS[n - 1] if n <= len(STEPS) else 12 * H
            assert timedelta(0) <= wait < step, (seed, n, wait)


def test_the_last_attempt_is_within_three_days_of_the_first_and_not_much_before():
    for seed in SEEDS:
        total = sum(schedule(seed), timedelta(0))
        # The next wait (under 12 h) would have crossed three days.
        assert THREE_DAYS - 12 * H < total <= THREE_DAYS, (seed, total)


def test_the_waits_are_full_jitter_spread_over_their_whole_step():
    firsts = [retry_delay(1, seed=s) / S for s in SEEDS]
    assert 2.2 < sum(firsts) / len(firsts) < 2.8  # uniform on [0, 5 s): mean 2.5 s
    assert min(firsts) < 0.5 and max(firsts) > 4.5
    counts = [len(schedule(s)) + 1 for s in SEEDS]  # attempts made in all
    assert min(counts) >= 8 and max(counts) > min(counts)


def test_the_schedule_is_a_function_of_the_delivery():
    assert schedule("dlv_a") == schedule("dlv_a")
    assert schedule("dlv_a") != schedule("dlv_b")
    with pytest.raises(ValueError):
        retry_delay(0, seed="dlv_a")


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("8.8.8.8", None),
        ("93.184.215.14", None),
        ("2606:4700:4700::1111", None),
        ("127.0.0.1", "loopback"),
        ("127.9.9.9", "loopback"),
        ("::1", "loopback"),
        ("::ffff:127.0.0.1", "loopback"),
        ("2002:7f00:1::", "loopback"),  # 6to4 around 127.0.0.1
        ("10.1.2.3", "private"),
        ("172.16.0.1", "private"),
        ("192.168.1.1", "private"),
        ("100.64.0.1", "private"),  # shared address space (carrier NAT)
        ("fc00::1", "private"),
        ("169.254.169.254", "link-local"),
        ("fe80::1", "link-local"),
        ("224.0.0.1", "multicast"),
        ("ff02::1", "multicast"),
        ("240.0.0.1", "reserved"),
        ("255.255.255.255", "reserved"),
        ("0.0.0.0", "unspecified"),
        ("::", "unspecified"),
    ],
)
def test_addresses_are_public_or_named_by_their_kind(address, kind):
    assert address_kind(address) == kind


def test_the_setting_allows_kinds_of_address_and_nothing_else():
    assert parse_allowance("") == frozenset()
    assert parse_allowance("loopback") == {"loopback"}
    assert parse_allowance(" Loopback , private ") == {"loopback", "private"}
    assert "multicast" in parse_allowance("all")
    with pytest.raises(ValueError, match="yes"):
        parse_allowance("yes")

    assert address_refusal("8.8.8.8", frozenset()) is None
    assert address_refusal("127.0.0.1", frozenset({"loopback"})) is None
    refusal = address_refusal("127.0.0.1", frozenset({"private"}))
    assert refusal == "a loopback address (SEATLEDGER_WEBHOOK_ALLOW_PRIVATE=loopback allows it)"
    assert address_refusal("169.254.169.254", frozenset({"loopback", "private"}))
    assert address_refusal("169.254.169.254", parse_allowance("all")) is None


def test_an_endpoint_names_known_event_types():
    assert check_event_types(["user.created", "user.created", "invoice.paid"]) == (
        "user.created",
        "invoice.paid",
    )
    assert check_event_types(WEBHOOK_EVENT_TYPES) == tuple(WEBHOOK_EVENT_TYPES)
    for wrong in ([], ["user.exploded"], ["account.created"]):  # account.created: no webhook
        with pytest.raises(InvalidInput) as refused:
            check_event_types(wrong)
        assert refused.value.field == "events"


def test_the_webhook_settings_come_from_the_environment(monkeypatch):
    from seatledger.config import load_webhook_settings

    for name in ("ALLOW_PRIVATE", "TIMEOUT", "POLL_INTERVAL", "CONCURRENCY"):
        monkeypatch.delenv(f"SEATLEDGER_WEBHOOK_{name}", raising=False)
    default = load_webhook_settings()
    assert (default.allow_private, default.timeout, default.concurrency) == (frozenset(), 10.0, 8)

    monkeypatch.setenv("SEATLEDGER_WEBHOOK_ALLOW_PRIVATE", "loopback,private")
    monkeypatch.setenv("SEATLEDGER_WEBHOOK_TIMEOUT", "2.5")
    assert load_webhook_settings().allow_private == {"loopback", "private"}
    assert load_webhook_settings().timeout == 2.5
    for name, wrong in (("ALLOW_PRIVATE", "yes"), ("TIMEOUT", "0"), ("CONCURRENCY", "x")):
        monkeypatch.setenv(f"SEATLEDGER_WEBHOOK_{name}", wrong)
        with pytest.raises(ValueError, match=f"SEATLEDGER_WEBHOOK_{name}"):
            load_webhook_settings()
        monkeypatch.delenv(f"SEATLEDGER_WEBHOOK_{name}")
