"""The API's row models, generated from the one schema of the format (``schema.tables``).

Nothing about a column is written here: each table's models are built from its
``schema.tables`` columns (name, kind, description, allowed values).

- ``ROW_IN[table]``: a row as a client sends it. Every column optional and typed loosely
  (text, a number, a boolean or null), as a cell of a cohort file: the library reads it
  (``female`` → ``F``, ``0.5 mg/dL`` → µmol/L, ``<0.1``), so what is required and what a value
  may be is decided by the same validation as ``srnskit validate``, whose problems a 422
  carries. Centre-supplied extra columns are accepted beside the format's own.
- ``ROW_OUT[table]``: a row as stored: typed by the column's kind (dates as ISO dates), child
  rows with their integer ``id``, extra columns in ``extra_columns``.
- ``PatientRecord``: a patient with its rows of each table (``GET /patients/{patient_id}``).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, create_model

from srnskit.schema import COHORT_TABLES, Column, ColumnKind

__all__ = [
    "CHILD_TABLES",
    "ROW_IN",
    "ROW_OUT",
    "Cell",
    "ImportAnswer",
    "PatientRecord",
    "ProblemOut",
    "Problems",
    "Session",
    "Token",
]

CHILD_TABLES: tuple[str, ...] = tuple(name for name in COHORT_TABLES if name != "patients")

# A cell as JSON gives it: the library reads it as the text of a cohort file's cell.
Cell = str | int | float | bool | None

_OUT_TYPES: dict[ColumnKind, Any] = {
    "text": str,
    "enum": str,
    "date": dt.date,
    "number": float,
    "integer": int,
    "bool": bool,
    "value": float,
}


def _camel(table: str) -> str:
    return "".join(part.capitalize() for part in table.split("_"))


def _described(column: Column) -> str:
    words = column.description
    if column.allowed:
        words += f" (one of: {', '.join(column.allowed)})"
    return words + (" — required" if column.required else "")


def _row_in(table: str) -> type[BaseModel]:
    fields: dict[str, Any] = {
        c.name: (Cell, Field(default=None, description=_described(c)))
        for c in COHORT_TABLES[table].columns
    }
    return create_model(
        f"{_camel(table)}In",
        __config__=ConfigDict(extra="allow"),
        __doc__=f"A {table} row as sent (cohort-format.md §2); extra columns are kept.",
        **fields,
    )


def _row_out(table: str) -> type[BaseModel]:
    fields: dict[str, Any] = {}
    if table != "patients":
        fields["id"] = (int, Field(description="the row's id in the registry"))
    for column in COHORT_TABLES[table].columns:
        kind = _OUT_TYPES[column.kind]
        if column.required or column.name == "center_id":
            fields[column.name] = (kind, Field(description=column.description))
        else:
            fields[column.name] = (kind | None, Field(default=None, description=column.description))
    fields["extra_columns"] = (
        dict[str, Any] | None,
        Field(default=None, description="the row's centre-supplied columns"),
    )
    return create_model(
        _camel(table),
        __doc__=f"A {table} row as stored (canonical units and spellings).",
        **fields,
    )


ROW_IN: dict[str, type[BaseModel]] = {name: _row_in(name) for name in COHORT_TABLES}
ROW_OUT: dict[str, type[BaseModel]] = {name: _row_out(name) for name in COHORT_TABLES}

_RECORD_FIELDS: dict[str, Any] = {
    name: (list[ROW_OUT[name]], Field(default_factory=list))  # type: ignore[valid-type]
    for name in CHILD_TABLES
}
PatientRecord: type[BaseModel] = create_model(
    "PatientRecord",
    __base__=ROW_OUT["patients"],
    __doc__="A patient with its rows of every table.",
    **_RECORD_FIELDS,
)


class ProblemOut(BaseModel):
    """One problem, as ``srnskit validate`` prints it."""

    table: str | None
    row: int | None
    column: str | None
    severity: str
    message: str


class Problems(BaseModel):
    """The answer to invalid data (422): nothing was written."""

    problems: list[ProblemOut]


class ImportAnswer(BaseModel):
    """``POST /imports``: whether the cohort is valid, its problems and what it would change."""

    valid: bool
    problems: list[ProblemOut]
    preview: dict[str, Any]


class Token(BaseModel):
    """``POST /token``'s answer (OAuth2's password flow)."""

    access_token: str
    token_type: str = "bearer"


class Session(BaseModel):
    """A browser session: who is logged in and the CSRF token its state-changing requests
    carry (header ``X-CSRF-Token`` or form field ``csrf_token``)."""

    user: str
    role: str
    centers: list[str]
    csrf_token: str
