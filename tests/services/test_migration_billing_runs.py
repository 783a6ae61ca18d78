"""Migration 0009 (billing runs), on SQLite and PostgreSQL: the runs' tables, the
number guards of documents numbered at their transaction's end, and on
PostgreSQL the job queue's tables (procrastinate's schema at the pinned
version); down to 0008 and up again leaves the schema as it was."""

from __future__ import annotations

import importlib.util
from importlib import resources

import procrastinate
from alembic import command
from sqlalchemy import Engine, inspect, text

from seatledger.adapters.db.engine import MIGRATIONS_DIR, alembic_config

QUEUE_TABLES = {
    "procrastinate_jobs",
    "procrastinate_workers",
    "procrastinate_events",
    "procrastinate_periodic_defers",
}


def schema(engine: Engine) -> dict[str, set[str]]:
    with engine.connect() as conn:
        tables = set(inspect(conn).get_table_names())
        if engine.dialect.name == "postgresql":
            names = conn.execute(
                text(
                    "SELECT tgname FROM pg_trigger WHERE NOT tgisinternal UNION "
                    "SELECT proname FROM pg_proc WHERE pronamespace = 'public'::regnamespace "
                    "UNION SELECT typname FROM pg_type WHERE typnamespace = 'public'::regnamespace "
                    "AND typname LIKE 'procrastinate%'"
                )
            ).scalars()
        else:
            names = conn.execute(
                text("SELECT name FROM sqlite_master WHERE type = 'trigger'")
            ).scalars()
        return {"tables": tables, "objects": set(names)}


def test_0009_adds_the_runs_and_the_queue_and_goes_down_to_0008_and_up(db_url, engine, backend):
    config = alembic_config(db_url)
    engine.dispose()
    at_head = schema(engine)
    assert {"billing_runs", "billing_run_batches"} <= at_head["tables"]
    if backend == "postgres":
        assert at_head["tables"] >= QUEUE_TABLES
        assert {"procrastinate_defer_jobs_v1", "procrastinate_job_status"} <= at_head["objects"]
        assert "number_sequences_used" in at_head["objects"]
    else:
        assert not QUEUE_TABLES & at_head["tables"], "SQLite bills in-process, no queue"
        assert {"number_sequences_used_insert", "number_sequences_used_update"} <= at_head[
            "objects"
        ]
    try:
        command.downgrade(config, "0008")
        engine.dispose()
        before = schema(engine)
        assert not {"billing_runs", "billing_run_batches"} & before["tables"]
        assert not QUEUE_TABLES & before["tables"]
        assert not {o for o in before["objects"] if o.startswith("procrastinate")}
        assert not {o for o in before["objects"] if o.startswith("number_sequences_used")}
    finally:
        command.upgrade(config, "head")
        engine.dispose()
    assert schema(engine) == at_head


def test_the_queue_schema_is_procrastinate_s_own_at_the_pinned_version():
    """The migration applies a copy of the package's schema.sql: the copy is the
    installed package's, and the package is the version the migration names."""
    spec = importlib.util.spec_from_file_location(
        "migration_0009", MIGRATIONS_DIR / "versions" / "0009_billing_runs.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert procrastinate.__version__ == module.PROCRASTINATE_VERSION
    shipped = (resources.files("procrastinate.sql") / "schema.sql").read_text(encoding="utf-8")
    assert module.PROCRASTINATE_SCHEMA.read_text(encoding="utf-8") == shipped
