"""Sign-in (issue 9 item 1): every attempt costs one argon2id verification,
whether or not the account, the email or a password exists, so the answer's
timing does not tell an unknown email from a wrong password."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

import pytest
from argon2 import PasswordHasher

from seatledger.adapters.throttle import FailureThrottle
from seatledger.domain.errors import Unauthorized
from seatledger.services import accounts, auth, secrets, users

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
PASSWORD = "correct horse battery"


def test_every_refused_sign_in_verifies_one_argon2id_hash(uow_factory, monkeypatch):
    account = accounts.create_account(uow_factory(), name="Acme", currency="EUR", at=NOW)
    with_password = users.create_user(
        uow_factory(),
        account_id=account.id,
        email="ada@example.com",
        first_name="Ada",
        last_name="Lovelace",
        at=NOW,
        actor="operator:test",
    )
    users.set_password_with_setup_token(
        uow_factory(), token=with_password.setup_token, password=PASSWORD, at=NOW
    )
    users.create_user(
        uow_factory(),
        account_id=account.id,
        email="nopassword@example.com",
        first_name="No",
        last_name="Password",
        at=NOW,
        actor="operator:test",
    )
    verified: list[str] = []

    class CountingHasher(PasswordHasher):
        def verify(self, hash: str | bytes, password: str | bytes) -> Literal[True]:
            assert isinstance(hash, str) and hash.startswith("$argon2id$")
            verified.append(hash)
            return super().verify(hash, password)

    monkeypatch.setattr(secrets, "_ARGON2", CountingHasher())
    attempts = [
        (account.id, "ada@example.com", "wrong password!"),
        (account.id, "nobody@example.com", PASSWORD),
        (account.id, "nopassword@example.com", PASSWORD),
        ("acc_" + "a" * 24, "ada@example.com", PASSWORD),
    ]
    for account_id, email, password in attempts:
        with pytest.raises(Unauthorized) as refused:
            auth.sign_in(
                uow_factory(),
                account_id=account_id,
                email=email,
                password=password,
                at=NOW,
                throttle=FailureThrottle("100/minute"),
            )
        assert refused.value.message == auth.WRONG_CREDENTIALS

    assert len(verified) == len(attempts)
