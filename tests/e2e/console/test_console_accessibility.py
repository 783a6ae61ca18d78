"""Every console page, at 1280 and 390 pixels wide: axe-core (as
axe-playwright-python ships it) finds no serious or critical violation, nothing
is wider than the window, and a screenshot is saved under
test-artifacts/console/<page>-<width>-<backend>.png; axe's findings of every impact are
written to test-artifacts/console/axe-<backend>.json."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from axe_playwright_python.sync_playwright import Axe
from tests.e2e.console.browser import ARTIFACTS, NARROW, WIDE, Console

BLOCKING = ("serious", "critical")


def test_every_page_is_accessible_at_both_widths(console: Console, backend: str) -> None:
    made = console.rich_account()
    account, owner = made["account"], made["owner"]
    axe = Axe()
    findings: dict[str, list[dict[str, Any]]] = {}
    blocking: list[str] = []
    guest, person, operator = console.page, console.new_page(), console.new_page()
    console.sign_in(owner, person)
    console.sign_in_operator(operator)

    def check(name: str, page: Any, prepare: Callable[[Any], None]) -> None:
        for width in (WIDE, NARROW):
            page.set_viewport_size({"width": width, "height": 900})
            prepare(page)
            result = axe.run(page).response
            found = [
                {"id": v["id"], "impact": v["impact"], "nodes": len(v["nodes"])}
                for v in result["violations"]
            ]
            findings[f"{name}-{width}"] = found
            blocking.extend(
                f"{name} at {width}px: {v['id']} ({v['impact']}) on "
                f"{[n['target'] for n in v['nodes']][:3]}"
                for v in result["violations"]
                if v["impact"] in BLOCKING
            )
            overflow = page.evaluate(
                "document.documentElement.scrollWidth - document.documentElement.clientWidth"
            )
            assert overflow <= 0, f"{name} at {width}px is {overflow}px wider than the window"
            shot = console.shoot(name, page)
            assert shot.name == f"{name}-{width}-{backend}.png"  # one per database

    def go(url: str) -> Callable[[Any], None]:
        return lambda page: page.goto(url)

    def then(*steps: Callable[[Any], None]) -> Callable[[Any], None]:
        def run(page: Any) -> None:
            for step in steps:
                step(page)

        return run

    users = f"/console/{account}/users"

    def wrong_password(page: Any) -> None:
        page.goto(f"/console/sign-in?account={account}")
        page.get_by_label("Email").fill(owner.email)
        page.get_by_label("Password").fill("not the password")
        page.get_by_role("button", name="Sign in").click()
        page.get_by_text("the email or the password is wrong").wait_for()

    def create_dialog(page: Any) -> None:
        console.open_create_user(page)
        console.wait_preview(page.get_by_role("dialog", name="Create user"), "Not enough")

    def delete_dialog(page: Any) -> None:
        page.get_by_role("button", name="Delete Mia Machinist").click()
        page.get_by_role("dialog", name="Delete user").wait_for()

    def edit_dialog(page: Any) -> None:
        console.edit_capacity("console", 1, page)

    def run_billing(page: Any) -> None:
        page.get_by_role("button", name="Run billing").click()
        page.get_by_role("heading", name=re.compile("Result of the run")).wait_for()

    def what_if(page: Any) -> None:
        page.get_by_label("Unit price (EUR)").fill("12.00")
        page.get_by_role("button", name="Price it").click()
        page.get_by_role("heading", name="Would have billed").wait_for()

    check("sign-in", guest, go("/console/sign-in"))
    check("sign-in-error", guest, wrong_password)
    check("operator-sign-in", guest, go("/console/operator/sign-in"))
    check("setup", guest, go("/console/setup"))
    check("users", person, go(users))
    check("users-create-dialog", person, then(go(users), create_dialog))
    check("users-delete-dialog", person, then(go(users), delete_dialog))
    check("my-account", person, go(f"{users}/{owner.user_id}"))
    check("billing", person, go(f"/console/{account}/billing"))
    check("billing-edit-dialog", person, then(go(f"/console/{account}/billing"), edit_dialog))
    check("plan", person, go(f"/console/{account}/plan"))
    check("invoices", person, go(f"/console/{account}/invoices"))
    check("activity", person, go(f"/console/{account}/activity"))
    check("not-allowed", person, go("/console/operator"))
    check("operator-accounts", operator, go("/console/operator"))
    check("operator-seat-requests", operator, go("/console/operator/seat-requests"))
    check(
        "operator-billing-runs", operator, then(go("/console/operator/billing-runs"), run_billing)
    )
    check("operator-account", operator, then(go(f"/console/operator/accounts/{account}"), what_if))

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / f"axe-{backend}.json").write_text(json.dumps(findings, indent=1) + "\n")
    assert blocking == [], "\n".join(blocking)
