"""Settings from the environment: the database connection pool (issue 6, item 10)."""

from __future__ import annotations

import pytest

from seatledger.config import load_settings

POOL_VARIABLES = (
    "SEATLEDGER_DB_POOL_SIZE",
    "SEATLEDGER_DB_MAX_OVERFLOW",
    "SEATLEDGER_DB_POOL_TIMEOUT",
)
# PostgreSQL's defaults: max_connections=100, 3 of them reserved for superusers.
POSTGRES_CONNECTIONS_FOR_CLIENTS = 100 - 3


@pytest.fixture
def environment(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in POOL_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_three_api_processes_and_a_scheduler_at_the_default_pool_share_one_postgresql(
    environment: pytest.MonkeyPatch,
):
    settings = load_settings()
    per_process = settings.db_pool_size + settings.db_max_overflow
    # `seatledger serve --workers 3`: three API workers and the scheduler's process
    assert 4 * per_process <= POSTGRES_CONNECTIONS_FOR_CLIENTS
    assert settings.db_pool_size >= 1
    assert settings.db_pool_timeout == 30.0


def test_the_pool_size_overflow_and_timeout_are_read_from_the_environment(
    environment: pytest.MonkeyPatch,
):
    environment.setenv("SEATLEDGER_DB_POOL_SIZE", "3")
    environment.setenv("SEATLEDGER_DB_MAX_OVERFLOW", "0")
    environment.setenv("SEATLEDGER_DB_POOL_TIMEOUT", "2.5")
    settings = load_settings()
    assert (settings.db_pool_size, settings.db_max_overflow, settings.db_pool_timeout) == (
        3,
        0,
        2.5,
    )


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("SEATLEDGER_DB_POOL_SIZE", "0"),
        ("SEATLEDGER_DB_POOL_SIZE", "ten"),
        ("SEATLEDGER_DB_POOL_SIZE", "2.5"),
        ("SEATLEDGER_DB_MAX_OVERFLOW", "-1"),
        ("SEATLEDGER_DB_POOL_TIMEOUT", "-1"),
        ("SEATLEDGER_DB_POOL_TIMEOUT", "nan"),
        ("SEATLEDGER_DB_POOL_TIMEOUT", "inf"),
    ],
)
def test_a_pool_setting_that_is_not_a_usable_number_stops_the_start_naming_the_variable(
    environment: pytest.MonkeyPatch, name: str, value: str
):
    environment.setenv(name, value)
    with pytest.raises(ValueError, match=name):
        load_settings()
