"""Logging in (registry.md §3): throttling, token expiry, bad tokens, disabled accounts, browser
sessions with CSRF, and the security headers."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from srnskit.registry.access import Actor
from srnskit.registry.db import open_registry
from srnskit.registry.models import LoginFailure, table_of
from srnskit.registry.users import disable_user
from srnskit.web.api import create_app
from tests.registry.api.conftest import PASSWORD, Api


def _login(api: Api, name: str, password: str) -> int:
    return api.client.post(
        "/api/v1/token", data={"username": name, "password": password}
    ).status_code


def test_more_than_five_failures_in_a_minute_answer_429_even_with_the_right_password(
    api: Api,
) -> None:
    # Failures at t = 0, 1, …, 5 s: the sixth is "more than 5 within 60 s".
    for _ in range(6):
        assert _login(api, "viewer", "wrong password!") == 401
        api.clock.advance(seconds=1)
    # t = 6 s: blocked, right password or not; another name is not.
    assert _login(api, "viewer", PASSWORD) == 429
    assert _login(api, "viewer", "wrong password!") == 429
    assert _login(api, "admin", PASSWORD) == 200
    # t = 59.5 s: the first failure (t = 0) is still within the minute.
    api.clock.advance(seconds=53.5)
    assert _login(api, "viewer", PASSWORD) == 429
    # t = 60 s: the failure at t = 0 has left the window: 5 remain, not more than 5.
    api.clock.advance(seconds=0.5)
    assert _login(api, "viewer", PASSWORD) == 200


def test_five_failures_do_not_block(api: Api) -> None:
    for _ in range(5):
        assert _login(api, "viewer", "wrong password!") == 401
    assert _login(api, "viewer", PASSWORD) == 200


def test_unknown_names_are_throttled_alike(api: Api) -> None:
    for _ in range(6):
        assert _login(api, "nobody", "whatever password") == 401
    assert _login(api, "nobody", "whatever password") == 429


def test_a_token_expires_after_eight_hours(api: Api) -> None:
    headers = api.auth("viewer")  # issued at the clock's start
    api.clock.advance(hours=8, seconds=-1)
    assert api.client.get("/api/v1/patients", headers=headers).status_code == 200
    api.clock.advance(seconds=1)
    answer = api.client.get("/api/v1/patients", headers=headers)
    assert answer.status_code == 401
    assert answer.headers["www-authenticate"] == "Bearer"
    assert "expired" in answer.json()["detail"]


@pytest.mark.parametrize(
    "header",
    ["Bearer not-a-token", "Bearer ", "Basic dmlld2VyOnBhc3N3b3Jk", "bearer x.y.z"],
)
def test_a_bad_token_is_401(api: Api, header: str) -> None:
    answer = api.client.get("/api/v1/patients", headers={"Authorization": header})
    assert answer.status_code == 401


def test_a_token_signed_with_another_key_is_401(api: Api) -> None:
    import jwt

    forged = jwt.encode(
        {"sub": "network", "iat": 1_796_115_600, "exp": 1_796_144_400},
        b"\x00" * 32,
        algorithm="HS256",
    )
    answer = api.client.get("/api/v1/patients", headers={"Authorization": f"Bearer {forged}"})
    assert answer.status_code == 401


def test_a_disabled_account_is_refused_at_once(api: Api) -> None:
    headers = api.auth("viewer")
    with api.registry.session() as session:
        disable_user(session, Actor.system(), "viewer")
        session.commit()
    assert api.client.get("/api/v1/patients", headers=headers).status_code == 401
    assert _login(api, "viewer", PASSWORD) == 401


def _browser(api: Api, user: str = "data_entry") -> str:
    answer = api.client.post("/api/v1/session", data={"username": user, "password": PASSWORD})
    assert answer.status_code == 200
    csrf: str = answer.json()["csrf_token"]
    return csrf


def test_the_session_cookie_is_httponly_and_samesite_strict(api: Api) -> None:
    answer = api.client.post("/api/v1/session", data={"username": "viewer", "password": PASSWORD})
    cookie = answer.headers["set-cookie"].lower()
    assert "httponly" in cookie
    assert "samesite=strict" in cookie
    assert "path=/api/v1" in cookie
    assert "secure" not in cookie  # plain http (the test client's)
    assert answer.json()["user"] == "viewer"
    assert answer.json()["centers"] == ["A"]


def test_the_session_cookie_is_secure_over_https(api: Api) -> None:
    from fastapi.testclient import TestClient

    with TestClient(api.app, base_url="https://registry.example") as client:
        answer = client.post("/api/v1/session", data={"username": "viewer", "password": PASSWORD})
        assert "secure" in answer.headers["set-cookie"].lower()
        assert answer.headers["strict-transport-security"] == "max-age=31536000"


def test_a_cookie_session_reads_without_csrf_but_writes_only_with_it(api: Api) -> None:
    csrf = _browser(api)
    pid = "A-data_entry-main"
    assert api.client.get(f"/api/v1/patients/{pid}").status_code == 200
    change = {"histology": "FSGS"}
    refused = api.client.patch(f"/api/v1/patients/{pid}", json=change)
    assert refused.status_code == 403
    assert "CSRF" in refused.json()["detail"]
    wrong = api.client.patch(
        f"/api/v1/patients/{pid}", json=change, headers={"X-CSRF-Token": csrf + "x"}
    )
    assert wrong.status_code == 403
    # Nothing was written by the refused requests.
    assert api.client.get(f"/api/v1/patients/{pid}").json()["histology"] is None
    done = api.client.patch(f"/api/v1/patients/{pid}", json=change, headers={"X-CSRF-Token": csrf})
    assert done.status_code == 200
    assert done.json()["histology"] == "FSGS"


def test_a_form_carries_the_csrf_token_as_a_field(api: Api) -> None:
    csrf = _browser(api, "investigator")
    upload = {"file": ("cohort.xlsx", b"not a workbook")}
    refused = api.client.post("/api/v1/imports", params={"center": "A"}, files=upload)
    assert refused.status_code == 403
    accepted = api.client.post(
        "/api/v1/imports", params={"center": "A"}, files=upload, data={"csrf_token": csrf}
    )
    # Past the CSRF check: the file is read, and is no workbook.
    assert accepted.status_code == 200
    assert accepted.json()["valid"] is False
    assert accepted.json()["problems"][0]["severity"] == "error"


def test_logging_out_removes_the_cookie(api: Api) -> None:
    csrf = _browser(api)
    assert api.client.delete("/api/v1/session").status_code == 403  # no CSRF token
    assert api.client.delete("/api/v1/session", headers={"X-CSRF-Token": csrf}).status_code == 204
    assert api.client.get("/api/v1/session").status_code == 401


def test_a_bearer_token_needs_no_csrf_token(api: Api) -> None:
    answer = api.client.patch(
        "/api/v1/patients/A-data_entry-main",
        json={"histology": "MCD"},
        headers=api.auth("data_entry"),
    )
    assert answer.status_code == 200


@pytest.mark.parametrize(
    ("path", "user"),
    [("/api/v1/patients", "viewer"), ("/api/v1/patients", None), ("/api/v1/openapi.json", None)],
)
def test_every_answer_carries_the_security_headers(api: Api, path: str, user: str | None) -> None:
    headers = api.client.get(path, headers=api.auth(user)).headers
    csp = headers["content-security-policy"]
    assert "default-src 'none'" in csp
    assert "frame-ancestors 'none'" in csp
    assert "http" not in csp  # no external source
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["x-frame-options"] == "DENY"
    assert headers["referrer-policy"] == "no-referrer"
    assert headers["cache-control"] == "no-store"


def test_failures_are_counted_across_server_processes(api: Api) -> None:
    # A second app over the same database, as a second worker process of `srnskit serve`:
    # three failures on each make six for the name, and both answer 429.
    url = api.registry.engine.url.render_as_string(hide_password=False)
    with open_registry(url) as registry, TestClient(create_app(registry, clock=api.clock)) as other:
        for client in (api.client, other, api.client, other, api.client, other):
            answer = client.post("/api/v1/token", data={"username": "viewer", "password": "no!"})
            assert answer.status_code == 401
        for client in (api.client, other):
            answer = client.post("/api/v1/token", data={"username": "viewer", "password": PASSWORD})
            assert answer.status_code == 429


def test_failures_older_than_the_window_are_forgotten(api: Api) -> None:
    for _ in range(3):
        assert _login(api, "viewer", "wrong password!") == 401
    api.clock.advance(seconds=60)
    # A failure now prunes the three that left the window: one row remains.
    assert _login(api, "admin", "wrong password!") == 401
    with api.registry.engine.connect() as connection:
        count = sa.select(sa.func.count()).select_from(table_of(LoginFailure))
        assert connection.execute(count).scalar_one() == 1
