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
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from argon2 import PasswordHasher

from srnskit.examples import path as example_path
from srnskit.registry import testing
from srnskit.registry.db import upgrade


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[sa.URL]:
    """The URL of a PostgreSQL server's maintenance database (``postgres``), started for the
    session without fsync unless ``SRNSKIT_TEST_PG`` names one (``registry.testing``)."""
    with testing.postgres_server(fsync=False) as server:
        if server is None:
            pytest.skip(testing.NO_POSTGRES)
        yield server


@pytest.fixture
def postgres_url(postgres_server: sa.URL) -> Iterator[str]:
    """A new, empty database on the PostgreSQL server, dropped after the test."""
    with testing.scratch_database(postgres_server, "srnskit_test") as url:
        yield url


# PostgreSQL's half is slow (``make test-slow``, which CI runs): its server and a database per
# test made the registry's tests four minutes of ``make test``'s twenty.
@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.slow)])
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
