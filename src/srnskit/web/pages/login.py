"""Logging in and out of the pages.

    GET  /         303 to /patients
    GET  /login    the form (user name, password; ``next``: where to go after)
    POST /login    the session cookie, then 303 to ``next`` (a path of this app) or /patients;
                   wrong credentials 401 and 429 when throttled, the form again with why
    POST /logout   the cookie removed, 303 to /login (with the CSRF token, as every POST)

The cookie is the API's (``auth.COOKIE_NAME``: the signed token of ``POST /api/v1/session``,
HttpOnly, SameSite=Strict, Secure over https) on the path ``/``, so the pages and the API's
browser routes share it; its CSRF token is a claim of the token.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request, Response
from fastapi.responses import RedirectResponse
from sqlalchemy.orm import Session as DbSession

from srnskit.web.api import auth
from srnskit.web.api.app import db_session
from srnskit.web.pages.common import (
    PageRoute,
    PageUnit,
    form_text,
    redirect,
    render,
    safe_next,
)

__all__ = ["home", "log_in", "log_out", "login_form", "router"]

router = APIRouter(route_class=PageRoute, include_in_schema=False)


@router.get("/")
def home() -> RedirectResponse:
    """The start page is the patient list."""
    return redirect("/patients")


@router.get("/login")
def login_form(request: Request, next: str = "/patients") -> Response:
    """The login form."""
    return render(request, "login.html", next=safe_next(next), name="", error=None)


@router.post("/login")
async def log_in(request: Request, session: Annotated[DbSession, Depends(db_session)]) -> Response:
    """Check the credentials (throttled as ``POST /api/v1/token``) and set the cookie."""
    form = await request.form()
    name, password = form_text(form, "username"), form_text(form, "password")
    target = safe_next(form_text(form, "next"))
    try:
        user = auth.log_in(session, request.app.state.throttle, name, password)
    except HTTPException as exc:
        return render(
            request, "login.html", exc.status_code, next=target, name=name, error=exc.detail
        )
    answer = redirect(target)
    answer.set_cookie(
        auth.COOKIE_NAME,
        request.app.state.tokens.issue(user),
        max_age=auth.TOKEN_HOURS * 3600,
        path="/",
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )
    return answer


@router.post("/logout")
def log_out(request: Request, _unit: PageUnit) -> Response:
    """Remove the cookie; back to the login form."""
    answer = redirect("/login")
    answer.delete_cookie(
        auth.COOKIE_NAME,
        path="/",
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )
    return answer
