"""API fuzzing with schemathesis: whatever a client sends, the server answers
as its OpenAPI document says (a status the operation declares, its media type,
headers and body schema), and never 5xx.

The OpenAPI document is read from the live server (the ``api`` fixture: a real
uvicorn server, on SQLite and on PostgreSQL), and every operation in it is
called with Hypothesis-generated requests, carrying the operator key:

- *positive* requests fit the schema, so they reach the services: the business
  rules must refuse them with a 4xx, never crash;
- *negative* requests break it (wrong types, missing or unknown fields, values
  out of range, odd strings): validation must refuse them with a 4xx. Only an
  operation with a body or query parameters has something to break: a path id
  is any string as far as the schema goes.

So that requests get past "not found" into the real code paths, each operation
first seeds a fresh account (test clock, contract, user, issued invoice,
pending seat request) and half of the requests use its ids in the path, the
other half generated ones. A fresh seed per operation keeps one operation's
fuzzing (a DELETE of the user, a void of the invoice) from starving the next.

Bounded and reproducible: ``MAX_EXAMPLES`` per operation and mode,
``derandomize=True`` (the same requests on every run), no shrinking, and no
Hypothesis example database (``database=None``: nothing is saved in the
repository). ``SEATLEDGER_STRESS=1`` runs ten times more examples.

The checks are ``CHECKS``: schemathesis' ``not_a_server_error``,
``status_code_conformance``, ``content_type_conformance``,
``response_headers_conformance`` and ``response_schema_conformance``. Every
failing operation is collected and the test fails once, listing them all, each
with a curl command that reproduces the request (the key shows as
``[Filtered]``).
"""

from __future__ import annotations

import os
import time
from typing import TYPE_CHECKING, Any

import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

if TYPE_CHECKING:
    from tests.e2e.conftest import Api

STRESS = os.environ.get("SEATLEDGER_STRESS", "").strip() not in ("", "0")
MAX_EXAMPLES = 15 * (10 if STRESS else 1)
REQUEST_TIMEOUT = 30.0  # a request that hangs fails its operation instead of the run
MODES = (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
# Every answer is one the document declares: its status, its media type, its
# headers and its body's schema (a generated client relies on each), and none is
# a 5xx.
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]

FUZZ_SETTINGS = settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    # No shrinking: a failure is reported at once with its curl command, and a
    # failing run stays as short as a passing one (derandomize reproduces it).
    phases=(Phase.explicit, Phase.generate),
    suppress_health_check=list(HealthCheck),
    report_multiple_bugs=False,
    print_blob=False,
)


def _seed(api: Api) -> dict[str, str]:
    """A test-clock account with a contract, a user, an issued invoice and a
    pending seat request: ids the path parameters may take (by their names)."""
    account = api.create_account(test_clock=True, clock_start="2026-01-01T00:00:00Z")
    account_id = str(account["id"])
    api.create_contract(
        account_id, [api.terms("console", 5, unit_price="30.00")], increase_approval="operator"
    )
    user = api.create_user(account_id)
    moved = api.ok(
        api.client.post(f"/v1/accounts/{account_id}/clock", json={"now": "2026-02-01T00:00:00Z"})
    )
    assert moved["invoices"], moved
    request = api.ok(
        api.client.post(
            f"/v1/accounts/{account_id}/seat-requests",
            json={"module": "console", "target_capacity": 6},
        ),
        201,
    )
    assert request["status"] == "pending", request
    return {
        "account_id": account_id,
        "user_id": str(user["id"]),
        "invoice_id": str(moved["invoices"][0]["id"]),
        "request_id": str(request["id"]),
    }


def _strategies(operation: Any, mode: GenerationMode, seeded: dict[str, str]) -> list[Any]:
    """The requests of one operation in one mode: with generated path ids and,
    when the path names seeded ones, with those."""
    if mode is GenerationMode.NEGATIVE and not (len(operation.body) or len(operation.query)):
        return []  # nothing schemathesis could break: it would find no example at all
    out = [operation.as_strategy(generation_mode=mode)]
    fixed = {p.name: seeded[p.name] for p in operation.path_parameters if p.name in seeded}
    if fixed:
        out.append(operation.as_strategy(generation_mode=mode, path_parameters=fixed))
    return out


def _fuzzer(
    strategy: Any, api: Api, session: requests.Session, headers: dict[str, str], sent: list[int]
) -> Any:
    @FUZZ_SETTINGS
    @given(case=strategy)
    def fuzz(case: Any) -> None:
        sent[0] += 1
        case.call_and_validate(
            base_url=api.url,
            session=session,
            headers=headers,
            checks=CHECKS,
            timeout=REQUEST_TIMEOUT,
        )

    return fuzz


def test_every_answer_to_any_request_is_the_documented_one_and_none_is_5xx(api: Api) -> None:
    auth = {"Authorization": f"Bearer {api.key}"}
    schema = schemathesis.openapi.from_url(
        f"{api.url}/openapi.json",
        config=schemathesis.Config(),  # no schemathesis.toml discovery: the run is this file
        headers=auth,
        timeout=REQUEST_TIMEOUT,
    )
    operations = [result.ok() for result in schema.get_all_operations()]  # Err raises
    served = {
        f"{method.upper()} {path}"
        for path, methods in api.app.openapi()["paths"].items()
        for method in methods
    }
    assert {op.label for op in operations} == served

    failures: list[str] = []
    requests_by_operation: dict[str, int] = {}
    started = time.monotonic()
    with requests.Session() as session:
        for operation in operations:
            seeded = _seed(api)
            sent = [0]
            for mode in MODES:
                strategies = _strategies(operation, mode, seeded)
                if not strategies:
                    continue
                fuzz = _fuzzer(st.one_of(strategies), api, session, auth, sent)
                try:
                    fuzz()
                except (Exception, schemathesis.errors.FailureGroup) as exc:
                    # A 5xx (a FailureGroup), a timeout, a refused connection: note
                    # it and go on, so that one run lists every failing operation.
                    failures.append(f"{operation.label} [{mode.value}]: {exc}")
            requests_by_operation[operation.label] = sent[0]
    elapsed = time.monotonic() - started

    print(
        f"\nschemathesis {schemathesis.__version__}: {len(operations)} operations, "
        f"{sum(requests_by_operation.values())} requests in {elapsed:.1f}s "
        f"(max_examples={MAX_EXAMPLES} per operation and mode)"
    )
    assert not failures, f"{len(failures)} failing:\n\n" + "\n\n".join(failures)
    never_called = [label for label, n in requests_by_operation.items() if n == 0]
    assert not never_called, f"operations never called: {never_called}"


def test_the_requests_fuzzing_found_answer_4xx(api: Api) -> None:
    """The 5xx the fuzzing found (and their neighbours, found while fixing
    them), replayed: each is now a 4xx."""
    seeded = _seed(api)
    account = f"/v1/accounts/{seeded['account_id']}"
    # PostgreSQL refuses a NUL in a text column (a DataError); SQLite stores it.
    reject = api.client.post(
        f"/v1/seat-requests/{seeded['request_id']}/reject", json={"reason": "z\u0000B"}
    )
    assert reject.status_code < 500, reject.text
    # Instants whose UTC conversion overflows Python's calendar (year 1 / 9999).
    for moment in ("0001-01-01T00:01:01+01:00", "9999-12-31T23:59:59-01:00"):
        api.problem(api.client.post(f"{account}/clock", json={"now": moment}), 422, field="now")
        api.problem(api.client.post("/v1/billing-runs", json={"as_of": moment}), 422)
        started = {"name": "Late", "currency": "EUR", "test_clock": True, "clock_start": moment}
        api.problem(api.client.post("/v1/accounts", json=started), 422, field="clock_start")
    # A naive clock_start used to reach the UTC column type and fail there.
    naive = {
        "name": "Naive",
        "currency": "EUR",
        "test_clock": True,
        "clock_start": "2026-01-01T00:00:00",
    }
    api.problem(api.client.post("/v1/accounts", json=naive), 422, field="clock_start")
    # A contract ending in 9999: its next period overflowed in the upcoming invoice.
    body = {
        "start_date": "2026-03-01",
        "end_date": "9999-12-31",
        "billing_interval": "month",
        "pools": [api.terms("console", 5)],
    }
    api.problem(api.client.post(f"{account}/contracts", json=body), 422, field="end_date")
    # A clock move across centuries ran for minutes holding the account's lock
    # (on SQLite the database's): the other requests then answered 503.
    far = api.client.post(f"{account}/clock", json={"now": "4803-12-08T05:30:02Z"}, timeout=10)
    api.problem(far, 422, field="now")
    assert api.ok(api.client.get(f"{account}/invoices/upcoming")) is not None
