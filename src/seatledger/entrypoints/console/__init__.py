"""The console: web pages for owners, admins, members and operators, served by
the API's own process under ``/console`` (docs/console.md).

Server-rendered Jinja2 pages with htmx (``static/htmx.min.js``, served from the
package: no CDN, no build step) and a little plain JavaScript (dialogs, the live
Activity list). A person signs in with email and password (an operator with
its key); the session is a cookie holding the token (session.py), and each page
is shown to whom the API would answer the route it stands for (web.py).
"""

from __future__ import annotations

from fastapi import Depends, FastAPI
from fastapi.staticfiles import StaticFiles

from seatledger.entrypoints.api.deps import path_ids_well_formed
from seatledger.entrypoints.console import account_pages, auth_pages, operator_pages, web

PREFIX = "/console"


def install(app: FastAPI) -> None:
    """Mounts the console on ``app`` at ``/console``: an application of its own
    (no bearer token, no OpenAPI operations), sharing ``app.state`` (engine,
    clock, rate limiter, sign-in throttle, event hub)."""
    console = FastAPI(
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
        # Ids of no id's form name nothing: 404 before any query, as in the API.
        dependencies=[Depends(path_ids_well_formed)],
    )
    console.state = app.state
    web.install_errors(console)
    for pages in (auth_pages, operator_pages, account_pages):
        console.include_router(pages.router)
    console.mount(
        "/static",
        StaticFiles(packages=[("seatledger.entrypoints.console", "static")]),
        name="static",
    )
    app.mount(PREFIX, console)
