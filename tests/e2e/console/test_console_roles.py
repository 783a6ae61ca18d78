"""Roles in the console (PRODUCT.md §2 rule 5): what a person sees follows its
role exactly as the API answers it.

- Every console page, for each caller, answers as API.md's "who" of the API
  route it stands for (the ``WHO`` table of test_api_roles.py, written from
  API.md, not read from the application): shown, 403, or another account's 404.
- An admin never sees a price anywhere: every page it may open, the Create
  user dialog's answers under auto_purchase and add_license included.
- A member sees only its own page.
"""

from __future__ import annotations

import re
from typing import Any

import httpx
from tests.e2e.console.browser import PASSWORD, PRICE, Console
from tests.e2e.test_api_roles import WHO, expected

A = "/v1/accounts/{account_id}"
U = f"{A}/users/{{user_id}}"
# Each console page and the API route it shows (API.md's who of that route decides).
PAGES = {
    "/console/{account_id}/users": ("GET", f"{A}/users"),
    "/console/{account_id}/users/{user_id}": ("GET", U),
    "/console/{account_id}/billing": ("GET", f"{A}/seat-requests"),
    "/console/{account_id}/plan": ("GET", f"{A}/invoices/upcoming"),
    "/console/{account_id}/invoices": ("GET", f"{A}/invoices"),
    "/console/{account_id}/invoices/{invoice_id}/pdf": ("GET", "/v1/invoices/{invoice_id}"),
    "/console/{account_id}/activity": ("GET", f"{A}/events"),
    "/console/operator": ("GET", "/v1/accounts"),
    "/console/operator/seat-requests": ("GET", "/v1/seat-requests"),
    "/console/operator/billing-runs": ("POST", "/v1/billing-runs"),
    "/console/operator/billing-runs/{run_id}": ("GET", "/v1/billing-runs/{run_id}"),
    "/console/operator/accounts/{account_id}": ("POST", f"{A}/what-if"),
}


def signed_in_client(api: Any, account_id: str | None, email: str | None) -> httpx.Client:
    """A cookie session as a browser gets one: the sign-in page, then its form."""
    client = api.new_client(token="", follow_redirects=False)
    if account_id is None:  # the operator
        page = client.get("/console/operator/sign-in")
        form = {"operator_key": api.key}
        target = "/console/operator/sign-in"
    else:
        page = client.get("/console/sign-in")
        form = {"account_id": account_id, "email": email, "password": PASSWORD}
        target = "/console/sign-in"
    csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', page.text)
    assert csrf, page.text
    answer = client.post(target, data={"csrf": csrf.group(1), **form})
    assert answer.status_code == 303, answer.text
    return client


def test_every_console_page_answers_each_role_as_its_api_route(console: Console) -> None:
    api = console.api
    account = api.account_with_pools(api.terms("console", 10, unit_price="10.00"))
    other = api.account_with_pools(api.terms("console", 10))
    people = {role: console.person(account, role) for role in ("owner", "admin", "member")}
    people["other owner"] = console.person(other, "owner")
    invoice = api.ok(
        api.client.post(
            f"/v1/accounts/{account}/seat-requests",
            json={"module": "console", "target_capacity": 11},
        ),
        201,
    )
    assert invoice["status"] == "applied"
    invoice_id = api.ok(api.client.get(f"/v1/accounts/{account}/invoices"))["data"][0]["id"]
    clients = {
        "anonymous": api.new_client(token="", follow_redirects=False),
        "operator": signed_in_client(api, None, None),
        **{
            caller: signed_in_client(api, who.account_id, who.email)
            for caller, who in people.items()
        },
    }
    run_id = api.ok(api.client.post("/v1/billing-runs", json={}))["id"]
    ids = {"account_id": account, "invoice_id": invoice_id, "run_id": run_id}

    wrong = []
    for page, route in PAGES.items():
        for caller, client in clients.items():
            # a user page names the admin: another user's for the member
            url = page.format(**ids, user_id=people["admin"].user_id)
            status = client.get(url).status_code
            want = expected(WHO[route], route[1], caller)
            got = {200: "allowed", 303: "401"}.get(status, str(status))
            if got != want:
                wrong.append(f"{url} as {caller}: {status}, expected {want}")
    assert wrong == [], "\n".join(wrong)

    # A member reads its own page (the API: "member (itself)").
    member = people["member"]
    own = clients["member"].get(f"/console/{account}/users/{member.user_id}")
    assert own.status_code == 200 and member.email in own.text


def _visible_text(page: Any) -> str:
    return str(page.locator("body").inner_text())


def test_an_admin_never_sees_a_price(console: Console) -> None:
    api = console.api
    account = api.account_with_pools(
        api.terms("console", 1, policy="auto_purchase", unit_price="10.00"),
        api.terms("documents", 2, policy="inactive_when_full", unit_price="7.00"),
    )
    owner = console.person(account, "owner")
    admin = console.person(account, "admin")  # bought a console seat (an invoice); both full
    assert api.ok(api.client.get(f"/v1/accounts/{account}/invoices"))["data"]
    page = console.sign_in(admin)
    seen = []

    nav = page.get_by_role("navigation", name="Console")
    links = [a.get_attribute("href") for a in nav.get_by_role("link").all()]
    assert [link.rsplit("/", 1)[-1] for link in links] == ["users", admin.user_id]
    for link in links:
        page.goto(link)
        seen.append(_visible_text(page))
    for hidden in ("billing", "plan", "invoices", "activity"):
        answer = page.goto(f"/console/{account}/{hidden}")
        assert answer is not None and answer.status == 403
        seen.append(_visible_text(page))

    page.goto(f"/console/{account}/users")
    dialog = console.open_create_user()
    answer = console.wait_preview(dialog, "Not enough available user licenses")  # documents
    dialog.get_by_label("Add user license").check()
    answer = console.wait_preview(dialog, "will be added")
    assert "+1 seat will be bought in pool 'console', and charged (not refundable)" in answer
    assert "+1 user license will be added to pool 'documents', and charged" in answer
    seen += [answer, str(dialog.inner_html())]

    for text in seen:
        assert not PRICE.search(text), PRICE.search(text)

    # The control: the same dialog shows an owner the amounts.
    owner_page = console.sign_in(owner, console.new_page())
    dialog = console.open_create_user(owner_page)
    console.wait_preview(dialog, "Not enough available user licenses")
    dialog.get_by_label("Add user license").check()
    answer = console.wait_preview(dialog, "will be added")
    assert re.search(r"pool 'documents': \d+\.\d\d EUR now", answer), answer
    assert PRICE.search(answer)


def test_a_member_sees_only_its_own_page(console: Console) -> None:
    api = console.api
    account = api.account_with_pools(api.terms("console", 5, unit_price="10.00"))
    member = console.person(account, "member", first_name="Max")
    somebody = api.create_user(account, first_name="Other")
    page = console.sign_in(member)

    assert page.url.endswith(f"/console/{account}/users/{member.user_id}")
    nav = page.get_by_role("navigation", name="Console")
    assert [a.inner_text() for a in nav.get_by_role("link").all()] == ["My account"]
    assert member.email in _visible_text(page)
    for path in ("users", f"users/{somebody['id']}", "billing", "plan", "invoices", "activity"):
        answer = page.goto(f"/console/{account}/{path}")
        assert answer is not None and answer.status == 403, path
        assert somebody["email"] not in page.content()
    answer = page.goto("/console/operator")
    assert answer is not None and answer.status == 403


def test_only_owners_are_offered_the_owner_role(console: Console) -> None:
    api = console.api
    account = api.account_with_pools(api.terms("console", 5))
    for role, offered in (("admin", ["Member", "Admin"]), ("owner", ["Member", "Admin", "Owner"])):
        page = console.sign_in(console.person(account, role), console.new_page())
        dialog = console.open_create_user(page)
        assert dialog.get_by_label("Role").locator("option").all_inner_texts() == offered
