"""The domain is pure Python (STYLE.md): the planner and everything it uses import
nothing of the database, the web framework or the clock, checked in a fresh
interpreter so that no other test's imports hide one."""

from __future__ import annotations

import json
import subprocess
import sys

FORBIDDEN = ("sqlalchemy", "psycopg", "fastapi", "starlette", "pydantic", "alembic")


def test_the_planner_and_the_domain_import_nothing_of_the_database_or_the_web():
    probe = (
        "import json, sys, pkgutil, importlib, seatledger.domain as d\n"
        "for m in pkgutil.iter_modules(d.__path__):\n"
        "    importlib.import_module('seatledger.domain.' + m.name)\n"
        "print(json.dumps(sorted(sys.modules)))"
    )
    loaded = json.loads(
        subprocess.run(
            [sys.executable, "-c", probe], capture_output=True, text=True, check=True
        ).stdout
    )
    assert "seatledger.domain.planner" in loaded
    outside = [m for m in loaded if m.split(".")[0] in FORBIDDEN]
    other_layers = [
        m for m in loaded if m.startswith("seatledger.") and not m.startswith("seatledger.domain")
    ]
    assert outside == [] and other_layers == [], (outside, other_layers)
