"""Bad input in the console: a form sent with missing or wrong fields shows the
API's own message next to the field and keeps what was typed; a form of an
ended session or of an earlier session (a stale CSRF token) sends the person
to sign in again and changes nothing; a form sent twice is applied once."""

from __future__ import annotations

import re
from typing import Any

from tests.e2e.console.browser import PASSWORD, Console

ENDED = "Your session has ended: sign in again. Nothing was changed."
STALE = "This page was opened in an earlier session: sign in again. Nothing was changed."


def _api_detail(api: Any, account: str, body: dict[str, Any]) -> str:
    answer = api.client.post(f"/v1/accounts/{account}/users", json=body)
    return str(api.problem(answer, 422)["detail"])


def _field_error(dialog: Any, label: str) -> str:
    """The message shown with a field: the text its aria-describedby names."""
    field = dialog.get_by_label(label)
    assert field.get_attribute("aria-invalid") == "true"
    described = (field.get_attribute("aria-describedby") or "").split()
    return " ".join(dialog.locator(f"#{i}").inner_text() for i in described if "error" in i)


def test_wrong_fields_show_the_apis_message_next_to_them_and_keep_what_was_typed(
    console: Console,
) -> None:
    api = console.api
    account = api.account_with_pools(api.terms("console", 5, unit_price="10.00", minimum=2))
    page = console.sign_in(console.person(account, "owner"))
    before = len(api.users(account))

    dialog = console.open_create_user()
    dialog.get_by_label("First name").fill("Zoë")
    dialog.get_by_label("Last name").fill("O'Brien-Smith")
    dialog.get_by_label("Email").fill("not-an-email")
    dialog.get_by_label("Department").fill("Ops")
    dialog.get_by_role("button", name="Save").click()
    dialog = page.get_by_role("dialog", name="Create user")
    dialog.wait_for()
    expected = _api_detail(
        api, account, {"first_name": "Zoë", "last_name": "O'Brien-Smith", "email": "not-an-email"}
    )
    assert _field_error(dialog, "Email") == expected
    assert dialog.get_by_label("Email").input_value() == "not-an-email"
    assert dialog.get_by_label("First name").input_value() == "Zoë"
    assert dialog.get_by_label("Department").input_value() == "Ops"
    assert dialog.get_by_label("Email").evaluate("el => el === document.activeElement")

    dialog.get_by_label("Email").fill("zoe@example.com")
    dialog.get_by_label("Last name").fill("")
    dialog.get_by_role("button", name="Save").click()
    dialog = page.get_by_role("dialog", name="Create user")
    dialog.get_by_label("Last name").and_(page.locator("[aria-invalid=true]")).wait_for()
    expected = _api_detail(
        api, account, {"first_name": "Zoë", "last_name": "", "email": "zoe@example.com"}
    )
    assert _field_error(dialog, "Last name") == expected
    assert dialog.get_by_label("Email").input_value() == "zoe@example.com"
    assert len(api.users(account)) == before  # nothing saved

    # The search box: too long a search, the service's message by it, the text kept.
    page.goto(f"/console/{account}/users")
    page.get_by_label("Search").fill("a" * 300)
    page.get_by_role("button", name="Filter").click()
    page.locator("#q[aria-invalid=true]").wait_for()
    assert "search is at most 254 characters" in _field_error(page, "Search")
    assert page.get_by_label("Search").input_value() == "a" * 300

    # The Billing tab's number: below the minimum, the API's refusal by the field.
    page.goto(f"/console/{account}/billing")
    page.get_by_role("button", name="EDIT the licenses of console").click()
    edit = page.get_by_role("dialog", name="User licenses: console")
    edit.get_by_label("Number of user licenses").fill("1")
    edit.get_by_role("button", name="Save").click()
    edit = page.get_by_role("dialog", name="User licenses: console")
    edit.get_by_label("Number of user licenses").and_(
        page.locator("[aria-invalid=true]")
    ).wait_for()
    refusal = api.client.post(
        f"/v1/accounts/{account}/seat-requests", json={"module": "console", "target_capacity": 1}
    )
    assert edit.locator(".preview").inner_text().strip() == api.problem(refusal, 422)["detail"]
    assert edit.get_by_label("Number of user licenses").input_value() == "1"
    assert api.pool(account)["capacity"] == 5

    # Signing in with a wrong password: the API's sentence, the email kept.
    other = console.new_page()
    other.goto(f"/console/sign-in?account={account}")
    other.get_by_label("Email").fill("owner@example.com")
    other.get_by_label("Password").fill("wrong password")
    other.get_by_role("button", name="Sign in").click()
    body = {"account_id": account, "email": "owner@example.com", "password": "wrong password"}
    detail = api.problem(api.anonymous.post("/v1/auth/token", json=body), 401)["detail"]
    assert _field_error(other, "Password") == detail
    assert other.get_by_label("Email").input_value() == "owner@example.com"


def _fill_new_user(dialog: Any, first: str) -> None:
    dialog.get_by_label("First name").fill(first)
    dialog.get_by_label("Last name").fill("Later")
    dialog.get_by_label("Email").fill(f"{first.lower()}@example.com")


def test_an_ended_session_signs_in_again_and_nothing_is_applied(console: Console) -> None:
    api = console.api
    account = api.account_with_pools(api.terms("console", 5))
    owner = console.person(account, "owner")
    page = console.sign_in(owner)
    dialog = console.open_create_user()
    _fill_new_user(dialog, "Ella")

    # The session ends meanwhile (its token revoked, as by signing out elsewhere).
    (session,) = [c for c in page.context.cookies() if c["name"] == "seatledger_session"]
    assert session["httpOnly"] and session["sameSite"] == "Lax" and session["path"] == "/console"
    revoked = api.new_client(token=session["value"]).delete("/v1/auth/token")
    assert revoked.status_code == 204
    dialog.get_by_role("button", name="Save").click()
    page.wait_for_url(re.compile(r"/console/sign-in\?"))
    assert page.get_by_text(ENDED).is_visible()
    assert "ella@example.com" not in {u["email"] for u in api.users(account)}

    page.get_by_label("Email").fill(owner.email)
    page.get_by_label("Password").fill("correct horse battery")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(rf"/console/{account}/users$"))  # back where it was
    assert "ella@example.com" not in {u["email"] for u in api.users(account)}
    console.create_user("Ella", "Later")
    assert [u["first_name"] for u in api.users(account)].count("Ella") == 1


def test_a_stale_csrf_token_signs_in_again_and_a_form_sent_twice_is_applied_once(
    console: Console,
) -> None:
    api = console.api
    account = api.account_with_pools(api.terms("console", 5))
    owner = console.person(account, "owner")
    page = console.sign_in(owner)
    dialog = console.open_create_user()
    _fill_new_user(dialog, "Finn")

    # Another tab of the same browser signs out and in again: a new session.
    tab = page.context.new_page()
    tab.goto(f"/console/{account}/users")
    tab.get_by_role("button", name="Sign out").click()
    tab.wait_for_url(re.compile(r"/console/sign-in"))
    console.sign_in(owner, tab)
    dialog.get_by_role("button", name="Save").click()  # the form of the first session
    page.wait_for_url(re.compile(r"/console/sign-in\?"))
    assert page.get_by_text(STALE).is_visible()
    assert "finn@example.com" not in {u["email"] for u in api.users(account)}

    # The same form sent twice (a double click, a resend): one user.
    tab.goto(f"/console/{account}/users")
    dialog = console.open_create_user(tab)
    _fill_new_user(dialog, "Gina")
    fields = dialog.locator("form").evaluate("form => Array.from(new FormData(form).entries())")
    url = f"/console/{account}/users"
    first = tab.request.post(url, form=dict(fields), max_redirects=0)
    again = tab.request.post(url, form=dict(fields), max_redirects=0)
    assert first.status == again.status == 303
    emails = [u["email"] for u in api.users(account)]
    assert emails.count("gina@example.com") == 1
    tab.goto(url)
    assert "This form was already sent: it was applied once, nothing was done again." in (
        console.flash(tab)
    )


def test_the_session_cookie_is_secure_over_https(console: Console) -> None:
    """Behind a TLS proxy (X-Forwarded-Proto from an allowed address, as uvicorn
    trusts 127.0.0.1 by default) every console cookie is Secure; over plain http
    not, so that it is sent at all."""
    api = console.api
    account = api.account_with_pools(api.terms("console", 5))
    owner = console.person(account, "owner")
    for proto, secure in (("https", True), ("http", False)):
        client = api.new_client(token="", follow_redirects=False)
        client.headers["X-Forwarded-Proto"] = proto
        page = client.get("/console/sign-in")
        csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', page.text)
        assert csrf
        form = {"csrf": csrf.group(1), "account_id": account, "email": owner.email}
        # the client speaks plain http to the proxy's side: it sends the Secure cookie itself
        nonce = page.headers["set-cookie"].split(";")[0]
        answer = client.post(
            "/console/sign-in", data={**form, "password": PASSWORD}, headers={"Cookie": nonce}
        )
        assert answer.status_code == 303
        cookies = answer.headers.get_list("set-cookie") + page.headers.get_list("set-cookie")
        assert any(c.startswith("seatledger_session=") for c in cookies)
        for cookie in cookies:
            attributes = [a.strip().lower() for a in cookie.split(";")]
            assert "httponly" in attributes and "samesite=lax" in attributes, cookie
            assert ("secure" in attributes) is secure, cookie
        assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
