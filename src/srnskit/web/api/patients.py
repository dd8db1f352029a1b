"""Patients, their rows and their derived results (registry.md §3), over ``registry.store``
and ``registry.derived``; every read goes through the service's one centre filter.

    GET    /patients?center=&q=                 200 the visible patients
    POST   /patients                            201 the row (409 an id taken anywhere)
    GET    /patients/{patient_id}               200 the row with its rows of every table
    PATCH  /patients/{patient_id}               200
    DELETE /patients/{patient_id}               204 (with all its rows, audited)
    POST   /patients/{patient_id}/{table}       201 the rows with their id (one row or a list)
    PATCH  /patients/{patient_id}/{table}/{id}  200
    DELETE /patients/{patient_id}/{table}/{id}  204
    GET    /patients/{patient_id}/derived?definitions=kdigo2021   200 (stored, never computed)

Each route is ``async`` and does its whole unit of work in one worker thread (``app.in_unit``:
the user read, the service called, a write committed, the session closed); answers are JSON
written by orjson (dates as ISO text), and a derived result is answered as stored
(``derived.read_derived_json``), not parsed and written again.
"""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Body, Path, Query, Request, Response
from pydantic import BaseModel, ValidationError

from srnskit.errors import InvalidCohortError
from srnskit.registry import derived, store
from srnskit.registry.errors import NotFoundError
from srnskit.schema.problems import Problem
from srnskit.web.api.app import Claims, Unit, in_unit
from srnskit.web.api.models import CHILD_TABLES, ROW_IN, ROW_OUT, Cell, PatientRecord, Problems

__all__ = ["PatientIn", "PatientOut", "add_routes", "row_values"]

PatientId = Annotated[str, Path(description="the patient's id (unique in the registry)")]
TableName = Annotated[
    str,
    Path(description="the table of the rows", json_schema_extra={"enum": list(CHILD_TABLES)}),
]
RowBody = Annotated[
    dict[str, Cell] | list[dict[str, Cell]],
    Body(description="one row, or a list of rows, as cohort-format.md §2 spells them"),
]
PatientIn: type[BaseModel] = ROW_IN["patients"]
PatientOut: type[BaseModel] = ROW_OUT["patients"]
_INVALID: dict[int | str, dict[str, Any]] = {
    401: {"description": "no or a bad token"},
    403: {"description": "the role may not do this"},
    404: {"description": "no such patient among the user's centres"},
    422: {"model": Problems, "description": "invalid data: nothing was written"},
}


def row_values(table: str, row: dict[str, Any], index: int | None = None) -> dict[str, Any]:
    """``row`` checked against the table's generated model (``models.ROW_IN``): the values the
    client set, extra columns included. Raises ``InvalidCohortError`` for a value that is no
    cell at all (an object, a list), ``NotFoundError`` for an unknown table."""
    if table not in ROW_IN:
        raise NotFoundError(f"no table {table!r}; the tables are {', '.join(CHILD_TABLES)}")
    try:
        model = ROW_IN[table].model_validate(row)
    except ValidationError as exc:
        raise InvalidCohortError(
            [
                Problem(table, index, ".".join(map(str, e["loc"])) or None, e["msg"])
                for e in exc.errors()
            ]
        ) from None
    values = model.model_dump(exclude_unset=True)
    for key, value in (model.model_extra or {}).items():
        if isinstance(value, dict | list):
            raise InvalidCohortError([Problem(table, index, key, "a cell holds one value")])
        values[key] = value
    return values


def _json(content: Any, status: int = 200) -> Response:
    """``content`` as JSON, written by orjson (dates as ISO text): a child's record holds
    hundreds of rows, and FastAPI's generic encoder took most of a read's time, the standard
    library's with a date hook about 0.8 ms of a 30 KB record (orjson: 0.1 ms)."""
    return Response(orjson.dumps(content), status_code=status, media_type="application/json")


def add_routes(router: APIRouter) -> None:
    """Register the patient routes on ``router``."""

    @router.get("/patients", response_model=list[PatientOut], tags=["patients"])  # type: ignore[valid-type]
    async def list_patients(
        request: Request,
        claims: Claims,
        center: Annotated[str | None, Query(description="only this centre's")] = None,
        q: Annotated[str | None, Query(description="ids containing this text")] = None,
        limit: Annotated[int | None, Query(ge=1)] = None,
        offset: Annotated[int, Query(ge=0)] = 0,
    ) -> Response:
        """The patients visible to the user, by id (a centre not the user's: an empty list)."""

        def work(unit: Unit) -> Response:
            session, actor, _ = unit
            found = store.list_patients(
                session, actor, center=center, q=q, limit=limit, offset=offset
            )
            return _json(found)

        return await in_unit(request, claims, work)

    @router.post(
        "/patients",
        status_code=201,
        response_model=PatientOut,
        responses={409: {"description": "the id exists"}, **_INVALID},
        tags=["patients"],
    )
    async def create_patient(
        request: Request,
        claims: Claims,
        row: Annotated[PatientIn, Body()],  # type: ignore[valid-type]
    ) -> Response:
        """Create a patient (an empty centre_id is the user's one centre)."""

        def work(unit: Unit) -> Response:
            session, actor, today = unit
            values = row_values("patients", row.model_dump(exclude_unset=True))  # type: ignore[attr-defined]
            created = store.create_patient(session, actor, values, today=today)
            session.commit()
            return _json(created, 201)

        return await in_unit(request, claims, work)

    @router.get(
        "/patients/{patient_id}",
        response_model=PatientRecord,
        responses=_INVALID,
        tags=["patients"],
    )
    async def read_patient(request: Request, claims: Claims, patient_id: PatientId) -> Response:
        """The patient with its measurements, treatments, adverse events and events."""

        def work(unit: Unit) -> Response:
            return _json(store.get_patient(unit.session, unit.actor, patient_id))

        return await in_unit(request, claims, work)

    @router.patch(
        "/patients/{patient_id}", response_model=PatientOut, responses=_INVALID, tags=["patients"]
    )
    async def change_patient(
        request: Request,
        claims: Claims,
        patient_id: PatientId,
        changes: Annotated[PatientIn, Body()],  # type: ignore[valid-type]
    ) -> Response:
        """Change fields of the patient (the id cannot change)."""

        def work(unit: Unit) -> Response:
            session, actor, today = unit
            values = row_values("patients", changes.model_dump(exclude_unset=True))  # type: ignore[attr-defined]
            changed = store.update_patient(session, actor, patient_id, values, today=today)
            session.commit()
            return _json(changed)

        return await in_unit(request, claims, work)

    @router.delete("/patients/{patient_id}", status_code=204, responses=_INVALID, tags=["patients"])
    async def delete_patient(request: Request, claims: Claims, patient_id: PatientId) -> Response:
        """Delete the patient with all its rows (each audited)."""

        def work(unit: Unit) -> Response:
            store.delete_patient(unit.session, unit.actor, patient_id)
            unit.session.commit()
            return Response(status_code=204)

        return await in_unit(request, claims, work)

    @router.post(
        "/patients/{patient_id}/{table}",
        status_code=201,
        responses=_INVALID,
        tags=["rows"],
    )
    async def add_rows(
        request: Request,
        claims: Claims,
        patient_id: PatientId,
        table: TableName,
        rows: RowBody,
    ) -> Response:
        """Add rows to the patient's table; answers them as stored, with their id."""

        def work(unit: Unit) -> Response:
            session, actor, today = unit
            given = rows if isinstance(rows, list) else [rows]
            values = [row_values(table, row, i + 1) for i, row in enumerate(given)]
            added = store.add_rows(session, actor, patient_id, table, values, today=today)
            session.commit()
            return _json(added, 201)

        return await in_unit(request, claims, work)

    @router.patch("/patients/{patient_id}/{table}/{row_id}", responses=_INVALID, tags=["rows"])
    async def change_row(
        request: Request,
        claims: Claims,
        patient_id: PatientId,
        table: TableName,
        row_id: int,
        changes: Annotated[dict[str, Cell], Body()],
    ) -> Response:
        """Change fields of one row."""

        def work(unit: Unit) -> Response:
            session, actor, today = unit
            values = row_values(table, changes)
            changed = store.update_row(
                session, actor, patient_id, table, row_id, values, today=today
            )
            session.commit()
            return _json(changed)

        return await in_unit(request, claims, work)

    @router.delete(
        "/patients/{patient_id}/{table}/{row_id}",
        status_code=204,
        responses=_INVALID,
        tags=["rows"],
    )
    async def delete_row(
        request: Request,
        claims: Claims,
        patient_id: PatientId,
        table: TableName,
        row_id: int,
    ) -> Response:
        """Delete one row (audited)."""

        def work(unit: Unit) -> Response:
            session, actor, today = unit
            store.delete_row(session, actor, patient_id, table, row_id, today=today)
            session.commit()
            return Response(status_code=204)

        return await in_unit(request, claims, work)

    @router.get("/patients/{patient_id}/derived", responses=_INVALID, tags=["patients"])
    async def read_derived(
        request: Request,
        claims: Claims,
        patient_id: PatientId,
        definitions: Annotated[str, Query(description="a shipped definition set")] = "kdigo2021",
    ) -> Response:
        """The engine's episodes, courses and outcome of the patient with their evidence, as
        stored when its data last changed (never computed on read)."""

        def work(unit: Unit) -> Response:
            body = derived.read_derived_json(unit.session, unit.actor, patient_id, definitions)
            return Response(body, media_type="application/json")

        return await in_unit(request, claims, work)
