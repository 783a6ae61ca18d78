"""The ``seatledger`` command."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.table import Table

from seatledger.clock import SystemClock
from seatledger.config import load_settings

app = typer.Typer(
    help="seatledger: seat licensing and billing engine for SaaS vendors.\n\n"
    "The database is SEATLEDGER_DATABASE_URL (an SQLAlchemy URL; default: the SQLite file "
    "./seatledger.db). The first operator key may come from SEATLEDGER_OPERATOR_KEY.",
    no_args_is_help=True,
    add_completion=False,
)
operator_key_app = typer.Typer(help="Operator keys (vendor staff). Stored hashed; shown once.",
                               no_args_is_help=True)
app.add_typer(operator_key_app, name="operator-key")
console = Console()


def _engine():  # type: ignore[no-untyped-def]
    from seatledger.adapters.db.engine import make_engine, migrate

    settings = load_settings()
    migrate(settings.database_url)
    return settings, make_engine(settings.database_url)


@app.command()
def migrate() -> None:
    """Apply pending database migrations, and nothing else."""
    from seatledger.adapters.db.engine import migrate as run

    settings = load_settings()
    run(settings.database_url)
    console.print(f"[green]Database is up to date[/green] ({_safe(settings.database_url)})")


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", help="Interface to listen on."),
    port: int = typer.Option(8000, help="TCP port."),
    workers: int = typer.Option(1, help="Worker processes (PostgreSQL only for more than 1)."),
) -> None:
    """Serve the HTTP API (applies pending migrations first)."""
    import uvicorn

    settings, engine = _engine()
    engine.dispose()
    console.print(f"seatledger on http://{host}:{port}  (docs: /docs, spec: /openapi.json)")
    if workers > 1:
        uvicorn.run("seatledger.entrypoints.api.factory:app", host=host, port=port,
                    workers=workers, log_level="warning")
    else:
        from seatledger.entrypoints.api.factory import build_app

        uvicorn.run(build_app(settings), host=host, port=port, log_level="warning")


@operator_key_app.command("create")
def operator_key_create(name: str = typer.Option("cli", help="A label for the key.")) -> None:
    """Create an operator key and print it (it is shown only this once)."""
    from seatledger.services.operator_keys import create_operator_key
    from seatledger.services.unit_of_work import UnitOfWork

    _, engine = _engine()
    key = create_operator_key(UnitOfWork(engine), name=name, at=SystemClock().now())
    console.print(key.key, highlight=False, soft_wrap=True)


@app.command()
def demo(
    host: str = typer.Option("127.0.0.1", help="Interface to listen on."),
    port: int = typer.Option(8000, help="TCP port."),
    serve_it: bool = typer.Option(True, "--serve/--no-serve", help="Start the server after seeding."),
) -> None:
    """Create one demo account per seed document (on the SQLite default unless
    SEATLEDGER_DATABASE_URL says otherwise), then serve the API."""
    from seatledger.services.demo import seed_demo
    from seatledger.services.operator_keys import create_operator_key
    from seatledger.services.unit_of_work import UnitOfWork

    settings, engine = _engine()
    now = SystemClock().now()
    accounts = seed_demo(lambda: UnitOfWork(engine), at=now)
    key = settings.operator_key or create_operator_key(
        UnitOfWork(engine), name="demo", at=now).key
    table = Table(title="Demo accounts (one per seed document, PRODUCT.md §6)")
    table.add_column("seed")
    table.add_column("account id")
    table.add_column("a year of its model")
    table.add_column("documents", justify="right")
    table.add_column("invoiced", justify="right")
    for a in accounts:
        table.add_row(a.seed, a.account_id, a.summary or a.name, str(a.invoices), a.billed)
    console.print(table)
    url = f"http://{host}:{port}"
    console.print(f"URL:          {url}   (API docs: {url}/docs)", highlight=False)
    console.print(f"Operator key: {key}", highlight=False, soft_wrap=True)
    console.print(f"Try:          curl -H 'Authorization: Bearer {key}' "
                  f"{url}/v1/accounts/{accounts[0].account_id}/pools", highlight=False,
                  soft_wrap=True)
    engine.dispose()
    if serve_it:
        import uvicorn

        from seatledger.entrypoints.api.factory import build_app

        uvicorn.run(build_app(settings), host=host, port=port, log_level="warning")


def _safe(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


if __name__ == "__main__":  # pragma: no cover
    app()
