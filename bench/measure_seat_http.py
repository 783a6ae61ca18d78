"""Seat activate/deactivate through HTTP vs the raw driver.

``POST /v1/accounts/{id}/users/{id}/activate`` and ``/deactivate`` against a
real ``seatledger serve`` process, sent by ``wrk`` with 1, 8 and 32 clients
(one thread and one keep-alive connection each, each alternating on its own
user), next to the raw driver's guarded UPDATE + ledger INSERT + COMMIT by as
many threads (measure_seat_service.py), measured in turn. Goal: HTTP/raw ≥ 0.3.
"""

from __future__ import annotations

import json
import secrets

from measure_seat_service import CLIENTS, Ops, RawClient, run_clients
from runner import (
    Backend,
    Figure,
    Goal,
    Run,
    log,
    py_spy,
    run_wrk,
    seatledger_server,
    seeded,
    wrk_path,
    wrk_script,
)

NAME = "seats-http"
GOAL = 0.3

# Each wrk thread (one connection) alternates activate and deactivate of its user.
LUA = """
paths = %s
counter = 0
setup = function(thread)
  counter = counter + 1
  thread:set("id", counter)
end
init = function(args)
  base = paths[id]
  n = 0
end
request = function()
  n = n + 1
  local action = (n %% 2 == 1) and "/activate" or "/deactivate"
  return wrk.format("POST", base .. action, {["Authorization"] = "Bearer %s"}, "")
end
"""


def measure(run: Run, backend: Backend) -> list[Figure]:
    if wrk_path() is None:
        raise RuntimeError("wrk not found")
    seconds = run.pick(3.0, 12.0)
    rounds = run.pick(1, 3)
    n_max = max(CLIENTS)
    log(f"seats over HTTP, {backend.name}: seeding 2 accounts x {n_max} users")
    http_account, _, http_users = seeded(backend.url, label="http", n_users=n_max, active=False)
    raw_account, raw_pool, raw_users = seeded(backend.url, label="raw", n_users=n_max, active=False)
    key = "slop_bench_" + secrets.token_hex(16)
    paths = [f"/v1/accounts/{http_account}/users/{u}" for u in http_users]
    lua = "{" + ", ".join(json.dumps(p) for p in paths) + "}"
    script = wrk_script(run.tmp / f"seats-{backend.name}.lua", LUA % (lua, key))
    figures = []
    with seatledger_server(backend.url, key, run.tmp, f"seats-{backend.name}") as server:
        url = server.url(paths[0])
        for n in CLIENTS:
            log(f"seats over HTTP, {backend.name}: {n} client(s), {rounds} x {seconds:g} s a path")
            http = []
            raw = Ops(0, 0.0)
            # NOTE: a client cut mid-pair leaves its user active: the next run's first
            # activate is then a no-op (at most one per client and run).
            run_wrk(url, script, connections=n, threads=n, seconds=1)  # warm-up
            for _ in range(rounds):
                http.append(
                    run_wrk(
                        url,
                        script,
                        connections=n,
                        threads=n,
                        seconds=seconds,
                        server_pid=server.pid,
                    )
                )
                raw += run_clients(
                    lambda i: RawClient(backend, raw_account, raw_pool, raw_users[i]), n, seconds
                )
            requests = sum(r.requests for r in http)
            elapsed = sum(r.seconds for r in http)
            failed = sum(r.failed for r in http)
            figures.append(
                Figure(
                    id=f"seats.http.{backend.name}.{n}",
                    name=f"seat ops, HTTP, {backend.name}, {n} client{'s' * (n > 1)}",
                    value=requests / elapsed if elapsed else 0.0,
                    unit="ops/s",
                    baseline_name="raw driver, same clients",
                    baseline_value=raw.rate,
                    goal=Goal(">=", GOAL),
                    details={
                        "http_requests": requests,
                        "http_failed": failed,
                        "http_p99_ms": max(r.p99_ms for r in http),
                        "server_cpu": [r.server_cpu for r in http],
                        "raw": vars(raw),
                    },
                )
            )
        if run.profile:
            with py_spy(run, server.pid, f"seat ops over HTTP, {backend.name}, 8 clients", seconds):
                run_wrk(url, script, connections=8, threads=8, seconds=seconds)
    return figures
