"""The registry's JSON API under ``/api/v1`` (registry.md §3, docs/registry.md "The API").

``create_app(registry, clock=None)`` builds the FastAPI application; ``srnskit serve`` runs it
with uvicorn in one or several worker processes (``serving``). Modules: ``app`` (the
application, errors → statuses, security headers, login routes), ``auth`` (tokens, sessions,
CSRF, throttling), ``models`` (row models generated from ``schema.tables``), ``patients`` and
``cohorts`` (the routes), ``serving`` (worker processes).
"""

from srnskit.web.api.app import API_PREFIX, create_app

__all__ = ["API_PREFIX", "create_app"]
