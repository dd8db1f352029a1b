"""THE ACCESS MATRIX (registry.md §2): every route of the app × every role (viewer, data_entry,
investigator, admin of centre A, the network's admin '*') × a patient or centre of the user's
own (A) or another (B) × no token, each answered with the status the contract gives.

The routes are enumerated from ``app.routes``: a route without an entry in ``ACCESS`` fails the
test, and so does an entry without a route. Each entry says what the route needs:

- ``need``: the role's permission (``registry.access.PERMISSIONS``), "login" for any logged-in
  user, or None for a public route;
- ``scope``: how the other centre answers: "patient" 404 (its existence is not revealed),
  "center" 403 (the user may not act in that centre), "filtered" the success status (the
  answer leaves B out; checked in test_routes), "none" no centre in the request.

Expected, worked out from §2: no token → 401 (public routes: their success); a role without
``need`` → 403, whatever the centre; own centre → success; other centre → success for the
network's admin, else as ``scope`` says.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import httpx2 as httpx
import pytest
from fastapi.routing import APIRoute
from starlette.routing import Route

from srnskit.registry.access import Action
from tests.registry.api.conftest import (
    PASSWORD,
    USERS,
    Api,
    expected_status,
    patient_id,
    write_cohort,
)

Case = Literal["own", "other", "no token"]
Call = Callable[[Api, str, str, dict[str, str]], httpx.Response]

CENTER = {"own": "A", "other": "B"}


@dataclass(frozen=True)
class Access:
    need: Action | Literal["login"] | None
    scope: Literal["patient", "center", "filtered", "none"]
    success: int
    call: Call


def _pid(user: str, case: str, group: str = "main") -> str:
    # Without a token the request names the own centre's patient of the network's admin.
    return patient_id(CENTER.get(case, "A"), user, group)


def _zip_of_cohort(api: Api, center: str) -> bytes:
    folder = write_cohort(api.tmp / f"upload-{center}", center, [f"{center}-upload-1"])
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path in sorted(folder.iterdir()):
            archive.write(path, path.name)
    return buffer.getvalue()


def _new_patient(api: Api, user: str, case: str, headers: dict[str, str]) -> httpx.Response:
    center = CENTER.get(case, "A")
    body = {
        "patient_id": f"{center}-{user}-new",
        "center_id": center,
        "sex": "M",
        "birth_date": "2011-02-03",
        "onset_date": "2015-06-07",
    }
    return api.client.post("/api/v1/patients", json=body, headers=headers)


def _row_path(api: Api, user: str, case: str, group: str) -> str:
    pid = _pid(user, case, group)
    return f"/api/v1/patients/{pid}/measurements/{api.row_id(pid)}"


UPCR = {"date": "2014-06-01", "analyte": "upcr", "value": "0.1", "unit": "mg/mg"}

ACCESS: dict[tuple[str, str], Access] = {
    ("GET", "/api/v1/openapi.json"): Access(
        None, "none", 200, lambda api, u, c, h: api.client.get("/api/v1/openapi.json", headers=h)
    ),
    ("POST", "/api/v1/token"): Access(
        None,
        "none",
        200,
        lambda api, u, c, h: api.client.post(
            "/api/v1/token", data={"username": u, "password": PASSWORD}
        ),
    ),
    ("POST", "/api/v1/session"): Access(
        None,
        "none",
        200,
        lambda api, u, c, h: api.client.post(
            "/api/v1/session", data={"username": u, "password": PASSWORD}
        ),
    ),
    ("GET", "/api/v1/session"): Access(
        "login", "none", 200, lambda api, u, c, h: api.client.get("/api/v1/session", headers=h)
    ),
    ("DELETE", "/api/v1/session"): Access(
        "login", "none", 204, lambda api, u, c, h: api.client.delete("/api/v1/session", headers=h)
    ),
    ("GET", "/api/v1/patients"): Access(
        "read",
        "filtered",
        200,
        lambda api, u, c, h: api.client.get(
            "/api/v1/patients", params={"center": CENTER.get(c, "A")}, headers=h
        ),
    ),
    ("POST", "/api/v1/patients"): Access("write", "center", 201, _new_patient),
    ("GET", "/api/v1/patients/{patient_id}"): Access(
        "read",
        "patient",
        200,
        lambda api, u, c, h: api.client.get(f"/api/v1/patients/{_pid(u, c)}", headers=h),
    ),
    ("PATCH", "/api/v1/patients/{patient_id}"): Access(
        "write",
        "patient",
        200,
        lambda api, u, c, h: api.client.patch(
            f"/api/v1/patients/{_pid(u, c)}", json={"family_history": True}, headers=h
        ),
    ),
    ("DELETE", "/api/v1/patients/{patient_id}"): Access(
        "write",
        "patient",
        204,
        lambda api, u, c, h: api.client.delete(f"/api/v1/patients/{_pid(u, c, 'del')}", headers=h),
    ),
    ("POST", "/api/v1/patients/{patient_id}/{table}"): Access(
        "write",
        "patient",
        201,
        lambda api, u, c, h: api.client.post(
            f"/api/v1/patients/{_pid(u, c)}/measurements", json=[UPCR], headers=h
        ),
    ),
    ("PATCH", "/api/v1/patients/{patient_id}/{table}/{row_id}"): Access(
        "write",
        "patient",
        200,
        lambda api, u, c, h: api.client.patch(
            _row_path(api, u, c, "main"), json={"value": "7"}, headers=h
        ),
    ),
    ("DELETE", "/api/v1/patients/{patient_id}/{table}/{row_id}"): Access(
        "write",
        "patient",
        204,
        lambda api, u, c, h: api.client.delete(_row_path(api, u, c, "delrow"), headers=h),
    ),
    ("GET", "/api/v1/patients/{patient_id}/derived"): Access(
        "read",
        "patient",
        200,
        lambda api, u, c, h: api.client.get(
            f"/api/v1/patients/{_pid(u, c)}/derived", params={"definitions": "kdigo2021"}, headers=h
        ),
    ),
    ("POST", "/api/v1/imports"): Access(
        "import",
        "center",
        200,
        lambda api, u, c, h: api.client.post(
            "/api/v1/imports",
            params={"center": CENTER.get(c, "A"), "commit": "false"},
            files={"file": ("cohort.zip", _zip_of_cohort(api, CENTER.get(c, "A")))},
            headers=h,
        ),
    ),
    ("GET", "/api/v1/export"): Access(
        "export",
        "none",
        200,
        lambda api, u, c, h: api.client.get(
            "/api/v1/export", params={"deidentify": "true"}, headers=h
        ),
    ),
    ("GET", "/api/v1/report"): Access(
        "report",
        "none",
        200,
        lambda api, u, c, h: api.client.get(
            "/api/v1/report", params={"definitions": "kdigo2021"}, headers=h
        ),
    ),
    ("GET", "/api/v1/audit"): Access(
        "read_audit",
        "filtered",
        200,
        lambda api, u, c, h: api.client.get(
            "/api/v1/audit", params={"record": _pid(u, c)}, headers=h
        ),
    ),
}


def app_routes(api: Api) -> set[tuple[str, str]]:
    """Every (method, path) of the API the app answers (HEAD aside: it is GET's); the HTML
    pages beside it have their own matrix (tests/web/pages)."""
    found = set()
    for route in api.app.routes:
        if not getattr(route, "path", "").startswith("/api/v1"):
            continue
        assert isinstance(route, APIRoute | Route), f"unexpected route object {route!r}"
        for method in route.methods or ():
            if method != "HEAD":
                found.add((method, route.path))
    return found


def expected(access: Access, user: str | None, case: Case) -> int:
    """The status registry.md §2 gives (see the module's docstring)."""
    own = case == "own"
    return expected_status(access.need, access.scope, access.success, user, own=own, anonymous=401)


def test_every_route_has_an_access_entry(api: Api) -> None:
    routes = app_routes(api)
    assert routes - set(ACCESS) == set(), "routes without an entry in ACCESS"
    assert set(ACCESS) - routes == set(), "entries in ACCESS for routes the app lacks"


# Every route × role × centre: a minute; slow (``make test-slow``, which CI runs).
@pytest.mark.slow
def test_access_matrix(api: Api) -> None:
    answered: list[tuple[str, str, str | None, str, int, int]] = []
    for (method, path), access in sorted(ACCESS.items()):
        for user in [None, *USERS]:  # nobody first, while every target exists
            cases: list[Case] = ["no token"] if user is None else ["own", "other"]
            last: httpx.Response | None = None
            for case in cases:
                headers = api.auth(user)
                api.client.cookies.clear()  # POST /session left one: only the header counts
                if access.scope == "none" and case == "other" and last is not None:
                    response = last  # the very same request: no centre in it
                else:
                    response = access.call(api, user or "network", case, headers)
                last = response
                want = expected(access, user, case)
                answered.append((method, path, user, case, want, response.status_code))
    wrong = [a for a in answered if a[4] != a[5]]
    assert wrong == [], "\n".join(
        f"{m} {p} as {u or 'nobody'} ({c}): expected {w}, got {g}" for m, p, u, c, w, g in wrong
    )
    # 18 routes × (5 users × 2 centres + no token)
    assert len(answered) == len(ACCESS) * (len(USERS) * 2 + 1)
