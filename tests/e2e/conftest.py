"""End-to-end fixtures: a REAL uvicorn server on a free local port, per test.

``api`` serves ``create_app`` over HTTP on the test's database (``engine`` from
tests/conftest.py, so every test using it runs on SQLite and PostgreSQL), with
a movable ``FixedClock`` and a random operator key. Tests talk to it only
through ``httpx``, exactly as a client would.

``tests/scenarios`` uses the same fixture: its conftest re-exports this one.
"""

from __future__ import annotations

import asyncio
import secrets
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import uvicorn
from sqlalchemy import Engine

from seatledger.clock import FixedClock
from seatledger.entrypoints.api.app import create_app

DEFAULT_NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
STARTUP_TIMEOUT = 15.0
PROBLEM_JSON = "application/problem+json"
# One TLS context for every client: building one per httpx.Client (loading the CA
# bundle) costs ~60 ms, which adds up over hundreds of clients. The server is
# plain HTTP anyway.
_TLS = ssl.create_default_context()


@dataclass
class Api:
    """A running server: ``client`` carries the operator key; ``anonymous``
    carries none; ``new_client()`` gives one more independent client.

    Every client records the 5xx answers it gets (but 501) in ``server_errors``; the
    fixture fails the test at teardown if there was any (set
    ``allow_server_errors`` in a test that provokes one on purpose)."""

    url: str
    clock: FixedClock
    key: str
    app: Any = None  # the FastAPI app being served (for tests of the server itself)
    client: httpx.Client = field(init=False)
    anonymous: httpx.Client = field(init=False)
    server_errors: list[str] = field(default_factory=list)
    allow_server_errors: bool = False
    _clients: list[httpx.Client] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.client = self.new_client()
        self.anonymous = self.new_client(token="")

    def new_client(self, *, token: str | None = None, **kwargs: Any) -> httpx.Client:
        """``token=None``: the operator key; ``token=""``: no Authorization header."""
        token = self.key if token is None else token
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        client = httpx.Client(
            base_url=self.url,
            headers=headers,
            timeout=60.0,
            verify=_TLS,
            event_hooks={"response": [self._record_5xx]},
            **kwargs,
        )
        with self._lock:
            self._clients.append(client)
        return client

    def _record_5xx(self, response: httpx.Response) -> None:
        # NOTE: 501 is an answer (SCIM: a feature not offered), not a server failure.
        if response.status_code >= 500 and response.status_code != 501:
            response.read()
            with self._lock:
                self.server_errors.append(
                    f"{response.request.method} {response.request.url.path} -> "
                    f"{response.status_code}: {response.text[:300]}"
                )

    def close(self) -> None:
        for c in self._clients:
            c.close()

    # --- small helpers shared by the e2e and scenario tests -------------------
    def ok(self, response: httpx.Response, status: int = 200) -> Any:
        assert response.status_code == status, (
            f"{response.request.method} {response.request.url.path}: expected {status}, "
            f"got {response.status_code}: {response.text}"
        )
        return response.json() if response.content else None

    def create_account(
        self, name: str = "Acme", currency: str = "EUR", **extra: Any
    ) -> dict[str, Any]:
        return self.ok(
            self.client.post("/v1/accounts", json={"name": name, "currency": currency, **extra}),
            201,
        )

    def create_contract(
        self,
        account_id: str,
        pools: list[dict[str, Any]],
        *,
        start_date: str = "2026-01-01",
        billing_interval: str = "month",
        **extra: Any,
    ) -> dict[str, Any]:
        body = {
            "start_date": start_date,
            "billing_interval": billing_interval,
            "pools": pools,
            **extra,
        }
        return self.ok(self.client.post(f"/v1/accounts/{account_id}/contracts", json=body), 201)

    def account_with_pools(
        self, *pools: dict[str, Any], currency: str = "EUR", **contract: Any
    ) -> str:
        account_id = self.create_account(currency=currency)["id"]
        self.create_contract(account_id, list(pools), **contract)
        return str(account_id)

    def create_user(
        self,
        account_id: str,
        email: str | None = None,
        *,
        first_name: str = "Ada",
        last_name: str = "Lovelace",
        status: int = 201,
        **extra: Any,
    ) -> dict[str, Any]:
        body = {
            "email": email or f"user-{secrets.token_hex(4)}@example.com",
            "first_name": first_name,
            "last_name": last_name,
            **extra,
        }
        return self.ok(self.client.post(f"/v1/accounts/{account_id}/users", json=body), status)

    def pools(self, account_id: str) -> dict[str, dict[str, Any]]:
        data = self.ok(self.client.get(f"/v1/accounts/{account_id}/pools"))["data"]
        return {p["module"]: p for p in data}

    def pool(self, account_id: str, module: str = "console") -> dict[str, Any]:
        return self.pools(account_id)[module]

    def users(self, account_id: str, **params: Any) -> list[dict[str, Any]]:
        return list(
            self.ok(self.client.get(f"/v1/accounts/{account_id}/users", params=params))["data"]
        )

    @staticmethod
    def terms(
        module: str = "console",
        capacity: int | None = 3,
        *,
        policy: str = "block",
        unit_price: str = "10.00",
        **extra: Any,
    ) -> dict[str, Any]:
        """One pool of a contract body."""
        body: dict[str, Any] = {
            "module": module,
            "unit_price": unit_price,
            "policy": policy,
            **extra,
        }
        if capacity is not None:
            body["capacity"] = capacity
        return body

    def snapshot(self, account_id: str) -> dict[str, Any]:
        """Everything the API shows of an account: equal before and after a
        refused request means the request wrote nothing visible."""
        base = f"/v1/accounts/{account_id}"
        return {
            "account": self.ok(self.client.get(base)),
            "users": self.ok(self.client.get(f"{base}/users", params={"include_deleted": "true"}))[
                "data"
            ],
            "pools": self.ok(self.client.get(f"{base}/pools"))["data"],
            "contracts": self.ok(self.client.get(f"{base}/contracts"))["data"],
            "workspaces": self.ok(self.client.get(f"{base}/workspaces"))["data"],
            "profiles": self.ok(self.client.get(f"{base}/profiles"))["data"],
            "seat_requests": self.ok(self.client.get(f"{base}/seat-requests"))["data"],
        }

    def access(self, account_id: str, **body: Any) -> dict[str, Any]:
        return self.ok(
            self.client.post("/v1/access/check", json={"account_id": account_id, **body})
        )

    @staticmethod
    def problem(
        response: httpx.Response,
        status: int,
        *,
        field: str | None = None,
        type_suffix: str | None = None,
    ) -> dict[str, Any]:
        """Assert an application/problem+json answer and return its body."""
        assert response.status_code == status, (
            f"expected {status}, got {response.status_code}: {response.text}"
        )
        assert response.headers["content-type"].split(";")[0].strip() == PROBLEM_JSON
        body = response.json()
        for key in ("type", "title", "status", "detail"):
            assert key in body, f"problem without {key!r}: {body}"
        assert body["status"] == status
        assert isinstance(body["title"], str) and body["title"]
        assert isinstance(body["detail"], str) and body["detail"]
        assert body["type"].startswith("https://")
        if field is not None:
            assert body.get("field") == field, f"expected field {field!r}: {body}"
        if type_suffix is not None:
            assert body["type"].endswith(type_suffix), body["type"]
        return dict(body)


class _ThreadedServer(uvicorn.Server):
    """uvicorn in a background thread: no signal handlers (not the main thread),
    and a 10 ms tick instead of 100 ms so that it notices ``should_exit`` quickly
    (hundreds of servers start and stop in one run)."""

    def install_signal_handlers(self) -> None:  # uvicorn < 0.29
        pass

    async def main_loop(self) -> None:
        counter = 0
        should_exit = await self.on_tick(counter)
        while not should_exit:
            counter = (counter + 1) % 864000
            await asyncio.sleep(0.01)
            # on_tick refreshes the Date header when counter % 10 == 0
            should_exit = await self.on_tick(counter)

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        if self.server_state.connections or self.server_state.tasks:
            await super().shutdown(sockets=sockets)  # something in flight: the full drain
            return
        # Nothing in flight (the fixture closed its clients first): skip uvicorn's
        # fixed 100 ms grace period, which would cost seconds over a run.
        for server in self.servers:
            server.close()
        for sock in sockets or []:
            sock.close()
        if not self.force_exit:
            await self.lifespan.shutdown()


def _free_socket() -> socket.socket:
    # proto must say TCP: asyncio only sets TCP_NODELAY on accepted connections of
    # IPPROTO_TCP sockets, and without it every response waits ~40 ms for a
    # delayed ACK (headers and body leave as two segments).
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


@pytest.fixture
def api(engine: Engine) -> Iterator[Api]:
    clock = FixedClock(DEFAULT_NOW)
    key = "sk_op_" + secrets.token_urlsafe(24)
    app = create_app(engine=engine, clock=clock, operator_key=key)

    sock = _free_socket()
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        app,
        log_level="warning",
        access_log=False,
        lifespan="on",
        timeout_graceful_shutdown=5,
        limit_concurrency=None,
    )
    server = _ThreadedServer(config)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name=f"uvicorn-{port}", daemon=True
    )
    thread.start()

    url = f"http://127.0.0.1:{port}"
    running = Api(url=url, clock=clock, key=key, app=app)
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while True:
        if not thread.is_alive():
            running.close()
            raise RuntimeError("the uvicorn server thread died while starting")
        if server.started:
            try:
                if running.client.get("/v1/health", timeout=2.0).status_code == 200:
                    break
            except httpx.TransportError:
                pass
        if time.monotonic() > deadline:
            running.close()
            server.should_exit = True
            raise RuntimeError(f"the server at {url} did not answer within {STARTUP_TIMEOUT}s")
        time.sleep(0.005)
    try:
        yield running
    finally:
        running.close()
        server.should_exit = True
        thread.join(timeout=15)
        sock.close()
        assert not thread.is_alive(), "the uvicorn server did not stop"
    if not running.allow_server_errors:
        assert not running.server_errors, "the server answered 5xx:\n" + "\n".join(
            running.server_errors
        )
