"""The registry's pages: server-rendered HTML (Jinja2, htmx) next to the JSON API.

``mount_pages(app)`` adds the routers of ``PAGE_MODULES`` to the app ``web.api.create_app``
builds (it calls this), as routes of the app itself, so ``app.routes`` lists every page (the
access test enumerates them). Every page reads and writes only through the registry's service
(``registry.store``, ``imports``, ``export``, ``users``, ``audit``, ``derived``), as the API
does, so the one centre filter applies; ``common`` turns its refusals into pages.
"""

from __future__ import annotations

import importlib

from fastapi import APIRouter, FastAPI

__all__ = ["PAGE_MODULES", "mount_pages"]

# Modules with a ``router``, in the order their routes are matched (static last: another
# module may serve a generated file under /static first).
PAGE_MODULES: tuple[str, ...] = (
    "srnskit.web.pages.login",
    "srnskit.web.pages.patients",
    "srnskit.web.pages.timeline",
    "srnskit.web.pages.dashboard",
    "srnskit.web.pages.rows",
    "srnskit.web.pages.cohorts",
    "srnskit.web.pages.admin",
    "srnskit.web.pages.static",
)


def mount_pages(app: FastAPI) -> None:
    """Add every page route of ``PAGE_MODULES`` to ``app``."""
    for name in PAGE_MODULES:
        router: APIRouter = importlib.import_module(name).router
        app.router.routes.extend(router.routes)
