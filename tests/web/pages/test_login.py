"""Logging in and out of the pages, the static files and the security headers."""

from __future__ import annotations

from srnskit.web.pages.common import PAGE_CSP
from tests.registry.api.conftest import PASSWORD
from tests.web.pages.conftest import Pages, csrf_fields


def test_no_session_goes_to_the_login_page_and_back(pages: Pages) -> None:
    answer = pages.client.get("/patients?q=A-")
    assert answer.status_code == 303
    assert answer.headers["location"] == "/login?next=%2Fpatients%3Fq%3DA-"
    form = pages.client.get(answer.headers["location"])
    assert form.status_code == 200
    assert 'name="next" value="/patients?q=A-"' in form.text
    logged = pages.client.post(
        "/login", data={"username": "viewer", "password": PASSWORD, "next": "/patients?q=A-"}
    )
    assert logged.status_code == 303
    assert logged.headers["location"] == "/patients?q=A-"
    cookie = logged.headers["set-cookie"].lower()
    assert "httponly" in cookie
    assert "samesite=strict" in cookie
    assert "path=/;" in cookie


def test_wrong_password_shows_the_form_again(pages: Pages) -> None:
    answer = pages.client.post("/login", data={"username": "viewer", "password": "nope"})
    assert answer.status_code == 401
    assert "wrong user name or password" in answer.text
    assert 'value="viewer"' in answer.text


def test_login_is_throttled_as_the_api(pages: Pages) -> None:
    # registry.md §3: more than 5 failures for one name within 60 s → 429, right password or not.
    for _ in range(6):
        assert (
            pages.client.post("/login", data={"username": "admin", "password": "x"}).status_code
            == 401
        )
    answer = pages.client.post("/login", data={"username": "admin", "password": PASSWORD})
    assert answer.status_code == 429


def test_next_never_leaves_the_app(pages: Pages) -> None:
    for target in ("https://evil.example/", "//evil.example/", "javascript:alert(1)"):
        answer = pages.client.post(
            "/login", data={"username": "viewer", "password": PASSWORD, "next": target}
        )
        assert answer.headers["location"] == "/patients"


def test_logout_needs_the_csrf_token_and_removes_the_cookie(pages: Pages) -> None:
    pages.login("viewer")
    refused = pages.client.post("/logout")
    assert refused.status_code == 403
    assert "CSRF" in refused.text
    answer = pages.post("/logout")
    assert answer.status_code == 303
    assert answer.headers["location"] == "/login"
    assert pages.client.get("/patients").status_code == 303


def test_root_goes_to_the_patients(pages: Pages) -> None:
    answer = pages.client.get("/")
    assert answer.status_code == 303
    assert answer.headers["location"] == "/patients"


def test_static_files_are_shipped(pages: Pages) -> None:
    htmx = pages.client.get("/static/htmx.min.js")
    assert htmx.status_code == 200
    assert 'version:"2.0.11"' in htmx.text
    assert htmx.headers["content-type"].startswith("text/javascript")
    assert pages.client.get("/static/srnskit.css").status_code == 200
    assert pages.client.get("/static/htmx.LICENSE").status_code == 200
    assert pages.client.get("/static/..%2Fpages%2Fcommon.py").status_code == 404
    assert pages.client.get("/static/nothing.js").status_code == 404


def test_pages_carry_the_security_headers(pages: Pages) -> None:
    answer = pages.client.get("/login")
    assert answer.headers["content-security-policy"] == PAGE_CSP
    assert "'unsafe" not in PAGE_CSP
    assert "http" not in PAGE_CSP
    assert answer.headers["x-frame-options"] == "DENY"
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert answer.headers["referrer-policy"] == "no-referrer"
    assert answer.headers["cache-control"] == "no-store"


def test_the_login_form_carries_no_csrf_field_but_logged_pages_do(pages: Pages) -> None:
    assert csrf_fields(pages.client.get("/login").text) == []


def test_a_session_expired_during_an_htmx_swap_reloads_the_whole_page(pages: Pages) -> None:
    """htmx follows a 303 itself and would swap the login form into the list it refreshes;
    asked by htmx, a page without a session answers 401 with HX-Redirect instead (htmx then
    loads the login page whole), whose next is the page the browser shows."""
    pages.login("viewer")
    htmx = {"HX-Request": "true", "HX-Current-URL": "http://testserver/patients?q=A-"}
    fragment = pages.client.get("/patients", params={"q": "A-v"}, headers=htmx)
    assert fragment.status_code == 200
    assert "<html" not in fragment.text  # the rows alone, while the session lasts
    pages.clock.advance(hours=8, minutes=1)  # a session lasts 8 hours (registry.md §3)

    answer = pages.client.get("/patients", params={"q": "A-v"}, headers=htmx)
    assert answer.status_code == 401
    assert answer.headers["hx-redirect"] == "/login?next=%2Fpatients%3Fq%3DA-"
    assert "location" not in answer.headers
    assert answer.text == ""  # nothing for htmx to swap in
    # the same request as a whole page: the login page, coming back to the list
    whole = pages.client.get("/patients", params={"q": "A-v"})
    assert whole.status_code == 303
    assert whole.headers["location"] == "/login?next=%2Fpatients%3Fq%3DA-v"

    # the timeline panel, asked for by the patient page: back to the patient page after login
    panel = pages.client.get(
        "/patients/A-viewer-main/timeline",
        headers={
            "HX-Request": "true",
            "HX-Current-URL": "http://testserver/patients/A-viewer-main",
        },
    )
    assert panel.status_code == 401
    assert panel.headers["hx-redirect"] == "/login?next=%2Fpatients%2FA-viewer-main"
    # without HX-Current-URL: the address htmx asked; never another host
    bare = pages.client.get("/patients", params={"q": "B"}, headers={"HX-Request": "true"})
    assert bare.headers["hx-redirect"] == "/login?next=%2Fpatients%3Fq%3DB"
    elsewhere = {"HX-Request": "true", "HX-Current-URL": "https://evil.example//evil.example/x"}
    away = pages.client.get("/patients", headers=elsewhere)
    assert away.headers["hx-redirect"] == "/login?next=%2Fpatients"
