"""The registry's service for one patient at a time: what the API's routes call.

Every function takes a ``Session`` (the caller's unit of work: it commits on success, rolls
back on an exception) and the ``Actor`` acting (``access.Actor.of(user)``). Reads go through the
one centre filter (``access.visible``); a patient of another centre is ``NotFoundError``, a
role that may not act ``ForbiddenError``, a taken id ``ConflictError``, invalid data
``InvalidCohortError`` with the problems ``srnskit validate`` would print (nothing written).

Every write is validated as one cohort-shaped batch: the patient's whole record (stored rows as
text, the change applied) is read by the library (``cohort.cohort_from_raw``: every rule,
unit conversion and spelling is the library's), compared with the stored rows
(``changes.plan_changes``), written with one audit entry per record, and the patient's derived
results recomputed from that loaded record (``derived.store_derived``), all in the session's
transaction.

    list_patients(session, actor, center=None, q=None, limit=None, offset=0,
                  definitions=None, status=None) -> list[dict]
    get_patient(session, actor, patient_id) -> dict          the row + "measurements", …
    create_patient(session, actor, row, today=None) -> dict
    update_patient(session, actor, patient_id, changes, today=None) -> dict
    delete_patient(session, actor, patient_id) -> None
    add_rows(session, actor, patient_id, table, rows, today=None, derive=True) -> list[dict]
    update_row(session, actor, patient_id, table, row_id, changes, today=None) -> dict
    delete_row(session, actor, patient_id, table, row_id, today=None) -> None

Values come in as JSON gives them (text, numbers, booleans, null; dates as ISO text) and go out
as Python values (``datetime.date`` for dates); a row's centre-supplied columns are in
``extra_columns`` (an object, or None).
"""

from __future__ import annotations

import datetime as dt
import functools
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from srnskit.cohort.load import cohort_from_raw
from srnskit.errors import InvalidCohortError
from srnskit.registry.access import (
    STATEMENTS_KEPT,
    Actor,
    registered_centers,
    require,
    visible,
    visible_patient,
)
from srnskit.registry.audit import AuditWriter
from srnskit.registry.changes import (
    CHILD_TABLES,
    Row,
    apply_plan,
    audit_values,
    cohort_rows,
    plan_changes,
    stored_rows,
)
from srnskit.registry.db import lock_for_write
from srnskit.registry.derived import store_derived
from srnskit.registry.errors import ConflictError, NotFoundError
from srnskit.registry.models import (
    COHORT_MODEL_TABLES,
    EXTRA_COLUMN,
    STATUS_COLUMNS,
    DerivedResult,
    table_of,
)
from srnskit.schema import COHORT_TABLES
from srnskit.schema.problems import Problem
from srnskit.sources.raw import RawCohort, RawTable, text_table
from srnskit.sources.registry import cell_text

__all__ = [
    "add_rows",
    "create_patient",
    "delete_patient",
    "delete_row",
    "get_patient",
    "list_patients",
    "public_row",
    "update_patient",
    "update_row",
]

# One patient's record while a write is prepared: table → rows of text cells, each with the
# stored row's id (None for a new row).
_Record = dict[str, list[tuple[int | None, dict[str, str | None]]]]


def public_row(row: Mapping[str, Any]) -> dict[str, Any]:
    """A stored row as the service hands it out: its columns, ``extra_columns`` as an object
    (or None)."""
    return _public(dict(row))


def _public(values: dict[str, Any]) -> dict[str, Any]:
    """``public_row`` in place, for a dict the caller built and owns."""
    extra = values.get(EXTRA_COLUMN)
    values[EXTRA_COLUMN] = json.loads(extra) if extra else None
    return values


def list_patients(
    session: Session,
    actor: Actor,
    *,
    center: str | None = None,
    q: str | None = None,
    limit: int | None = None,
    offset: int = 0,
    definitions: str | None = None,
    status: str | None = None,
) -> list[dict[str, Any]]:
    """The patients ``actor`` may see, by id: of ``center`` only when given (a centre not the
    actor's gives an empty list), ids containing ``q`` (any case) when given.

    With ``definitions`` (a definition set's name) each row also has the ``STATUS_COLUMNS``
    of the patient's outcome stored under that set (None where nothing is stored), read in
    the same query; ``status`` then keeps the patients whose stored steroid response is it."""
    require(actor, "read")
    query = _list_query(
        actor,
        by_status=definitions is not None,
        status=definitions is not None and status is not None,
        center=center is not None,
        q=bool(q),
        limit=limit,
        offset=offset,
    )
    parameters: dict[str, Any] = {}
    if definitions is not None:
        parameters["definitions"] = definitions
        if status is not None:
            parameters["status"] = status
    if center is not None:
        parameters["center"] = center
    if q:
        escaped = q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        parameters["q"] = f"%{escaped}%"
    result = session.execute(query, parameters)
    keys = list(map(str, result.keys()))
    return [_public(dict(zip(keys, row, strict=True))) for row in result]


@functools.lru_cache(maxsize=STATEMENTS_KEPT)
def _list_query(
    actor: Actor,
    *,
    by_status: bool,
    status: bool,
    center: bool,
    q: bool,
    limit: int | None,
    offset: int,
) -> sa.Select[Any]:
    """``list_patients``' statement for one shape of call, built once and kept (building it
    cost more than running it on a page of 50): what varies is bound (``definitions``,
    ``status``, ``center``, ``q`` as its LIKE pattern)."""
    patients = COHORT_MODEL_TABLES["patients"]
    query = visible(actor, "patients").order_by(patients.c.patient_id).offset(offset)
    if by_status:
        results = table_of(DerivedResult)
        query = query.add_columns(*(results.c[name] for name in STATUS_COLUMNS)).outerjoin(
            results,
            sa.and_(
                results.c.patient_id == patients.c.patient_id,
                results.c.definitions == sa.bindparam("definitions"),
            ),
        )
        if status:
            query = query.where(results.c.steroid_response == sa.bindparam("status"))
    if center:
        query = query.where(patients.c.center_id == sa.bindparam("center"))
    if q:
        query = query.where(patients.c.patient_id.ilike(sa.bindparam("q"), escape="\\"))
    if limit is not None:
        query = query.limit(limit)
    return query


def get_patient(session: Session, actor: Actor, patient_id: str) -> dict[str, Any]:
    """The patient's row with its rows of each table (``"measurements": [...]``, …, each with
    its ``id``). Raises ``NotFoundError`` for a patient the actor cannot see."""
    require(actor, "read")
    patient = _public(visible_patient(session, actor, patient_id))
    for table in CHILD_TABLES:
        patient[table] = [_public(r) for r in stored_rows(session, actor, table, [patient_id])]
    return patient


def _record(session: Session, actor: Actor, patient_id: str) -> _Record:
    record: _Record = {}
    for table in COHORT_TABLES:
        rows = stored_rows(session, actor, table, [patient_id])
        record[table] = [(r.get("id"), _text(public_row(r))) for r in rows]
    return record


def _text(values: Mapping[str, Any]) -> dict[str, str | None]:
    """Values as the text cells of a cohort file (extra columns spread into columns)."""
    cells = {k: cell_text(v) for k, v in values.items() if k not in ("id", EXTRA_COLUMN)}
    for key, value in (values.get(EXTRA_COLUMN) or {}).items():
        cells.setdefault(key, cell_text(value))
    return cells


def _raw(record: _Record) -> RawCohort:
    raw = RawCohort(path=Path("registry"), name="registry")
    for table, rows in record.items():
        declared = list(COHORT_TABLES[table].column_names)
        extra = list(dict.fromkeys(k for _, r in rows for k in r if k not in declared))
        columns = [*declared, *extra]
        values = [[r.get(c) for _, r in rows] for c in columns]
        data = text_table(columns, values, range(2, len(rows) + 2))
        raw.tables[table] = RawTable.of(table, f"registry[{table}]", data)
    return raw


def _write(
    session: Session,
    actor: Actor,
    patient_id: str,
    record: _Record,
    today: dt.date | None,
    derive: bool = True,
) -> dict[str, list[int]]:
    """Validate ``record`` (the patient's whole desired record) with the library, write its
    differences from the stored rows, audited, and (unless ``derive`` is False) recompute the
    patient's derived results."""
    reference = today or dt.date.today()
    with cohort_from_raw(_raw(record), today=reference) as cohort:
        desired_patients = cohort_rows(cohort, "patients")
        desired: dict[str, list[Row]] = {}
        for table in CHILD_TABLES:
            rows = cohort_rows(cohort, table)
            # Loading keeps the rows' order: the n-th loaded row is the n-th of the record.
            for row, (row_id, _) in zip(rows, record[table], strict=True):
                row["id"] = row_id
            desired[table] = rows
        plan = plan_changes(
            stored_rows(session, actor, "patients", [patient_id]),
            {t: stored_rows(session, actor, t, [patient_id]) for t in CHILD_TABLES},
            desired_patients,
            desired,
        )
        audit = AuditWriter(session, actor.name)
        new_ids = apply_plan(session, audit, plan)
        audit.flush()
        if derive and not plan.empty:
            # The loaded record is now the stored one: derived from it, not read back.
            store_derived(session, cohort)
    return new_ids


def _refuse(table: str, column: str | None, message: str) -> InvalidCohortError:
    return InvalidCohortError([Problem(table, None, column, message)])


def create_patient(
    session: Session, actor: Actor, row: Mapping[str, Any], *, today: dt.date | None = None
) -> dict[str, Any]:
    """Create a patient from a ``patients`` row (cohort-format.md §2). An empty ``center_id``
    is the actor's centre when it has exactly one. Raises ``ConflictError`` when the id exists
    anywhere in the registry, ``ForbiddenError`` for a centre not the actor's,
    ``InvalidCohortError`` for invalid values."""
    require(actor, "write")
    cells = _text(row)
    patient_id = (cells.get("patient_id") or "").strip()
    if not patient_id:
        raise _refuse("patients", "patient_id", "patient_id is required")
    center = (cells.get("center_id") or "").strip()
    if not center:
        own = sorted(actor.centers - {"*"})
        if len(own) != 1 or actor.every_center:
            raise _refuse("patients", "center_id", "give center_id: the centre of the patient")
        center = own[0]
    require(actor, "write", center)
    lock_for_write(session)
    if registered_centers(session, [patient_id]):
        raise ConflictError(f"patient_id {patient_id} exists in the registry")
    cells.update(patient_id=patient_id, center_id=center)
    record: _Record = {table: [] for table in COHORT_TABLES}
    record["patients"] = [(None, cells)]
    _write(session, actor, patient_id, record, today)
    return public_row(visible_patient(session, actor, patient_id))


def _own_patient(session: Session, actor: Actor, patient_id: str) -> dict[str, Any]:
    require(actor, "write")
    lock_for_write(session)
    return visible_patient(session, actor, patient_id)


def update_patient(
    session: Session,
    actor: Actor,
    patient_id: str,
    changes: Mapping[str, Any],
    *,
    today: dt.date | None = None,
) -> dict[str, Any]:
    """Change fields of a patient (``patient_id`` cannot change; ``center_id`` only to another
    of the actor's centres). Raises ``NotFoundError``, ``ForbiddenError`` or
    ``InvalidCohortError``."""
    _own_patient(session, actor, patient_id)
    if "patient_id" in changes and changes["patient_id"] != patient_id:
        raise _refuse("patients", "patient_id", "patient_id cannot change")
    if changes.get("center_id") is not None:
        require(actor, "write", str(changes["center_id"]))
    record = _record(session, actor, patient_id)
    _, cells = record["patients"][0]
    cells.update(_text({k: v for k, v in changes.items() if k != "id"}))
    _write(session, actor, patient_id, record, today)
    return public_row(visible_patient(session, actor, patient_id))


def delete_patient(session: Session, actor: Actor, patient_id: str) -> None:
    """Delete a patient with all its rows: one audit entry per row, then the patient's."""
    patient = _own_patient(session, actor, patient_id)
    audit = AuditWriter(session, actor.name)
    center = [patient["center_id"]]
    for table in CHILD_TABLES:
        model = COHORT_MODEL_TABLES[table]
        for row in stored_rows(session, actor, table, [patient_id]):
            audit.add("delete", table, str(row["id"]), center, audit_values(row), None)
        session.execute(sa.delete(model).where(model.c.patient_id == patient_id))
    derived = table_of(DerivedResult)
    session.execute(sa.delete(derived).where(derived.c.patient_id == patient_id))
    patients = COHORT_MODEL_TABLES["patients"]
    audit.add("delete", "patients", patient_id, center, audit_values(patient), None)
    session.execute(sa.delete(patients).where(patients.c.patient_id == patient_id))
    audit.flush()


def _child_table(table: str) -> None:
    if table not in CHILD_TABLES:
        raise NotFoundError(f"no table {table!r}; the tables are {', '.join(CHILD_TABLES)}")


def _rows_of_patient(
    table: str, patient_id: str, rows: Sequence[Mapping[str, Any]]
) -> list[dict[str, str | None]]:
    cells = []
    for row in rows:
        given = row.get("patient_id")
        if given is not None and given != patient_id:
            raise _refuse(table, "patient_id", f"a row of {patient_id} cannot name {given}")
        cells.append(
            {**_text({k: v for k, v in row.items() if k != "id"}), "patient_id": patient_id}
        )
    return cells


def add_rows(
    session: Session,
    actor: Actor,
    patient_id: str,
    table: str,
    rows: Sequence[Mapping[str, Any]],
    *,
    today: dt.date | None = None,
    derive: bool = True,
) -> list[dict[str, Any]]:
    """Add rows to a patient's ``table`` (measurements, treatments, adverse_events, events);
    returns them as stored, with their ``id``.

    ``derive=False`` leaves the patient's derived results as they were: only for a write the
    caller rolls back (a preview of the rows as saving would store them), since a committed
    write must recompute them (registry.md §4b)."""
    _child_table(table)
    _own_patient(session, actor, patient_id)
    record = _record(session, actor, patient_id)
    added = _rows_of_patient(table, patient_id, rows)
    record[table] += [(None, cells) for cells in added]
    _write(session, actor, patient_id, record, today, derive)
    stored = stored_rows(session, actor, table, [patient_id])
    known = {row_id for row_id, _ in record[table] if row_id is not None}
    return [public_row(r) for r in stored if r["id"] not in known]


def _row_index(record: _Record, table: str, row_id: int) -> int:
    for index, (stored_id, _) in enumerate(record[table]):
        if stored_id == row_id:
            return index
    raise NotFoundError(f"no {table} row {row_id}")


def update_row(
    session: Session,
    actor: Actor,
    patient_id: str,
    table: str,
    row_id: int,
    changes: Mapping[str, Any],
    *,
    today: dt.date | None = None,
) -> dict[str, Any]:
    """Change fields of one row of a patient's ``table``; returns the row as stored."""
    _child_table(table)
    _own_patient(session, actor, patient_id)
    record = _record(session, actor, patient_id)
    index = _row_index(record, table, row_id)
    _, cells = record[table][index]
    cells.update(_rows_of_patient(table, patient_id, [changes])[0])
    _write(session, actor, patient_id, record, today)
    stored = stored_rows(session, actor, table, [patient_id])
    return next(public_row(r) for r in stored if r["id"] == row_id)


def delete_row(
    session: Session,
    actor: Actor,
    patient_id: str,
    table: str,
    row_id: int,
    *,
    today: dt.date | None = None,
) -> None:
    """Delete one row of a patient's ``table`` (audited)."""
    _child_table(table)
    _own_patient(session, actor, patient_id)
    record = _record(session, actor, patient_id)
    del record[table][_row_index(record, table, row_id)]
    _write(session, actor, patient_id, record, today)
