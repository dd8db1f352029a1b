"""THE PAGES' ACCESS MATRIX (registry.md §2): every page route of the app × every role (viewer,
data_entry, investigator, admin of centre A, the network's admin '*') × a patient or centre of
the user's own (A) or another (B) × no session, each answered with the status the contract
gives, as pages answer it.

The routes are every route of ``app.routes`` outside ``/api/v1`` (whose matrix is
tests/registry/api's): a route without an entry in ``ACCESS`` fails the test, and so does an entry
without a route. Expected, worked out from §2 as the API's matrix does: no session → 303 to
/login (public routes: their success); a role without ``need`` → 403, whatever the centre; own
centre → success; other centre → success for the network's admin, else 404 for a patient
("patient": its existence is not revealed) and 403 for a centre the user may not act in
("center"); "filtered" and "none" succeed (the answer leaves B out, or names no centre).
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import httpx2 as httpx
import pytest
from fastapi.routing import APIRoute
from starlette.routing import Route

from srnskit.registry.access import Action, Actor
from srnskit.registry.users import add_user
from tests.registry.api.conftest import PASSWORD, USERS, expected_status, patient_id, write_cohort
from tests.web.pages.conftest import Pages, row_id

Case = Literal["own", "other", "no session"]
Call = Callable[[Pages, str, str], httpx.Response]

CENTER = {"own": "A", "other": "B"}


@dataclass(frozen=True)
class Access:
    need: Action | Literal["login"] | None
    scope: Literal["patient", "center", "filtered", "none"]
    success: int
    call: Call


def _pid(user: str, case: str, group: str = "main") -> str:
    # Without a session the request names the own centre's patient of the network's admin.
    return patient_id(CENTER.get(case, "A"), user, group)


def _row(pages: Pages, user: str, case: str, group: str) -> str:
    pid = _pid(user, case, group)
    return f"/patients/{pid}/measurements/{row_id(pages, pid)}"


def _zip(pages: Pages, center: str, user: str) -> bytes:
    folder = write_cohort(pages.tmp / f"upload-{center}-{user}", center, [f"{center}-up-{user}"])
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path in sorted(folder.iterdir()):
            archive.write(path, path.name)
    return buffer.getvalue()


def _import(pages: Pages, user: str, center: str) -> httpx.Response:
    return pages.client.post(
        "/import",
        data={"csrf_token": pages.csrf, "center": center},
        files={"file": ("cohort.zip", _zip(pages, center, user))},
    )


def _commit(pages: Pages, user: str, case: str) -> httpx.Response:
    preview = _import(pages, user, "A")
    found = re.search(r'name="token" value="([^"]+)"', preview.text)
    return pages.post("/import/commit", {"token": found.group(1) if found else "none"})


UPCR = {"date": "2014-06-01", "analyte": "upcr", "value": "0.1", "unit": "mg/mg"}
PATIENT = {"sex": "F", "birth_date": "2010-03-01", "onset_date": "2014-05-01"}

ACCESS: dict[tuple[str, str], Access] = {
    ("GET", "/"): Access(None, "none", 303, lambda p, u, c: p.client.get("/")),
    ("GET", "/login"): Access(None, "none", 200, lambda p, u, c: p.client.get("/login")),
    ("POST", "/login"): Access(
        None,
        "none",
        303,
        lambda p, u, c: p.client.post("/login", data={"username": u, "password": PASSWORD}),
    ),
    ("GET", "/static/{name}"): Access(
        None, "none", 200, lambda p, u, c: p.client.get("/static/srnskit.css")
    ),
    ("POST", "/logout"): Access("login", "none", 303, lambda p, u, c: p.post("/logout")),
    ("GET", "/patients"): Access(
        "read",
        "filtered",
        200,
        lambda p, u, c: p.client.get("/patients", params={"center": CENTER.get(c, "A")}),
    ),
    ("GET", "/patients/new"): Access(
        "write", "none", 200, lambda p, u, c: p.client.get("/patients/new")
    ),
    ("POST", "/patients"): Access(
        "write",
        "center",
        303,
        lambda p, u, c: p.post(
            "/patients",
            {
                "patient_id": f"{CENTER.get(c, 'A')}-{u}-new",
                "center_id": CENTER.get(c, "A"),
                **PATIENT,
            },
        ),
    ),
    ("GET", "/patients/{patient_id}"): Access(
        "read", "patient", 200, lambda p, u, c: p.client.get(f"/patients/{_pid(u, c)}")
    ),
    ("POST", "/patients/{patient_id}"): Access(
        "write",
        "patient",
        303,
        lambda p, u, c: p.post(f"/patients/{_pid(u, c)}", {**PATIENT, "family_history": "true"}),
    ),
    ("GET", "/patients/{patient_id}/delete"): Access(
        "write",
        "patient",
        200,
        lambda p, u, c: p.client.get(f"/patients/{_pid(u, c, 'del')}/delete"),
    ),
    ("POST", "/patients/{patient_id}/delete"): Access(
        "write", "patient", 303, lambda p, u, c: p.post(f"/patients/{_pid(u, c, 'del')}/delete")
    ),
    ("POST", "/patients/{patient_id}/{table}"): Access(
        "write",
        "patient",
        303,
        lambda p, u, c: p.post(f"/patients/{_pid(u, c)}/measurements", UPCR),
    ),
    ("POST", "/patients/{patient_id}/{table}/paste"): Access(
        "write",
        "patient",
        200,
        lambda p, u, c: p.post(
            f"/patients/{_pid(u, c)}/measurements/paste",
            {"paste": "2014-06-02\tupcr\t0.2\tmg/mg", "commit": "false"},
        ),
    ),
    ("GET", "/patients/{patient_id}/{table}/{row_id:int}"): Access(
        "write", "patient", 200, lambda p, u, c: p.client.get(_row(p, u, c, "main"))
    ),
    ("POST", "/patients/{patient_id}/{table}/{row_id:int}"): Access(
        "write",
        "patient",
        303,
        lambda p, u, c: p.post(_row(p, u, c, "main"), {**UPCR, "value": "7"}),
    ),
    ("GET", "/patients/{patient_id}/{table}/{row_id:int}/delete"): Access(
        "write", "patient", 200, lambda p, u, c: p.client.get(_row(p, u, c, "delrow") + "/delete")
    ),
    ("POST", "/patients/{patient_id}/{table}/{row_id:int}/delete"): Access(
        "write", "patient", 303, lambda p, u, c: p.post(_row(p, u, c, "delrow") + "/delete")
    ),
    ("GET", "/import"): Access("import", "none", 200, lambda p, u, c: p.client.get("/import")),
    ("POST", "/import"): Access(
        "import", "center", 200, lambda p, u, c: _import(p, u, CENTER.get(c, "A"))
    ),
    ("POST", "/import/commit"): Access("import", "none", 200, _commit),
    ("GET", "/export"): Access("export", "none", 200, lambda p, u, c: p.client.get("/export")),
    ("GET", "/export/download"): Access(
        "export",
        "none",
        200,
        lambda p, u, c: p.client.get("/export/download", params={"deidentify": "true"}),
    ),
    ("GET", "/users"): Access(
        "manage_users", "filtered", 200, lambda p, u, c: p.client.get("/users")
    ),
    ("POST", "/users"): Access(
        "manage_users",
        "center",
        303,
        lambda p, u, c: p.post(
            "/users",
            {
                "name": f"{u}-{c}-added",
                "role": "viewer",
                "centers": CENTER.get(c, "A"),
                "password": PASSWORD,
                "password_again": PASSWORD,
            },
        ),
    ),
    ("POST", "/users/{name}/disable"): Access(
        "manage_users",
        "patient",
        303,
        lambda p, u, c: p.post(f"/users/{u}-{CENTER.get(c, 'A')}-target/disable"),
    ),
    # helper E's pages (web/pages/timeline.py, dashboard.py)
    ("GET", "/patients/{patient_id}/timeline"): Access(
        "read", "patient", 200, lambda p, u, c: p.client.get(f"/patients/{_pid(u, c)}/timeline")
    ),
    ("GET", "/patients/{patient_id}/timeline.json"): Access(
        "read",
        "patient",
        200,
        lambda p, u, c: p.client.get(f"/patients/{_pid(u, c)}/timeline.json"),
    ),
    ("GET", "/static/vega.js"): Access(
        None, "none", 200, lambda p, u, c: p.client.get("/static/vega.js")
    ),
    ("GET", "/dashboard"): Access(
        "report", "none", 200, lambda p, u, c: p.client.get("/dashboard")
    ),
    ("GET", "/audit"): Access(
        "read_audit",
        "filtered",
        200,
        lambda p, u, c: p.client.get("/audit", params={"record": _pid(u, c)}),
    ),
}


def page_routes(pages: Pages) -> set[tuple[str, str]]:
    """Every (method, path) of the pages the app answers (HEAD aside: it is GET's)."""
    found = set()
    for route in pages.app.routes:
        assert isinstance(route, APIRoute | Route), f"unexpected route object {route!r}"
        if route.path.startswith("/api/v1"):
            continue
        for method in route.methods or ():
            if method != "HEAD":
                found.add((method, route.path))
    return found


def expected(access: Access, user: str | None, case: Case) -> int:
    """The status registry.md §2 gives, as a page (see the module's docstring)."""
    own = case == "own"
    return expected_status(access.need, access.scope, access.success, user, own=own, anonymous=303)


def test_every_page_route_has_an_access_entry(pages: Pages) -> None:
    routes = page_routes(pages)
    assert routes - set(ACCESS) == set(), "page routes without an entry in ACCESS"
    assert set(ACCESS) - routes == set(), "entries in ACCESS for routes the app lacks"


# Every route × role × centre: a minute; slow (``make test-slow``, which CI runs).
@pytest.mark.slow
def test_access_matrix(pages: Pages) -> None:
    # The accounts the disable route disables: one per admin and centre.
    with pages.registry.session() as session:
        for user in USERS:
            for center in ("A", "B"):
                add_user(
                    session, Actor.system(), f"{user}-{center}-target", "viewer", [center], PASSWORD
                )
        session.commit()
    answered: list[tuple[str, str, str | None, str, int, int]] = []
    for (method, path), access in sorted(ACCESS.items()):
        for user in [None, *USERS]:  # nobody first, while every target exists
            cases: list[Case] = ["no session"] if user is None else ["own", "other"]
            for case in cases:
                pages.login(user)
                response = access.call(pages, user or "network", case)
                want = expected(access, user, case)
                if want == 303 and user is None and access.need is not None:
                    assert response.headers["location"].startswith("/login?next="), path
                answered.append((method, path, user, case, want, response.status_code))
    wrong = [a for a in answered if a[4] != a[5]]
    assert wrong == [], "\n".join(
        f"{m} {p} as {u or 'nobody'} ({c}): expected {w}, got {g}" for m, p, u, c, w, g in wrong
    )
    # every route × (5 users × 2 centres + no session)
    assert len(answered) == len(ACCESS) * (len(USERS) * 2 + 1)
