"""``POST /v1/access/check`` answered from memory, before routing (the hot path).

An ASGI middleware inside ``RequestIds`` (every answer still carries its
``X-Request-Id``) and outside everything else. It answers a check only when
every rule the full stack applies is known to pass without any I/O:

- an operator key kept in the read cache, its last use not due to be written
  (services/operator_keys.py ``cached_operator``): the route's rule
  (roles.py: operators only) holds;
- no ``Idempotency-Key`` (idempotency.py keeps answers of such requests);
- a JSON ``Content-Type`` and a body of at most ``MAX_BODY_BYTES`` (limits.py);
- a body that ``AccessCheckIn`` accepts, parsed as FastAPI parses it;
- the account's facts kept in the read cache (services/access.py
  ``cached_answer``), and an answer that is not a refusal;
- the operator's rate, counted as ``auth.rate_counted`` counts it (last, so
  that a request handed on is not counted twice).

Anything else is handed, body included, to the app, which answers exactly as
it always does (401, 403, 413, 415, 422, 429, problem+json, the idempotent
replay; or the route, which reads the facts and keeps them). The answer is the
route's byte for byte: same status, headers and JSON.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from pydantic import ValidationError

from seatledger.domain.errors import DomainError
from seatledger.entrypoints.api.idempotency import HEADER as IDEMPOTENCY_HEADER
from seatledger.entrypoints.api.limits import MAX_BODY_BYTES, is_json
from seatledger.entrypoints.api.schemas import AccessCheckIn
from seatledger.services import access
from seatledger.services.auth import is_user_token
from seatledger.services.operator_keys import cached_operator
from seatledger.services.secrets import hash_token

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

PATH = "/v1/access/check"
_IDEMPOTENCY = IDEMPOTENCY_HEADER.lower().encode("latin-1")
_CONTENT_TYPE = (b"content-type", b"application/json")


class AccessCheckFastPath:
    """``state``: the app's state (``read_cache``, ``clock``, ``rate_limiter``)."""

    def __init__(self, app: ASGIApp, *, state: Any) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["path"] != PATH
            or scope["method"] != "POST"
            or scope.get("root_path")
        ):
            await self.app(scope, receive, send)
            return
        authorization = content_type = b""
        declared = b""
        for name, value in scope["headers"]:
            if name == b"authorization":
                authorization = authorization or value
            elif name == b"content-type":
                content_type = content_type or value
            elif name == b"content-length":
                declared = value
            elif name == _IDEMPOTENCY:
                await self.app(scope, receive, send)
                return
        if (
            not is_json(content_type.decode("latin-1"))
            or (declared.isdigit() and int(declared) > MAX_BODY_BYTES)
            or not authorization
        ):
            await self.app(scope, receive, send)
            return
        body, complete = await _read_body(receive)
        if body is None:
            return  # the client left
        if complete:
            answer = self._answer(authorization, body)
            if answer is not None:
                await send(
                    {
                        "type": "http.response.start",
                        "status": 200,
                        "headers": [
                            (b"content-length", str(len(answer)).encode("latin-1")),
                            _CONTENT_TYPE,
                        ],
                    }
                )
                await send({"type": "http.response.body", "body": answer})
                return
        await self.app(scope, _replay(body, receive), send)

    def _answer(self, authorization: bytes, body: bytes) -> bytes | None:
        """The answer's JSON, or None when the app must answer."""
        scheme, _, token = authorization.decode("latin-1").partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token or is_user_token(token):
            return None
        state = self.state
        cache = state.read_cache
        now = state.clock.now()
        operator = cached_operator(cache, key_hash=hash_token(token), at=now)
        if operator is None or not body:
            return None
        try:
            check = AccessCheckIn.model_validate(json.loads(body))
            answer = access.cached_answer(
                cache,
                account_id=check.account_id,
                user_id=check.user_id,
                email=check.email,
                module=check.module,
                at=now,
            )
            if answer is None:
                return None
            state.rate_limiter.hit("operator", operator.id)
        except (ValueError, RecursionError, ValidationError, DomainError):
            return None  # the app answers the refusal (422, 404, 429, 503) as a problem
        # NOTE: as FastAPI's JSONResponse renders AccessCheckOut.
        return json.dumps(
            {"allowed": answer.allowed, "reason": answer.reason, "user_id": answer.user_id},
            ensure_ascii=False,
            allow_nan=False,
            indent=None,
            separators=(",", ":"),
        ).encode("utf-8")


async def _read_body(receive: Receive) -> tuple[bytes | None, bool]:
    """The body, and whether it is all there within MAX_BODY_BYTES (if not, the
    app reads on and answers 413); None when the client left."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return None, False
        chunk = message.get("body", b"")
        chunks.append(chunk)
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            return b"".join(chunks), False
        if not message.get("more_body", False):
            return b"".join(chunks), True


def _replay(body: bytes, receive: Receive) -> Receive:
    """What was read, handed to the app as if it came now (over the limit: as
    much as BodyLimits needs to refuse it)."""
    delivered = False

    async def receive_again() -> Message:
        nonlocal delivered
        if delivered:
            return await receive()
        delivered = True
        return {"type": "http.request", "body": body, "more_body": False}

    return receive_again
