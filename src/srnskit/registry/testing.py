"""A throwaway PostgreSQL server and scratch databases, for the registry's tests and benchmark.

The tests (``tests/registry/conftest.py``) and ``benchmarks/registry.py`` both need a real
PostgreSQL: the server at ``SRNSKIT_TEST_PG`` (a URL such as
``postgresql+psycopg://postgres@127.0.0.1:5432/postgres``) when set, else one started from
Debian's binaries (``/usr/lib/postgresql/*/bin``; ``make test`` installs the ``postgresql``
package) in a temporary folder on a free loopback port, as the ``postgres`` user when run as
root (initdb refuses root), stopped and removed afterwards. Nothing here is used by the
registry itself.

    postgres_binaries() -> Path | None        the newest installed server's bin folder
    postgres_server(fsync=True) -> URL | None  (context manager) the maintenance database's
                                              URL; None when neither the variable nor binaries
    scratch_database(server, prefix) -> str    (context manager) a new empty database's URL,
                                              dropped afterwards
    free_port() -> int                        a free TCP port on 127.0.0.1
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa

__all__ = [
    "NO_POSTGRES",
    "TEST_SERVER_ENV",
    "free_port",
    "postgres_binaries",
    "postgres_server",
    "scratch_database",
]

TEST_SERVER_ENV = "SRNSKIT_TEST_PG"
NO_POSTGRES = (
    "PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb) and SRNSKIT_TEST_PG is "
    "not set: 'make test' installs Debian's postgresql package"
)


def free_port() -> int:
    """A TCP port free on 127.0.0.1 now (the caller binds it soon after)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def postgres_binaries() -> Path | None:
    """The ``bin`` folder of the newest PostgreSQL installed from Debian's packages, or None."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(found[-1]).parent if found else None


def _as_postgres(command: list[str]) -> list[str]:
    """``command`` run as the ``postgres`` user when we are root (initdb refuses root)."""
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *command]
    return command


@contextmanager
def postgres_server(*, fsync: bool = True) -> Iterator[sa.URL | None]:
    """The URL of a PostgreSQL server's maintenance database (``postgres``): the server at
    ``SRNSKIT_TEST_PG``, else one started here and stopped on exit; None when there is neither.
    ``fsync=False`` (tests) starts it without flushing to disk: faster, and its data is thrown
    away anyway. Raises ``subprocess.CalledProcessError`` when the server fails to start."""
    given = os.environ.get(TEST_SERVER_ENV)
    if given:
        yield sa.engine.make_url(given)
        return
    binaries = postgres_binaries()
    if binaries is None:
        yield None
        return
    # Not under pytest's temporary folder: that is private to root, and the server runs as
    # postgres.
    root = Path(tempfile.mkdtemp(prefix="srnskit-pg-"))
    data, sockets = root / "data", root / "sockets"
    sockets.mkdir()
    if os.geteuid() == 0:
        shutil.chown(root, "postgres")
        shutil.chown(sockets, "postgres")
    pg_ctl = str(binaries / "pg_ctl")
    try:
        initdb = [str(binaries / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust"]
        subprocess.run(_as_postgres(initdb), check=True, capture_output=True)
        port = free_port()
        options = f"-p {port} -k {sockets} -c listen_addresses=127.0.0.1"
        if not fsync:
            options += " -c fsync=off"
        start = [pg_ctl, "-D", str(data), "-o", options, "-l", str(root / "log"), "-w", "start"]
        subprocess.run(_as_postgres(start), check=True, capture_output=True)
        yield sa.URL.create("postgresql+psycopg", "postgres", None, "127.0.0.1", port, "postgres")
    finally:
        if (data / "postmaster.pid").exists():
            stop = [pg_ctl, "-D", str(data), "-m", "fast", "-w", "stop"]
            subprocess.run(_as_postgres(stop), check=False, capture_output=True)
        shutil.rmtree(root, ignore_errors=True)


@contextmanager
def scratch_database(server: sa.URL, prefix: str = "srnskit_scratch") -> Iterator[str]:
    """A new, empty database on ``server`` (named ``prefix`` and a random suffix): its URL
    (password included, for the commands given it), dropped on exit even while connected."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(server, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
        try:
            yield server.set(database=name).render_as_string(hide_password=False)
        finally:
            with admin.connect() as connection:
                connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        admin.dispose()
