"""The application: ``create_app(registry)`` → a FastAPI app serving ``/api/v1`` (registry.md §3).

Routes live in ``web.api.patients`` (patients and their rows, derived results),
``web.api.cohorts`` (imports, export, report, audit) and here (token, browser session). Every
route reaches patient data only through the registry's service, whose one centre filter
(``registry.access.visible``) decides what a user sees; the service's refusals become the
statuses of registry.md §2: ``NotFoundError`` 404 (another centre's patient is one that does
not exist), ``ForbiddenError`` 403, ``ConflictError`` 409, invalid data 422 ``{"problems":
[{table, row, column, severity, message}]}`` with nothing written; a database busy past its
timeout (SQLite behind a long import) or unreachable 503, nothing written.

Every answer carries the security headers (``SECURITY_HEADERS``; a content security policy
without external sources, no framing, no referrer, no caching of patient data).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Annotated, Any, NamedTuple, TypeVar

import sqlalchemy as sa
from fastapi import APIRouter, Depends, FastAPI, Form, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session as DbSession
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from srnskit import __version__
from srnskit.errors import InvalidCohortError, InvalidInputError, SrnskitError, UsageError
from srnskit.registry.access import Actor
from srnskit.registry.db import Registry
from srnskit.registry.errors import RegistryError
from srnskit.registry.users import load_actor
from srnskit.web.api import auth
from srnskit.web.api.models import Session, Token

__all__ = [
    "API_PREFIX",
    "CSP",
    "SECURITY_HEADERS",
    "Claims",
    "Clock",
    "Name",
    "Password",
    "SecurityHeaders",
    "Unit",
    "create_app",
    "current_actor",
    "db_session",
    "in_unit",
    "problem",
    "today_of",
    "unit_of",
    "utc_now",
]

API_PREFIX = "/api/v1"
# No source outside the answer itself; the report (GET /report) sets its own, as strict.
CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
SECURITY_HEADERS: tuple[tuple[str, str], ...] = (
    ("content-security-policy", CSP),
    ("x-content-type-options", "nosniff"),
    ("x-frame-options", "DENY"),
    ("referrer-policy", "no-referrer"),
    ("cache-control", "no-store"),
)
Clock = auth.Clock


def utc_now() -> dt.datetime:
    """The time now, in UTC (the default clock)."""
    return dt.datetime.now(dt.UTC)


class SecurityHeaders:
    """ASGI middleware adding ``SECURITY_HEADERS`` to every answer (a header a route set is
    kept) and, over https, ``Strict-Transport-Security``."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        https = scope.get("scheme") == "https"

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                extra = [*SECURITY_HEADERS]
                if https:
                    extra.append(("strict-transport-security", "max-age=31536000"))
                for name, value in extra:
                    if name.encode() not in present:
                        headers.append((name.encode(), value.encode()))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, sending)


def db_session(request: Request) -> Iterator[DbSession]:
    """A unit of work for the request; a route that writes commits it, else it rolls back."""
    registry: Registry = request.app.state.registry
    with registry.session() as session:
        yield session


async def _claims(request: Request) -> dict[str, object]:
    claims: dict[str, object] = await auth.request_claims(request, request.app.state.tokens)
    return claims


# The claims of the request's token or session cookie (401 without; 403 for a cookie's
# state-changing request without its CSRF token), checked on the event loop.
Claims = Annotated[dict[str, object], Depends(_claims)]
_T = TypeVar("_T")


def current_actor(
    claims: Annotated[dict[str, object], Depends(_claims)],
    session: Annotated[DbSession, Depends(db_session)],
) -> Actor:
    """The actor of the request (401 without a valid token or cookie, or for a disabled
    account)."""
    actor = load_actor(session, str(claims["sub"]))
    if actor is None:
        raise auth.unauthorized("the account does not exist or is disabled")
    return actor


class Unit(NamedTuple):
    """What a route works with: the request's unit of work (a route that writes commits it),
    the actor and today's date by the app's clock."""

    session: DbSession
    actor: Actor
    today: dt.date


async def unit_of(
    request: Request, claims: Annotated[dict[str, object], Depends(_claims)]
) -> AsyncIterator[Unit]:
    """The ``Unit`` of an authenticated request (401 without a valid token or cookie, or for
    a disabled account). The user is read in a worker thread (a wait for a pooled connection
    must never block the event loop), then the route runs in another: two crossings per
    request instead of one per dependency, which under 20 concurrent clients each waited for
    a busy CPU."""
    registry: Registry = request.app.state.registry
    session = registry.session()
    try:
        actor = await run_in_threadpool(current_actor, claims, session)
        yield Unit(session, actor, today_of(request))
    finally:
        session.close()


async def in_unit(request: Request, claims: dict[str, object], work: Callable[[Unit], _T]) -> _T:
    """``work`` done with the request's ``Unit`` in ONE worker thread: the session opened, the
    user read (401 for an unknown or disabled account), ``work`` run (a write commits inside
    it) and the session closed, all there. The API's patient routes are ``async`` and call
    this: one thread crossing a request instead of two (``unit_of``, then a sync route), and
    the pooled connection is back in the pool before the event loop resumes, so no request
    can wait on the loop for a connection another request holds."""
    registry: Registry = request.app.state.registry
    today = today_of(request)

    def unit_of_work() -> _T:
        with registry.session() as session:
            return work(Unit(session, current_actor(claims, session), today))

    return await run_in_threadpool(unit_of_work)


def today_of(request: Request) -> dt.date:
    """Today's date by the app's clock (what validation calls "today")."""
    clock: Clock = request.app.state.clock
    return clock().date()


def problem(message: str, column: str | None = None, table: str | None = None) -> dict[str, Any]:
    """One problem of a 422 answer."""
    return {"table": table, "row": None, "column": column, "severity": "error", "message": message}


def _handlers(app: FastAPI) -> None:
    @app.exception_handler(RegistryError)
    async def _refused(_request: Request, exc: RegistryError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=exc.http_status)

    @app.exception_handler(InvalidCohortError)
    async def _invalid(_request: Request, exc: InvalidCohortError) -> JSONResponse:
        problems = [p.to_dict() for p in exc.problems]
        return JSONResponse({"problems": problems}, status_code=422)

    @app.exception_handler(RequestValidationError)
    async def _malformed(_request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = []
        for error in exc.errors():
            where = [str(part) for part in error.get("loc", ()) if part != "body"]
            problems.append(problem(str(error.get("msg", "")), ".".join(where) or None))
        return JSONResponse({"problems": problems}, status_code=422)

    @app.exception_handler(sa.exc.OperationalError)
    async def _busy(_request: Request, _exc: sa.exc.OperationalError) -> JSONResponse:
        # SQLite's busy timeout ran out behind a long write (an import), or the server is
        # unreachable: nothing was written; the client may try again.
        detail = "the database is busy with another write, or unreachable: try again shortly"
        return JSONResponse({"detail": detail}, status_code=503, headers={"Retry-After": "10"})

    @app.exception_handler(SrnskitError)
    async def _other(_request: Request, exc: SrnskitError) -> JSONResponse:
        if isinstance(exc, UsageError | InvalidInputError):
            return JSONResponse({"problems": [problem(str(exc))]}, status_code=422)
        return JSONResponse({"detail": str(exc)}, status_code=500)


Name = Annotated[str, Form(description="the user name")]
Password = Annotated[str, Form(description="the password")]


def _login_routes(router: APIRouter) -> None:

    @router.post("/token", response_model=Token, tags=["login"])
    def token(
        request: Request,
        username: Name,
        password: Password,
        session: Annotated[DbSession, Depends(db_session)],
    ) -> Token:
        """OAuth2's password flow: a bearer token valid 8 hours. 401 for wrong credentials;
        429 after more than 5 failures for the name within a minute."""
        name = auth.log_in(session, request.app.state.throttle, username, password)
        return Token(access_token=request.app.state.tokens.issue(name))

    @router.post("/session", response_model=Session, tags=["login"])
    def open_session(
        request: Request,
        response: Response,
        username: Name,
        password: Password,
        session: Annotated[DbSession, Depends(db_session)],
    ) -> Session:
        """Log a browser in: the token in an HttpOnly, SameSite=Strict cookie (Secure over
        https) and the CSRF token its state-changing requests send back."""
        name = auth.log_in(session, request.app.state.throttle, username, password)
        tokens: auth.Tokens = request.app.state.tokens
        issued = tokens.issue(name)
        response.set_cookie(
            auth.COOKIE_NAME,
            issued,
            max_age=auth.TOKEN_HOURS * 3600,
            path=API_PREFIX,
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
        )
        actor = current_actor(tokens.claims(issued), session)
        return _session_of(actor, tokens.claims(issued))

    @router.get("/session", response_model=Session, tags=["login"])
    async def read_session(request: Request, claims: Claims) -> Session:
        """Who is logged in, and the session's CSRF token."""
        return await in_unit(request, claims, lambda unit: _session_of(unit.actor, claims))

    @router.delete("/session", status_code=204, tags=["login"])
    def close_session(
        request: Request, _actor: Annotated[Actor, Depends(current_actor)]
    ) -> Response:
        """Log the browser out (the cookie is removed)."""
        answer = Response(status_code=204)
        answer.delete_cookie(
            auth.COOKIE_NAME,
            path=API_PREFIX,
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
        )
        return answer


def _session_of(actor: Actor, claims: dict[str, object]) -> Session:
    return Session(
        user=actor.name,
        role=actor.role,
        centers=sorted(actor.centers),
        csrf_token=str(claims.get("csrf", "")),
    )


def create_app(registry: Registry, *, clock: Clock | None = None) -> FastAPI:
    """The API over ``registry``. ``clock`` (UTC, default the system's) decides token expiry,
    login throttling and "today" for validation; tests pass their own. The token key is drawn
    (once per database) here."""
    from srnskit.web.api import cohorts, patients
    from srnskit.web.pages import mount_pages

    chosen = clock or utc_now
    app = FastAPI(
        title="srnskit registry",
        version=__version__,
        description="The registry's JSON API (docs/registry.md, 'The API').",
        openapi_url=f"{API_PREFIX}/openapi.json",
        docs_url=None,
        redoc_url=None,
    )
    with registry.session() as session:
        key = auth.token_key(session)
        session.commit()
    app.state.registry = registry
    app.state.clock = chosen
    app.state.tokens = auth.Tokens(key, chosen)
    app.state.throttle = auth.LoginThrottle(registry.engine, chosen)
    router = APIRouter(prefix=API_PREFIX)
    _login_routes(router)
    patients.add_routes(router)
    cohorts.add_routes(router)
    # The routes themselves, not an included router, so app.routes lists every one (the
    # access matrix test enumerates them).
    app.router.routes.extend(router.routes)
    mount_pages(app)  # the HTML pages (web.pages), next to the API
    _handlers(app)
    app.add_middleware(SecurityHeaders)
    return app
