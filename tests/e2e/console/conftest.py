"""Browser fixtures for the console (tests/e2e/console/browser.py drives it).

One browser per test module (``browser``, closed after its last test:
Playwright's sync driver keeps an event loop running in the main thread while it
is open, which later tests calling ``asyncio.run`` must not find), Debian's Chromium at
/usr/bin/chromium (Playwright's own browser download is never used; .ci/run
installs the package): without it the tests are skipped, except under CI=true,
where they fail. Each test gets a fresh context (its own cookies) and page on
the ``api`` server of tests/e2e/conftest.py, so every console test runs on
SQLite and PostgreSQL against a real uvicorn process. After each test, every
request its pages made must have gone to that server (no CDN, nothing of
another site): the test fails otherwise.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from typing import Any

import pytest
from tests.e2e.console.browser import CHROMIUM, IN_CI, Console


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not shutil.which(CHROMIUM):
        message = f"no Chromium at {CHROMIUM} (apt-get install -y chromium)"
        if IN_CI:
            pytest.fail(message + " (CI=true: the browser tests must run)", pytrace=False)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
        )
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def console(api: Any, browser: Any, backend: str) -> Iterator[Console]:
    at_console = Console(api, browser, backend)
    try:
        yield at_console
    finally:
        at_console.close()
    foreign = at_console.foreign_requests()
    assert foreign == [], f"requests to another origin than {api.url}: {foreign[:5]}"
