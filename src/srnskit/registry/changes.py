"""Every write of patient data, as one plan: what is new, what changed field by field, what
goes; then applied in bulk with one audit entry per record, in the caller's transaction.

The desired state comes from a validated ``Cohort`` (the library's validation and loading: an
import, or one patient's record with an API change applied); ``plan_changes`` compares it with
the stored rows of the same patients:

- a patient not stored is new; a stored one is updated field by field;
- in each table the desired state replaces (``tables``), a patient's rows are matched to the
  stored ones: a row carrying a stored ``id`` is that row; then rows equal in every value are
  the same row (nothing to do); then rows sharing a natural key (a measurement's date and
  analyte, a treatment's drug and start date, an event's date and event) are one row changed;
  the rest are new or removed.

So importing the same cohort twice plans nothing, and the audit says nothing the second time.
"""

from __future__ import annotations

import functools
import json
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from srnskit.cohort.load import Cohort
from srnskit.registry.access import STATEMENTS_KEPT, Actor, visible
from srnskit.registry.audit import AuditWriter, canonical_json
from srnskit.registry.models import COHORT_MODEL_TABLES, EXTRA_COLUMN
from srnskit.schema import COHORT_TABLES

__all__ = [
    "CHILD_TABLES",
    "NATURAL_KEYS",
    "Plan",
    "Row",
    "apply_plan",
    "audit_values",
    "cohort_rows",
    "plan_changes",
    "stored_rows",
]

Row = dict[str, Any]
CHILD_TABLES = tuple(name for name in COHORT_TABLES if name != "patients")
# The columns that name "the same row" when a value of it changed (besides patient_id).
NATURAL_KEYS: Mapping[str, tuple[str, ...]] = {
    "measurements": ("date", "analyte"),
    "treatments": ("drug", "start_date"),
    "adverse_events": ("date", "event"),
    "events": ("date", "event"),
}
_ROWS_PER_STATEMENT = 5_000
_IDS_PER_QUERY = 5_000


def _columns(table: str) -> tuple[str, ...]:
    return (*COHORT_TABLES[table].column_names, EXTRA_COLUMN)


def cohort_rows(cohort: Cohort, table: str, patient_ids: Sequence[str] | None = None) -> list[Row]:
    """The rows of a loaded cohort's ``table`` (of ``patient_ids`` only, when given) as the
    registry stores them: the declared columns' canonical values, and the other columns
    (centre-supplied) as one JSON object in ``extra_columns`` (None when the row has none)."""
    if patient_ids is None:
        arrow = cohort.to_arrow(table)
    else:
        query = f"SELECT * FROM {table} WHERE patient_id IN (SELECT unnest(?)) ORDER BY rowid"
        arrow = cohort.con.execute(query, [list(patient_ids)]).to_arrow_table()
    declared = COHORT_TABLES[table].column_names
    extras = [c for c in arrow.column_names if c not in declared and c != "source_row"]
    rows: list[Row] = []
    for record in arrow.to_pylist():
        row = {c: record[c] for c in declared}
        extra = {k: record[k] for k in extras if record[k] is not None}
        row[EXTRA_COLUMN] = canonical_json(extra) if extra else None
        rows.append(row)
    return rows


@functools.lru_cache(maxsize=STATEMENTS_KEPT)
def _rows_query(actor: Actor, table: str, one: bool) -> sa.Select[Any]:
    """``stored_rows``'s statement: the parameter ``patient_ids`` is one id (``one``: a
    patient's read, the most frequent) or a list."""
    model = COHORT_MODEL_TABLES[table]
    order = [model.c.patient_id] if table == "patients" else [model.c.patient_id, model.c.id]
    ids: sa.BindParameter[Any] = sa.bindparam("patient_ids", expanding=not one)
    which = model.c.patient_id == ids if one else model.c.patient_id.in_(ids)
    return visible(actor, table).where(which).order_by(*order)


def stored_rows(
    session: Session, actor: Actor, table: str, patient_ids: Sequence[str]
) -> list[Row]:
    """The stored rows of ``table`` of ``patient_ids`` that ``actor`` may see (through the one
    centre filter), in patient then id order; child rows carry their ``id``."""
    rows: list[Row] = []
    ids = list(dict.fromkeys(patient_ids))
    for start in range(0, len(ids), _IDS_PER_QUERY):
        chunk = ids[start : start + _IDS_PER_QUERY]
        query = _rows_query(actor, table, len(chunk) == 1)
        result = session.execute(query, {"patient_ids": chunk[0] if len(chunk) == 1 else chunk})
        keys = list(map(str, result.keys()))  # plain text, not SQLAlchemy's names
        # Each row built once, from its tuple: a child has hundreds of rows, and a mapping
        # per row, then a dict of it, was most of a patient read's time.
        rows += [dict(zip(keys, row, strict=True)) for row in result]
    return rows


def audit_values(row: Mapping[str, Any]) -> dict[str, Any]:
    """A row as the audit records it: its values, extra columns as an object, no ``id``."""
    values = {k: v for k, v in row.items() if k != "id"}
    if values.get(EXTRA_COLUMN):
        values[EXTRA_COLUMN] = json.loads(values[EXTRA_COLUMN])
    return values


@dataclass
class Plan:
    """The changes one write makes. ``centers`` maps every patient concerned to its centre."""

    patients_new: list[Row] = field(default_factory=list)
    patients_changed: list[tuple[Row, Row]] = field(default_factory=list)
    rows_new: dict[str, list[Row]] = field(default_factory=lambda: defaultdict(list))
    rows_changed: dict[str, list[tuple[Row, Row]]] = field(
        default_factory=lambda: defaultdict(list)
    )
    rows_deleted: dict[str, list[Row]] = field(default_factory=lambda: defaultdict(list))
    centers: dict[str, str] = field(default_factory=dict)

    def preview(self) -> dict[str, Any]:
        """registry.md §3's preview: patients new and changed, rows new and changed per table
        (a removed row counts as changed)."""
        changed = Counter({t: len(v) for t, v in self.rows_changed.items()})
        changed.update({t: len(v) for t, v in self.rows_deleted.items()})
        return {
            "patients_new": len(self.patients_new),
            "patients_changed": len(self.patients_changed),
            "rows_new": {t: len(self.rows_new.get(t, [])) for t in CHILD_TABLES},
            "rows_changed": {t: changed.get(t, 0) for t in CHILD_TABLES},
        }

    def touched_patients(self) -> set[str]:
        """The patients any change concerns (their derived results are recomputed)."""
        touched = {r["patient_id"] for r in self.patients_new}
        touched |= {new["patient_id"] for _, new in self.patients_changed}
        for table in CHILD_TABLES:
            touched |= {r["patient_id"] for r in self.rows_new.get(table, [])}
            touched |= {new["patient_id"] for _, new in self.rows_changed.get(table, [])}
            touched |= {r["patient_id"] for r in self.rows_deleted.get(table, [])}
        return touched

    @property
    def empty(self) -> bool:
        return not self.touched_patients()


def _key(row: Mapping[str, Any], columns: Iterable[str]) -> tuple[Any, ...]:
    return tuple(row.get(c) for c in columns)


def plan_changes(
    stored_patients: Sequence[Row],
    stored: Mapping[str, Sequence[Row]],
    desired_patients: Sequence[Row],
    desired: Mapping[str, Sequence[Row]],
) -> Plan:
    """What turns the stored state of the desired patients into the desired one; ``stored``
    and ``desired`` map each child table the write replaces to its rows (a table absent from
    ``desired`` is left as it is)."""
    plan = Plan()
    before = {p["patient_id"]: p for p in stored_patients}
    columns = _columns("patients")
    for row in desired_patients:
        plan.centers[row["patient_id"]] = row["center_id"]
        old = before.get(row["patient_id"])
        if old is None:
            plan.patients_new.append(row)
        elif _key(old, columns) != _key(row, columns):
            plan.patients_changed.append((old, row))
    wanted = [p["patient_id"] for p in desired_patients]
    for table, rows in desired.items():
        olds: dict[str, list[Row]] = defaultdict(list)
        for row in stored.get(table, []):
            olds[row["patient_id"]].append(row)
        news: dict[str, list[Row]] = defaultdict(list)
        for row in rows:
            news[row["patient_id"]].append(row)
        for patient_id in wanted:
            _plan_rows(plan, table, olds.get(patient_id, []), news.get(patient_id, []))
    return plan


def _plan_rows(plan: Plan, table: str, olds: list[Row], news: list[Row]) -> None:
    columns = _columns(table)
    remaining = {row["id"]: row for row in olds}
    pending: list[Row] = []
    for row in news:
        old = remaining.pop(row["id"], None) if row.get("id") is not None else None
        if old is None:
            pending.append(row)
        elif _key(old, columns) != _key(row, columns):
            plan.rows_changed[table].append((old, row))
    equal: dict[tuple[Any, ...], list[Row]] = defaultdict(list)
    for row in remaining.values():
        equal[_key(row, columns)].append(row)
    unmatched = []
    for row in pending:
        same = equal.get(_key(row, columns))
        if same:
            same.pop(0)
        else:
            unmatched.append(row)
    natural: dict[tuple[Any, ...], list[Row]] = defaultdict(list)
    for rows in equal.values():
        for row in rows:
            natural[_key(row, NATURAL_KEYS[table])].append(row)
    for row in unmatched:
        candidates = natural.get(_key(row, NATURAL_KEYS[table]))
        if candidates:
            plan.rows_changed[table].append((candidates.pop(0), row))
        else:
            plan.rows_new[table].append(row)
    for rows in natural.values():
        plan.rows_deleted[table].extend(rows)


def _changed_fields(old: Row, new: Row, table: str) -> tuple[dict[str, Any], dict[str, Any]]:
    names = [c for c in _columns(table) if old.get(c) != new.get(c)]
    before = audit_values({c: old.get(c) for c in names})
    after = audit_values({c: new.get(c) for c in names})
    if table != "patients":  # which child a row belongs to, for reading the trail
        before["patient_id"], after["patient_id"] = old["patient_id"], new["patient_id"]
    return before, after


def apply_plan(session: Session, audit: AuditWriter, plan: Plan) -> dict[str, list[int]]:
    """Write ``plan`` in the session's transaction, one audit entry per record created,
    changed or deleted; returns the ids of the new rows per table, in the plan's order."""
    patients = COHORT_MODEL_TABLES["patients"]
    columns = _columns("patients")
    _execute_many(session, sa.insert(patients), [_key_dict(r, columns) for r in plan.patients_new])
    for row in plan.patients_new:
        pid = row["patient_id"]
        audit.add("create", "patients", pid, [plan.centers[pid]], None, audit_values(row))
    if plan.patients_changed:
        update = sa.update(patients).where(patients.c.patient_id == sa.bindparam("b_key"))
        values = [
            {**_key_dict(new, columns[1:]), "b_key": new["patient_id"]}
            for _, new in plan.patients_changed
        ]
        _execute_many(session, update, values)
        for old, new in plan.patients_changed:
            before, after = _changed_fields(old, new, "patients")
            centers = {old["center_id"], new["center_id"]}
            audit.add("update", "patients", new["patient_id"], centers, before, after)
    new_ids: dict[str, list[int]] = {}
    for table in CHILD_TABLES:
        model = COHORT_MODEL_TABLES[table]
        columns = _columns(table)
        deleted = plan.rows_deleted.get(table, [])
        ids = [row["id"] for row in deleted]
        for start in range(0, len(ids), _IDS_PER_QUERY):
            chunk = ids[start : start + _IDS_PER_QUERY]
            session.execute(sa.delete(model).where(model.c.id.in_(chunk)))
        for row in deleted:
            center = [plan.centers[row["patient_id"]]]
            audit.add("delete", table, str(row["id"]), center, audit_values(row), None)
        changed = plan.rows_changed.get(table, [])
        if changed:
            update = sa.update(model).where(model.c.id == sa.bindparam("b_key"))
            values = [{**_key_dict(new, columns), "b_key": old["id"]} for old, new in changed]
            _execute_many(session, update, values)
        for old, new in changed:
            before, after = _changed_fields(old, new, table)
            audit.add(
                "update", table, str(old["id"]), [plan.centers[new["patient_id"]]], before, after
            )
        created = plan.rows_new.get(table, [])
        new_ids[table] = _insert_returning_ids(
            session, model, [_key_dict(r, columns) for r in created]
        )
        for row, row_id in zip(created, new_ids[table], strict=True):
            center = [plan.centers[row["patient_id"]]]
            audit.add("create", table, str(row_id), center, None, audit_values(row))
    return new_ids


def _key_dict(row: Mapping[str, Any], columns: Iterable[str]) -> dict[str, Any]:
    return {c: row.get(c) for c in columns}


def _execute_many(session: Session, statement: Any, rows: list[dict[str, Any]]) -> None:
    for start in range(0, len(rows), _ROWS_PER_STATEMENT):
        session.execute(statement, rows[start : start + _ROWS_PER_STATEMENT])


def _insert_returning_ids(
    session: Session, model: sa.Table, rows: list[dict[str, Any]]
) -> list[int]:
    ids: list[int] = []
    statement = sa.insert(model).returning(model.c.id, sort_by_parameter_order=True)
    for start in range(0, len(rows), _ROWS_PER_STATEMENT):
        result = session.execute(statement, rows[start : start + _ROWS_PER_STATEMENT])
        ids += [int(i) for i in result.scalars()]
    return ids
