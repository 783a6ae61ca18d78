"""Limits (API.md Conventions): a body over 1 MiB is 413, a body that is not
JSON on a route that takes JSON is 415, a user or SCIM token over its rate is
429 with ``Retry-After``. Operator keys have no rate unless one is configured.

Rates are counted by the ``limits`` library: in this process's memory by
default, in Redis when ``SEATLEDGER_REDIS_URL`` is set (several API processes
then share one count per token).
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any

from fastapi.routing import iter_route_contexts
from limits import RateLimitItem, parse
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter
from redis import RedisError

from seatledger.domain.errors import (
    BodyTooLarge,
    DomainError,
    RateLimited,
    Unavailable,
    UnsupportedMediaType,
)

MAX_BODY_BYTES = 1024 * 1024
DEFAULT_USER_RATE = "600/minute"
DEFAULT_SCIM_RATE = "600/minute"

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


@dataclass(frozen=True)
class RateLimits:
    """Requests allowed per token kind, in ``limits`` notation ("600/minute");
    ``None``: no rate for that kind. ``storage_url`` is a ``limits`` storage
    URL (``memory://``, ``redis://host:6379``)."""

    user: str | None = DEFAULT_USER_RATE
    scim: str | None = DEFAULT_SCIM_RATE
    operator: str | None = None
    storage_url: str = "memory://"

    @classmethod
    def from_environment(cls) -> RateLimits:
        def rate(name: str, default: str | None) -> str | None:
            raw = os.environ.get(name, "").strip()
            if not raw:
                return default
            return None if raw.lower() == "none" else raw

        return cls(
            user=rate("SEATLEDGER_RATE_LIMIT_USER", DEFAULT_USER_RATE),
            scim=rate("SEATLEDGER_RATE_LIMIT_SCIM", DEFAULT_SCIM_RATE),
            operator=rate("SEATLEDGER_RATE_LIMIT_OPERATOR", None),
            storage_url=os.environ.get("SEATLEDGER_REDIS_URL", "").strip() or "memory://",
        )


class RateLimiter:
    """One moving window per token (``kind:id``), at the rate of its kind."""

    def __init__(self, rates: RateLimits) -> None:
        self._items: dict[str, RateLimitItem] = {}
        for kind in ("user", "scim", "operator"):
            rate = getattr(rates, kind)
            if rate is not None:
                try:
                    self._items[kind] = parse(rate)
                except ValueError:
                    message = f"rate limit {rate!r} for {kind} tokens is not valid"
                    raise ValueError(message) from None
        self._limiter = MovingWindowRateLimiter(storage_from_string(rates.storage_url))

    def hit(self, kind: str, token_id: str) -> None:
        """Count one request of the token; over its rate, RateLimited; with
        Redis unreachable, Unavailable."""
        item = self._items.get(kind)
        if item is None:
            return
        try:
            allowed = self._limiter.hit(item, kind, token_id)
        except RedisError as exc:
            # No count, no answer: a 503 the client retries, never an uncounted pass.
            raise Unavailable("the rate counter (Redis) is unavailable; retry later") from exc
        if allowed:
            return
        reset_at = self._limiter.get_window_stats(item, kind, token_id).reset_time
        raise RateLimited(
            f"more than {item} requests for this token; retry later",
            retry_after=max(1, math.ceil(reset_at - time.time())),
        )


def is_json(content_type: str) -> bool:
    """Whether a Content-Type names JSON (application/json or application/*+json)."""
    media_type = content_type.split(";")[0].strip().lower()
    return media_type == "application/json" or (
        media_type.startswith("application/") and media_type.endswith("+json")
    )


class BodyLimits:
    """ASGI middleware: reads a request's body (at most MAX_BODY_BYTES + 1
    bytes, whatever Content-Length claims) before the route sees it; a body
    over the limit is 413, a non-empty non-JSON body on a route that takes a
    JSON body is 415. ``refuse`` turns the error into the request's response
    (problems.py)."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        routes: list[Any],
        refuse: Callable[[DomainError, Scope], Any],
    ) -> None:
        self.app = app
        self.routes = routes
        self.refuse = refuse

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        error: DomainError | None = None
        declared = headers.get("content-length", "").strip()
        if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
            error = _too_large()
        chunks: list[bytes] = []
        size = 0
        if error is None:
            more = True
            while more:
                message = await receive()
                if message["type"] == "http.disconnect":
                    return
                chunk = message.get("body", b"")
                size += len(chunk)
                if size > MAX_BODY_BYTES:
                    error = _too_large()
                    break
                chunks.append(chunk)
                more = message.get("more_body", False)
        not_json = size and not is_json(headers.get("content-type", ""))
        if error is None and not_json and self._takes_json(scope):
            error = UnsupportedMediaType(
                "this route takes a JSON body (Content-Type: application/json)",
                field="content-type",
            )
        if error is not None:
            await self.refuse(error, scope)(scope, receive, send)
            return
        body = b"".join(chunks)
        delivered = False

        async def replay() -> Message:
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    def _takes_json(self, scope: Scope) -> bool:
        for route in iter_route_contexts(self.routes):
            regex = getattr(route, "path_regex", None)
            if (
                regex is not None
                and regex.match(scope["path"])
                and scope["method"] in (route.methods or ())
            ):
                return getattr(route, "body_field", None) is not None
        return False


def _too_large() -> BodyTooLarge:
    return BodyTooLarge(f"the request body is over {MAX_BODY_BYTES} bytes", field="body")
