"""What every page shares: the templates, ``render``, who is logged in, and the error pages.

- ``render(request, template, status_code=200, **context)``: a template of ``web/templates`` as an
  HTML answer with ``PAGE_CSP``; every template sees ``actor`` (None on the login page),
  ``csrf_token`` (the session's, for the hidden field of every POST form) and ``nav``.
- ``PageUnit``: the dependency of a page that needs a logged-in user. It is the API's own
  ``web.api.app.unit_of``: the session cookie (set by ``POST /login`` on the path ``/``, the
  same signed token as ``POST /api/v1/session``), the CSRF check of every POST (form field
  ``csrf_token``) and the user read again on each request (a disabled account is out at once).
- ``PageRoute``: the route class of every page router. It turns what the service refuses into
  pages: no session → 303 to ``/login?next=…`` (asked by htmx: 401 with ``HX-Redirect:
  /login?next=…``, which htmx follows with a whole page load, so that a session expired while
  a list refreshes does not put the login form inside the list); ``NotFoundError`` → the 404
  page (a patient of
  another centre is one that does not exist, registry.md §2); ``ForbiddenError`` or a bad
  CSRF token → the 403 page; another ``SrnskitError`` → a 422 page with its message. Invalid
  data (``InvalidCohortError``) is the routes' own: they show it beside the fields.
- ``in_page_unit(request, claims, work)``: what ``PageUnit`` gives, for an ``async`` page
  route that does its whole unit of work in ONE worker thread (the user read, ``work``
  rendering its page, the session closed there: ``web.api.app.in_unit``), as the API's
  patient routes do; the hot read pages (the list, the timeline) use it.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Coroutine, Mapping
from typing import Annotated, Any, TypeVar
from urllib.parse import quote, urlsplit

from fastapi import Depends, HTTPException, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.routing import APIRoute
from jinja2 import Environment, PackageLoader, select_autoescape

from srnskit import __version__
from srnskit.errors import SrnskitError
from srnskit.outputs.timeline.outcome import OUTCOME_WORDS
from srnskit.registry.access import Action, Actor
from srnskit.registry.errors import RegistryError
from srnskit.schema import COHORT_TABLES
from srnskit.web.api import auth
from srnskit.web.api.app import Unit, in_unit, unit_of

__all__ = [
    "NAV",
    "PAGE_CSP",
    "PageRoute",
    "PageUnit",
    "csrf_of",
    "environment",
    "error_page",
    "form_text",
    "in_page_unit",
    "is_htmx",
    "login_redirect",
    "numeric_column",
    "outcome_words",
    "redirect",
    "render",
    "safe_next",
]

# Scripts, styles, images and requests of the app itself only: no inline script or style, no
# external source (a closed hospital network). Images may be data: URLs (charts).
PAGE_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; form-action 'self'; frame-ancestors 'none'; "
    "base-uri 'none'"
)
# The navigation: (label, path, the permission it needs; None: every logged-in user).
NAV: tuple[tuple[str, str, Action | None], ...] = (
    ("Patients", "/patients", None),
    ("Dashboard", "/dashboard", "report"),
    ("Import", "/import", "import"),
    ("Export", "/export", "export"),
    ("Users", "/users", "manage_users"),
    ("Audit", "/audit", "read_audit"),
)


@functools.cache
def environment() -> Environment:
    """The Jinja environment of ``srnskit/web/templates`` (HTML escaped everywhere)."""
    env = Environment(
        loader=PackageLoader("srnskit.web", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals["version"] = __version__
    env.filters["outcome_words"] = outcome_words
    env.globals["numeric_column"] = numeric_column
    return env


# The format's kinds whose cells are numbers (a measurement's value too: a number, or a dipstick
# grade such as 3+ or trace), right-aligned in a table as every number of the pages.
_NUMERIC_KINDS = ("number", "integer", "value")


def numeric_column(table: str, column: str) -> bool:
    """Whether ``column`` of the format's ``table`` holds numbers (``schema.COHORT_TABLES``'
    kinds number, integer and a measurement's value); False for a name not in the format."""
    spec = COHORT_TABLES.get(table)
    return spec is not None and any(
        c.name == column and c.kind in _NUMERIC_KINDS for c in spec.columns
    )


def outcome_words(column: str) -> str:
    """The heading of a derived ``patient_outcomes`` column: its words as ``srnskit explain``
    and the timeline say them (``outputs.timeline.outcome.OUTCOME_WORDS``), first letter
    capital: 'cni_response' → 'CNI response', 'krt' → 'Kidney replacement therapy'; another
    column's name with spaces for underscores."""
    words = OUTCOME_WORDS.get(column, column.replace("_", " "))
    return words[:1].upper() + words[1:]


def csrf_of(request: Request) -> str:
    """The CSRF token of the request's session cookie ('' without a valid one)."""
    token = request.cookies.get(auth.COOKIE_NAME)
    if not token:
        return ""
    tokens: auth.Tokens = request.app.state.tokens
    try:
        return str(tokens.claims(token).get("csrf", ""))
    except HTTPException:
        return ""


def render(request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    """``template`` rendered with ``context`` as an HTML answer of ``status_code``, under
    ``PAGE_CSP``. The template also sees ``request``, ``actor`` (the logged-in ``Actor`` a
    ``PageUnit`` put on the request, else None), ``csrf_token`` and ``nav`` (the entries the
    actor's role may open)."""
    actor: Actor | None = getattr(request.state, "actor", None)
    nav = [
        (label, path)
        for label, path, need in NAV
        if actor is not None and (need is None or actor.may(need))
    ]
    values = {
        "request": request,
        "actor": actor,
        "csrf_token": csrf_of(request) if actor is not None else "",
        "nav": nav,
        "path": request.url.path,
        **context,
    }
    html = environment().get_template(template).render(values)
    return HTMLResponse(
        html, status_code=status_code, headers={"content-security-policy": PAGE_CSP}
    )


def is_htmx(request: Request) -> bool:
    """Whether htmx sent the request (``HX-Request: true``): answer the fragment only."""
    restoring = request.headers.get("hx-history-restore-request") == "true"
    return request.headers.get("hx-request") == "true" and not restoring


def redirect(path: str) -> RedirectResponse:
    """303 See Other to ``path`` (after a POST, the browser GETs it)."""
    return RedirectResponse(path, status_code=303)


def safe_next(target: str | None) -> str:
    """``target`` when it is a path of this app (``/…``, not ``//host`` nor a scheme), else
    ``/patients``: a login link cannot send the user elsewhere."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/patients"


def login_redirect(request: Request) -> Response:
    """To the login page, which comes back here (a GET's path and query) after login: 303. A
    request of htmx (``HX-Request``) is answered 401 with ``HX-Redirect`` instead, which htmx
    follows with a whole page load (a 303 it would follow itself, and swap the login form into
    the part of the page it was refreshing); the login then comes back to the page the browser
    shows (the path and query of ``HX-Current-URL``), not to the fragment htmx asked for."""
    here = request.url.path
    if request.method == "GET" and request.url.query:
        here += "?" + request.url.query
    if request.headers.get("hx-request") == "true":
        shown = urlsplit(request.headers.get("hx-current-url", ""))
        if shown.path:  # only its path and query: the login never leaves this app
            here = shown.path + ("?" + shown.query if shown.query else "")
        target = "/login?next=" + quote(safe_next(here), safe="")
        return Response(status_code=401, headers={"HX-Redirect": target})
    return redirect("/login?next=" + quote(here, safe=""))


def error_page(request: Request, status: int, message: str) -> HTMLResponse:
    """The error page (404, 403, 422) saying ``message``."""
    titles = {403: "Not allowed", 404: "Not found", 422: "Cannot do this", 429: "Wait a minute"}
    return render(request, "error.html", status, title=titles.get(status, "Error"), message=message)


async def _page_unit(request: Request, unit: Annotated[Unit, Depends(unit_of)]) -> Unit:
    request.state.actor = unit.actor
    return unit


PageUnit = Annotated[Unit, Depends(_page_unit)]
_T = TypeVar("_T")


async def in_page_unit(
    request: Request, claims: dict[str, object], work: Callable[[Unit], _T]
) -> _T:
    """``work`` done with the request's ``Unit`` in one worker thread (``web.api.app.in_unit``:
    the session opened, the user read — 401, the login page, for an unknown or disabled
    account — ``work`` run, the session closed), the actor put on the request for ``render``
    as ``PageUnit`` does. A page route taking ``PageUnit`` crosses to a worker thread twice
    (the user read, then the route) and closes the session on the event loop, which under
    load every other request waited behind; this crosses once."""

    def work_as_actor(unit: Unit) -> _T:
        request.state.actor = unit.actor
        return work(unit)

    return await in_unit(request, claims, work_as_actor)


_Handler = Callable[[Request], Coroutine[Any, Any, Response]]


class PageRoute(APIRoute):
    """A route answering pages: the service's refusals become the 303, 404, 403 and 422
    pages (see the module's docstring) instead of the API's JSON."""

    def get_route_handler(self) -> _Handler:
        handler = super().get_route_handler()

        async def answer(request: Request) -> Response:
            try:
                return await handler(request)
            except HTTPException as exc:
                if exc.status_code == 401:
                    return login_redirect(request)
                return error_page(request, exc.status_code, str(exc.detail))
            except RequestValidationError as exc:
                wrong = "; ".join(str(e.get("msg", "")) for e in exc.errors())
                return error_page(request, 422, f"the request is not as expected: {wrong}")
            except RegistryError as exc:
                return error_page(request, exc.http_status, str(exc))
            except SrnskitError as exc:
                return error_page(request, 422, str(exc))

        return answer


def form_text(form: Mapping[str, Any], name: str) -> str:
    """The text of the form field ``name`` ('' when absent or a file)."""
    value = form.get(name)
    return value if isinstance(value, str) else ""
