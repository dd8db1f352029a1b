"""Running the API: one process, or several worker processes sharing the registry.

``srnskit serve --workers N`` hands uvicorn the import string of ``worker_app`` (an app
factory): each worker process opens the registry itself (the URL in ``SRNSKIT_DB``, which
``run`` sets) and builds its own app. Nothing a request depends on lives in one process's
memory: the token key and the failed logins (the throttle) are in the database, so any worker
may answer any request. Writes queue on the database's write lock (SQLite, in WAL mode, with a
busy timeout) or on the audit head's row lock (PostgreSQL), so the audit chain never forks.

    default_workers() -> int          the CPUs this process may use, at most MAX_DEFAULT_WORKERS
    worker_app() -> FastAPI           the factory each worker calls
    run(url, host, port, workers)     serve until interrupted (Ctrl-C, SIGTERM)
"""

from __future__ import annotations

import atexit
import os

from fastapi import FastAPI

from srnskit.settings import database_url

__all__ = ["MAX_DEFAULT_WORKERS", "WORKER_APP", "default_workers", "run", "worker_app"]

# One worker per CPU, up to 4: each holds the engine and the library in memory (~200 MB), and
# past 4 a registry's load is the database's, not Python's.
MAX_DEFAULT_WORKERS = 4
WORKER_APP = "srnskit.web.api.serving:worker_app"
_DATABASE_ENV = "SRNSKIT_DB"


def default_workers() -> int:
    """The CPUs this process may run on (its affinity), at most ``MAX_DEFAULT_WORKERS``."""
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(1, min(cpus or 1, MAX_DEFAULT_WORKERS))


def worker_app() -> FastAPI:
    """The app of one worker process: the registry at ``SRNSKIT_DB`` (already migrated by
    ``run``), closed when the process exits."""
    from srnskit.registry.db import open_registry
    from srnskit.web.api.app import create_app

    registry = open_registry(database_url())
    atexit.register(registry.close)
    return create_app(registry)


def run(url: str, host: str, port: int, workers: int) -> None:
    """Serve the API of the registry at ``url`` (migrated already) on ``host``:``port`` with
    ``workers`` processes (1: in this process). ``X-Forwarded-Proto`` is believed only from a
    proxy on this machine."""
    import uvicorn

    os.environ[_DATABASE_ENV] = url  # what database_url() reads in each worker
    uvicorn.run(
        WORKER_APP,
        factory=True,
        workers=workers,
        host=host,
        port=port,
        proxy_headers=True,
        forwarded_allow_ips="127.0.0.1",
        server_header=False,
        log_level="warning",
        # uvloop and httptools (pinned): the event loop and the HTTP parser in C, about 0.5 ms
        # less CPU a request than asyncio's loop and h11 (docs/decisions.md, issue 18).
        loop="uvloop",
        http="httptools",
        # No access log: a request line names a patient (/patients/{id}), and srnskit never
        # logs identifiers; formatting it also cost every request.
        access_log=False,
    )
