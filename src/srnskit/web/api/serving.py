"""Running the API: one process, or several worker processes sharing the registry.

``srnskit serve --workers N`` hands uvicorn the import string of ``worker_app`` (an app
factory): each worker process opens the registry itself (the URL in ``SRNSKIT_DB``, which
``run`` sets) and builds its own app. Nothing a request depends on lives in one process's
memory: the token key and the failed logins (the throttle) are in the database, so any worker
may answer any request. Writes queue on the database's write lock (SQLite, in WAL mode, with a
busy timeout) or on the audit head's row lock (PostgreSQL), so the audit chain never forks.
On Linux each worker listens on a socket of its own on the one port (``SO_REUSEPORT``), so the
kernel spreads new connections over the workers; uvicorn's supervisor still starts, watches
and replaces them.

    default_workers() -> int          the CPUs this process may use, at most MAX_DEFAULT_WORKERS
    worker_app() -> FastAPI           the factory each worker calls (it warms the worker up)
    warm_up(app) -> None              the hot reads once, before the worker serves
    run(url, host, port, workers)     serve until interrupted (Ctrl-C, SIGTERM)
    port_socket(host, port)           a socket bound to the port, with SO_REUSEPORT
"""

from __future__ import annotations

import atexit
import gc
import os
import socket
import sys
from typing import Any

from fastapi import FastAPI
from uvicorn.supervisors.multiprocess import Process as UvicornProcess

from srnskit.settings import database_url

__all__ = [
    "HEALTH_CHECK_SECONDS",
    "MAX_DEFAULT_WORKERS",
    "OWN_SOCKETS",
    "WARM_UP_DEFINITIONS",
    "WORKER_APP",
    "OwnSocketWorker",
    "default_workers",
    "port_socket",
    "run",
    "warm_up",
    "worker_app",
]

# One worker per CPU, up to 4: each holds the engine and the library in memory (~200 MB), and
# past 4 a registry's load is the database's, not Python's.
MAX_DEFAULT_WORKERS = 4
WORKER_APP = "srnskit.web.api.serving:worker_app"
_DATABASE_ENV = "SRNSKIT_DB"
WARM_UP_DEFINITIONS = "kdigo2021"  # the pages' and the API's default set
# A socket per worker process where the kernel spreads connections over sockets of one port.
OWN_SOCKETS = sys.platform == "linux" and hasattr(socket, "SO_REUSEPORT")
HEALTH_CHECK_SECONDS = 120


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
    app = create_app(registry)
    warm_up(app)
    # What the worker holds from here on (the library, the engine, compiled statements and
    # templates) lives as long as the process: moved out of the collector's generations, a
    # full collection no longer walks those millions of objects in the middle of a request
    # (pauses of 100 ms and more, the p99's tail). Python's gc.freeze, documented for this.
    gc.collect()
    gc.freeze()
    # A page's work runs in a worker thread while the event loop reads other connections: a
    # thread waiting for the GIL waits up to the switch interval (5 ms by default) at each
    # hand-over, several a request, and the waits queue up under 20 clients. 0.5 ms keeps the
    # hand-overs short (Python's sys.setswitchinterval).
    sys.setswitchinterval(0.0005)
    return app


def warm_up(app: FastAPI) -> None:
    """Do once, before this worker serves, what a worker's first requests would otherwise pay
    for (a first request's extra time counts in the p99): compile the pages' templates, and
    read the first patient as every hot route reads it (the user's query, the list's first
    page with its status columns, the record, the stored derived result and its version, the
    timeline's specification), for
    an actor of every centre and one of the patient's centre, so the statements are built and
    compiled; then derive that patient as a write would, storing nothing
    (``derived.derive_unstored``), so the worker's first write does not load the engine (about
    9 s of CPU; with the workers' own sockets every worker gets writes). Nothing is written, and
    no request waits for it: the worker serves once it is done. A failure here is left to the
    first request that meets it (the worker starts anyway)."""
    from jinja2 import TemplateError
    from sqlalchemy.exc import SQLAlchemyError

    from srnskit.errors import SrnskitError
    from srnskit.registry import derived, store
    from srnskit.registry.access import ALL_CENTERS, Actor
    from srnskit.registry.users import load_actor
    from srnskit.web.pages.common import environment
    from srnskit.web.pages.patients import PAGE_SIZE
    from srnskit.web.pages.timeline import timeline_spec

    try:
        templates = environment()
        for name in templates.list_templates():
            templates.get_template(name)
        every = Actor("warm-up", "viewer", frozenset({ALL_CENTERS}))
        with app.state.registry.session() as session:
            load_actor(session, "")
            first = store.list_patients(session, every, limit=1, definitions=WARM_UP_DEFINITIONS)
            if not first:
                return
            patient, center = first[0]["patient_id"], first[0]["center_id"]
            for actor in (every, Actor("warm-up", "viewer", frozenset({center}))):
                # the list's first page as the page asks for it (its limit is in the SQL)
                store.list_patients(
                    session, actor, limit=PAGE_SIZE + 1, definitions=WARM_UP_DEFINITIONS
                )
                store.get_patient(session, actor, patient)
                derived.read_derived_json(session, actor, patient, WARM_UP_DEFINITIONS)
                derived.stored_version(session, actor, patient, WARM_UP_DEFINITIONS)
                timeline_spec(session, actor, patient, WARM_UP_DEFINITIONS)
            # The engine, as a write runs it (validated, derived under every set, not stored).
            derived.derive_unstored(session, [patient])
    except (SrnskitError, SQLAlchemyError, TemplateError):
        return


def run(url: str, host: str, port: int, workers: int) -> None:
    """Serve the API of the registry at ``url`` (migrated already) on ``host``:``port`` with
    ``workers`` processes (1: in this process). ``X-Forwarded-Proto`` is believed only from a
    proxy on this machine. On Linux each worker listens on a socket of its own
    (``OwnSocketWorker``), so the kernel spreads connections over the workers."""
    import uvicorn
    from uvicorn.supervisors import multiprocess

    os.environ[_DATABASE_ENV] = url  # what database_url() reads in each worker
    options: dict[str, Any] = {
        "factory": True,
        "host": host,
        "port": port,
        "proxy_headers": True,
        "forwarded_allow_ips": "127.0.0.1",
        "server_header": False,
        "log_level": "warning",
        # uvloop and httptools (pinned): the event loop and the HTTP parser in C, about
        # 0.5 ms less CPU a request than asyncio's loop and h11 (docs/decisions.md).
        "loop": "uvloop",
        "http": "httptools",
        # No access log: a request line names a patient (/patients/{id}), and srnskit never
        # logs identifiers; formatting it also cost every request.
        "access_log": False,
        # A worker must answer the supervisor's health check within this many seconds, or it
        # is killed and replaced. uvicorn's 5 s was shorter than a worker's start on a busy
        # two-core machine (importing the library took 10 to 40 s under a load of 15): the
        # workers were killed before they served, one after the other, for ever.
        "timeout_worker_healthcheck": HEALTH_CHECK_SECONDS,
    }
    if workers == 1:
        uvicorn.run(WORKER_APP, **options)
        return
    config = uvicorn.Config(WORKER_APP, workers=workers, **options)
    if OWN_SOCKETS:
        # The port is taken here (an error now if it is in use) by a socket that never
        # listens; uvicorn's supervisor starts, watches and replaces the workers.
        reserved = port_socket(host, port)
        multiprocess.Process = OwnSocketWorker  # type: ignore[misc]
    else:
        reserved = config.bind_socket()
    try:
        multiprocess.Multiprocess(config, sockets=[reserved]).run()
    finally:
        reserved.close()


def port_socket(host: str, port: int) -> socket.socket:
    """A TCP socket bound to ``host``:``port`` with ``SO_REUSEPORT``, not yet listening (Linux:
    every worker binds the same port, and the kernel hands each new connection to one of the
    sockets listening, spread by a hash of its addresses; a server listens on its socket when
    it starts, after its app is loaded)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.set_inheritable(True)
    return sock


class OwnSocketWorker(UvicornProcess):
    """A uvicorn worker process that listens on a socket of its own (``port_socket``),
    from when its app is loaded, instead of the one socket all workers share. With one shared
    socket, the worker that wakes first accepts every connection waiting: 20 keep-alive
    connections opened at once all went to one of two workers, which served them alone while
    the other idled (seen in the benchmark with ``ss``). The inherited socket (bound, never
    listening) is closed."""

    def target(self, sockets: list[socket.socket] | None = None) -> None:
        # Bound now, listening only once the app is loaded (the server's start listens): a
        # worker still loading takes no connection, which would wait there, unanswered.
        own = port_socket(self.config.host, self.config.port)
        for inherited in sockets or []:
            inherited.close()
        super().target([own])
