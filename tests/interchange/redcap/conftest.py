"""Fixtures of the REDCap tests: the demo cohort's derived tables under every shipped set
(computed once a session), and a stand-in REDCap API on 127.0.0.1 that serves the responses
recorded in ``tests/data/interchange/redcap/api/`` and checks each POST's token and content.

The stand-in answers as REDCap's API does (PyCap ``redcap/methods``, REDCap's API help; see
redcap.toml): ``content=metadata`` (no ``data``) → ``metadata.json``; ``content=record`` →
``records.csv``, only for ``format=csv``, ``type=flat``, ``rawOrLabel=raw``; an import
(``content=metadata`` or ``repeatingFormsEvents`` with ``data``) → the number of rows it
received, as REDCap answers with the count; a wrong token → HTTP 403 with
``error_403.json``; anything else → HTTP 400 with REDCap's ``{"error": …}``. With ``page`` set,
it answers every POST with that page instead, as a proxy or a login page in front of REDCap
would.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pyarrow as pa
import pytest

from srnskit.engine import Derived
from srnskit.examples import path as example_path
from tests.interchange.conftest import derived_under_every_set

TODAY = dt.date(2026, 12, 1)
DATA = Path(__file__).resolve().parents[2] / "data" / "interchange" / "redcap"
API = DATA / "api"
DEFINITION_SETS = ("seed2023", "kdigo2021", "ipna2020")
# The token the stand-in accepts: 32 hexadecimal characters, the shape of a REDCap token.
TOKEN = "0123456789ABCDEF0123456789ABCDEF"
# Each derived table's key, to compare tables whatever their row order.
DERIVED_KEYS = {
    "patient_outcomes": ["patient_id"],
    "courses": ["patient_id", "course_no"],
    "episodes": ["patient_id", "start_date", "state"],
}


def derived_tables(cohort: Path) -> dict[str, dict[str, pa.Table]]:
    """Each shipped set's derived tables of ``cohort``, each sorted by its key."""
    return {name: _sorted(result) for name, result in derived_under_every_set(cohort).items()}


def _sorted(result: Derived) -> dict[str, pa.Table]:
    return {
        name: table.sort_by([(k, "ascending") for k in DERIVED_KEYS[name]])
        for name, table in result.tables().items()
    }


@pytest.fixture(scope="session")
def demo_derived() -> dict[str, dict[str, pa.Table]]:
    """The demo cohort's derived tables under seed2023, kdigo2021 and ipna2020."""
    return derived_tables(example_path("demo"))


@dataclass
class StandIn:
    """The stand-in's address and every request it received (form fields, token included)."""

    url: str
    requests: list[dict[str, str]] = field(default_factory=list)
    # (HTTP status, body, Content-Type or "" for none) answered to every POST when set
    page: tuple[int, bytes, str] | None = None


def _handler(stand_in: StandIn) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            form = {
                k: v[0]
                for k, v in urllib.parse.parse_qs(
                    self.rfile.read(length).decode("ascii"), keep_blank_values=True
                ).items()
            }
            stand_in.requests.append(form)
            if stand_in.page is not None:
                self._answer(*stand_in.page)
            elif self.path != "/api/":
                self._answer(404, b"Not Found", "text/plain")
            elif form.get("token") != TOKEN:
                self._answer(403, (API / "error_403.json").read_bytes(), "application/json")
            else:
                self._route(form)

        def _route(self, form: dict[str, str]) -> None:
            content = form.get("content")
            if "data" in form and content in ("metadata", "repeatingFormsEvents"):
                rows = json.loads(form["data"])
                self._answer(200, str(len(rows)).encode(), "application/json")
            elif content == "metadata" and form.get("format") == "json":
                self._answer(200, (API / "metadata.json").read_bytes(), "application/json")
            elif content == "record" and (
                form.get("format"),
                form.get("type"),
                form.get("rawOrLabel"),
            ) == ("csv", "flat", "raw"):
                self._answer(200, (API / "records.csv").read_bytes(), "text/csv; charset=utf-8")
            else:
                error = json.dumps(
                    {"error": f"The value of the parameter content={content} is not valid"}
                )
                self._answer(400, error.encode(), "application/json")

        def _answer(self, status: int, body: bytes, kind: str) -> None:
            self.send_response(status)
            if kind:
                self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass  # quiet: pytest shows failures, not every request

    return Handler


@pytest.fixture
def redcap_server() -> Iterator[StandIn]:
    """A stand-in REDCap API on a free port of 127.0.0.1, stopped after the test."""
    stand_in = StandIn(url="")
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(stand_in))
    stand_in.url = f"http://127.0.0.1:{server.server_address[1]}/api/"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield stand_in
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.fixture
def token_file(tmp_path: Path) -> Path:
    """A token file as a data manager keeps one: the token alone, readable by its owner only."""
    path = tmp_path / "redcap.token"
    path.write_text(TOKEN + "\n", encoding="utf-8")
    path.chmod(0o600)
    return path
