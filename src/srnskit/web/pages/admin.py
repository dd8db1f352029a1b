"""The admins' pages: users and the audit trail (registry.md §2, §4).

    GET  /users                  the users the admin manages, and the form to add one
    POST /users                  add a user → 303 /users (the form again with why, if refused)
    POST /users/{name}/disable   disable the account → 303 /users
    GET  /audit?table=&record=&page=   the audit entries of the admin's centres, newest first

Through ``registry.users`` and ``registry.audit``: an admin manages the users of their centres
and reads the audit entries concerning them; another role answers 403.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request, Response

from srnskit.errors import UsageError
from srnskit.registry import audit, users
from srnskit.registry.access import require
from srnskit.registry.errors import ConflictError, ForbiddenError, WeakPasswordError
from srnskit.registry.models import ROLES
from srnskit.schema import COHORT_TABLES
from srnskit.web.pages.common import PageRoute, PageUnit, form_text, redirect, render

__all__ = ["AUDIT_PAGE_SIZE", "add_user", "audit_page", "disable_user", "router", "user_list"]

AUDIT_PAGE_SIZE = 100

router = APIRouter(route_class=PageRoute, include_in_schema=False)


def _users_page(
    request: Request,
    unit: Any,
    status: int = 200,
    sent: dict[str, str] | None = None,
    error: str = "",
    column: str = "",
) -> Response:
    return render(
        request,
        "users.html",
        status,
        users=[users.user_values(u) for u in users.list_users(unit.session, unit.actor)],
        roles=ROLES,
        sent=sent or {},
        error=error,
        error_column=column,
        min_length=users.MIN_PASSWORD_LENGTH,
    )


@router.get("/users")
def user_list(request: Request, unit: PageUnit) -> Response:
    """The users the admin manages."""
    return _users_page(request, unit)


@router.post("/users")
async def add_user(request: Request, unit: PageUnit) -> Response:
    """Add a user (password typed twice); refusals are shown beside the field they concern."""
    session, actor, _ = unit
    require(actor, "manage_users")
    form = await request.form()
    sent = {k: form_text(form, k).strip() for k in ("name", "role", "centers")}
    password = form_text(form, "password")
    if password != form_text(form, "password_again"):
        return _users_page(request, unit, 422, sent, "the two passwords differ", "password")
    centers = [c.strip() for c in sent["centers"].split(",") if c.strip()]
    try:
        users.add_user(session, actor, sent["name"], sent["role"], centers, password)
    except WeakPasswordError as exc:
        return _users_page(request, unit, 422, sent, str(exc), "password")
    except ConflictError as exc:
        return _users_page(request, unit, 409, sent, str(exc), "name")
    except ForbiddenError as exc:
        session.rollback()
        return _users_page(request, unit, 403, sent, str(exc), "centers")
    except UsageError as exc:
        column = "role" if "role" in str(exc) else "centers" if "centre" in str(exc) else "name"
        return _users_page(request, unit, 422, sent, str(exc), column)
    session.commit()
    return redirect("/users")


@router.post("/users/{name}/disable")
def disable_user(unit: PageUnit, name: str) -> Response:
    """Disable an account (it can no longer log in; its history stays)."""
    session, actor, _ = unit
    users.disable_user(session, actor, name)
    session.commit()
    return redirect("/users")


def _compact(value: Any) -> str:
    return (
        "" if value is None else json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
    )


@router.get("/audit")
def audit_page(
    request: Request, unit: PageUnit, table: str = "", record: str = "", page: int = 0
) -> Response:
    """The audit entries, newest first, filtered by table and record."""
    page = max(page, 0)
    entries = audit.read_entries(
        unit.session,
        unit.actor,
        table=table or None,
        record=record or None,
        limit=AUDIT_PAGE_SIZE + 1,
        offset=page * AUDIT_PAGE_SIZE,
    )
    shown = [
        {**e, "old_text": _compact(e.get("old")), "new_text": _compact(e.get("new"))}
        for e in entries[:AUDIT_PAGE_SIZE]
    ]
    return render(
        request,
        "audit.html",
        entries=shown,
        more=len(entries) > AUDIT_PAGE_SIZE,
        page=page,
        table=table,
        record=record,
        tables=[*COHORT_TABLES, "users"],
    )
