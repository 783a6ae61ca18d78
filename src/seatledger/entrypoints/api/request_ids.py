"""Every request has an id: the caller's ``X-Request-Id`` when it is a short
printable token, else a new one. It is answered in ``X-Request-Id`` and written
with every change the request makes to the audit log."""

from __future__ import annotations

import re

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from seatledger.domain.ids import new_id

HEADER = b"x-request-id"
_FORM = re.compile(rb"[A-Za-z0-9._:@/+=-]{1,100}")


class RequestIds:
    """ASGI middleware (outermost): sets ``request.state.request_id``."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = next((v for k, v in scope["headers"] if k == HEADER), None)
        request_id = (
            given.decode() if given and _FORM.fullmatch(given) else new_id("req")
        ).encode()
        scope.setdefault("state", {})["request_id"] = request_id.decode()

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), (HEADER, request_id)]
            await send(message)

        await self.app(scope, receive, send_with_id)
