"""Scenario fixtures: the same real-server ``api`` fixture as tests/e2e.

tests/e2e/conftest.py defines ``api`` (a uvicorn server on the test's database,
SQLite and PostgreSQL, with an operator client and helpers). A conftest is not
importable by name (tests/ is no package), so it is loaded by path and its
fixture re-exported here for every test of this folder. A test module that
defines its own ``api`` (as test_worked_examples_seats.py does) overrides this
one for itself, which is the same fixture.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

_NAME = "seatledger_e2e_server"
_E2E_CONFTEST = Path(__file__).resolve().parents[1] / "e2e" / "conftest.py"


def _load_e2e_conftest() -> ModuleType:
    loaded = sys.modules.get(_NAME)
    if loaded is not None and hasattr(loaded, "api"):
        return loaded
    spec = importlib.util.spec_from_file_location(_NAME, _E2E_CONFTEST)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[_NAME] = module
    spec.loader.exec_module(module)
    return module


_server = _load_e2e_conftest()
Api = _server.Api
api = _server.api

__all__ = ["Api", "api"]
