"""``srnskit serve``: the registry's web app and API (registry.md §1, docs/registry.md).

Applies pending migrations first (``srnskit db upgrade``), then runs the API with uvicorn in
one process, bound to 127.0.0.1 unless ``--host`` says otherwise: put a reverse proxy that
terminates https in front (docs/registry.md). ``X-Forwarded-Proto`` is believed only from the
proxy on this machine (127.0.0.1), so cookies are marked Secure behind https.
"""

from __future__ import annotations

from typing import Annotated

import typer

from srnskit.cli.common import app, reports_errors
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
) -> None:
    """Run the registry's web app and API (migrating the database first)."""
    import uvicorn

    from srnskit.registry.db import database_url, open_registry, upgrade
    from srnskit.sources.registry import redact_url
    from srnskit.web.api import API_PREFIX, create_app

    url = database_url(db)
    revision = upgrade(url)
    typer.echo(f"{redact_url(url)}: schema at revision {revision}")
    with open_registry(url) as registry:
        application = create_app(registry)
        typer.echo(f"serving the API at http://{host}:{port}{API_PREFIX}/ (Ctrl-C stops)")
        uvicorn.run(
            application,
            host=host,
            port=port,
            proxy_headers=True,
            forwarded_allow_ips=DEFAULT_HOST,
            server_header=False,
            log_level="warning",
        )
