"""The access check over HTTP vs a trivial endpoint.

``POST /v1/access/check`` (an operator key; 50 active users of one account,
each asked in turn for the module) against one ``seatledger serve`` process,
next to a trivial ``async def`` FastAPI endpoint (bench/trivial_app.py) served
by the same kind of process, under the same load: ``wrk``, 32 keep-alive
connections on one thread, the same requests byte for byte. The two alternate
in rounds. Goals: rate ≥ 0.8 of the trivial endpoint's, p99 ≤ 2 × its p99.
"""

from __future__ import annotations

import json
import secrets

from runner import (
    MODULE,
    Backend,
    Figure,
    Goal,
    Run,
    combined,
    log,
    py_spy,
    run_wrk,
    seatledger_server,
    seeded,
    server_stack,
    trivial_server,
    wrk_path,
    wrk_script,
)

NAME = "access"
RATE_GOAL = 0.8
P99_GOAL = 2.0
CONNECTIONS = 32
THREADS = 1
USERS = 50

LUA = """
bodies = %s
requests = {}
i = 0
init = function(args)
  for k, body in ipairs(bodies) do
    requests[k] = wrk.format("POST", "/v1/access/check", {
      ["Authorization"] = "Bearer %s",
      ["Content-Type"] = "application/json",
    }, body)
  end
end
request = function()
  i = i %% #requests + 1
  return requests[i]
end
"""


def measure(run: Run, backend: Backend) -> list[Figure]:
    if wrk_path() is None:
        raise RuntimeError("wrk not found")
    seconds = run.pick(5.0, 15.0)
    rounds = run.pick(2, 3)
    warmup = run.pick(2.0, 5.0)
    log(f"access, {backend.name}: seeding one account with {USERS} active users")
    account_id, _, user_ids = seeded(backend.url, label="access", n_users=USERS, active=True)
    key = "slop_bench_" + secrets.token_hex(16)
    bodies = [
        json.dumps({"account_id": account_id, "user_id": u, "module": MODULE}) for u in user_ids
    ]
    lua = "{" + ", ".join(json.dumps(b) for b in bodies) + "}"
    script = wrk_script(run.tmp / f"access-{backend.name}.lua", LUA % (lua, key))
    load = {"connections": CONNECTIONS, "threads": THREADS}
    with (
        seatledger_server(backend.url, key, run.tmp, f"access-{backend.name}") as server,
        trivial_server(run.tmp, f"access-{backend.name}") as trivial,
    ):
        check_url, trivial_url = server.url("/v1/access/check"), trivial.url("/v1/access/check")
        probe = run_wrk(check_url, script, connections=1, threads=1, seconds=1)
        if probe.failed:
            raise RuntimeError(f"the access check answered errors: {probe.errors}")
        log(f"access, {backend.name}: warm-up {warmup:g} s each, then {rounds} x {seconds:g} s")
        run_wrk(check_url, script, **load, seconds=warmup)
        run_wrk(trivial_url, script, **load, seconds=warmup)
        checks, trivials = [], []
        for r in range(rounds):
            sides = [("check", check_url, server.pid), ("trivial", trivial_url, trivial.pid)]
            for side, url, pid in sides if r % 2 == 0 else sides[::-1]:
                result = run_wrk(url, script, **load, seconds=seconds, server_pid=pid)
                (checks if side == "check" else trivials).append(result)
        if run.profile:
            with py_spy(run, server.pid, f"access check server, {backend.name}", seconds):
                run_wrk(check_url, script, **load, seconds=seconds)
            with py_spy(run, trivial.pid, f"trivial endpoint server, {backend.name}", seconds):
                run_wrk(trivial_url, script, **load, seconds=seconds)
    check, base = combined(checks), combined(trivials)
    details = {"check": check, "trivial": base, "load": load, "server": server_stack()}
    return [
        Figure(
            id=f"access.rate.{backend.name}",
            name=f"access check over HTTP, {backend.name}",
            value=check["rate"],
            unit="req/s",
            baseline_name="trivial async endpoint",
            baseline_value=base["rate"],
            goal=Goal(">=", RATE_GOAL),
            details=details,
        ),
        Figure(
            id=f"access.p99.{backend.name}",
            name=f"access check p99 latency, {backend.name}",
            value=check["p99_ms"],
            unit="ms",
            baseline_name="trivial async endpoint p99",
            baseline_value=base["p99_ms"],
            goal=Goal("<=", P99_GOAL),
        ),
    ]
