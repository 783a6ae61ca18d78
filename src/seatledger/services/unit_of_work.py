"""The unit of work: one transaction, explicit commit, rollback by default."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, replace
from datetime import datetime
from types import TracebackType
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine

from seatledger.adapters.db import pipeline, read_cache, tables
from seatledger.adapters.db import repositories as repo
from seatledger.adapters.db.engine import writer_turn
from seatledger.adapters.db.repositories.idempotency import (
    IdempotencyClaim,
    IdempotencyKeys,
    IdempotencyKeyTaken,
)
from seatledger.domain import audit
from seatledger.domain.accounts import Account
from seatledger.domain.errors import NotFound
from seatledger.domain.ids import new_id
from seatledger.domain.invoicing import IssuedInvoice, document_number
from seatledger.domain.parties import Party

_T = TypeVar("_T")
_OWNED = {
    "invoice": (tables.invoices, "id", "invoice_id"),
    "seat_request": (tables.seat_requests, "id", "request_id"),
    "invitation": (tables.invitations, "token_hash", "token"),
    "setup_token": (tables.users, "setup_token_hash", "token"),
    "user_token": (tables.user_tokens, "token_hash", "token"),
}


@dataclass(frozen=True)
class _Draft:
    """A document issued in this transaction, to number at its end: ``change`` is
    the index of its ``<type>.issued`` change, rewritten with the number."""

    change: int
    document: IssuedInvoice
    sequence: str


class UnitOfWork:
    """``with uow:`` opens a transaction; nothing is kept unless the use case
    calls ``uow.commit()``. Enter it once per use case.

    ``idempotency``: the request's ``Idempotency-Key`` (entrypoints/api/idempotency.py),
    claimed by the first commit, in the same transaction as the use case's effect.

    ``actor`` and ``request_id``: who asks ("operator:<id>", "user:<id>",
    "scim:<id>", or ``audit.SYSTEM``) and the request's id, written with every
    change the use case records (``record``); the commit writes the recorded
    changes to the audit log and the webhook outbox in the same transaction.

    A use case that composes others' work calls their steps (``*_step``, which
    run inside an open unit of work and never commit), never the use cases: a
    unit of work is entered once."""

    conn: Connection

    def __init__(
        self,
        engine: Engine,
        *,
        idempotency: IdempotencyClaim | None = None,
        actor: str = audit.SYSTEM,
        request_id: str | None = None,
        snapshot: bool = False,
    ) -> None:
        """``snapshot``: every read of the transaction sees one moment of the
        database (REPEATABLE READ on PostgreSQL; a SQLite read transaction does)."""
        self.snapshot = snapshot
        self.engine = engine
        self.idempotency = idempotency
        self.actor = actor
        self.request_id = request_id

    def __enter__(self) -> UnitOfWork:
        if getattr(self, "_tx", None) is not None and self._tx.is_active:
            raise RuntimeError("a unit of work is entered once: call the use case's step")
        self.conn = self.engine.connect()
        if self.snapshot and self.conn.dialect.name == "postgresql":
            self.conn = self.conn.execution_options(isolation_level="REPEATABLE READ")
        self._tx = self.conn.begin()
        # PostgreSQL: the writes no one reads back go without waiting (pipeline.py).
        pipeline.allow(self.conn)
        c = self.conn
        self.accounts = repo.Accounts(c)
        self.workspaces = repo.Workspaces(c)
        self.profiles = repo.Profiles(c)
        self.contracts = repo.Contracts(c)
        self.pools = repo.Pools(c)
        self.users = repo.Users(c)
        self.seats = repo.Seats(c)
        self.ledger = repo.Ledger(c)
        self.invitations = repo.Invitations(c)
        self.seat_requests = repo.SeatRequests(c)
        self.operator_keys = repo.OperatorKeys(c)
        self.scim_tokens = repo.ScimTokens(c)
        self.user_tokens = repo.UserTokens(c)
        self.invoices = repo.Invoices(c)
        self.invoice_pdfs = repo.InvoicePdfs(c)
        self.accounts_locked: dict[str, Account] = {}
        self.markers = repo.BillingMarkers(c)
        self.billing_states = repo.BillingStates(c)
        self.billing_runs = repo.BillingRuns(c)
        self.billing_jobs = repo.BillingJobs(c)
        self.settings = repo.Settings(c)
        self.idempotency_keys = IdempotencyKeys(c)
        self.audit_log = repo.AuditLog(c)
        self.webhook_endpoints = repo.WebhookEndpoints(c)
        self.webhook_outbox = repo.WebhookOutbox(c)
        self._changes: list[audit.Change] = []
        self._heads: dict[str, audit.Head] = {}  # of locked accounts' chains, as now
        self._writer_turn: AbstractContextManager[None] | None = None  # SQLite, engine.py
        self._drafts: list[_Draft] = []  # documents issued, numbered at commit
        self._documents: dict[str, IssuedInvoice] = {}  # by id, as they are now
        self._unstored: list[IssuedInvoice] = []  # issued, not written yet
        self._seller: tuple[Party | None] | None = None  # (seller,) once read, None too
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            pipeline.close(self.conn, failing=exc is not None)
            if self._tx.is_active:
                self._tx.rollback()
        finally:
            self._end_writer_turn()
            self.conn.close()

    def record(
        self,
        type: str,
        *,
        subject: str,
        account_id: str | None,
        at: datetime,
        before: Any = None,
        after: Any = None,
        actor: str | None = None,
    ) -> None:
        """A change for the audit log, written at commit in this transaction.
        ``at``: the account's clock; ``before``/``after``: the subject as it was
        and as it is (dataclasses or dicts; secrets are never written);
        ``actor``: only when not the unit of work's (a person signing in)."""
        if type not in audit.EVENT_TYPES:
            raise ValueError(f"unknown audit event type {type!r}")
        if account_id is not None and account_id not in self.accounts_locked:
            raise RuntimeError(f"a change of account {account_id} recorded without its lock")
        self._changes.append(
            audit.Change(
                type=type,
                subject=subject,
                account_id=account_id,
                at=at,
                # NOTE: copied now, so a later change to the objects is not logged.
                before=audit.plain(before),
                after=audit.plain(after),
                actor=actor,
            )
        )

    def _write_audit(self) -> None:
        """Every chain's recorded changes as entries after its head, whatever the
        number of chains (a billing batch writes hundreds): the entries in one
        insert, the heads in one update (which on PostgreSQL also notifies every
        chain); then the outbox. A locked account's head was read with its lock
        (``lock_account``); the other chains' heads (the installation's, a new
        account's, those of accounts locked otherwise) are advanced first, in one
        update, which takes them in turn. A chain's head is taken after its
        account's lock (use cases lock the account first), so writers never wait
        on each other in two orders."""
        changes, self._changes = self._changes, []
        by_chain: dict[str, list[audit.Change]] = {}
        for change in changes:
            by_chain.setdefault(change.chain, []).append(change)
        unheld = {c: len(cs) for c, cs in by_chain.items() if c not in self._heads}
        advanced = self.audit_log.advance_heads(unheld) if unheld else {}
        written: list[audit.AuditEntry] = []
        moves: dict[str, tuple[int, audit.Head]] = {}
        for chain_name, chain_changes in by_chain.items():
            held = chain_name in self._heads
            head = self._heads[chain_name] if held else advanced[chain_name]
            entries, new_head = audit.chain(
                chain_changes,
                head=head,
                ids=(new_id("evt") for _ in chain_changes),
                actor=self.actor,
                request_id=self.request_id,
            )
            # The head is where the lock found it, or where the advance moved it.
            moves[chain_name] = (head.position if held else new_head.position, new_head)
            written.extend(entries)
        self.audit_log.append(written)
        installation = self.audit_log.set_heads(moves)
        for chain_name in self._heads.keys() & moves.keys():
            self._heads[chain_name] = moves[chain_name][1]
        self.webhook_outbox.enqueue(written, at=changes[-1].at, installation=installation)

    def add_document(self, document: IssuedInvoice, *, sequence: str) -> None:
        """Issues a document as a draft (its number is its id), logged as issued;
        written with the other documents of the account at the next ``store_documents``
        (at the latest before the commit), numbered by ``commit`` with every draft of
        the transaction at once, in ``sequence`` (domain.invoicing.sequence_name),
        before the log is written, so that its entry carries its number. The number
        sequences are locked only for that moment."""
        assert document.number == document.id, "a document is issued as a draft"
        # NOTE: its entry's content is written when it is numbered (_number_drafts).
        self.record(
            f"{document.type}.issued",
            subject=f"{document.type}:{document.id}",
            account_id=document.account_id,
            at=document.issued_at,
        )
        self._drafts.append(_Draft(len(self._changes) - 1, document, sequence))
        self._documents[document.id] = document
        self._unstored.append(document)

    def store_documents(self) -> None:
        """Writes the documents issued since the last call (one executemany for
        them, one for their lines): before anything reads documents back."""
        unstored, self._unstored = self._unstored, []
        self.invoices.add(unstored)

    def document(self, document_id: str) -> IssuedInvoice:
        """A document this transaction issued, as it is now: numbered once committed."""
        return self._documents[document_id]

    def _number_drafts(self) -> None:
        """The drafts' numbers, in the order they were issued: each sequence's last
        number read under its lock, the documents numbered, then the sequences
        moved forward in one statement (the database checks every number taken is
        on a document). Credit notes of an invoice issued in the same transaction
        take its number too."""
        drafts, self._drafts = self._drafts, []
        lasts = self.invoices.lock_sequences(sorted({d.sequence for d in drafts}))
        numbers: dict[str, str] = {}
        for draft in drafts:
            lasts[draft.sequence] += 1
            numbers[draft.document.id] = document_number(draft.sequence, lasts[draft.sequence])
        self.invoices.set_numbers(numbers)
        self.invoices.advance_sequences(lasts)
        for draft in drafts:
            doc = draft.document
            numbered = replace(
                doc,
                number=numbers[doc.id],
                credited_invoice_number=numbers.get(
                    doc.credited_invoice_id or "", doc.credited_invoice_number
                ),
            )
            self._documents[doc.id] = numbered
            self._changes[draft.change] = replace(
                self._changes[draft.change], after=audit.plain(numbered)
            )

    @contextmanager
    def savepoint(self) -> Iterator[None]:
        """A part of the transaction that fails alone: on an exception, what it
        wrote (SAVEPOINT ... ROLLBACK TO), recorded and issued is undone, and the
        exception goes on; the transaction carries on without it."""
        self.store_documents()
        changes, drafts = len(self._changes), len(self._drafts)
        nested = self.conn.begin_nested()
        try:
            yield
            self.store_documents()
            pipeline.wait(self.conn)  # what the part sent without waiting fails it
        except BaseException:
            pipeline.discard(self.conn)  # what the part sent and failed unseen
            if nested.is_active:
                nested.rollback()
            for draft in self._drafts[drafts:]:
                self._documents.pop(draft.document.id, None)
            del self._changes[changes:]
            del self._drafts[drafts:]
            self._unstored.clear()
            raise
        nested.commit()

    def commit(self) -> None:
        """Writes the recorded changes to the audit log, then commits. With an
        idempotency key not claimed yet, claims it first: if another request's
        transaction claimed it, nothing of this one is kept and
        IdempotencyKeyTaken is raised (that request's answer is this one's)."""
        # What this commit may change: the accounts it locked, the chains it writes.
        changed = {change.chain for change in self._changes} | self.accounts_locked.keys()
        self.store_documents()
        if self._drafts:
            self._number_drafts()
        if self._changes:
            self._write_audit()
        claim = self.idempotency
        if claim is None or claim.taken:
            # PostgreSQL: the COMMIT follows the writes sent without waiting, and
            # one round trip waits for them all (pipeline.py).
            pipeline.send_commit(self.conn)
            self._tx.commit()
            self._end_writer_turn()
            read_cache.committed(self.engine, changed)
            return
        pipeline.close(self.conn)  # every write's outcome, before the claim
        if not self.idempotency_keys.claim(claim):
            self._tx.rollback()
            raise IdempotencyKeyTaken(claim.key)
        self._tx.commit()
        self._end_writer_turn()
        claim.taken = True
        read_cache.committed(self.engine, changed)

    def _take_writer_turn(self) -> None:
        """SQLite: this process's writers of the database take turns (engine.py
        writer_turn), from the account lock to the transaction's end."""
        if self._writer_turn is None:
            turn = writer_turn(self.engine)
            turn.__enter__()
            self._writer_turn = turn

    def _end_writer_turn(self) -> None:
        turn, self._writer_turn = self._writer_turn, None
        if turn is not None:
            turn.__exit__(None, None, None)

    def lock_account(self, account_id: str) -> Account:
        """Every write use case starts here (see tables.accounts.lock_version); the
        lock also reads the head of the account's audit chain, which only moves
        under it, for the commit to write after."""
        self._take_writer_turn()
        locked = self.accounts.lock(account_id)
        if locked is None:
            raise NotFound(f"account {account_id} not found", field="account_id")
        account, head = locked
        self.accounts_locked[account_id] = account
        if head is not None:
            self._heads[account_id] = head
        return account

    def lock_real_clock_accounts(self, account_ids: list[str]) -> list[Account]:
        """The locks of several accounts at once, those that exist and are on the
        real clock, in id order (a billing batch): first thing, like ``lock_account``."""
        accounts = self.accounts.lock_real_clock(account_ids)
        for account in accounts:
            self.accounts_locked[account.id] = account
        return accounts

    def own_new_account(self, account: Account) -> None:
        """An account this transaction just inserted is its alone, as if locked."""
        self.accounts_locked[account.id] = account

    def lock_account_of(self, kind: str, key: str) -> Account:
        """The account lock of the account that owns an ``invoice`` (by id), a
        ``seat_request`` (by id), an ``invitation``, a ``setup_token`` or a
        ``user_token`` (by token hash), taken first thing; an unknown one is NotFound."""
        table, column, field = _OWNED[kind]
        self._take_writer_turn()
        account = self.accounts.lock_owner(table, column, key)
        if account is None:
            raise NotFound(f"{kind.replace('_', ' ')} not found", field=field)
        self.accounts_locked[account.id] = account
        return account

    def _read_once(self, read: Callable[[Connection], _T]) -> _T:
        """One autocommit statement, no transaction: one round trip, no BEGIN or
        ROLLBACK, for the reads every request makes."""
        with self.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            return read(conn)

    def access_facts(self, **kwargs: object) -> repo.AccessFacts:
        """The access check's hot path."""
        return self._read_once(lambda conn: repo.access_facts(conn, **kwargs))  # type: ignore[arg-type]

    def operator_key(self, key_hash: str) -> Any:
        """The key by its hash, as it is now (every request with an operator key)."""
        return self._read_once(lambda conn: repo.OperatorKeys(conn).by_hash(key_hash))

    def credentials(self, account_id: str, email_key: str) -> Any:
        """The ``user_id`` and ``password_hash`` of the account's user with this
        email, or None: sign-in verifies the password before it takes any lock."""
        return self._read_once(lambda conn: repo.Users(conn).credentials(account_id, email_key))

    def scim_token(self, token_hash: str) -> Any:
        """The SCIM token by its hash, as it is now (every SCIM request)."""
        return self._read_once(lambda conn: repo.ScimTokens(conn).by_hash(token_hash))

    def token_holder(self, token_hash: str) -> repo.TokenHolder | None:
        """The user token with its user and account, as they are now (every
        request with a user token)."""
        return self._read_once(lambda conn: repo.UserTokens(conn).holder(token_hash))

    def seller(self) -> Party | None:
        """The seller settings as this transaction first read them: one query however
        many documents the use case issues."""
        if self._seller is None:
            self._seller = (self.settings.seller(),)
        return self._seller[0]

    def read_account(self, account_id: str) -> Account:
        account = self.accounts.get(account_id)
        if account is None:
            raise NotFound(f"account {account_id} not found", field="account_id")
        return account
