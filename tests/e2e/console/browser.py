"""Driving the console in Debian's Chromium with Playwright (fixtures: conftest.py).

``Console`` sets accounts up through the API (as the operator) and drives the
pages as a person would; ``shoot`` saves a screenshot under
test-artifacts/console/ (named by page, width and database). Every request a
page of its contexts makes is recorded (``requests``): ``foreign_requests``
answers those that went to another origin than the server's.
"""

from __future__ import annotations

import os
import re
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

CHROMIUM = os.environ.get("SEATLEDGER_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[3] / "test-artifacts" / "console"
WIDE, NARROW = 1280, 390
PASSWORD = "correct horse battery"
IN_CI = os.environ.get("CI", "").strip().lower() == "true"
# A price as the console prints one: an amount with its currency.
PRICE = re.compile(r"\b\d+[.,]\d{2}\s?(EUR|USD|GBP|CHF)\b|\b(EUR|USD|GBP|CHF)\b")


@dataclass
class Person:
    account_id: str
    user_id: str
    email: str
    name: str
    role: str


class Console:
    """A person at the console (``page``) and the operator behind the API (``api``)."""

    def __init__(self, api: Any, browser: Any, backend: str = "sqlite") -> None:
        self.api = api
        self.browser = browser
        self.backend = backend
        self.contexts: list[Any] = []
        self.requests: list[tuple[str, str]] = []  # (the page's url, the request's url)
        self.page = self.new_page()

    def new_page(self, width: int = WIDE) -> Any:
        context = self.browser.new_context(
            base_url=self.api.url,
            viewport={"width": width, "height": 900},
            accept_downloads=True,
        )
        context.set_default_timeout(15_000)
        context.on(
            "request", lambda request: self.requests.append((request.frame.url, request.url))
        )
        self.contexts.append(context)
        return context.new_page()

    def same_origin(self, url: str) -> bool:
        """``url`` is of the server's own origin (scheme, host and port)."""
        own, other = urlsplit(self.api.url), urlsplit(url)
        return (own.scheme, own.netloc) == (other.scheme, other.netloc)

    def foreign_requests(self) -> list[tuple[str, str]]:
        """The recorded requests that went elsewhere than the server ("data:" URLs
        load nothing)."""
        return [
            (at, url)
            for at, url in self.requests
            if not url.startswith("data:") and not self.same_origin(url)
        ]

    def foreign_assets(self, page: Any = None) -> list[str]:
        """The page's script and link elements whose URL is of another host."""
        page = page or self.page
        urls = page.evaluate(
            """() => Array.from(document.querySelectorAll("script, link")).map(
                el => el.getAttribute("src") || el.getAttribute("href") || "")"""
        )
        # NOTE: resolved against the page, as the browser would fetch them
        # ("//cdn.example/x.js" has no scheme and is still another host's).
        resolved = page.evaluate("urls => urls.map(u => new URL(u, document.baseURI).href)", urls)
        return [u for u, r in zip(urls, resolved, strict=True) if u and not self.same_origin(r)]

    def close(self) -> None:
        for context in self.contexts:
            context.close()

    # --- set-up through the API ------------------------------------------------
    def person(
        self,
        account_id: str,
        role: str = "member",
        *,
        first_name: str = "Olga",
        last_name: str | None = None,
        profile_id: str | None = None,
    ) -> Person:
        """A user of the account with a password, set from its setup token."""
        last_name = last_name or role.capitalize()
        email = f"{role}-{secrets.token_hex(3)}@example.com"
        body: dict[str, Any] = {"role": role}
        if profile_id:
            body["profile_id"] = profile_id
        created = self.api.create_user(
            account_id, email, first_name=first_name, last_name=last_name, **body
        )
        setup = {"token": created["setup_token"], "password": PASSWORD}
        self.api.ok(self.api.anonymous.post("/v1/auth/setup", json=setup), 204)
        return Person(account_id, created["id"], email, f"{first_name} {last_name}", role)

    def rich_account(self) -> dict[str, Any]:
        """An account with something on every page: users of each status, a full
        pool, invoices, a pending seat request, activity."""
        api = self.api
        account = api.create_account(
            "Acme Manufacturing", test_clock=True, clock_start="2026-01-01T09:00:00Z"
        )["id"]
        api.create_contract(
            account,
            [api.terms("console", 4, policy="inactive_when_full", unit_price="15.00", minimum=2)],
            start_date="2026-01-01",
            increase_approval="operator",
        )
        owner = self.person(account, "owner", first_name="Olga", last_name="Owner")
        api.create_user(account, first_name="Ada", last_name="Admin", role="admin", department="IT")
        api.create_user(account, first_name="Mia", last_name="Machinist", department="Shop floor")
        quiet = api.create_user(account, first_name="Ivo", last_name="Idle")
        api.ok(api.client.post(f"/v1/accounts/{account}/users/{quiet['id']}/deactivate"))
        api.create_user(account, first_name="Noah", last_name="Night")  # the pool is full
        api.ok(
            api.client.post(f"/v1/accounts/{account}/clock", json={"now": "2026-03-01T09:00:00Z"})
        )
        api.ok(
            api.client.post(
                f"/v1/accounts/{account}/seat-requests",
                json={"module": "console", "target_capacity": 6},
            ),
            201,
        )
        return {"account": account, "owner": owner}

    # --- the pages ------------------------------------------------------------------
    def sign_in(self, who: Person, page: Any = None) -> Any:
        page = page or self.page
        page.goto(f"/console/sign-in?account={who.account_id}")
        page.get_by_label("Email").fill(who.email)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(re.compile(r"/console/acc_"))
        return page

    def sign_in_operator(self, page: Any = None) -> Any:
        page = page or self.page
        page.goto("/console/operator/sign-in")
        page.get_by_label("Operator key").fill(self.api.key)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(re.compile(r"/console/operator$"))
        return page

    def open_create_user(self, page: Any = None) -> Any:
        page = page or self.page
        page.get_by_role("button", name="Create user").click()
        dialog = page.get_by_role("dialog", name="Create user")
        dialog.wait_for()
        return dialog

    def create_user(
        self, first: str, last: str, *, add_license: bool = False, page: Any = None
    ) -> Any:
        """Fills and saves the Create user dialog; answers the dialog (for its preview)."""
        page = page or self.page
        dialog = self.open_create_user(page)
        dialog.get_by_label("First name").fill(first)
        dialog.get_by_label("Last name").fill(last)
        dialog.get_by_label("Email").fill(f"{first.lower()}.{secrets.token_hex(3)}@example.com")
        if add_license:
            dialog.get_by_label("Add user license").check()
            self.wait_preview(dialog, "will be added")
        with page.expect_navigation():
            dialog.get_by_role("button", name="Save").click()
        return dialog

    @staticmethod
    def wait_preview(dialog: Any, text: str) -> str:
        preview = dialog.locator(".preview")
        preview.get_by_text(text, exact=False).first.wait_for()
        return str(preview.inner_text())

    def count(self, module: str, page: Any = None) -> str:
        """The Users page's "n/m users" of a module."""
        page = page or self.page
        item = page.locator(".counts li", has=page.locator("strong", has_text=module))
        return str(item.inner_text()).replace(module, "").strip()

    def flash(self, page: Any = None) -> str:
        page = page or self.page
        return str(page.locator(".flash").inner_text())

    def edit_capacity(self, module: str, target: int | str, page: Any = None) -> tuple[Any, str]:
        """Opens EDIT on the Billing page, types ``target``; answers (dialog, preview)."""
        page = page or self.page
        if "/billing" not in page.url:
            page.get_by_role("link", name="Billing").click()
        dialog = page.get_by_role("dialog", name=f"User licenses: {module}")
        if not dialog.is_visible():
            page.get_by_role("button", name=f"EDIT the licenses of {module}").click()
        field = dialog.get_by_label("Number of user licenses")
        field.fill(str(target))
        preview = dialog.locator(".preview")
        preview.locator("p").first.wait_for()
        page.wait_for_function(
            "([el, t]) => el.dataset.previewed === t",
            arg=[field.element_handle(), str(target)],
        )
        return dialog, str(preview.inner_text())

    def download_first_pdf(self, page: Any = None) -> bytes:
        page = page or self.page
        page.get_by_role("link", name="Invoices").click()
        link = page.get_by_role("link", name=re.compile("^PDF")).first
        with page.expect_download() as caught:
            link.click()
        path = caught.value.path()
        return Path(path).read_bytes()

    def shoot(self, name: str, page: Any = None) -> Path:
        page = page or self.page
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        width = page.viewport_size["width"]
        target = ARTIFACTS / f"{name}-{width}-{self.backend}.png"
        page.screenshot(path=str(target), full_page=True)
        return target

    @staticmethod
    def tab_to(page: Any, target: Any, limit: int = 40) -> None:
        """Presses Tab until ``target`` (a locator) has the focus."""
        for _ in range(limit):
            if target.evaluate("el => el === document.activeElement"):
                return
            page.keyboard.press("Tab")
        raise AssertionError(f"{limit} presses of Tab never reached {target}")

    @staticmethod
    def table(page: Any, caption: str) -> list[list[str]]:
        """The body rows of the table with this caption, each as its cells' texts
        (header cells included)."""
        table = page.locator("table", has=page.locator("caption", has_text=caption))
        rows = table.locator("tbody tr")
        return [
            [c.strip() for c in rows.nth(i).locator("th, td").all_inner_texts()]
            for i in range(rows.count())
        ]
