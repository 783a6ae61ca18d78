"""The console's pages against the API's own answers, in a real browser:

- a form posted without its CSRF token is refused and nothing is applied;
- signing out ends the session: the old cookie signs nobody in, its token is 401;
- Users: the columns and the per-module counts of known users, the Status filter;
- Billing: per module the licenses and the existing users;
- Plan: the next invoice as GET …/invoices/upcoming has it; a credit note listed
  and downloaded as its PDF;
- the operator view: a request approved at the renewal, one rejected with a
  reason, and what-if's two totals side by side as POST …/what-if has them;
- no page loads anything from another site;
- the Create user dialog by keyboard only.
"""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path
from typing import Any

from tests.e2e.console.browser import Console

STALE = "This page was opened in an earlier session: sign in again. Nothing was changed."
STALE_FORM = "This form was out of date: nothing was done. Send it again."


def _without_csrf(form: Any) -> None:
    """Takes the CSRF field out of a form on the page (as a forged form would lack it)."""
    form.evaluate("f => f.querySelectorAll('input[name=csrf]').forEach(i => i.remove())")
    assert form.locator("input[name=csrf]").count() == 0


def _sent_to_sign_in(page: Any) -> None:
    page.wait_for_url(re.compile(r"/console/sign-in\?.*why=stale"))
    assert page.get_by_text(STALE).is_visible()
    assert page.get_by_label("Password").is_visible()


def test_a_form_without_its_csrf_token_is_refused_and_nothing_is_applied(
    console: Console,
) -> None:
    api = console.api
    account = api.account_with_pools(api.terms("console", 5, unit_price="10.00", minimum=2))
    owner = console.person(account, "owner")
    mia = api.create_user(account, first_name="Mia", last_name="Member")
    page = console.sign_in(owner)
    users = f"/console/{account}/users"
    before = api.snapshot(account)

    # Create user: the dialog filled, its form without the token.
    dialog = console.open_create_user()
    dialog.get_by_label("First name").fill("Finn")
    dialog.get_by_label("Last name").fill("Forged")
    dialog.get_by_label("Email").fill("finn@example.com")
    _without_csrf(dialog.locator("form"))
    dialog.get_by_role("button", name="Save").click()
    _sent_to_sign_in(page)
    assert api.snapshot(account) == before

    # Deactivate a user, the row's form without the token.
    page.goto(users)
    _without_csrf(page.locator(f"form[action$='/users/{mia['id']}/deactivate']"))
    page.get_by_role("button", name="Deactivate Mia Member").click()
    _sent_to_sign_in(page)
    assert api.snapshot(account) == before

    # Billing's Save: the preview shown, then the form without the token.
    page.goto(f"/console/{account}/billing")
    dialog, preview = console.edit_capacity("console", 6)
    assert preview.startswith("+1 seat will be requested")
    _without_csrf(dialog.locator("form"))
    dialog.get_by_role("button", name="Save").click()
    _sent_to_sign_in(page)
    assert api.snapshot(account) == before
    assert api.pool(account)["capacity"] == 5

    # The same posts made outside a page: no token, an empty one, an htmx request
    # without its header. Each is sent to sign in, nothing applied.
    fields = {"first_name": "Gus", "last_name": "Ghost", "email": "gus@example.com"}
    for form, headers in (
        (fields, {}),
        ({**fields, "csrf": ""}, {}),
        ({"module": "console", "target_capacity": "7", "form_key": "k" * 20}, {}),
        (fields, {"HX-Request": "true"}),
    ):
        target = f"/console/{account}/billing" if "module" in form else users
        answer = page.request.post(target, form=form, headers=headers, max_redirects=0)
        where = answer.headers.get("hx-redirect") or answer.headers.get("location", "")
        assert answer.status in (200, 303) and "/console/sign-in?" in where, (answer.status, where)
        assert "why=stale" in where
    assert api.snapshot(account) == before

    # The sign-in form itself without its token: shown again, nobody signed in anew.
    other = console.new_page()
    other.goto(f"/console/sign-in?account={account}")
    other.get_by_label("Email").fill(owner.email)
    other.get_by_label("Password").fill("correct horse battery")
    _without_csrf(other.locator("form", has=other.get_by_label("Password")))
    other.get_by_role("button", name="Sign in").click()
    other.get_by_text(STALE_FORM).wait_for()
    assert "/console/sign-in" in other.url
    assert not [c for c in other.context.cookies() if c["name"] == "seatledger_session"]

    # The control: with its token the same dialog saves.
    page.goto(users)
    console.create_user("Finn", "Forged")
    assert [u["first_name"] for u in api.users(account)].count("Finn") == 1


def test_signing_out_ends_the_session_and_revokes_its_token(console: Console) -> None:
    api = console.api
    account = api.account_with_pools(api.terms("console", 5))
    owner = console.person(account, "owner")
    page = console.sign_in(owner)
    (cookie,) = [c for c in page.context.cookies() if c["name"] == "seatledger_session"]
    with_token = api.new_client(token=cookie["value"])
    assert with_token.get(f"/v1/accounts/{account}/users").status_code == 200

    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(re.compile(r"/console/sign-in\?why=signed_out$"))
    assert page.get_by_text("You are signed out.").is_visible()
    assert not [c for c in page.context.cookies() if c["name"] == "seatledger_session"]

    # The old cookie put back: it signs nobody in; the token behind it is revoked.
    page.context.add_cookies([cookie])
    page.goto(f"/console/{account}/users")
    page.wait_for_url(re.compile(r"/console/sign-in\?.*why=ended"))
    assert page.get_by_label("Password").is_visible()
    assert "Users" not in page.title()
    assert with_token.get(f"/v1/accounts/{account}/users").status_code == 401
    assert with_token.get("/v1/auth/token").status_code == 401
    page.context.add_cookies([cookie])
    answer = page.request.get(f"/console/{account}/billing", max_redirects=0)
    assert answer.status == 303 and "/console/sign-in?" in answer.headers["location"]


def _staffed_account(console: Console) -> dict[str, Any]:
    """Two modules, a second workspace, profiles of one module and of none, and
    users of each role and status: console 7 of 10 seats, documents 2 of 5."""
    api = console.api
    account = api.account_with_pools(
        api.terms("console", 10, unit_price="15.00", minimum=2),
        api.terms("documents", 5, unit_price="8.00"),
    )
    base = f"/v1/accounts/{account}"
    plant = api.ok(api.client.post(f"{base}/workspaces", json={"name": "Plant B"}), 201)
    (default,) = [
        w for w in api.ok(api.client.get(f"{base}/workspaces"))["data"] if w["is_default"]
    ]
    console_only = api.ok(
        api.client.post(f"{base}/profiles", json={"name": "Console only", "modules": ["console"]}),
        201,
    )["id"]
    login_only = api.ok(
        api.client.post(f"{base}/profiles", json={"name": "Login only", "modules": []}), 201
    )["id"]
    owner = console.person(account, "owner", first_name="Olga", last_name="Owner")
    api.create_user(
        account,
        first_name="Ada",
        last_name="Admin",
        role="admin",
        department="IT",
        workspace_ids=[default["id"], plant["id"]],
    )
    api.create_user(
        account,
        first_name="Mia",
        last_name="Machinist",
        profile_id=console_only,
        workspace_ids=[plant["id"]],
    )
    for first in ("Noah", "Omar", "Pia", "Quinn"):
        api.create_user(account, first_name=first, last_name="Member", profile_id=console_only)
    idle = api.create_user(account, first_name="Ivo", last_name="Idle", profile_id=console_only)
    api.ok(api.client.post(f"{base}/users/{idle['id']}/deactivate"))
    api.create_user(account, first_name="Lou", last_name="Login", profile_id=login_only)
    gone = api.create_user(account, first_name="Del", last_name="Deleted")
    api.ok(api.client.delete(f"{base}/users/{gone['id']}"))
    return {"account": account, "owner": owner, "default": default["name"]}


def test_the_users_list_its_columns_counts_and_status_filter(console: Console) -> None:
    api = console.api
    made = _staffed_account(console)
    account, default = made["account"], made["default"]
    page = console.sign_in(made["owner"])
    assert page.url.endswith(f"/console/{account}/users")

    assert console.count("console") == "7/10 users"
    assert console.count("documents") == "2/5 users"
    assert console.count("Active users") == "8"
    pools = api.pools(account)
    assert (pools["console"]["in_use"], pools["documents"]["in_use"]) == (7, 2)

    # Name, Email, Department, Role, Status, Modules, Workspaces (then the actions).
    rows = {r[0]: r[1:7] for r in console.table(page, "Users")}
    emails = {f"{u['first_name']} {u['last_name']}": u["email"] for u in api.users(account)}
    assert rows["Olga Owner"] == [
        emails["Olga Owner"],
        "",
        "owner",
        "active",
        "console, documents",
        default,
    ]
    assert rows["Ada Admin"][:5] == [emails["Ada Admin"], "IT", "admin", "active"] + [
        "console, documents"
    ]
    assert sorted(rows["Ada Admin"][5].split(", ")) == sorted([default, "Plant B"])
    assert rows["Mia Machinist"] == [emails["Mia Machinist"], "", "member", "active", "console"] + [
        "Plant B"
    ]
    assert rows["Ivo Idle"][2:] == ["member", "inactive", "", default]
    assert rows["Lou Login"][2:] == ["member", "active", "", default]
    assert "Del Deleted" not in rows  # deleted users only when asked for
    assert len(rows) == 9
    # and as the API has them (the workspaces in the user's order)
    names = {
        w["id"]: w["name"]
        for w in api.ok(api.client.get(f"/v1/accounts/{account}/workspaces"))["data"]
    }
    for user in api.users(account):
        name = f"{user['first_name']} {user['last_name']}"
        assert rows[name][2:] == [
            user["role"],
            user["status"],
            ", ".join(user["seats"]),
            ", ".join(names[w] for w in user["workspace_ids"]),
        ], name

    # The Status filter, in the browser.
    page.get_by_label("Status").select_option("inactive")
    with page.expect_navigation():
        page.get_by_role("button", name="Filter").click()
    assert "status=inactive" in page.url
    shown = console.table(page, "Users (filtered)")
    assert [r[0] for r in shown] == ["Ivo Idle"]
    assert [r[4] for r in shown] == ["inactive"]
    assert [u["first_name"] for u in api.users(account, status="inactive")] == ["Ivo"]
    assert page.get_by_label("Status").input_value() == "inactive"  # kept

    page.get_by_label("Status").select_option("deleted")
    with page.expect_navigation():
        page.get_by_role("button", name="Filter").click()
    assert [r[0] for r in console.table(page, "Users (filtered)")] == ["Del Deleted"]

    page.get_by_label("Status").select_option("active")
    with page.expect_navigation():
        page.get_by_role("button", name="Filter").click()
    shown = console.table(page, "Users (filtered)")
    assert {r[4] for r in shown} == {"active"} and len(shown) == 8
    # the counts above the list are the account's, whatever the filter
    assert console.count("console") == "7/10 users"


def test_the_billing_page_shows_each_modules_licenses_and_users(console: Console) -> None:
    api = console.api
    made = _staffed_account(console)
    account = made["account"]
    page = console.sign_in(made["owner"])
    page.get_by_role("link", name="Billing").click()
    page.wait_for_url(re.compile(r"/billing$"))

    rows = {r[0]: r[1:5] for r in console.table(page, "User licenses")}
    # Module: Number of user licenses, Number of existing users, Minimum, Price per seat
    assert rows == {
        "console": ["10", "7", "2", "15.00 EUR"],
        "documents": ["5", "2", "0", "8.00 EUR"],
    }
    for module, pool in api.pools(account).items():
        assert rows[module][:2] == [str(pool["capacity"]), str(pool["in_use"])], module

    # EDIT shows the same figures for its module.
    page.get_by_role("button", name="EDIT the licenses of documents").click()
    dialog = page.get_by_role("dialog", name="User licenses: documents")
    assert dialog.get_by_label("Number of user licenses").input_value() == "5"
    assert "Number of existing users: 2" in dialog.inner_text()

    # A user more: the page follows.
    api.create_user(account, first_name="Rui", last_name="Recent")
    page.reload()
    rows = {r[0]: r[1:3] for r in console.table(page, "User licenses")}
    assert rows == {"console": ["10", "8"], "documents": ["5", "3"]}


def _money(amount: str, currency: str = "EUR") -> str:
    return f"{amount} {currency}"


def test_the_plan_shows_the_next_invoice_and_a_credit_note_downloads_as_pdf(
    console: Console,
) -> None:
    api = console.api
    account = api.account_with_pools(
        api.terms("console", 3, unit_price="15.00", minimum=2),
        api.terms("documents", 2, unit_price="8.00"),
    )
    owner = console.person(account, "owner")
    api.create_user(account, first_name="Mia", last_name="Member")
    raised = api.ok(
        api.client.post(
            f"/v1/accounts/{account}/seat-requests",
            json={"module": "console", "target_capacity": 4},
        ),
        201,
    )
    assert raised["status"] == "applied"  # charged now: an invoice
    (invoice,) = api.ok(api.client.get(f"/v1/accounts/{account}/invoices"))["data"]
    note = api.ok(
        api.client.post(
            f"/v1/invoices/{invoice['id']}/credit-notes",
            json={"amount": "5.00", "reason": "Goodwill"},
        ),
        201,
    )
    upcoming = api.ok(api.client.get(f"/v1/accounts/{account}/invoices/upcoming"))
    assert upcoming and upcoming["lines"]

    page = console.sign_in(owner)
    page.get_by_role("link", name="Plan").click()
    page.wait_for_url(re.compile(r"/plan$"))
    next_invoice = page.get_by_role("region", name="Next invoice", exact=True)
    assert f"issued on {upcoming['issued_at'][:10]}" in next_invoice.inner_text()
    if upcoming["period_start"]:
        span = f"for {upcoming['period_start']} – {upcoming['period_end']}"
        assert span in next_invoice.inner_text()
    lines = console.table(page, "Lines of the next invoice")
    currency = upcoming["currency"]
    assert lines == [
        [
            line["description"],
            str(line["quantity"]),
            _money(line["unit_price"], currency),
            _money(line["amount"], currency),
        ]
        for line in upcoming["lines"]
        if line["kind"] != "tax"
    ]
    table = page.locator("table", has=page.locator("#next-caption"))
    sums = {
        r[0]: r[1]
        for r in (
            [
                c.strip()
                for c in table.locator("tfoot tr").nth(i).locator("th, td").all_inner_texts()
            ]
            for i in range(table.locator("tfoot tr").count())
        )
    }
    assert sums == {
        "Subtotal": _money(upcoming["subtotal"], currency),
        "Tax": _money(upcoming["tax"], currency),
        "Total": _money(upcoming["total"], currency),
    }

    # Invoices and credit notes: the note listed with the invoice it credits, its PDF.
    page.get_by_role("link", name="Invoices and credit notes").click()
    page.wait_for_url(re.compile(r"/invoices$"))
    rows = {r[0]: r[1:6] for r in console.table(page, "Invoices and credit notes")}
    assert rows[note["number"]] == [
        f"Credit note for {invoice['number']}",
        note["issued_at"][:10],
        f"{note['period_start']} – {note['period_end']}" if note["period_start"] else "",
        _money(note["total"], currency),
        note["status"],
    ]
    assert rows[invoice["number"]][0] == "Invoice"
    assert note["total"] == "5.00"
    with page.expect_download() as caught:
        page.get_by_role("link", name=f"PDF of {note['number']}").click()
    pdf = Path(caught.value.path()).read_bytes()
    assert pdf.startswith(b"%PDF-"), pdf[:20]
    assert b"%%EOF" in pdf[-1024:]
    assert caught.value.suggested_filename.endswith(".pdf")
    # the very document the API serves for the note (rendered once and kept)
    served = api.client.get(f"/v1/invoices/{note['id']}", headers={"Accept": "application/pdf"})
    assert served.status_code == 200 and served.content == pdf


def _total(documents: list[dict[str, Any]]) -> Decimal:
    """What documents bill: credit notes count negative, void invoices not at all."""
    signs = {"invoice": 1, "credit_note": -1}
    return sum(
        (signs[d["type"]] * Decimal(d["total"]) for d in documents if d["status"] != "void"),
        Decimal("0.00"),
    )


def test_the_operator_approves_at_the_renewal_rejects_with_a_reason_and_prices_a_what_if(
    console: Console,
) -> None:
    api = console.api
    made = console.rich_account()  # console 4 seats, 4 in use, a request to 6 pending
    account = made["account"]
    requests = f"/v1/accounts/{account}/seat-requests"
    (to_six,) = api.ok(api.client.get(requests))["data"]
    noah = next(u for u in api.users(account) if u["first_name"] == "Noah")
    api.ok(api.client.delete(f"/v1/accounts/{account}/users/{noah['id']}"))  # 3 in use
    to_three = api.ok(
        api.client.post(requests, json={"module": "console", "target_capacity": 3}), 201
    )
    assert to_six["status"] == to_three["status"] == "pending"

    page = console.sign_in_operator()
    page.get_by_role("link", name="Seat requests").click()
    # An increase applies when approved: it is offered no renewal.
    increase = page.get_by_role("row", name=re.compile("4 → 6"))
    assert increase.get_by_label("at the renewal").count() == 0
    assert increase.get_by_text("An increase applies when approved.").is_visible()

    decrease = page.get_by_role("row", name=re.compile("4 → 3"))
    decrease.get_by_label("now").check()
    decrease.get_by_label("at the renewal").check()
    with page.expect_navigation():
        decrease.get_by_role("button", name="Approve").click()
    assert "(4 → 3) of account" in console.flash() and "is scheduled" in console.flash()

    increase = page.get_by_role("row", name=re.compile("4 → 6"))
    increase.get_by_label("Reason to reject").fill("Two seats more wait for the new budget")
    with page.expect_navigation():
        increase.get_by_role("button", name="Reject").click()
    assert "is rejected (Two seats more wait for the new budget)" in console.flash()

    decided = {r["id"]: r for r in api.ok(api.client.get(requests))["data"]}
    assert (decided[to_three["id"]]["status"], decided[to_three["id"]]["effective"]) == (
        "scheduled",
        "renewal",
    )
    assert (decided[to_six["id"]]["status"], decided[to_six["id"]]["reason"]) == (
        "rejected",
        "Two seats more wait for the new budget",
    )
    assert api.pool(account)["capacity"] == 4  # nothing applied now
    scheduled = console.table(page, "Approved for the renewal")
    assert [r[:3] for r in scheduled] == [[account, "console", "4 → 3"]]
    assert console.table(page, "Waiting for a decision") == [["No request is waiting."]]

    # What-if: another price over the account's history, beside what was billed.
    page.goto(f"/console/operator/accounts/{account}")
    start, end = (
        page.get_by_label("From").input_value(),
        page.get_by_label("To (not included)").input_value(),
    )
    page.get_by_label("Unit price (EUR)").fill("12.00")
    page.get_by_role("button", name="Price it").click()
    page.get_by_role("heading", name="Would have billed").wait_for()
    body = {
        "from": start,
        "to": end,
        "contract": {
            "billing_interval": "month",
            "pools": [
                {
                    "module": "console",
                    "capacity": 4,
                    "minimum": 2,
                    "unit_price": "12.00",
                    "policy": "inactive_when_full",
                }
            ],
        },
    }
    answer = api.ok(api.client.post(f"/v1/accounts/{account}/what-if", json=body))
    billed, would = _total(answer["actual"]), _total(answer["what_if"])
    assert answer["actual"] and billed != would  # something to compare
    assert Decimal(answer["difference"]) == would - billed
    shown_billed = page.get_by_role("region", name="Billed", exact=True).locator(".total")
    shown_would = page.get_by_role("region", name="Would have billed", exact=True).locator(".total")
    assert shown_billed.inner_text().strip() == _money(f"{billed:.2f}")
    assert shown_would.inner_text().strip() == _money(f"{would:.2f}")
    difference = page.locator("p", has_text="Difference:").inner_text()
    assert difference.strip() == f"Difference: {_money(answer['difference'])}"
    # side by side: on one line, Billed first
    left, right = shown_billed.bounding_box(), shown_would.bounding_box()
    assert left and right
    assert abs(left["y"] - right["y"]) < 2 and left["x"] + left["width"] <= right["x"]


def test_no_page_loads_anything_from_another_site(console: Console) -> None:
    made = console.rich_account()
    account, owner = made["account"], made["owner"]
    guest, person, operator = console.page, console.new_page(), console.new_page()
    console.sign_in(owner, person)
    console.sign_in_operator(operator)
    run = operator.get_by_role("link", name="Billing runs")
    run.click()
    with operator.expect_navigation():
        operator.get_by_role("button", name="Run billing").click()
    run_page = operator.url
    visited = [
        (guest, "/console/sign-in"),
        (guest, "/console/operator/sign-in"),
        (guest, "/console/setup"),
        (person, f"/console/{account}/users"),
        (person, f"/console/{account}/users/{owner.user_id}"),
        (person, f"/console/{account}/billing"),
        (person, f"/console/{account}/plan"),
        (person, f"/console/{account}/invoices"),
        (person, f"/console/{account}/activity"),
        (person, "/console/operator"),  # not allowed: its page too
        (operator, "/console/operator"),
        (operator, "/console/operator/seat-requests"),
        (operator, "/console/operator/billing-runs"),
        (operator, run_page),
        (operator, f"/console/operator/accounts/{account}"),
    ]
    for page, url in visited:
        before = len(console.requests)
        page.goto(url)  # its scripts and style sheet loaded (the load event)
        assert console.foreign_assets(page) == [], url
        made_here = [u for _, u in console.requests[before:]]
        assert made_here, url
        assert [u for u in made_here if not console.same_origin(u)] == [], url
    # the dialogs, the previews (htmx) and the live Activity stream too
    person.goto(f"/console/{account}/users")
    dialog = console.open_create_user(person)
    console.wait_preview(dialog, "Not enough")
    dialog.get_by_label("Add user license").check()  # the preview asked again (htmx)
    console.wait_preview(dialog, "will be added")
    person.goto(f"/console/{account}/billing")
    console.edit_capacity("console", 5, person)
    with person.expect_request(re.compile(r"/activity/stream")):
        person.goto(f"/console/{account}/activity")
    loaded = {u.split("?")[0] for _, u in console.requests}
    origin = console.api.url.rstrip("/")
    for asset in ("console.css", "htmx.min.js", "console.js"):
        assert f"{origin}/console/static/{asset}" in loaded
    assert f"{origin}/console/{account}/users/preview" in loaded
    assert f"{origin}/console/{account}/billing/preview" in loaded
    assert f"{origin}/console/{account}/activity/stream" in loaded
    assert console.foreign_requests() == []


def _focused(page: Any) -> str:
    return str(page.evaluate("document.activeElement.id || document.activeElement.tagName"))


def test_the_create_user_dialog_by_keyboard_only(console: Console) -> None:
    api = console.api
    account = api.account_with_pools(api.terms("console", 5))
    page = console.sign_in(console.person(account, "owner"))
    dialog = page.get_by_role("dialog", name="Create user")
    opener = page.get_by_role("button", name="Create user")

    page.locator("body").focus()
    console.tab_to(page, opener)
    page.keyboard.press("Enter")
    dialog.wait_for()
    assert dialog.evaluate("d => d.open && d.contains(document.activeElement)")
    assert _focused(page) == "f-first_name"  # the first field

    page.keyboard.type("Kai")
    page.keyboard.press("Tab")
    assert _focused(page) == "f-last_name"
    page.keyboard.type("Keys")
    page.keyboard.press("Tab")
    assert _focused(page) == "f-email"
    page.keyboard.type("kai@example.com")
    assert dialog.get_by_label("First name").input_value() == "Kai"
    assert dialog.get_by_label("Email").input_value() == "kai@example.com"
    # Tab stays in the dialog (it is modal): through every control and round again
    # (Chromium may hand the focus to its own window between two rounds: the body)
    for _ in range(30):
        page.keyboard.press("Tab")
        inside = dialog.evaluate("d => d.contains(document.activeElement)")
        assert inside or _focused(page) == "BODY", _focused(page)

    page.keyboard.press("Escape")
    dialog.wait_for(state="hidden")
    assert not page.locator("dialog#create-user").evaluate("d => d.open")
    assert opener.evaluate("el => el === document.activeElement")  # focus back on the button
    assert "kai@example.com" not in {u["email"] for u in api.users(account)}

    # Again, and Enter in a field sends it.
    page.keyboard.press("Enter")
    dialog.wait_for()
    assert _focused(page) == "f-first_name"
    page.keyboard.type("Kai")
    page.keyboard.press("Tab")
    page.keyboard.type("Keys")
    page.keyboard.press("Tab")
    page.keyboard.type("kai@example.com")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert "User Kai Keys was created" in console.flash()
    assert "kai@example.com" in {u["email"] for u in api.users(account)}
