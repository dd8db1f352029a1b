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
  probed).

No token, a bad or expired one, or a disabled account: 401 with ``WWW-Authenticate: Bearer``.
"""

from __future__ import annotations

import datetime as dt
import hmac
import secrets
import threading
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field

import jwt
import sqlalchemy as sa
from fastapi import HTTPException, Request
from sqlalchemy.orm import Session

from srnskit.registry.models import RegistrySecret
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


@dataclass
class LoginThrottle:
    """Failed logins per name in the last ``WINDOW_SECONDS`` (in this process's memory)."""

    clock: Clock
    _failures: dict[str, deque[float]] = field(default_factory=lambda: defaultdict(deque))
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _recent(self, name: str, now: float) -> deque[float]:
        failures = self._failures[name]
        while failures and failures[0] <= now - WINDOW_SECONDS:
            failures.popleft()
        if not failures:
            del self._failures[name]
            return deque()
        return failures

    def blocked(self, name: str) -> bool:
        """Whether ``name`` has had more than ``MAX_FAILURES`` failures in the window."""
        with self._lock:
            return len(self._recent(name, self.clock().timestamp())) > MAX_FAILURES

    def failed(self, name: str) -> None:
        """Count one failed attempt for ``name``."""
        with self._lock:
            now = self.clock().timestamp()
            self._recent(name, now)
            self._failures[name].append(now)


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
