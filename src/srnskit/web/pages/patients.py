"""The patient list, a new patient, the patient page and a patient's deletion.

    GET  /patients?q=&center=&status=&definitions=&page=   the list (htmx: the rows only)
    GET  /patients/new                  the new patient form
    POST /patients                      create → 303 /patients/{id}
    GET  /patients/{id}                 the fields form, the four tables with their add-row
                                        and paste forms, the timeline panel
    POST /patients/{id}                 change fields → 303 /patients/{id}
    GET  /patients/{id}/delete          the confirmation
    POST /patients/{id}/delete          delete with all its rows → 303 /patients

Everything goes through ``registry.store`` (the list's status columns are the outcome columns
kept beside each stored derived result, ``registry.derived.STATUS_COLUMNS``, read with the
patients in one query; never computed). Invalid data answers 422 with the form again, each problem
beside its field; an id taken anywhere answers 409 the same way.
"""

from __future__ import annotations

import functools
from typing import Any

import orjson
from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse
from markupsafe import Markup

from srnskit.definitions.model import shipped_definitions
from srnskit.errors import InvalidCohortError
from srnskit.registry import derived, store
from srnskit.registry.access import require
from srnskit.registry.errors import ConflictError, NotFoundError
from srnskit.schema import COHORT_TABLES
from srnskit.web.api.app import Claims, Unit
from srnskit.web.api.models import CHILD_TABLES
from srnskit.web.pages.common import (
    PAGE_CSP,
    PageRoute,
    PageUnit,
    environment,
    in_page_unit,
    is_htmx,
    redirect,
    render,
)
from srnskit.web.pages.forms import (
    Placed,
    changes_from_form,
    display,
    fields_of,
    form_columns,
    row_from_form,
)

__all__ = [
    "PAGE_SIZE",
    "ROWS_KEPT",
    "STATUS_COLUMNS",
    "change_patient",
    "confirm_delete_patient",
    "create_patient",
    "delete_patient",
    "new_patient",
    "patient_list",
    "patient_page",
    "read_patient",
    "router",
    "statuses",
]

# Patients per page of the list.
PAGE_SIZE = 50
# The derived outcome columns the list shows (patient_outcomes, as `srnskit derive` writes it).
STATUS_COLUMNS = derived.STATUS_COLUMNS
DEFAULT_DEFINITIONS = "kdigo2021"

router = APIRouter(route_class=PageRoute, include_in_schema=False)


def statuses(session: Any, actor: Any, patient_id: str, definitions: str) -> dict[str, str]:
    """The stored outcome of one patient under ``definitions``, as text per ``STATUS_COLUMNS``
    (empty when nothing is stored)."""
    try:
        outcome = derived.read_derived(session, actor, patient_id, definitions)["patient_outcomes"]
    except NotFoundError:
        return {}
    if not outcome:
        return {}
    return {name: display(outcome[0].get(name)) for name in STATUS_COLUMNS}


def _listed(
    unit: Any, q: str, center: str, status: str, definitions: str, page: int
) -> tuple[list[dict[str, Any]], bool]:
    """One page of the visible patients, each with its statuses as text, and whether more
    follow: one query, the status filter included."""
    session, actor, _ = unit
    rows = store.list_patients(
        session,
        actor,
        center=center or None,
        q=q or None,
        limit=PAGE_SIZE + 1,
        offset=page * PAGE_SIZE,
        definitions=definitions,
        status=status or None,
    )
    found = [
        {**row, **{name: display(row[name]) for name in STATUS_COLUMNS}} for row in rows[:PAGE_SIZE]
    ]
    return found, len(rows) > PAGE_SIZE


# The list's rows fragment (``_patient_rows.html``) as last rendered, by what it was rendered
# from (``ROWS_KEPT`` fragments a worker): rendering 50 rows took 3 ms of a 5 ms request,
# while the page they show changes only when a patient's data do.
ROWS_KEPT = 64
_ROWS_TEMPLATE = "_patient_rows.html"


@functools.lru_cache(maxsize=ROWS_KEPT)
def _rows_html(shown: bytes) -> Markup:
    """The rows fragment rendered from ``shown``, the JSON of everything the fragment's
    template sees (every column of every row, the filters, the page): a key that is the
    content itself, so a fragment is never out of date, whoever asks and whatever changed."""
    values = orjson.loads(shown)
    return Markup(environment().get_template(_ROWS_TEMPLATE).render(values))


def _rows_fragment(context: dict[str, Any]) -> Markup:
    seen = {name: context[name] for name in _ROWS_CONTEXT}
    return _rows_html(orjson.dumps(seen, default=str))


# What ``_patient_rows.html`` uses of the list's context.
_ROWS_CONTEXT = ("rows", "more", "page", "q", "center", "status", "definitions", "status_columns")


@router.get("/patients")
async def patient_list(
    request: Request,
    claims: Claims,
    q: str = "",
    center: str = "",
    status: str = "",
    definitions: str = DEFAULT_DEFINITIONS,
    page: int = 0,
) -> Response:
    """The patients the user may see: search by id, filter by centre and by the derived steroid
    response; with ``HX-Request`` only the rows (htmx refreshes them as the user types)."""
    page = max(page, 0)

    def listing(unit: Unit) -> Response:
        rows, more = _listed(unit, q, center, status, definitions, page)
        recorded = COHORT_TABLES["patients"].column("steroid_response_recorded").allowed
        seen = {r.get("steroid_response", "") for r in rows}
        context: dict[str, Any] = {
            "rows": rows,
            "more": more,
            "page": page,
            "q": q,
            "center": center,
            "status": status,
            "definitions": definitions,
            "definition_sets": shipped_definitions(),
            "status_choices": sorted({*recorded, *seen, status} - {""}),
            "status_columns": list(STATUS_COLUMNS),
            "centers": sorted(unit.actor.centers),
        }
        fragment = _rows_fragment(context)
        if is_htmx(request):
            return HTMLResponse(fragment, headers={"content-security-policy": PAGE_CSP})
        return render(request, "patients.html", rows_html=fragment, **context)

    return await in_page_unit(request, claims, listing)


def _new_form(
    request: Request, unit: Any, values: dict[str, Any], placed: Placed, status: int
) -> Response:
    return render(
        request,
        "patient_new.html",
        status,
        fields=fields_of("patients", values, placed.by_column, with_id=True),
        others=placed.other,
        centers=sorted(unit.actor.centers),
    )


@router.get("/patients/new")
def new_patient(request: Request, unit: PageUnit) -> Response:
    """The form of a new patient (every field of the format's patients table)."""
    require(unit.actor, "write")
    own = sorted(unit.actor.centers - {"*"})
    values = {"center_id": own[0]} if len(own) == 1 and not unit.actor.every_center else {}
    return _new_form(request, unit, values, Placed(), 200)


@router.post("/patients")
async def create_patient(request: Request, unit: PageUnit) -> Response:
    """Create the patient; 303 to its page, else the form again with the problems."""
    session, actor, today = unit
    form = await request.form()
    row = row_from_form("patients", form, with_id=True)
    try:
        created = store.create_patient(session, actor, row, today=today)
    except InvalidCohortError as exc:
        return _new_form(request, unit, row, Placed.of(exc.problems, "patients", [2]), 422)
    except ConflictError as exc:
        return _new_form(request, unit, row, Placed({"patient_id": [str(exc)]}), 409)
    session.commit()
    return redirect(f"/patients/{created['patient_id']}")


def patient_page(
    request: Request,
    unit: Any,
    patient_id: str,
    *,
    status: int = 200,
    edit: tuple[dict[str, Any], Placed] | None = None,
    add: tuple[str, dict[str, Any], Placed] | None = None,
) -> Response:
    """The patient page; ``edit`` the fields form as sent with its problems, ``add`` a table's
    add-row form as sent with its problems (after a refusal)."""
    session, actor, _ = unit
    patient = store.get_patient(session, actor, patient_id)
    values, placed = edit if edit is not None else (patient, Placed())
    tables = []
    for table in CHILD_TABLES:
        sent, problems = (add[1], add[2]) if add is not None and add[0] == table else ({}, Placed())
        tables.append(
            {
                "name": table,
                "columns": [c.name for c in form_columns(table)],
                "rows": [
                    {"id": r["id"], "cells": [display(r.get(c.name)) for c in form_columns(table)]}
                    for r in patient[table]
                ],
                "fields": fields_of(table, sent, problems.by_column),
                "others": problems.other,
            }
        )
    return render(
        request,
        "patient.html",
        status,
        patient=patient,
        fields=fields_of("patients", values, placed.by_column),
        others=placed.other,
        tables=tables,
        may_write=actor.may("write"),
        status_columns=STATUS_COLUMNS,
        statuses=statuses(session, actor, patient_id, DEFAULT_DEFINITIONS),
    )


@router.get("/patients/{patient_id}")
def read_patient(request: Request, unit: PageUnit, patient_id: str) -> Response:
    """The patient's page."""
    return patient_page(request, unit, patient_id)


@router.post("/patients/{patient_id}")
async def change_patient(request: Request, unit: PageUnit, patient_id: str) -> Response:
    """Change the patient's fields; the page again with the problems beside the fields."""
    session, actor, today = unit
    changes = changes_from_form("patients", await request.form())
    try:
        store.update_patient(session, actor, patient_id, changes, today=today)
    except InvalidCohortError as exc:
        session.rollback()
        placed = Placed.of(exc.problems, "patients", [2])
        return patient_page(request, unit, patient_id, status=422, edit=(changes, placed))
    session.commit()
    return redirect(f"/patients/{patient_id}")


@router.get("/patients/{patient_id}/delete")
def confirm_delete_patient(request: Request, unit: PageUnit, patient_id: str) -> Response:
    """Ask before deleting the patient (with how many rows go with it)."""
    session, actor, _ = unit
    require(actor, "write")
    patient = store.get_patient(session, actor, patient_id)
    counts = {table: len(patient[table]) for table in CHILD_TABLES}
    return render(
        request,
        "confirm_delete.html",
        what=f"patient {patient_id}",
        counts=counts,
        action=f"/patients/{patient_id}/delete",
        back=f"/patients/{patient_id}",
    )


@router.post("/patients/{patient_id}/delete")
def delete_patient(unit: PageUnit, patient_id: str) -> Response:
    """Delete the patient with all its rows (each audited); back to the list."""
    session, actor, _ = unit
    store.delete_patient(session, actor, patient_id)
    session.commit()
    return redirect("/patients")
