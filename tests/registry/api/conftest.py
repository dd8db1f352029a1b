"""The API's fixtures: an app over a fresh registry (SQLite, or PostgreSQL through
``tests/registry/conftest.py``), a clock the test moves, users of every role and a small
cohort in two centres, imported through the service."""

from __future__ import annotations

import csv
import datetime as dt
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import pytest
from argon2 import PasswordHasher
from fastapi import FastAPI
from fastapi.testclient import TestClient

from srnskit.registry.access import PERMISSIONS, Action, Actor
from srnskit.registry.db import Registry, open_registry
from srnskit.registry.imports import import_cohort
from srnskit.registry.users import add_user
from srnskit.web.api import create_app

PASSWORD = "correct horse battery"
TODAY = dt.date(2026, 12, 1)
# name → (role, centres): one of each role in centre A, and the network's admin.
USERS: dict[str, tuple[str, list[str]]] = {
    "viewer": ("viewer", ["A"]),
    "data_entry": ("data_entry", ["A"]),
    "investigator": ("investigator", ["A"]),
    "admin": ("admin", ["A"]),
    "network": ("admin", ["*"]),
}


def expected_status(
    need: Action | Literal["login"] | None,
    scope: Literal["patient", "center", "filtered", "none"],
    success: int,
    user: str | None,
    *,
    own: bool,
    anonymous: int,
) -> int:
    """The status registry.md §2 gives a request of ``user`` (a key of ``USERS``; None: no
    token or session) to a route that needs ``need`` (an action, "login", or None: open to
    all) on ``scope``, naming its own centre's data (``own``) or another's: ``success`` when
    allowed; ``anonymous`` without a login (the API's 401, a page's 303 to the login); 403
    when the role lacks the action; for another centre's data, 404 for a patient (no one
    learns it exists) and 403 for a centre, unless the user is the network's ("*") or the
    route filters by centre itself. The one oracle of both access matrices (API and pages)."""
    if need is None:
        return success
    if user is None:
        return anonymous
    role, centers = USERS[user]
    if need != "login" and need not in PERMISSIONS[role]:  # type: ignore[index]
        return 403
    if own or "*" in centers or scope in ("filtered", "none"):
        return success
    return 404 if scope == "patient" else 403


# Patient sets: each role gets its own patients in A and B per set, so a route that deletes
# does not take away what another route of the matrix needs.
SETS = ("main", "del", "delrow")


@dataclass
class Clock:
    """UTC time the test sets; the app reads it."""

    now: dt.datetime = field(default_factory=lambda: dt.datetime(2026, 12, 1, 9, tzinfo=dt.UTC))

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += dt.timedelta(**delta)


def patient_id(center: str, user: str, group: str = "main") -> str:
    """The test patient of ``user`` in ``center`` for the set ``group``."""
    return f"{center}-{user}-{group}"


def write_cohort(folder: Path, center: str, ids: list[str]) -> Path:
    """A valid cohort folder: each child born 2010, onset 2014, one UPCR at onset."""
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / "patients.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["patient_id", "center_id", "sex", "birth_date", "onset_date"])
        writer.writerows([pid, center, "F", "2010-03-01", "2014-05-01"] for pid in ids)
    with (folder / "measurements.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["patient_id", "date", "analyte", "value", "unit"])
        writer.writerows([pid, "2014-05-02", "upcr", "6.5", "mg/mg"] for pid in ids)
    return folder


@dataclass
class Api:
    """A test client of the app, the registry under it, its clock and one token per user."""

    client: TestClient
    registry: Registry
    clock: Clock
    app: FastAPI
    tmp: Path
    tokens: dict[str, str] = field(default_factory=dict)

    def auth(self, user: str | None) -> dict[str, str]:
        """The Authorization header of ``user`` (none for None)."""
        return {} if user is None else {"Authorization": f"Bearer {self.tokens[user]}"}

    def row_id(self, pid: str, table: str = "measurements") -> int:
        """The id of the first row of ``pid``'s ``table`` (read as the network's admin)."""
        answer = self.client.get(f"/api/v1/patients/{pid}", headers=self.auth("network"))
        assert answer.status_code == 200, answer.text
        row_id: int = answer.json()[table][0]["id"]
        return row_id


def populate(url: str, tmp_path: Path) -> None:
    """Add ``USERS`` and, in centres A and B, the patients of ``SETS`` to the registry at
    ``url`` (two imports through the service)."""
    with open_registry(url) as registry, registry.session() as session:
        for name, (role, centers) in USERS.items():
            add_user(session, Actor.system(), name, role, centers, PASSWORD)
        for center in ("A", "B"):
            ids = [patient_id(center, user, group) for user in USERS for group in SETS]
            folder = write_cohort(tmp_path / f"cohort-{center}", center, ids)
            result = import_cohort(
                session, Actor.system(), folder, center=center, today=TODAY, commit=True
            )
            assert result.valid, result.problems
        session.commit()


def serve(url: str, tmp_path: Path) -> Iterator[Api]:
    """An ``Api`` over the populated registry at ``url``, with a token for each user."""
    registry = open_registry(url)
    clock = Clock()
    app = create_app(registry, clock=clock)
    client = TestClient(app)
    api = Api(client, registry, clock, app, tmp_path)
    for name in USERS:
        answer = client.post("/api/v1/token", data={"username": name, "password": PASSWORD})
        assert answer.status_code == 200, answer.text
        api.tokens[name] = answer.json()["access_token"]
    try:
        yield api
    finally:
        client.close()
        registry.close()


@pytest.fixture(scope="session")
def populated_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A populated SQLite registry, made once and copied for each test (the writes through
    the engine make it take seconds). Closed, so the write-ahead log is in the file."""
    folder = tmp_path_factory.mktemp("populated")
    database = folder / "registry.db"
    monkeypatch = pytest.MonkeyPatch()  # the cheap hashing of tests/registry/conftest.py
    monkeypatch.setattr(
        "srnskit.registry.users._HASHER", PasswordHasher(time_cost=1, memory_cost=1024)
    )
    try:
        populate(f"sqlite:///{database}", folder)
    finally:
        monkeypatch.undo()
    return database


@pytest.fixture
def api(populated_sqlite: Path, tmp_path: Path) -> Iterator[Api]:
    """The API over a copy of the populated SQLite registry."""
    database = tmp_path / "registry.db"
    shutil.copyfile(populated_sqlite, database)
    yield from serve(f"sqlite:///{database}", tmp_path)


@pytest.fixture
def api_on(db_url: str, tmp_path: Path) -> Iterator[Api]:
    """The API over a freshly populated registry on SQLite and on PostgreSQL."""
    populate(db_url, tmp_path)
    yield from serve(db_url, tmp_path)
