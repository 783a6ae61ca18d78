#!/usr/bin/env python
"""seatledger's bench: every figure beside its baseline, in one table and one JSON file.

    .venv/bin/python bench/run.py               # every figure, a few minutes (make bench)
    .venv/bin/python bench/run.py --full        # longer measurements (make bench-full)
    .venv/bin/python bench/run.py --only access,seats --backends sqlite --profile

Writes bench/results/<UTC time>.json and bench/results/latest.json. See bench/README.md.
"""

from __future__ import annotations

import argparse
import importlib
import os
import platform
import shutil
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, datetime
from typing import Any

from runner import (
    BENCH_DIR,
    DEFAULT_POSTGRES_URL,
    WRK_INSTALL,
    Run,
    Skipped,
    load_average,
    log,
    new_run,
    print_table,
    server_stack,
    write_json,
    wrk_path,
)

# In the order they run; each module has NAME, and measure(run, backend) (once per
# database) and/or measure_once(run) (no database).
MEASUREMENTS = {
    "seats": "measure_seat_service",
    "seats-http": "measure_seat_http",
    "access": "measure_access_http",
    "billing": "measure_billing",
    "billing-scale": "measure_billing_scale",
}
NEEDS_WRK = {"seats-http", "access"}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description=(__doc__ or "").split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--full", action="store_true", help="longer measurements (about 15 min)")
    p.add_argument(
        "--only",
        default=",".join(MEASUREMENTS),
        help=f"comma-separated measurements (default all: {','.join(MEASUREMENTS)})",
    )
    p.add_argument(
        "--backends", default="sqlite,postgres", help="comma-separated: sqlite, postgres"
    )
    p.add_argument(
        "--postgres-url",
        default=os.environ.get("SEATLEDGER_BENCH_POSTGRES_URL") or DEFAULT_POSTGRES_URL,
        help="the maintenance database scratch databases are created from",
    )
    p.add_argument(
        "--profile",
        action="store_true",
        help="also profile: py-spy on the servers, pyinstrument in process",
    )
    args = p.parse_args(argv)
    args.only = [m.strip() for m in args.only.split(",") if m.strip()]
    unknown = set(args.only) - set(MEASUREMENTS)
    if unknown:
        p.error(f"unknown measurement(s): {', '.join(sorted(unknown))}")
    args.backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    if set(args.backends) - {"sqlite", "postgres"}:
        p.error("backends are sqlite and postgres")
    return args


def commit() -> str:
    try:
        found = subprocess.run(
            ["git", "describe", "--always", "--dirty"],
            cwd=BENCH_DIR,
            capture_output=True,
            text=True,
            check=True,
        )
        return found.stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def measure(run: Run, name: str) -> None:
    module = importlib.import_module(MEASUREMENTS[name])
    if name in NEEDS_WRK and wrk_path() is None:
        run.skipped.append(Skipped(name, "all", f"wrk not found: {WRK_INSTALL}"))
        return
    if hasattr(module, "measure_once"):
        try:
            run.figures += module.measure_once(run)
        except Exception as exc:  # noqa: BLE001 - a bench reports and goes on
            run.skipped.append(Skipped(name, "in memory", f"failed: {exc!r}"[:500]))
    if not hasattr(module, "measure"):
        return
    for backend_name in run.backends:
        try:
            database = run.database(name, backend_name)
            backend = database.__enter__()
        except Exception as exc:  # noqa: BLE001
            run.skipped.append(Skipped(name, backend_name, f"no database: {exc!r}"[:300]))
            continue
        try:
            run.figures += module.measure(run, backend)
        except Exception as exc:  # noqa: BLE001
            log(f"{name} on {backend_name} failed: {exc!r}")
            run.skipped.append(Skipped(name, backend_name, f"failed: {exc!r}"[:500]))
        finally:
            database.__exit__(None, None, None)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.perf_counter()
    run = new_run(
        full=args.full, backends=args.backends, postgres_url=args.postgres_url, profile=args.profile
    )
    meta: dict[str, Any] = {
        "started": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "full": args.full,
        "measurements": args.only,
        "backends": args.backends,
        "commit": commit(),
        "cpus": os.cpu_count(),
        "machine": platform.platform(),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "server": server_stack(),
        "wrk": wrk_path(),
        "load_average_start": load_average(),
    }
    log(
        f"seatledger bench ({'full' if args.full else 'default'}): {', '.join(args.only)} on "
        f"{', '.join(args.backends)}; load average {meta['load_average_start']}"
    )
    try:
        for name in args.only:
            measure(run, name)
    finally:
        shutil.rmtree(run.tmp, ignore_errors=True)
    meta["load_average_end"] = load_average()
    meta["seconds"] = round(time.perf_counter() - started, 1)
    print_table(run, meta)
    path = write_json(run, meta)
    print(f"\nwritten: {path.relative_to(BENCH_DIR.parent)} (and bench/results/latest.json)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
