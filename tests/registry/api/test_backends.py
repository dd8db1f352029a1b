"""SQLite and PostgreSQL give identical API answers (issue 18): the same script of requests on
a registry of each, every answer compared (status and body), times and hashes aside."""

from __future__ import annotations

from typing import Any

import pytest

from tests.registry.api.conftest import Api, populate, serve

V1 = "/api/v1"


def _script(api: Api) -> list[tuple[str, int, Any]]:
    """Reads and writes of every kind, as several users; the answers in order."""
    answers: list[tuple[str, int, Any]] = []

    def call(label: str, method: str, path: str, user: str | None, **kw: Any) -> None:
        response = api.client.request(method, V1 + path, headers=api.auth(user), **kw)
        body: Any = response.json() if response.content else None
        answers.append((label, response.status_code, _stable(body)))

    new = {"patient_id": "A-50", "sex": "M", "birth_date": "2011-01-01", "onset_date": "2015-02-02"}
    call("list", "GET", "/patients", "viewer")
    call("list other centre", "GET", "/patients", "viewer", params={"center": "B"})
    call("search", "GET", "/patients", "network", params={"q": "-del"})
    call("create", "POST", "/patients", "data_entry", json=new)
    call("taken", "POST", "/patients", "data_entry", json={**new, "patient_id": "B-viewer-main"})
    call("invalid", "POST", "/patients", "data_entry", json={**new, "patient_id": "A-51", "sex": 3})
    call("patch", "PATCH", "/patients/A-50", "investigator", json={"histology": "MCD"})
    rows = [
        {"date": "2015-02-03", "analyte": "upcr", "value": "<0.2", "unit": "mg/mg"},
        {"date": "2015-02-03", "analyte": "creatinine", "value": "0.5", "unit": "mg/dL"},
    ]
    call("rows", "POST", "/patients/A-50/measurements", "data_entry", json=rows)
    call("read", "GET", "/patients/A-50", "viewer")
    call("derived", "GET", "/patients/A-50/derived", "viewer")
    call("other centre", "GET", "/patients/B-viewer-main", "admin")
    call("delete", "DELETE", "/patients/A-viewer-del", "admin")
    call("audit", "GET", "/audit", "admin", params={"record": "A-50"})
    return answers


def _stable(body: Any) -> Any:
    """``body`` without what differs between any two runs: times, hashes, row ids."""
    if isinstance(body, dict):
        unstable = {"time", "hash", "prev_hash", "computed_at", "id", "record"}
        return {k: _stable(v) for k, v in body.items() if k not in unstable}
    if isinstance(body, list):
        return [_stable(v) for v in body]
    return body


@pytest.mark.parametrize(
    "empty_url", [pytest.param("postgresql", marks=pytest.mark.slow)], indirect=True
)
def test_sqlite_and_postgresql_answer_alike(empty_url: str, tmp_path: Any) -> None:
    from srnskit.registry.db import upgrade

    upgrade(empty_url)
    sqlite = f"sqlite:///{tmp_path / 'registry.db'}"
    results = []
    for url in (sqlite, empty_url):
        folder = tmp_path / url.split(":")[0]
        folder.mkdir()
        populate(url, folder)
        for api in serve(url, folder):
            results.append(_script(api))
    on_sqlite, on_postgres = results
    assert [a[:2] for a in on_sqlite] == [a[:2] for a in on_postgres]
    for left, right in zip(on_sqlite, on_postgres, strict=True):
        assert left == right, left[0]
    statuses = {label: status for label, status, _ in on_sqlite}
    assert statuses == {
        "list": 200,
        "list other centre": 200,
        "search": 200,
        "create": 201,
        "taken": 409,
        "invalid": 422,
        "patch": 200,
        "rows": 201,
        "read": 200,
        "derived": 200,
        "other centre": 404,
        "delete": 204,
        "audit": 200,
    }
