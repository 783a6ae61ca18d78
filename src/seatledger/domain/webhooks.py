"""Webhooks (Standard Webhooks): endpoints, what they receive for an entry of
the audit log, which addresses they may point at, and when a failed delivery is
tried again. Pure."""

from __future__ import annotations

import hashlib
import ipaddress
import json
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from seatledger.domain.audit import WEBHOOK_EVENT_TYPES, AuditEntry
from seatledger.domain.errors import InvalidInput

MAX_URL_LENGTH = 2000  # tables.webhook_endpoints.url
MAX_DESCRIPTION_LENGTH = 200  # tables.webhook_endpoints.description
SECRET_PREFIX = "whsec_"  # Standard Webhooks: "whsec_" + the key in base64


@dataclass(frozen=True)
class WebhookEndpoint:
    """Where deliveries go. ``account_id`` None: every account's events.
    ``secret`` signs them; it is never written to the audit log."""

    id: str
    url: str
    events: tuple[str, ...]
    account_id: str | None
    description: str | None
    created_at: datetime
    secret: str
    deleted_at: datetime | None = None


def check_event_types(events: Iterable[str]) -> tuple[str, ...]:
    """The webhook event types an endpoint subscribes to: at least one, each of
    WEBHOOK_EVENT_TYPES, repeats dropped (first order kept)."""
    names = tuple(dict.fromkeys(events))
    if not names:
        raise InvalidInput("events must name at least one event type", field="events")
    unknown = [n for n in names if n not in WEBHOOK_EVENT_TYPES]
    if unknown:
        raise InvalidInput(
            f"unknown webhook event type {unknown[0]!r}; known: {', '.join(WEBHOOK_EVENT_TYPES)}",
            field="events",
        )
    return names


def check_description(description: str | None) -> str | None:
    if description is None:
        return None
    text = description.strip()
    if len(text) > MAX_DESCRIPTION_LENGTH:
        raise InvalidInput(
            f"description is over {MAX_DESCRIPTION_LENGTH} characters", field="description"
        )
    if any(ord(c) < 32 or ord(c) == 127 for c in text):
        raise InvalidInput("description has control characters", field="description")
    return text or None


def subscribes(event_types: Collection[str], entry: AuditEntry) -> bool:
    """An endpoint receives the webhook event types it names."""
    return entry.type in WEBHOOK_EVENT_TYPES and entry.type in event_types


def payload(entry: AuditEntry) -> str:
    """The body every attempt of the entry's delivery sends, as the Standard
    Webhooks specification shapes it: ``type``, ``timestamp``, ``data``."""
    return json.dumps(
        {
            "type": entry.type,
            "timestamp": entry.at.isoformat(),
            "data": {
                "event_id": entry.id,
                "account_id": entry.account_id,
                "position": entry.position,
                "actor": entry.actor,
                "subject": entry.subject,
                "before": json.loads(entry.before) if entry.before else None,
                "after": json.loads(entry.after) if entry.after else None,
                "request_id": entry.request_id,
            },
        },
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )


# --- addresses an endpoint may point at (server-side request forgery) -----------

# The kinds of address that are not the public internet, in the order an
# address is named by (::1 is "loopback", not "reserved").
ADDRESS_KINDS = ("unspecified", "loopback", "link-local", "multicast", "reserved", "private")
# What SEATLEDGER_WEBHOOK_ALLOW_PRIVATE may allow (comma-separated); "all":
# every kind, the metadata service at 169.254.169.254 included.
ALLOWANCES = ("loopback", "private", "link-local", "all")


def parse_allowance(text: str) -> frozenset[str]:
    """The kinds of address a setting allows: "" none; "loopback", "private",
    "link-local" or several, comma-separated; "all" every kind. Anything else
    is a ValueError naming it."""
    names = {n.strip().lower() for n in text.split(",") if n.strip()}
    unknown = sorted(names - set(ALLOWANCES))
    if unknown:
        raise ValueError(f"{unknown[0]!r} is not one of {', '.join(ALLOWANCES)}")
    return frozenset(ADDRESS_KINDS) if "all" in names else frozenset(names)


def address_kind(address: str) -> str | None:
    """The ADDRESS_KINDS entry of an IP address, or None for a public one.
    An IPv4 address inside an IPv6 one (mapped, 6to4, Teredo) is judged too."""
    ip = ipaddress.ip_address(address)
    candidates: list[ipaddress.IPv4Address | ipaddress.IPv6Address] = []
    if isinstance(ip, ipaddress.IPv6Address):  # the IPv4 address inside first
        candidates += [a for a in (ip.ipv4_mapped, ip.sixtofour) if a is not None]
        if ip.teredo is not None:
            candidates += list(ip.teredo)
    candidates.append(ip)
    for candidate in candidates:
        for kind, found in (
            ("unspecified", candidate.is_unspecified),
            ("loopback", candidate.is_loopback),
            ("link-local", candidate.is_link_local),
            ("multicast", candidate.is_multicast),
            ("reserved", candidate.is_reserved),
            ("private", candidate.is_private or not candidate.is_global),
        ):
            if found:
                return kind
    return None


def address_refusal(address: str, allowed: frozenset[str]) -> str | None:
    """Why an endpoint may not be reached at ``address`` ("a loopback address
    (...)"), or None when it may."""
    kind = address_kind(address)
    if kind is None or kind in allowed:
        return None
    setting = kind if kind in ALLOWANCES else "all"
    return f"a {kind} address (SEATLEDGER_WEBHOOK_ALLOW_PRIVATE={setting} allows it)"


# --- retries ---------------------------------------------------------------------

# The longest wait after each failed attempt (the first, the second, ...), then
# RETRY_STEP_AFTER for every later one; each wait is drawn in [0, step) ("full
# jitter") so that deliveries failing together do not come back together.
RETRY_STEPS = (
    timedelta(seconds=5),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=5),
    timedelta(hours=10),
)
RETRY_STEP_AFTER = timedelta(hours=12)
# No attempt is scheduled more than this after the first: the delivery fails.
RETRY_WINDOW = timedelta(days=3)


def _jitter(seed: str, attempt: int) -> float:
    """A number in [0, 1) fixed by the delivery and the attempt: the schedule
    is a function of the delivery, the same in every worker and every run."""
    digest = hashlib.sha256(f"{seed}/{attempt}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def _step(attempt: int) -> timedelta:
    return RETRY_STEPS[attempt - 1] if attempt <= len(RETRY_STEPS) else RETRY_STEP_AFTER


def retry_delay(attempt: int, *, seed: str) -> timedelta | None:
    """The wait after failed attempt number ``attempt`` (1: the first) of the
    delivery ``seed`` (its id) before the next one, or None when the next one
    would be scheduled more than RETRY_WINDOW after the first attempt: then the
    delivery has failed.

    The schedule's own time: attempt n is due the sum of the waits before it
    after the first attempt (a worker that was down delays attempts; it does not
    take them away)."""
    if attempt < 1:
        raise ValueError("attempts are counted from 1")
    elapsed = timedelta(0)
    wait = timedelta(0)
    for n in range(1, attempt + 1):
        wait = _step(n) * _jitter(seed, n)
        if elapsed + wait > RETRY_WINDOW:
            return None
        elapsed += wait
    return wait
