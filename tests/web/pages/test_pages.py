"""What every page shares: no request outside the app, the security headers, and the CSRF
token every state-changing form must carry."""

from __future__ import annotations

import re

import pytest

from srnskit.registry import store
from srnskit.registry.access import Actor
from srnskit.web.pages.common import PAGE_CSP
from tests.web.pages.conftest import Pages
from tests.web.pages.test_access_matrix import ACCESS

# An attribute loading or leading to another host: src=, href=, action=, srcset=, a CSS url().
EXTERNAL = re.compile(
    r"""(?:src|href|action|srcset|formaction)\s*=\s*["']?\s*(?:https?:)?//|url\(\s*["']?(?:https?:)?//""",
    re.I,
)


def test_external_pattern_catches_what_it_should() -> None:
    assert EXTERNAL.search('<script src="https://cdn.example/htmx.js">')
    assert EXTERNAL.search("<a href='//evil.example'>")
    assert EXTERNAL.search("body { background: url(http://x/y.png) }")
    assert not EXTERNAL.search('<link rel="stylesheet" href="/static/srnskit.css">')


@pytest.mark.slow
def test_no_page_names_another_host(pages: Pages) -> None:
    """Every GET page and every form's answer, as the network's admin, with its static files."""
    pages.login("network")
    checked = set()
    for (method, path), access in sorted(ACCESS.items()):
        if path in ("/export/download", "/static/vega.js"):
            continue  # a zip, and Vega's own bundle (helper E's page test reads it)
        answer = access.call(pages, "network", "own")
        if "html" in answer.headers.get("content-type", "") or path.startswith("/static"):
            assert not EXTERNAL.search(answer.text), f"{method} {path} names another host"
            checked.add((method, path))
        if path == "/logout" or (method, path) == ("POST", "/login"):
            pages.login("network")
    # The pages a nurse uses, and the answers of their forms, were all among them.
    assert {
        ("GET", "/login"),
        ("GET", "/patients"),
        ("GET", "/patients/new"),
        ("GET", "/patients/{patient_id}"),
        ("POST", "/patients/{patient_id}/{table}/paste"),
        ("GET", "/patients/{patient_id}/{table}/{row_id:int}"),
        ("GET", "/import"),
        ("POST", "/import"),
        ("POST", "/import/commit"),
        ("GET", "/export"),
        ("GET", "/users"),
        ("GET", "/audit"),
        ("GET", "/dashboard"),
        ("GET", "/patients/{patient_id}/timeline"),
        ("GET", "/static/{name}"),
    } <= checked


def test_every_page_carries_the_security_headers(pages: Pages) -> None:
    pages.login("viewer")
    for path in ("/login", "/patients", "/patients/A-viewer-main", "/users", "/nothing"):
        answer = pages.client.get(path)
        if answer.headers.get("content-type", "").startswith("text/html"):
            assert answer.headers["content-security-policy"] == PAGE_CSP, path
        assert answer.headers["x-frame-options"] == "DENY", path
        assert answer.headers["x-content-type-options"] == "nosniff", path
        assert answer.headers["referrer-policy"] == "no-referrer", path


def test_every_form_post_without_the_csrf_token_is_refused(pages: Pages) -> None:
    pages.login("network")
    with pages.registry.session() as session:
        before = store.list_patients(session, Actor.system())
    posts = [(path, a) for (method, path), a in ACCESS.items() if method == "POST" and a.need]
    assert len(posts) >= 10
    for path, access in sorted(posts, key=lambda item: item[0]):
        pages.csrf = "not the session's"
        answer = access.call(pages, "network", "own")
        assert answer.status_code == 403, path
        assert "CSRF" in answer.text, path
    with pages.registry.session() as session:
        assert store.list_patients(session, Actor.system()) == before


def test_logged_pages_carry_the_session_csrf_token(pages: Pages) -> None:
    csrf = pages.login("admin")
    html = pages.client.get("/patients/A-admin-main").text
    fields = re.findall(r'name="csrf_token" value="([^"]*)"', html)
    assert len(fields) >= 10  # logout, fields, and an add and a paste form per table
    assert set(fields) == {csrf}
