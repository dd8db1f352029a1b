"""``srnskit serve``: the registry's web app and API (registry.md §1, docs/registry.md).

Applies pending migrations first (``srnskit db upgrade``), then runs the API with uvicorn in
``--workers`` processes (default one per CPU, at most 4; ``web.api.serving``), bound to
127.0.0.1 unless ``--host`` says otherwise: put a reverse proxy that
terminates https in front (docs/registry.md). ``X-Forwarded-Proto`` is believed only from the
proxy on this machine (127.0.0.1), so cookies are marked Secure behind https.
"""

from __future__ import annotations

from typing import Annotated

import typer

from srnskit.cli.common import app, reports_errors, say
from srnskit.cli.registry import DbOption

__all__: list[str] = []

# registry.md §1: the server binds to loopback unless told otherwise.
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000


@app.command("serve")
@reports_errors
def _serve(
    db: DbOption = None,
    host: Annotated[
        str, typer.Option(help="Address to bind (a reverse proxy forwards to it).")
    ] = DEFAULT_HOST,
    port: Annotated[int, typer.Option(help="Port to listen on.")] = DEFAULT_PORT,
    workers: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="Worker processes (default: one per CPU, at most 4).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Run the registry's web app and API (migrating the database first)."""
    from srnskit.registry.db import database_url, upgrade
    from srnskit.sources.registry import redact_url
    from srnskit.web.api import API_PREFIX
    from srnskit.web.api.serving import default_workers, run

    url = database_url(db)
    revision = upgrade(url)
    chosen = workers or default_workers()
    say(
        f"{redact_url(url)}: schema at revision {revision}",
        f"serving the API at http://{host}:{port}{API_PREFIX}/ with {chosen} worker "
        "process(es) (Ctrl-C stops)",
        err=True,
    )
    # The pages' Vega script is bundled once here, before the workers start, and kept in the
    # user's cache folder: bundled inside a worker under load it can outlast the worker's health
    # check, and the worker is killed mid-answer (seen with 2 workers and a cold cache).
    from srnskit.outputs.report.render import vega_bundle

    vega_bundle()
    run(url, host, port, chosen)
