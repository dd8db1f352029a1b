"""The pages' fixtures: the app over a copy of the API tests' populated registry (users of
every role in centre A and the network's admin; patients in centres A and B), and a browser-like
client that logs in through ``POST /login`` and reads its CSRF token from the session."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx2 as httpx
import jwt
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from srnskit.registry import store
from srnskit.registry.access import Actor
from srnskit.registry.db import Registry, open_registry
from srnskit.web.api import auth, create_app
from tests.registry.api.conftest import PASSWORD, Clock, populated_sqlite
from tests.registry.conftest import _quick_password_hashing

__all__ = [
    "Pages",
    "_quick_password_hashing",
    "csrf_fields",
    "pages",
    "populated_sqlite",
    "row_id",
]


@dataclass
class Pages:
    """A client of the app (cookies kept, redirects not followed) and the registry under it."""

    client: TestClient
    registry: Registry
    app: FastAPI
    clock: Clock
    tmp: Path
    csrf: str = ""

    def login(self, user: str | None) -> str:
        """Log ``user`` in through the login form (None: log out); returns the CSRF token."""
        self.client.cookies.clear()
        self.csrf = ""
        if user is None:
            return ""
        answer = self.client.post("/login", data={"username": user, "password": PASSWORD})
        assert answer.status_code == 303, answer.text
        cookie = self.client.cookies[auth.COOKIE_NAME]
        self.csrf = str(jwt.decode(cookie, options={"verify_signature": False})["csrf"])
        return self.csrf

    def post(
        self, path: str, data: dict[str, str] | None = None, **kwargs: object
    ) -> httpx.Response:
        """POST a form with the session's CSRF token."""
        return self.client.post(path, data={"csrf_token": self.csrf, **(data or {})}, **kwargs)  # type: ignore[arg-type]


def row_id(pages: Pages, pid: str, table: str = "measurements") -> int:
    """The id of the first row of ``pid``'s ``table`` (read as the command line would)."""
    with pages.registry.session() as session:
        found: int = store.get_patient(session, Actor.system(), pid)[table][0]["id"]
        return found


def csrf_fields(html: str) -> list[str]:
    """The values of the page's hidden ``csrf_token`` fields."""
    return re.findall(r'name="csrf_token" value="([^"]*)"', html)


@pytest.fixture
def pages(populated_sqlite: Path, tmp_path: Path) -> Iterator[Pages]:
    """The pages over a copy of the populated SQLite registry."""
    database = tmp_path / "registry.db"
    shutil.copyfile(populated_sqlite, database)
    registry = open_registry(f"sqlite:///{database}")
    clock = Clock()
    app = create_app(registry, clock=clock)
    client = TestClient(app, follow_redirects=False)
    try:
        yield Pages(client, registry, app, clock, tmp_path)
    finally:
        client.close()
        registry.close()
