"""Each seed's story in the console, in a real browser, end to end: sign in,
create users until the pool is full, see that policy's answer, add a license,
edit the capacity with its preview, download an invoice's PDF, and see an
activity entry appear without reloading.

The sentences checked are the seeds' own (seeds/000: "Not enough available
user licenses…", "+1 seat will be requested", "The number of licenses cannot
be less than the minimum set for your account", "Are you sure you want to
delete user …?"); figures are checked against the API's own answers.
"""

from __future__ import annotations

import re
from typing import Any

from tests.e2e.console.browser import Console

SEED_000_WARNING = (
    "Not enough available user licenses to add new active user. You can still create a "
    "user but it will be inactive until you free up the license"
)
BELOW_MINIMUM = "The number of licenses cannot be less than the minimum set for your account"


def _api_preview(console: Console, account_id: str, module: str, target: int) -> str:
    body = {"module": module, "target_capacity": target, "preview": True}
    answer = console.api.client.post(f"/v1/accounts/{account_id}/seat-requests", json=body)
    return str(console.api.ok(answer)["message"])


def _sees_new_activity(console: Console, account_id: str, change: Any) -> None:
    """The Activity page, open: ``change`` (through the API) appears without a reload."""
    page = console.page
    page.get_by_role("link", name="Activity").click()
    rows = page.locator("#activity-rows tr[data-position]")
    before = rows.count()
    page.evaluate("window.__notReloaded = true")
    change()
    page.wait_for_function(
        "n => document.querySelectorAll('#activity-rows tr[data-position]').length > n",
        arg=before,
    )
    assert page.evaluate("window.__notReloaded") is True  # the same page, not a reload
    assert "user.created" in rows.first.inner_text()


def _a_pdf(console: Console) -> None:
    pdf = console.download_first_pdf()
    assert pdf.startswith(b"%PDF-"), pdf[:20]
    assert b"%%EOF" in pdf[-1024:]


def test_seed_000_inactive_when_full_add_license_and_the_billing_tab(console: Console) -> None:
    api = console.api
    account = api.account_with_pools(
        api.terms("console", 3, policy="inactive_when_full", unit_price="15.00", minimum=3)
    )
    owner = console.person(account, "owner")
    page = console.sign_in(owner)
    assert console.count("console") == "1/3 users"

    for first in ("Mia", "Noah"):
        dialog = console.create_user(first, "Engineer")
    assert console.count("console") == "3/3 users"

    dialog = console.open_create_user()
    assert SEED_000_WARNING in console.wait_preview(dialog, "Not enough available")
    assert dialog.get_by_role("group", name="Manage user licenses").is_visible()
    dialog.get_by_label("First name").fill("Ida")
    dialog.get_by_label("Last name").fill("Inactive")
    dialog.get_by_label("Email").fill("ida@example.com")
    with page.expect_navigation():
        dialog.get_by_role("button", name="Save").click()
    assert SEED_000_WARNING in console.flash()
    assert "inactive" in console.flash()
    assert console.count("console") == "3/3 users"

    dialog = console.open_create_user()
    dialog.get_by_label("First name").fill("Lena")
    dialog.get_by_label("Last name").fill("Licensed")
    dialog.get_by_label("Email").fill("lena@example.com")
    dialog.get_by_label("Add user license").check()
    charge = console.wait_preview(dialog, "will be added")
    assert re.search(r"\+1 user license will be added to pool 'console': \d+\.\d\d EUR now", charge)
    with page.expect_navigation():
        dialog.get_by_role("button", name="Save").click()
    assert console.count("console") == "4/4 users"
    assert api.pool(account)["capacity"] == 4

    # The inactive user: activating it is refused with the same sentence, and
    # offers the license.
    page.get_by_role("button", name="Activate Ida Inactive").click()
    page.get_by_role("alert").get_by_text(SEED_000_WARNING).wait_for()
    with page.expect_navigation():
        page.get_by_role("button", name="Activate and add a user license").click()
    assert "Ida Inactive is active" in console.flash()
    assert console.count("console") == "5/5 users"

    # The Billing tab: the preview as the number is typed, then Save.
    dialog, preview = console.edit_capacity("console", 6)
    assert preview.strip() == _api_preview(console, account, "console", 6)
    assert preview.startswith("+1 seat will be requested: ") and preview.strip().endswith("EUR now")
    dialog, preview = console.edit_capacity("console", 2)
    assert preview.strip() == BELOW_MINIMUM
    dialog, preview = console.edit_capacity("console", 6)
    with page.expect_navigation():
        dialog.get_by_role("button", name="Save").click()
    assert "Applied" in console.flash()
    assert api.pool(account)["capacity"] == 6
    assert "applied" in page.locator("#requests-caption + thead + tbody").inner_text().lower()

    _a_pdf(console)
    _sees_new_activity(console, account, lambda: api.create_user(account))

    # Delete, with the seed's confirmation.
    page.get_by_role("link", name="Users").click()
    page.get_by_role("button", name="Delete Noah Engineer").click()
    confirm = page.get_by_role("dialog", name="Delete user")
    assert confirm.get_by_text("Are you sure you want to delete user Noah Engineer?").is_visible()
    with page.expect_navigation():
        confirm.get_by_role("button", name="Delete").click()
    assert "Noah Engineer was deleted" in console.flash()
    assert "Noah" not in {u["first_name"] for u in api.users(account)}


def test_seed_001_true_up_over_the_limit_with_a_warning(console: Console) -> None:
    api = console.api
    account = api.account_with_pools(api.terms("console", 2, policy="true_up", unit_price="12.00"))
    page = console.sign_in(console.person(account, "owner"))
    console.create_user("Mia", "Tester")
    assert console.count("console") == "2/2 users"

    dialog = console.open_create_user()
    warning = console.wait_preview(dialog, "true-up")
    assert (
        "Pool 'console' now has 3 seats in use for 2 purchased: the extra seats will be "
        "billed at the month's close (true-up)." in warning
    )
    dialog.get_by_label("First name").fill("Otto")
    dialog.get_by_label("Last name").fill("Over")
    dialog.get_by_label("Email").fill("otto@example.com")
    with page.expect_navigation():
        dialog.get_by_role("button", name="Save").click()
    assert "billed at the month's close" in console.flash()
    assert console.count("console") == "3/2 users"  # over the limit, allowed

    dialog, preview = console.edit_capacity("console", 3)
    assert preview.strip() == _api_preview(console, account, "console", 3)
    with page.expect_navigation():
        dialog.get_by_role("button", name="Save").click()
    assert "Applied" in console.flash()
    page.get_by_role("link", name="Users").click()
    assert console.count("console") == "3/3 users"

    _a_pdf(console)
    _sees_new_activity(console, account, lambda: api.create_user(account))


def test_seed_002_block_two_modules_and_an_operator_approves(console: Console) -> None:
    api = console.api
    account = api.account_with_pools(
        api.terms("case_management", 2, unit_price="20.00"),
        api.terms("documents", 3, unit_price="8.00"),
        increase_approval="operator",
    )
    login_only = api.ok(
        api.client.post(
            f"/v1/accounts/{account}/profiles", json={"name": "Login only", "modules": []}
        ),
        201,
    )["id"]
    page = console.sign_in(console.person(account, "owner"))
    console.create_user("Cara", "Case")
    assert console.count("case_management") == "2/2 users"
    assert console.count("documents") == "2/3 users"

    dialog = console.open_create_user()
    refusal = console.wait_preview(dialog, "No free seat")
    assert "No free seat in pool 'case_management': 2 of 2 in use. Raise the capacity first." in (
        refusal
    )
    dialog.get_by_label("First name").fill("Rita")
    dialog.get_by_label("Last name").fill("Refused")
    dialog.get_by_label("Email").fill("rita@example.com")
    dialog.get_by_role("button", name="Save").click()
    dialog = page.get_by_role("dialog", name="Create user")
    dialog.get_by_role("alert").get_by_text("No free seat").wait_for()
    assert dialog.get_by_label("Email").input_value() == "rita@example.com"  # kept
    assert len(api.users(account)) == 2  # nothing saved

    # Seed 002: a profile without modules takes no license.
    dialog.get_by_label("Profile").select_option(login_only)
    assert "take no license" in console.wait_preview(dialog, "take no license")
    with page.expect_navigation():
        dialog.get_by_role("button", name="Save").click()
    assert "Rita Refused was created (active" in console.flash()
    assert console.count("case_management") == "2/2 users"

    dialog, preview = console.edit_capacity("case_management", 1)
    assert preview.strip() == (
        "2 seats of pool 'case_management' are in use: remove users first before "
        "reducing the licenses to 1."
    )
    dialog, preview = console.edit_capacity("case_management", 3)
    assert preview.strip() == "+1 seat will be requested"
    with page.expect_navigation():
        dialog.get_by_role("button", name="Save").click()
    assert "Pending: sent to your vendor's team" in console.flash()
    assert api.pool(account, "case_management")["capacity"] == 2

    # The vendor's operator approves it in the operator view.
    operator = console.sign_in_operator(console.new_page())
    operator.get_by_role("link", name="Seat requests").click()
    row = operator.get_by_role("row", name=re.compile("case_management"))
    assert row.get_by_text("An increase applies when approved.").is_visible()  # no renewal
    with operator.expect_navigation():
        row.get_by_role("button", name="Approve").click()
    assert "is applied" in console.flash(operator)
    assert api.pool(account, "case_management")["capacity"] == 3

    page.get_by_role("link", name="Users").click()
    assert console.count("case_management") == "2/3 users"
    console.create_user("Nina", "New")
    assert console.count("case_management") == "3/3 users"

    _a_pdf(console)  # the approved seat's charge
    _sees_new_activity(console, account, lambda: api.create_user(account, profile_id=login_only))


def test_seed_003_active_users_and_the_administrator_rule(console: Console) -> None:
    api = console.api
    account = api.create_account(test_clock=True, clock_start="2026-03-01T12:00:00Z")["id"]
    api.create_contract(
        account,
        [api.terms("console", None, policy="metered", unit_price="5.00")],
        start_date="2026-03-01",
    )
    page = console.sign_in(console.person(account, "owner"))
    admin = api.create_user(
        account, "ada@example.com", first_name="Ada", last_name="Admin", role="admin"
    )
    page.reload()
    for first in ("Mia", "Noah", "Omar"):
        dialog = console.create_user(first, "Member")
    assert console.count("console") == "5 users (billed per active user)"  # never full
    assert console.count("Active users") == "5"

    page.get_by_role("button", name="Deactivate Ada Admin").click()
    page.wait_for_load_state()
    assert (
        f"Remove the admin role from {admin['email']} before you deactivate this user."
        in console.flash()
    )
    page.get_by_role("button", name="Deactivate Omar Member").click()
    page.get_by_text("Omar Member is inactive").wait_for()
    assert console.count("Active users") == "4"
    page.get_by_role("button", name="Activate Omar Member").click()
    page.get_by_text("Omar Member is active").wait_for()
    assert console.count("Active users") == "5"

    dialog, preview = console.edit_capacity("console", 7)
    assert preview.strip() == "Pool 'console' is metered: it has no capacity to change."
    page.keyboard.press("Escape")  # a dialog closes by keyboard
    assert not dialog.is_visible()

    # The month closes: the operator moves the account's test clock.
    operator = console.sign_in_operator(console.new_page())
    operator.get_by_role("link", name="Acme").first.click()
    operator.get_by_label("Move the clock to (UTC)").fill("2026-04-01T00:10")
    with operator.expect_navigation():
        operator.get_by_role("button", name="Move the clock").click()
    assert "documents issued" in console.flash(operator)
    invoices = api.ok(api.client.get(f"/v1/accounts/{account}/invoices"))["data"]
    assert any(line["kind"] == "metered" for i in invoices for line in i["lines"])

    _a_pdf(console)
    _sees_new_activity(console, account, lambda: api.create_user(account))
    del dialog


def test_seed_004_auto_purchase_and_the_plan_tab(console: Console) -> None:
    api = console.api
    account = api.account_with_pools(
        api.terms("console", 2, policy="auto_purchase", unit_price="10.00", minimum=2)
    )
    page = console.sign_in(console.person(account, "owner"))
    console.create_user("Mia", "Maker")
    assert console.count("console") == "2/2 users"

    dialog = console.open_create_user()
    purchase = console.wait_preview(dialog, "will be bought")
    assert re.search(
        r"\+1 seat will be bought in pool 'console': \d+\.\d\d EUR now \(not refundable\)",
        purchase,
    ), purchase
    dialog.get_by_label("First name").fill("Bo")
    dialog.get_by_label("Last name").fill("Bought")
    dialog.get_by_label("Email").fill("bo@example.com")
    with page.expect_navigation():
        dialog.get_by_role("button", name="Save").click()
    assert console.count("console") == "3/3 users"

    # Deleted at once: the seat stays bought (no refund).
    page.get_by_role("button", name="Delete Bo Bought").click()
    with page.expect_navigation():
        page.get_by_role("dialog", name="Delete user").get_by_role("button", name="Delete").click()
    assert console.count("console") == "2/3 users"

    page.get_by_role("link", name="Plan").click()
    row = page.get_by_role("row", name=re.compile("^console"))
    cells = [c.strip() for c in row.locator("td").all_inner_texts()]
    assert cells[:3] == ["2", "2", "1"]  # created, included, additional
    chart = page.get_by_role("img", name="console: seats in use and capacity")
    assert chart.is_visible()
    assert "Next invoice" in page.content()

    dialog, preview = console.edit_capacity("console", 4)
    assert preview.strip() == _api_preview(console, account, "console", 4)
    dialog.get_by_role("button", name="Cancel").click()

    _a_pdf(console)  # the bought seat's charge
    _sees_new_activity(console, account, lambda: api.create_user(account))
