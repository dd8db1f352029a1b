"""Who is asking: bearer tokens, browser sessions, CSRF and login throttling (registry.md §3).

- ``POST /token`` (OAuth2's password flow) answers a signed token (a JWT, HS256, PyJWT) naming
  the user and expiring after ``TOKEN_HOURS`` hours; its key is a secret drawn once and kept in
  the database (``registry_secrets``), so every process serving the registry accepts it and a
  restart logs nobody out. Each request re-reads the user: a disabled account is refused at
  once.
- Browsers log in with ``POST /session`` (form fields ``username``, ``password``): the same
  token in a cookie (HttpOnly, SameSite=Strict, Secure when the request came over https), and
  a CSRF token bound to it (a claim of the signed token) that every state-changing request
  using the cookie must send back, in the header ``X-CSRF-Token`` or the form field
  ``csrf_token``. A bearer token needs none (no browser sends it by itself).
- ``LoginThrottle``: more than ``MAX_FAILURES`` failed attempts for one name within
  ``WINDOW_SECONDS`` seconds, and every attempt for that name answers 429 until the first of
  them is a minute old, right password or not (unknown names alike, so names cannot be
  probed). The failures are counted in the database, so the throttle holds across the server's
  worker processes.

No token, a bad or expired one, or a disabled account: 401 with ``WWW-Authenticate: Bearer``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass

import jwt
import sqlalchemy as sa
from fastapi import HTTPException, Request
from sqlalchemy.orm import Session

from srnskit.registry.models import LoginFailure, RegistrySecret, table_of
from srnskit.registry.users import authenticate

__all__ = [
    "COOKIE_NAME",
    "CSRF_FORM_FIELD",
    "CSRF_HEADER",
    "MAX_FAILURES",
    "TOKEN_HOURS",
    "TOKEN_KEY",
    "WINDOW_SECONDS",
    "Clock",
    "LoginThrottle",
    "Tokens",
    "log_in",
    "request_claims",
    "token_key",
    "unauthorized",
]

# registry.md §3: a token expires after 8 hours; more than 5 failed attempts for one name
# within 60 s answer 429 for the rest of that minute.
TOKEN_HOURS = 8
MAX_FAILURES = 5
WINDOW_SECONDS = 60.0
TOKEN_KEY = "token_key"
COOKIE_NAME = "srnskit_session"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FORM_FIELD = "csrf_token"
_ALGORITHM = "HS256"
_FAILURES = table_of(LoginFailure)

Clock = Callable[[], dt.datetime]


def unauthorized(detail: str = "not logged in: send a valid bearer token") -> HTTPException:
    """The 401 answer (with ``WWW-Authenticate: Bearer``, as OAuth2 asks)."""
    return HTTPException(401, detail, headers={"WWW-Authenticate": "Bearer"})


def token_key(session: Session) -> str:
    """The registry's token signing key (hex), drawn and stored on first use; the caller
    commits. Two processes drawing it at once: the second's insert fails and it reads the
    first's."""
    stored = session.get(RegistrySecret, TOKEN_KEY)
    if stored is not None:
        return stored.value
    try:
        with session.begin_nested():
            session.add(RegistrySecret(name=TOKEN_KEY, value=secrets.token_hex(32)))
    except sa.exc.IntegrityError:
        pass
    stored = session.get(RegistrySecret, TOKEN_KEY)
    assert stored is not None
    return stored.value


@dataclass
class Tokens:
    """Issues and checks signed tokens under ``key`` with the time of ``clock`` (UTC)."""

    key: str
    clock: Clock

    def issue(self, user: str) -> str:
        """A token for ``user`` valid ``TOKEN_HOURS`` hours, with its CSRF claim."""
        now = self.clock()
        claims = {
            "sub": user,
            "iat": int(now.timestamp()),
            "exp": int((now + dt.timedelta(hours=TOKEN_HOURS)).timestamp()),
            "csrf": secrets.token_urlsafe(24),
        }
        return jwt.encode(claims, bytes.fromhex(self.key), algorithm=_ALGORITHM)

    def claims(self, token: str) -> dict[str, object]:
        """The claims of a valid, unexpired token; raises the 401 ``HTTPException`` otherwise."""
        try:
            decoded: dict[str, object] = jwt.decode(
                token,
                bytes.fromhex(self.key),
                algorithms=[_ALGORITHM],
                # The times are checked below, by this app's clock (tests move it).
                options={
                    "require": ["sub", "exp", "iat"],
                    "verify_exp": False,
                    "verify_iat": False,
                    "verify_nbf": False,
                },
            )
        except jwt.PyJWTError:
            raise unauthorized("the token is not valid") from None
        expires = decoded["exp"]
        if not isinstance(expires, int) or self.clock().timestamp() >= expires:
            raise unauthorized("the token has expired: log in again")
        return decoded


def _name_hash(name: str) -> str:
    return hashlib.sha256(name.encode("utf-8")).hexdigest()


@dataclass
class LoginThrottle:
    """Failed logins per name in the last ``WINDOW_SECONDS``, counted in the registry's
    database (``login_failures``), so that every server process (``srnskit serve --workers``)
    sees the same count. Each call is its own short transaction on ``engine``, committed
    whatever the request's answer (a 401 rolls the request's own session back).

    Two attempts for one name checked at the same instant may both pass before either failure
    is written: at most one extra guess per attempt in flight, each costing an argon2 hash."""

    engine: sa.Engine
    clock: Clock

    def blocked(self, name: str) -> bool:
        """Whether ``name`` has had more than ``MAX_FAILURES`` failures in the window."""
        now = self.clock().timestamp()
        query = (
            sa.select(sa.func.count())
            .select_from(_FAILURES)
            .where(_FAILURES.c.name_hash == _name_hash(name), _FAILURES.c.at > now - WINDOW_SECONDS)
        )
        with self.engine.connect() as connection:
            count: int = connection.execute(query).scalar_one()
        return count > MAX_FAILURES

    def failed(self, name: str) -> None:
        """Count one failed attempt for ``name`` (and forget every failure older than the
        window)."""
        now = self.clock().timestamp()
        with self.engine.begin() as connection:
            connection.execute(sa.insert(_FAILURES).values(name_hash=_name_hash(name), at=now))
            connection.execute(sa.delete(_FAILURES).where(_FAILURES.c.at <= now - WINDOW_SECONDS))


def log_in(session: Session, throttle: LoginThrottle, name: str, password: str) -> str:
    """The name of the user whose ``password`` this is; 429 while ``name`` is throttled, 401
    for wrong credentials (counted) or a disabled account."""
    if throttle.blocked(name):
        raise HTTPException(
            429,
            f"more than {MAX_FAILURES} failed logins for {name} within a minute: wait",
            headers={"Retry-After": str(int(WINDOW_SECONDS))},
        )
    user = authenticate(session, name, password)
    if user is None:
        throttle.failed(name)
        raise unauthorized("wrong user name or password")
    return user.name


def _csrf_matches(given: str | None, expected: object) -> bool:
    return (
        isinstance(given, str)
        and isinstance(expected, str)
        and hmac.compare_digest(given.encode(), expected.encode())
    )


_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


async def request_claims(request: Request, tokens: Tokens) -> dict[str, object]:
    """The claims of the request's bearer token, else of its session cookie (whose
    state-changing requests must carry the CSRF token: 403 otherwise); 401 without either."""
    header = request.headers.get("authorization", "")
    scheme, _, credentials = header.partition(" ")
    if scheme.lower() == "bearer" and credentials.strip():
        return tokens.claims(credentials.strip())
    if COOKIE_NAME not in request.cookies:
        raise unauthorized()
    claims = tokens.claims(request.cookies[COOKIE_NAME])
    if request.method not in _SAFE_METHODS:
        given = request.headers.get(CSRF_HEADER)
        content = request.headers.get("content-type", "")
        if given is None and content.startswith(
            ("application/x-www-form-urlencoded", "multipart/form-data")
        ):
            value = (await request.form()).get(CSRF_FORM_FIELD)
            given = value if isinstance(value, str) else None
        if not _csrf_matches(given, claims.get("csrf")):
            raise HTTPException(403, "the CSRF token is missing or wrong: reload the page")
    return claims
