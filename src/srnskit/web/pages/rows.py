"""A patient's rows (measurements, treatments, adverse_events, events): add, paste, edit, delete.

    POST /patients/{id}/{table}                      add one row → 303 /patients/{id}#{table}
    POST /patients/{id}/{table}/paste                commit=false: the preview, each pasted row
                                                     as read with its problems; commit=true:
                                                     all rows or none → 303 /patients/{id}
    GET  /patients/{id}/{table}/{row_id}             the row's edit form
    POST /patients/{id}/{table}/{row_id}             change it → 303 /patients/{id}#{table}
    GET  /patients/{id}/{table}/{row_id}/delete      the confirmation
    POST /patients/{id}/{table}/{row_id}/delete      delete it → 303 /patients/{id}#{table}

Every write is ``registry.store``'s: the patient's whole record is validated by the library, so
a refusal carries the problems ``srnskit validate`` prints, numbered by the row of that record
(the header is row 1, the patient's stored rows come first, in order). They are placed beside
the field of the row the form sent. The paste's preview is the very write, rolled back: what it
shows is what saving it stores (without recomputing the derived results it would discard).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from fastapi import APIRouter, Request, Response

from srnskit.errors import InvalidCohortError
from srnskit.registry import store
from srnskit.registry.access import require
from srnskit.registry.errors import NotFoundError
from srnskit.schema import Problem
from srnskit.web.api.models import CHILD_TABLES
from srnskit.web.pages.common import PageRoute, PageUnit, form_text, redirect, render
from srnskit.web.pages.forms import (
    Placed,
    changes_from_form,
    display,
    fields_of,
    form_columns,
    row_from_form,
)
from srnskit.web.pages.paste import read_paste
from srnskit.web.pages.patients import patient_page

__all__ = [
    "add_row",
    "confirm_delete_row",
    "delete_row",
    "edit_row",
    "edit_row_form",
    "paste_rows",
    "router",
]

router = APIRouter(route_class=PageRoute, include_in_schema=False)


def _table(table: str) -> str:
    if table not in CHILD_TABLES:
        raise NotFoundError(f"no table {table!r}; the tables are {', '.join(CHILD_TABLES)}")
    return table


def _stored(unit: Any, patient_id: str, table: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = store.get_patient(unit.session, unit.actor, patient_id)[table]
    return rows


def _pasted_row(problem: Problem, table: str, existing: int) -> Problem:
    """A problem of the patient's record renumbered as the paste's: the record's row n (the
    header is row 1, then the ``existing`` stored rows) is the pasted row n - existing - 1; a
    stored row's problem is the table's, without a row."""
    if problem.table != table or problem.row is None:
        return problem
    if problem.row > existing + 1:
        return replace(problem, row=problem.row - existing - 1)
    stored = f"stored row {problem.row - 1}: {problem.message}"
    return replace(problem, row=None, message=stored)


@router.post("/patients/{patient_id}/{table}/paste")
async def paste_rows(request: Request, unit: PageUnit, patient_id: str, table: str) -> Response:
    """Preview (``commit=false``) or save (``commit=true``) rows pasted from a spreadsheet."""
    session, actor, today = unit
    _table(table)
    require(actor, "write")
    form = await request.form()
    text = form_text(form, "paste")
    commit = form_text(form, "commit") == "true"
    existing = len(_stored(unit, patient_id, table))
    pasted = read_paste(table, text)
    problems: list[Problem] = list(pasted.problems)
    read: list[dict[str, Any]] = []
    if not pasted.rows and not problems:
        problems.append(Problem(table, None, None, "nothing to read: paste rows first"))
    if not problems:
        try:
            # A preview is rolled back: validated and written as saving would, not derived.
            read = store.add_rows(
                session, actor, patient_id, table, pasted.rows, today=today, derive=commit
            )
        except InvalidCohortError as exc:
            problems = [_pasted_row(p, table, existing) for p in exc.problems]
    if commit and not problems:
        session.commit()
        return redirect(f"/patients/{patient_id}#{table}")
    session.rollback()
    columns = [c.name for c in form_columns(table)]
    shown = [c for c in pasted.columns if c and c != "patient_id"]
    count = len(pasted.rows)
    by_row: dict[int, Placed] = {n: Placed() for n in range(1, count + 1)}
    general = []
    for p in problems:
        if p.table == table and p.row is not None and 1 <= p.row <= count:
            if p.column:
                by_row[p.row].by_column.setdefault(p.column, []).append(p.message)
            else:
                by_row[p.row].other.append(p.message)
        else:
            general.append(str(p))
    return render(
        request,
        "paste_preview.html",
        422 if problems else 200,
        patient_id=patient_id,
        table=table,
        text=text,
        header=pasted.header,
        columns=shown,
        rows=[
            {"number": n, "cells": row, "placed": by_row[n]} for n, row in enumerate(pasted.rows, 1)
        ],
        read_columns=columns,
        read=[[display(r.get(c)) for c in columns] for r in read],
        general=general,
        valid=not problems,
    )


@router.post("/patients/{patient_id}/{table}")
async def add_row(request: Request, unit: PageUnit, patient_id: str, table: str) -> Response:
    """Add one row; the patient page again with the problems beside the add form's fields."""
    session, actor, today = unit
    _table(table)
    require(actor, "write")
    row = row_from_form(table, await request.form())
    existing = len(_stored(unit, patient_id, table))
    try:
        store.add_rows(session, actor, patient_id, table, [row], today=today)
    except InvalidCohortError as exc:
        session.rollback()
        placed = Placed.of(exc.problems, table, [existing + 2])
        return patient_page(request, unit, patient_id, status=422, add=(table, row, placed))
    session.commit()
    return redirect(f"/patients/{patient_id}#{table}")


def _row(unit: Any, patient_id: str, table: str, row_id: int) -> tuple[int, dict[str, Any]]:
    """The position of the row in the patient's table and the row; NotFoundError if none."""
    for index, row in enumerate(_stored(unit, patient_id, _table(table))):
        if row["id"] == row_id:
            return index, row
    raise NotFoundError(f"no {table} row {row_id}")


def _edit_form(
    request: Request,
    patient_id: str,
    table: str,
    row_id: int,
    values: dict[str, Any],
    placed: Placed,
    status: int = 200,
) -> Response:
    return render(
        request,
        "row_edit.html",
        status,
        patient_id=patient_id,
        table=table,
        row_id=row_id,
        fields=fields_of(table, values, placed.by_column),
        others=placed.other,
    )


@router.get("/patients/{patient_id}/{table}/{row_id:int}")
def edit_row_form(
    request: Request, unit: PageUnit, patient_id: str, table: str, row_id: int
) -> Response:
    """The form to change one row."""
    require(unit.actor, "write")
    _, row = _row(unit, patient_id, table, row_id)
    return _edit_form(request, patient_id, table, row_id, row, Placed())


@router.post("/patients/{patient_id}/{table}/{row_id:int}")
async def edit_row(
    request: Request, unit: PageUnit, patient_id: str, table: str, row_id: int
) -> Response:
    """Change one row; the form again with the problems beside its fields."""
    session, actor, today = unit
    require(actor, "write")
    index, _ = _row(unit, patient_id, table, row_id)
    changes = changes_from_form(table, await request.form())
    try:
        store.update_row(session, actor, patient_id, table, row_id, changes, today=today)
    except InvalidCohortError as exc:
        session.rollback()
        placed = Placed.of(exc.problems, table, [index + 2])
        return _edit_form(request, patient_id, table, row_id, changes, placed, 422)
    session.commit()
    return redirect(f"/patients/{patient_id}#{table}")


@router.get("/patients/{patient_id}/{table}/{row_id:int}/delete")
def confirm_delete_row(
    request: Request, unit: PageUnit, patient_id: str, table: str, row_id: int
) -> Response:
    """Ask before deleting one row (showing it)."""
    require(unit.actor, "write")
    _, row = _row(unit, patient_id, table, row_id)
    cells = [(c.name, display(row.get(c.name))) for c in form_columns(table)]
    return render(
        request,
        "confirm_delete.html",
        what=f"this {table.replace('_', ' ')} row of {patient_id}",
        cells=cells,
        counts=None,
        action=f"/patients/{patient_id}/{table}/{row_id}/delete",
        back=f"/patients/{patient_id}#{table}",
    )


@router.post("/patients/{patient_id}/{table}/{row_id:int}/delete")
def delete_row(unit: PageUnit, patient_id: str, table: str, row_id: int) -> Response:
    """Delete one row (audited)."""
    session, actor, today = unit
    store.delete_row(session, actor, patient_id, _table(table), row_id, today=today)
    session.commit()
    return redirect(f"/patients/{patient_id}#{table}")
