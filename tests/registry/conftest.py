"""The registry's fixtures: a fresh database per test on SQLite and on PostgreSQL.

PostgreSQL: the server at ``SRNSKIT_TEST_PG`` (a URL such as
``postgresql+psycopg://postgres@127.0.0.1:5432/postgres``) when set; else one started for the
session from Debian's binaries (``/usr/lib/postgresql/*/bin``; ``make test`` installs the
``postgresql`` package when missing) in a temporary folder, on a free loopback port, as the
``postgres`` user when the tests run as root. Only when no binaries exist is PostgreSQL skipped,
saying why. Each test gets its own database, dropped afterwards.
"""

from __future__ import annotations

import csv
import glob
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from argon2 import PasswordHasher

from srnskit.examples import path as example_path
from srnskit.registry.db import upgrade

_NO_POSTGRES = (
    "PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb) and SRNSKIT_TEST_PG is "
    "not set: 'make test' installs Debian's postgresql package"
)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _as_postgres(command: list[str]) -> list[str]:
    """``command`` run as the ``postgres`` user when we are root (initdb refuses root)."""
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *command]
    return command


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[sa.URL]:
    """The URL of a PostgreSQL server's maintenance database (``postgres``)."""
    given = os.environ.get("SRNSKIT_TEST_PG")
    if given:
        yield sa.engine.make_url(given)
        return
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not found:
        pytest.skip(_NO_POSTGRES)
    binaries = Path(found[-1]).parent
    # Not under pytest's temporary folder: that is private to root, and the server runs as
    # postgres.
    root = Path(tempfile.mkdtemp(prefix="srnskit-test-pg-"))
    data, sockets = root / "data", root / "sockets"
    sockets.mkdir()
    if os.geteuid() == 0:
        shutil.chown(root, "postgres")
        shutil.chown(sockets, "postgres")
    port = _free_port()
    subprocess.run(
        _as_postgres([str(binaries / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust"]),
        check=True,
        capture_output=True,
    )
    options = f"-p {port} -k {sockets} -c listen_addresses=127.0.0.1 -c fsync=off"
    pg_ctl = str(binaries / "pg_ctl")
    subprocess.run(
        _as_postgres(
            [pg_ctl, "-D", str(data), "-o", options, "-l", str(root / "log"), "-w", "start"]
        ),
        check=True,
        capture_output=True,
    )
    try:
        yield sa.URL.create("postgresql+psycopg", "postgres", None, "127.0.0.1", port, "postgres")
    finally:
        subprocess.run(
            _as_postgres([pg_ctl, "-D", str(data), "-m", "fast", "-w", "stop"]),
            check=False,
            capture_output=True,
        )
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def postgres_url(postgres_server: sa.URL) -> Iterator[str]:
    """A new, empty database on the PostgreSQL server, dropped after the test."""
    name = f"srnskit_test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(postgres_server, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield postgres_server.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database: a SQLite file, or a PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'registry.db'}"
    url: str = request.getfixturevalue("postgres_url")
    return url


@pytest.fixture
def db_url(empty_url: str) -> str:
    """A registry at the newest schema, with no data, on SQLite and on PostgreSQL."""
    upgrade(empty_url)
    return empty_url


@pytest.fixture(scope="session")
def demo_by_center(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The demo cohort split into one folder per centre (an import is into one centre)."""
    demo = example_path("demo")
    root = tmp_path_factory.mktemp("demo-by-center")
    with (demo / "patients.csv").open(newline="", encoding="utf-8") as handle:
        centers: dict[str, set[str]] = {}
        for row in csv.DictReader(handle):
            centers.setdefault(row["center_id"], set()).add(row["patient_id"])
    folders = {}
    for center, ids in sorted(centers.items()):
        folder = root / center
        folder.mkdir()
        for table in demo.glob("*.csv"):
            with table.open(newline="", encoding="utf-8") as handle:
                rows = list(csv.reader(handle))
            with (folder / table.name).open("w", newline="", encoding="utf-8") as handle:
                writer = csv.writer(handle)
                writer.writerow(rows[0])
                writer.writerows(r for r in rows[1:] if r[0] in ids)
        folders[center] = folder
    return folders


@pytest.fixture(autouse=True)
def _quick_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """argon2id with its defaults takes about 0.8 s a hash here (64 MiB, three passes); tests
    that add many users use a cheap setting of the same algorithm."""
    monkeypatch.setattr(
        "srnskit.registry.users._HASHER", PasswordHasher(time_cost=1, memory_cost=1024)
    )
