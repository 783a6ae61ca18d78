"""``Idempotency-Key`` on any POST (API.md Conventions).

A retry with the same key and body gets the first answer (status and body, with
``Idempotent-Replayed: true``) and changes nothing, also when the retries arrive
at the same moment; the same key with another body is 422 naming the header.
Keys are scoped to the caller (the principal's actor: a request without a valid
token has no caller, and its key is ignored) and purged after 24 hours by the
billing scheduler.

How "changes nothing" holds:

- The key is claimed by a unique insert in the same transaction as the effect:
  the request's unit of work (deps.get_uow) carries the claim, and its commit
  inserts the key row first (UnitOfWork.commit). Of two requests with one key,
  only one transaction can insert the row; the other waits for it (PostgreSQL:
  on the primary key; SQLite: on the write lock, and every write use case takes
  the account lock first anyway), then finds the row, keeps nothing
  (IdempotencyKeyTaken) and answers with the first request's answer.
- The answer is only known once the route has answered, after that commit, so
  it is stored by a second small update. Meanwhile a retry waits for it (up to
  ANSWER_WAIT_SECONDS). If the process died between the two, the effect is kept
  but its answer is not: such a key answers 409 and is never run again (running
  it again would repeat the effect).
- A request that committed nothing (a refusal, a read such as the access check)
  keeps its answer with the claim in one insert; if another request claimed the
  key meanwhile, that one's answer wins. Answers that say "not processed, try
  again" (401, 429 and every 5xx) are not kept, so the key stays free.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from fastapi import FastAPI, Request
from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from seatledger.adapters.db.repositories.idempotency import (
    Answer,
    IdempotencyClaim,
    IdempotencyKeyTaken,
    KeptKey,
)
from seatledger.domain.errors import Conflict, InvalidInput, Unauthorized
from seatledger.entrypoints.api.auth import rate_counted
from seatledger.services import idempotency
from seatledger.services.unit_of_work import UnitOfWork

HEADER = "Idempotency-Key"
REPLAYED = "Idempotent-Replayed"
# Printable ASCII without spaces, as long as the column (tables.idempotency_keys.key).
KEY_FORM = re.compile(r"[\x21-\x7e]{1,255}")
# The header as the OpenAPI document declares it on every POST (openapi.py).
PARAMETER = {
    "name": HEADER,
    "in": "header",
    "required": False,
    "description": "A retry with the same key and body returns the first answer "
    f"(with `{REPLAYED}: true`) and changes nothing; the same key with another body is "
    "422. Keys are the caller's own and kept 24 hours.",
    "schema": {"type": "string", "pattern": f"^{KEY_FORM.pattern}$"},
}
ANSWER_WAIT_SECONDS = 30.0
ANSWER_POLL_SECONDS = 0.02
_STATE = "idempotency_claim"

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


def install(app: FastAPI) -> None:
    """Wraps the app's router (the routes, inside Starlette's exception
    middleware), once for every route."""
    app.router.middleware_stack = IdempotencyKeys(app.router.middleware_stack)


def claim_of(request: Request) -> IdempotencyClaim | None:
    """The claim the unit of work of this request commits with (deps.get_uow)."""
    claim: IdempotencyClaim | None = request.scope.get("state", {}).get(_STATE)
    return claim


def fingerprint(scope: Scope, body: bytes) -> str:
    """Method, path (with its query) and body, byte for byte."""
    target = f"{scope['method']} {scope['path']}?{scope.get('query_string', b'').decode('latin-1')}"
    return hashlib.sha256(target.encode() + b"\n" + body).hexdigest()


def _is_kept(status_code: int) -> bool:
    return status_code not in (401, 429) and status_code < 500


class IdempotencyKeys:
    """ASGI middleware around the routes, inside the exception middleware (see
    ``install``): its refusals (DomainError) and database errors are answered by
    problems.py's handlers, like any route's."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        key = request.headers.get(HEADER)
        if key is None:
            await self.app(scope, receive, send)
            return
        if not KEY_FORM.fullmatch(key):
            raise InvalidInput(
                f"{HEADER} must be 1 to 255 printable ASCII characters without spaces",
                field=HEADER,
            )
        try:
            # Authenticated and counted against its rate once: the route reuses it.
            principal = await rate_counted(request)
        except Unauthorized:
            # No caller to scope the key to: the route refuses the request itself.
            # (Any other error, a rate or a database one, is answered as such: a key
            # is never ignored for a caller who may be valid.)
            await self.app(scope, receive, send)
            return
        body = await _read_body(receive)
        engine = request.app.state.engine
        claim = IdempotencyClaim(
            caller=principal.actor,
            key=key,
            fingerprint=fingerprint(scope, body),
            at=request.app.state.clock.now(),
        )
        kept = await run_in_threadpool(
            idempotency.kept_key, UnitOfWork(engine), caller=claim.caller, key=claim.key
        )
        if kept is not None:
            await _replay(claim, kept, engine, scope, receive, send)
            return

        scope.setdefault("state", {})[_STATE] = claim
        answer_messages: list[Message] = []

        async def keep(message: Message) -> None:
            answer_messages.append(message)

        try:
            await self.app(scope, _receive_again(body, receive), keep)
        except IdempotencyKeyTaken:
            await _replay(claim, None, engine, scope, receive, send)
            return
        answer = _answer_of(answer_messages)
        if claim.taken:
            await run_in_threadpool(
                idempotency.store_answer, UnitOfWork(engine), claim=claim, answer=answer
            )
        elif _is_kept(answer.status_code) and not await run_in_threadpool(
            idempotency.keep_answer, UnitOfWork(engine), claim=claim, answer=answer
        ):
            await _replay(claim, None, engine, scope, receive, send)
            return
        for message in answer_messages:
            await send(message)


async def _replay(
    claim: IdempotencyClaim,
    kept: KeptKey | None,
    engine: Engine,
    scope: Scope,
    receive: Receive,
    send: Send,
) -> None:
    """The first request's answer, once stored; 422 when its body was another."""

    def settled(kept: KeptKey | None) -> bool:
        return kept is not None and (
            kept.answer is not None or kept.fingerprint != claim.fingerprint
        )

    deadline = time.monotonic() + ANSWER_WAIT_SECONDS
    while not settled(kept):
        kept = await run_in_threadpool(
            idempotency.kept_key, UnitOfWork(engine), caller=claim.caller, key=claim.key
        )
        if settled(kept) or time.monotonic() > deadline:
            break
        await asyncio.sleep(ANSWER_POLL_SECONDS)
    if kept is not None and kept.fingerprint != claim.fingerprint:
        raise InvalidInput(
            f"this {HEADER} was used with another method, path or body", field=HEADER
        )
    if kept is None or kept.answer is None:
        raise Conflict(
            f"the first request with this {HEADER} has no answer yet (still running, "
            "or its change was kept and its answer lost); it is not run again",
            field=HEADER,
        )
    headers = {REPLAYED: "true"}
    if kept.answer.content_type:
        headers["content-type"] = kept.answer.content_type
    await Response(kept.answer.body, kept.answer.status_code, headers=headers)(scope, receive, send)


async def _read_body(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _receive_again(body: bytes, receive: Receive) -> Receive:
    """The body read once here, handed to the route as if it came now."""
    delivered = False

    async def receive_body() -> Message:
        nonlocal delivered
        if delivered:
            return await receive()
        delivered = True
        return {"type": "http.request", "body": body, "more_body": False}

    return receive_body


def _answer_of(messages: list[Message]) -> Answer:
    start = next(m for m in messages if m["type"] == "http.response.start")
    headers = {name.lower(): value for name, value in start.get("headers", [])}
    content_type = headers.get(b"content-type")
    return Answer(
        status_code=start["status"],
        body=b"".join(m.get("body", b"") for m in messages if m["type"] == "http.response.body"),
        content_type=content_type.decode("latin-1") if content_type else None,
    )
