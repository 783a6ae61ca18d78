"""The ``seatledger`` command."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

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
operator_key_app = typer.Typer(
    help="Operator keys (vendor staff). Stored hashed; shown once.", no_args_is_help=True
)
app.add_typer(operator_key_app, name="operator-key")
audit_app = typer.Typer(help="The audit log (append-only, hash-chained).", no_args_is_help=True)
app.add_typer(audit_app, name="audit")
console = Console()
err_console = Console(stderr=True)


def _engine():  # type: ignore[no-untyped-def]
    from seatledger.adapters.db.engine import engine_for, migrate

    settings = load_settings()
    migrate(settings.database_url)
    return settings, engine_for(settings)


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

    _require_free_port(host, port)
    settings, engine = _engine()
    _log_to_stderr()
    console.print(f"seatledger on http://{host}:{port}  (docs: /docs, spec: /openapi.json)")
    if workers > 1:
        # NOTE: one billing scheduler, one webhook worker and (PostgreSQL) one
        # billing worker for the whole server, in this process; the workers only
        # serve requests.
        from seatledger.entrypoints.scheduler import BillingScheduler
        from seatledger.entrypoints.webhook_worker import WebhookWorker

        scheduler = BillingScheduler(engine=engine, clock=SystemClock())
        deliverer = WebhookWorker(engine=engine, clock=SystemClock())
        scheduler.start()
        deliverer.start()
        biller = None
        if engine.dialect.name == "postgresql":
            from seatledger.entrypoints.billing_worker import BillingWorker

            biller = BillingWorker(engine=engine, clock=SystemClock())
            biller.start()
        try:
            uvicorn.run(
                "seatledger.entrypoints.api.factory:app",
                host=host,
                port=port,
                workers=workers,
                log_level="warning",
            )
        finally:
            scheduler.stop()
            deliverer.stop()
            if biller is not None:
                biller.stop()
            engine.dispose()
    else:
        from seatledger.entrypoints.api.factory import build_app

        engine.dispose()
        uvicorn.run(build_app(settings, scheduler=True), host=host, port=port, log_level="warning")


@app.command()
def worker(
    once: bool = typer.Option(
        False, "--once", help="Bill the queued batches and deliver what is due now, then exit."
    ),
) -> None:
    """Run the background work alone (applies pending migrations first): on
    PostgreSQL bill the batches of billing runs from the job queue (any number
    of workers, on any number of machines, share a run), and deliver webhooks,
    retries included, until stopped (Ctrl-C or SIGTERM end it after the batch
    and the attempts in progress). Settings: SEATLEDGER_WEBHOOK_* (docs/webhooks.md),
    SEATLEDGER_WORKER_HEARTBEAT and SEATLEDGER_WORKER_STALLED_AFTER (docs/scaling.md)."""
    import contextlib
    import signal

    from seatledger.entrypoints.webhook_worker import WebhookWorker

    _, engine = _engine()
    _log_to_stderr()
    deliverer = WebhookWorker(engine=engine, clock=SystemClock())
    biller = None
    if engine.dialect.name == "postgresql":
        from seatledger.entrypoints.billing_worker import BillingWorker

        biller = BillingWorker(engine=engine, clock=SystemClock(), wait=not once)
    try:
        if once:
            if biller is not None:
                biller.run()
                console.print(f"Billing: {biller.batches} batches billed.", highlight=False)
            rounds = [deliverer.run_once()]
            while rounds[-1].attempted == deliverer.settings.concurrency:  # a full round
                rounds.append(deliverer.run_once())
            console.print(
                f"Webhooks: {sum(r.attempted for r in rounds)} attempted, "
                f"{sum(r.delivered for r in rounds)} delivered, "
                f"{sum(r.retrying for r in rounds)} to retry, "
                f"{sum(r.failed for r in rounds)} failed.",
                highlight=False,
            )
            return

        def stop(*_: object) -> None:
            deliverer.request_stop()
            if biller is not None:
                biller.request_stop()

        signal.signal(signal.SIGTERM, stop)
        work = "billing batches and delivering webhooks" if biller else "delivering webhooks"
        err_console.print(f"seatledger worker: {work} (Ctrl-C stops)", highlight=False)
        if biller is not None:
            biller.start()
        with contextlib.suppress(KeyboardInterrupt):
            deliverer.run()
    finally:
        if biller is not None:
            biller.stop()
        engine.dispose()


def _log_to_stderr() -> None:
    """The server's own messages (the billing scheduler's runs and errors)."""
    import logging

    logger = logging.getLogger("seatledger")
    if not logger.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)


def _parse_as_of(value: str) -> datetime:
    """``YYYY-MM-DD`` is 00:00:00Z that day; a full ISO 8601 instant is taken as
    given (without an offset it is UTC, like every time in seatledger)."""
    text = value.strip()
    try:
        if len(text) == 10:
            return datetime.combine(date.fromisoformat(text), time(0), tzinfo=UTC)
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(
            f"{value!r} is neither a date (YYYY-MM-DD) nor an ISO 8601 instant "
            "(2026-06-01T00:00:00Z)",
            param_hint="--as-of",
        ) from None
    if moment.utcoffset() is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


@app.command()
def bill(
    as_of: str = typer.Option(
        None,
        "--as-of",
        metavar="DATE",
        help="Bill everything due up to this moment: YYYY-MM-DD (00:00Z that day) or an "
        "ISO 8601 instant. Default: now. A moment in the future is refused.",
    ),
) -> None:
    """Issue every invoice due up to --as-of, exactly once (real-clock accounts).

    On PostgreSQL with workers running (`seatledger worker`, `seatledger serve`) the
    run's batches go to them and this shows their progress; else (SQLite, or no
    worker) this process bills them. Safe to run again, or after an interruption:
    what was issued is never issued twice.
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from seatledger.domain.errors import DomainError

    now = SystemClock().now()
    moment = _parse_as_of(as_of) if as_of is not None else now
    if moment > now:
        err_console.print(
            f"[red]Error:[/red] --as-of {moment.isoformat()} is in the future "
            f"(now is {now.isoformat(timespec='seconds')}); billing only issues "
            "what is already due.",
            highlight=False,
        )
        raise typer.Exit(2)
    from seatledger.entrypoints import billing_runs

    _, engine = _engine()
    try:
        with Progress(
            TextColumn("Billing accounts"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[where]}"),
            TimeElapsedColumn(),
            console=err_console,
        ) as progress:
            task = progress.add_task("bill", total=None, where="")
            started = billing_runs.start(engine, as_of=moment, now=now)
            total = sum(len(b.account_ids) for b in started.here)
            if started.queued:
                # NOTE: the workers bill it: the bar follows the run's row.
                progress.update(task, where="(workers)")
                result = billing_runs.wait(
                    engine,
                    started.run.id,
                    timeout=None,
                    on_progress=lambda run: progress.update(
                        task,
                        total=run.batches_total,
                        completed=run.batches_done,
                        description="batches",
                    ),
                )
            else:
                progress.update(task, total=total)
                billing_runs.bill_here(
                    engine,
                    started,
                    at=now,
                    on_account=lambda _account_id, _issued: progress.advance(task),
                )
                result = billing_runs.wait(engine, started.run.id, timeout=0)
    except DomainError as refusal:
        err_console.print(f"[red]Error:[/red] {refusal.message}", highlight=False)
        raise typer.Exit(2) from None
    finally:
        engine.dispose()
    noun = "invoice" if result.invoices_issued == 1 else "invoices"
    console.print(
        f"Issued {result.invoices_issued} {noun} for {result.accounts} accounts "
        f"(as of {result.as_of.isoformat()}; run {result.id}, "
        f"{result.batches_total} batches).",
        highlight=False,
    )
    for account_id, reason in result.failures:
        err_console.print(f"[red]Not billed:[/red] account {account_id}: {reason}", highlight=False)
    if result.failures:
        raise typer.Exit(1)


@operator_key_app.command("create")
def operator_key_create(name: str = typer.Option("cli", help="A label for the key.")) -> None:
    """Create an operator key and print it (it is shown only this once)."""
    from seatledger.services.operator_keys import create_operator_key
    from seatledger.services.unit_of_work import UnitOfWork

    _, engine = _engine()
    key = create_operator_key(UnitOfWork(engine), name=name, at=SystemClock().now())
    console.print(key.key, highlight=False, soft_wrap=True)


def _instant(moment: datetime | None) -> str:
    return moment.isoformat(timespec="seconds") if moment else "-"


@operator_key_app.command("list")
def operator_key_list() -> None:
    """List every operator key with its last use (to within a minute) and revocation."""
    from seatledger.services.operator_keys import list_operator_keys
    from seatledger.services.unit_of_work import UnitOfWork

    _, engine = _engine()
    table = Table(title="Operator keys")
    for column in ("id", "name", "created", "last used", "revoked"):
        table.add_column(column, no_wrap=column == "id")
    after = None
    try:
        while page := list_operator_keys(UnitOfWork(engine), limit=500, after=after):
            for k in page:
                table.add_row(
                    k.id,
                    k.name,
                    _instant(k.created_at),
                    _instant(k.last_used_at),
                    _instant(k.revoked_at),
                )
            after = page[-1].id
    finally:
        engine.dispose()
    console.print(table)


@operator_key_app.command("revoke")
def operator_key_revoke(key_id: str = typer.Argument(..., help="The key's id (opk_…).")) -> None:
    """Revoke an operator key: every server refuses it from its next request on."""
    from seatledger.domain.errors import DomainError
    from seatledger.services.operator_keys import revoke_operator_key
    from seatledger.services.unit_of_work import UnitOfWork

    _, engine = _engine()
    try:
        key = revoke_operator_key(UnitOfWork(engine), key_id=key_id, at=SystemClock().now())
    except DomainError as refusal:
        err_console.print(f"[red]Error:[/red] {refusal.message}", highlight=False)
        raise typer.Exit(2) from None
    finally:
        engine.dispose()
    console.print(
        f"Revoked operator key {key.id} ({key.name}) at {_instant(key.revoked_at)}.",
        highlight=False,
    )


def _require_free_port(host: str, port: int) -> None:
    """Refuse to start on a port another process listens on, before doing anything."""
    import socket

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as taken:
            console.print(
                f"[red]Cannot listen on {host}:{port} ({taken.strerror}): choose another "
                "port with --port.[/red]"
            )
            raise typer.Exit(2) from None


@app.command()
def demo(
    host: str = typer.Option("127.0.0.1", help="Interface to listen on."),
    port: int = typer.Option(8000, help="TCP port."),
    serve_it: bool = typer.Option(
        True, "--serve/--no-serve", help="Start the server after seeding."
    ),
) -> None:
    """Create one demo account per seed document, run a year of each, serve the API.

    On the SQLite default unless SEATLEDGER_DATABASE_URL says otherwise. Each account is
    on a test clock set to its worked example (docs/seat-model.md, docs/billing.md).
    """
    from seatledger.services.demo import seed_demo
    from seatledger.services.operator_keys import create_operator_key
    from seatledger.services.unit_of_work import UnitOfWork

    if serve_it:
        _require_free_port(host, port)
    settings, engine = _engine()
    now = SystemClock().now()
    accounts = seed_demo(lambda: UnitOfWork(engine), at=now)
    key = settings.operator_key or create_operator_key(UnitOfWork(engine), name="demo", at=now).key
    table = Table(title="Demo accounts (one per seat policy and its worked example)")
    table.add_column("seed")
    table.add_column("account id", no_wrap=True, min_width=29)
    table.add_column("a year of its model")
    table.add_column("documents", justify="right")
    table.add_column("invoiced", justify="right")
    for a in accounts:
        table.add_row(a.seed, a.account_id, a.summary or a.name, str(a.invoices), a.billed)
    console.print(table)
    url = f"http://{host}:{port}"
    console.print(f"URL:          {url}   (API docs: {url}/docs)", highlight=False)
    console.print(
        f"Console:      {url}/console/operator/sign-in   (sign in with the operator key)",
        highlight=False,
    )
    console.print(f"Operator key: {key}", highlight=False, soft_wrap=True)
    console.print(
        f"Try:          curl -H 'Authorization: Bearer {key}' "
        f"{url}/v1/accounts/{accounts[0].account_id}/pools",
        highlight=False,
        soft_wrap=True,
    )
    engine.dispose()
    if serve_it:
        import uvicorn

        from seatledger.entrypoints.api.factory import build_app

        uvicorn.run(build_app(settings), host=host, port=port, log_level="warning")


export_app = typer.Typer(help="Exports of issued documents.", no_args_is_help=True)
app.add_typer(export_app, name="export")


@export_app.command("invoices")
def export_invoices(
    account: str = typer.Option(
        None, "--account", metavar="ID", help="Only this account (default: every account)."
    ),
    output: str = typer.Option(
        None,
        "--output",
        "-o",
        metavar="FILE",
        help="Write the CSV here (default: standard output).",
    ),
) -> None:
    """Every issued invoice and credit note as CSV, one row per line, zero totals
    included (the columns of GET /v1/accounts/{id}/invoices with Accept: text/csv)."""
    import sys

    from seatledger.adapters.csv_export import write_invoices_csv
    from seatledger.domain.errors import DomainError
    from seatledger.services.invoice_documents import invoices_for_export
    from seatledger.services.unit_of_work import UnitOfWork

    _, engine = _engine()
    try:
        items = invoices_for_export(UnitOfWork(engine), account_id=account)
    except DomainError as refusal:
        Console(stderr=True).print(f"[red]Error:[/red] {refusal.message}", highlight=False)
        raise typer.Exit(2) from None
    finally:
        engine.dispose()
    if output:
        with open(output, "w", newline="", encoding="utf-8") as out:
            written = write_invoices_csv(items, out)
        Console(stderr=True).print(
            f"Wrote {written.documents} documents ({written.rows} rows) to {output}",
            highlight=False,
            soft_wrap=True,
        )
    else:
        write_invoices_csv(items, sys.stdout)


def _parse_day(value: str, option: str) -> date:
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise typer.BadParameter(
            f"{value!r} is not a date (YYYY-MM-DD)", param_hint=option
        ) from None


@app.command("what-if")
def what_if(
    account: str = typer.Option(..., "--account", metavar="ID", help="The account to replay."),
    from_: str = typer.Option(..., "--from", metavar="DATE", help="The first day replayed."),
    to: str = typer.Option(
        ...,
        "--to",
        metavar="DATE",
        help="The day after the last day replayed: [from, to), in the account's past, "
        "at most 5 years.",
    ),
    contract: str = typer.Option(
        ...,
        "--contract",
        metavar="FILE.json",
        help="The terms, as the body of POST /v1/accounts/{id}/contracts "
        "(start_date optional: the account's first contract start).",
    ),
    as_json: bool = typer.Option(
        False, "--json", help="Print the answer of POST /v1/accounts/{id}/what-if."
    ),
) -> None:
    """Price the account's real seat history over [from, to) under other contract terms,
    beside what was really issued. Stores nothing, consumes no number."""
    import json

    from pydantic import ValidationError

    from seatledger.domain.errors import DomainError
    from seatledger.entrypoints.api.schemas import WhatIfContract, WhatIfOut
    from seatledger.services import what_if as service
    from seatledger.services.unit_of_work import UnitOfWork

    start, end = _parse_day(from_, "--from"), _parse_day(to, "--to")
    try:
        with open(contract, "rb") as file:
            terms = WhatIfContract.model_validate_json(file.read())
    except OSError as unreadable:
        raise typer.BadParameter(
            f"{contract}: {unreadable.strerror}", param_hint="--contract"
        ) from None
    except ValidationError as invalid:
        for error in invalid.errors():
            where = ".".join(str(p) for p in error["loc"]) or "contract"
            err_console.print(
                f"[red]Error:[/red] {contract}: {where}: {error['msg']}", highlight=False
            )
        raise typer.Exit(2) from None
    _, engine = _engine()
    try:
        result = service.what_if(
            UnitOfWork(engine),
            account_id=account,
            start=start,
            end=end,
            contract=terms.model_dump(),
            at=SystemClock().now(),
        )
    except DomainError as refusal:
        where = f" ({refusal.field})" if refusal.field else ""
        err_console.print(f"[red]Error{where}:[/red] {refusal.message}", highlight=False)
        raise typer.Exit(2) from None
    finally:
        engine.dispose()
    answer = WhatIfOut.of(account, result)
    if as_json:
        typer.echo(json.dumps(answer.model_dump(mode="json"), indent=2))
        return
    table = Table(title=f"What-if for {account}, {start} – {end} (end excluded)")
    for column in ("", "issued at", "number", "type", "kind", "total"):
        table.add_column(column, justify="right" if column == "total" else "left")
    for side, documents in (("actual", answer.actual), ("what-if", answer.what_if)):
        for doc in documents:
            table.add_row(
                side,
                doc.issued_at.isoformat(),
                doc.number or "—",
                doc.type,
                doc.kind,
                f"-{doc.total}" if doc.type == "credit_note" else doc.total,
            )
    console.print(table)
    console.print(f"Difference: {answer.difference} {answer.currency}", highlight=False)


def _safe(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


if __name__ == "__main__":  # pragma: no cover
    app()


@audit_app.command("verify")
def audit_verify(
    account: str | None = typer.Option(None, "--account", help="Only this account's chain."),
) -> None:
    """Check every audit chain from its first entry to its head: names the first
    broken link of each chain (an entry edited, deleted, reordered or added
    behind the log's back, or last entries removed). Exit code 1 if any."""
    from seatledger.domain.errors import DomainError
    from seatledger.services.audit import verify_audit
    from seatledger.services.unit_of_work import UnitOfWork

    _, engine = _engine()
    try:
        result = verify_audit(lambda **kw: UnitOfWork(engine, **kw), account_id=account)
    except DomainError as refusal:
        err_console.print(f"[red]Error:[/red] {refusal.message}", highlight=False)
        raise typer.Exit(2) from None
    finally:
        engine.dispose()
    for broken in result.breaks:
        err_console.print(
            f"[red]Broken:[/red] chain {broken.chain} at entry {broken.position}: {broken.reason}",
            highlight=False,
        )
    if result.breaks:
        raise typer.Exit(1)
    console.print(
        f"[green]Audit log intact:[/green] {result.chains} chains, {result.entries} entries.",
        highlight=False,
    )
