"""Accounts: add, list, disable, authenticate (registry.md §1, §2).

Passwords are hashed with argon2id (argon2-cffi's defaults, RFC 9106's second recommended
setting) and never stored, logged or audited; an account is disabled, never deleted, so its
history stays. Adding and disabling are audited (table ``users``, record the name, values the
name, role, centres and whether active).

    add_user(session, actor, name, role, centers, password) -> User
    list_users(session, actor) -> list[User]
    disable_user(session, actor, name) -> User
    authenticate(session, name, password) -> User | None     None: unknown, wrong or disabled
    load_actor(session, name) -> Actor | None                one query; None: unknown or disabled
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.orm import Session

from srnskit.registry.access import ALL_CENTERS, Actor, require
from srnskit.registry.audit import AuditWriter, utc_now
from srnskit.registry.db import lock_for_write
from srnskit.registry.errors import ConflictError, ForbiddenError, NotFoundError, WeakPasswordError
from srnskit.registry.models import ID_LENGTH, ROLES, User, UserCenter, table_of

__all__ = [
    "MIN_PASSWORD_LENGTH",
    "add_user",
    "authenticate",
    "disable_user",
    "get_user",
    "list_users",
    "load_actor",
    "user_values",
]

# registry.md §1: a password has at least 12 characters.
MIN_PASSWORD_LENGTH = 12
_HASHER = PasswordHasher()
# Verified against when the name is unknown, so a wrong name takes as long as a wrong password.
_DUMMY_HASH = _HASHER.hash("not a password of anyone")


def user_values(user: User) -> dict[str, Any]:
    """What the audit and ``users list`` show of a user (never the password hash)."""
    return {
        "name": user.name,
        "role": user.role,
        "centers": sorted(user.center_ids),
        "active": user.active,
    }


def get_user(session: Session, name: str) -> User | None:
    """The stored user called ``name``, or None."""
    return session.execute(sa.select(User).where(User.name == name)).scalar_one_or_none()


def _actor_query() -> sa.Select[tuple[str, bool, str | None]]:
    users = table_of(User)
    centers = table_of(UserCenter)
    return (
        sa.select(users.c.role, users.c.active, centers.c.center_id)
        .outerjoin(centers, centers.c.user_id == users.c.id)
        .where(users.c.name == sa.bindparam("name"))
    )


# Built once (tables, not the ORM's classes): building it was most of the query's CPU.
_ACTOR_QUERY = _actor_query()


def load_actor(session: Session, name: str) -> Actor | None:
    """The ``Actor`` of the active user ``name`` (name, role, centres), read in one query (the
    API reads it on every request, so a disabled account is refused at once); None for an
    unknown or disabled user."""
    rows = session.execute(_ACTOR_QUERY, {"name": name}).all()
    if not rows or not rows[0].active:
        return None
    role = rows[0].role
    assert role in ROLES, role
    return Actor(name, role, frozenset(r.center_id for r in rows if r.center_id is not None))


def _check_manages(actor: Actor, centers: Iterable[str]) -> None:
    require(actor, "manage_users")
    for center in centers:
        if center == ALL_CENTERS and not actor.every_center:
            raise ForbiddenError("only an admin of every centre ('*') may give every centre")
        if not actor.has_center(center):
            raise ForbiddenError(f"{actor.name} does not manage users of {center}")


def add_user(
    session: Session,
    actor: Actor,
    name: str,
    role: str,
    centers: Iterable[str],
    password: str,
) -> User:
    """Add an active user with ``role`` (admin, investigator, data_entry, viewer) in
    ``centers`` (``'*'``: every centre), audited; the caller commits.

    Raises ``WeakPasswordError`` for a password shorter than ``MIN_PASSWORD_LENGTH``,
    ``ConflictError`` for a name taken, ``ForbiddenError`` when ``actor`` may not manage those
    centres, and ``UsageError`` for an unknown role, an empty name or no centre."""
    from srnskit.errors import UsageError

    chosen = sorted(set(centers))
    if role not in ROLES:
        raise UsageError(f"unknown role {role!r}; choose one of {', '.join(ROLES)}")
    if not name.strip() or len(name) > ID_LENGTH:
        raise UsageError(f"a user name has 1 to {ID_LENGTH} characters")
    if not chosen or any(not c.strip() for c in chosen):
        raise UsageError("give at least one centre (--center C, or '*' for every centre)")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise WeakPasswordError(
            f"the password has {len(password)} characters; it needs at least {MIN_PASSWORD_LENGTH}"
        )
    _check_manages(actor, chosen)
    lock_for_write(session)
    if get_user(session, name) is not None:
        raise ConflictError(f"the user name {name} is taken")
    user = User(
        name=name,
        role=role,
        password_hash=_HASHER.hash(password),
        active=True,
        created_at=utc_now(),
        centers=[UserCenter(center_id=c) for c in chosen],
    )
    session.add(user)
    session.flush()
    audit = AuditWriter(session, actor.name)
    audit.add("create", "users", name, chosen, None, user_values(user))
    audit.flush()
    return user


def list_users(session: Session, actor: Actor) -> list[User]:
    """The users ``actor`` (an admin) manages, by name: all for ``'*'``, else those sharing a
    centre with the actor."""
    require(actor, "manage_users")
    users = session.execute(sa.select(User).order_by(User.name)).scalars().all()
    return [u for u in users if actor.every_center or u.center_ids & actor.centers]


def disable_user(session: Session, actor: Actor, name: str) -> User:
    """Disable ``name`` (audited; the caller commits). Raises ``NotFoundError`` for a user
    ``actor`` does not manage or that does not exist."""
    require(actor, "manage_users")
    lock_for_write(session)
    user = get_user(session, name)
    if user is None or not (actor.every_center or user.center_ids <= actor.centers):
        raise NotFoundError(f"no user {name}")
    if user.active:
        user.active = False
        session.flush()
        audit = AuditWriter(session, actor.name)
        audit.add(
            "update", "users", name, sorted(user.center_ids), {"active": True}, {"active": False}
        )
        audit.flush()
    return user


def authenticate(session: Session, name: str, password: str) -> User | None:
    """The active user ``name`` when ``password`` is theirs, else None (unknown name, wrong
    password and disabled account alike, in about the same time). Throttling is the caller's
    (registry.md §3)."""
    user = get_user(session, name)
    try:
        _HASHER.verify(user.password_hash if user else _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        return None
    if user is None or not user.active:
        return None
    return user
