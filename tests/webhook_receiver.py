"""A webhook receiver for tests: a real HTTP server on 127.0.0.1 (a thread of
the test process) that keeps every request it gets, answers what the test
says, and checks signatures with the ``standardwebhooks`` library only.

``answer(webhook_id, nth)`` gives the status for the nth request (1, 2, ...)
with that id, or ``HOLD`` to keep the request open without answering until
``release()`` (a slow endpoint). ``verify(received, secret, at=)`` is the
library's ``Webhook(secret).verify(body, headers)``; ``at`` freezes the
library's clock at the test's clock, for attempts a ``FixedClock`` dated
(the library accepts a timestamp within five minutes of its now).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from unittest import mock

import standardwebhooks.webhooks
from standardwebhooks import Webhook

HOLD = -1


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    nth: int  # 1 for the first request with this webhook-id, 2 for the next, ...

    @property
    def webhook_id(self) -> str:
        return self.headers.get("webhook-id", "")

    @property
    def timestamp(self) -> datetime:
        return datetime.fromtimestamp(int(self.headers["webhook-timestamp"]), tz=UTC)


class Receiver:
    def __init__(self, answer: Callable[[str, int], int] | None = None) -> None:
        self.answer = answer or (lambda _id, _nth: 204)
        self.received: list[Received] = []
        self._lock = threading.Lock()
        self._released = threading.Event()
        self.open_requests = 0  # held right now
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                headers = {k.lower(): v for k, v in self.headers.items()}
                status = receiver._arrived(self.path, headers, body)
                if status == HOLD:
                    with receiver._lock:
                        receiver.open_requests += 1
                    receiver._released.wait(120)
                    with receiver._lock:
                        receiver.open_requests -= 1
                    status = 200
                try:
                    self.send_response(status)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                except OSError:  # the sender is gone (killed, or timed out)
                    pass

            def log_message(self, *_args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/hooks"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def _arrived(self, path: str, headers: dict[str, str], body: bytes) -> int:
        with self._lock:
            webhook_id = headers.get("webhook-id", "")
            nth = 1 + sum(1 for r in self.received if r.webhook_id == webhook_id)
            self.received.append(Received(path, headers, body, nth))
        return self.answer(webhook_id, nth)

    def __enter__(self) -> Receiver:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.release()
        self.server.shutdown()
        self.server.server_close()

    def release(self) -> None:
        """Answers every held request (200) and holds no more."""
        self._released.set()

    def wait_for(self, count: int, timeout: float = 20.0) -> list[Received]:
        """Blocks until ``count`` requests have arrived."""
        deadline = time.monotonic() + timeout
        while len(self.received) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"{len(self.received)} requests of {count} arrived")
            time.sleep(0.02)
        return list(self.received)

    def ids(self) -> list[str]:
        return [r.webhook_id for r in self.received]


@contextmanager
def _library_clock(at: datetime | None) -> Iterator[None]:
    if at is None:
        yield
        return

    class Frozen(datetime):
        @classmethod
        def now(cls, tz: Any = None) -> datetime:  # type: ignore[override]
            return at.astimezone(tz) if tz is not None else at

    with mock.patch.object(standardwebhooks.webhooks, "datetime", Frozen):
        yield


def verify(received: Received, secret: str, *, at: datetime | None = None) -> Any:
    """The body as the standardwebhooks library verifies it (raises
    WebhookVerificationError if the signature or the headers do not hold)."""
    with _library_clock(at):
        return Webhook(secret).verify(received.body, received.headers)
