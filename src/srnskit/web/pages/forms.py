"""Forms built from the one schema of the format (``schema.COHORT_TABLES``), and validation
problems placed beside their field.

Nothing about a column is written here: each input is made from its ``schema.Column`` (name,
kind, description, whether required, allowed values). A form sends text, as a cell of a cohort
file; the store reads it with the library (the same spellings, units and checks as ``srnskit
validate``), and its ``InvalidCohortError`` problems come back to the field they name.

    fields_of(table, values=None, problems=(), row=None) -> list[FormField]
    row_from_form(table, form) -> dict            the filled cells (empty ones left out)
    changes_from_form(table, form) -> dict        every cell of the form (empty → None)
    Placed(problems, table, row)                  problems by column, and the rest
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from srnskit.schema import ANALYTES, COHORT_TABLES, Column, Problem
from srnskit.sources.registry import cell_text

__all__ = [
    "UNITS",
    "FormField",
    "Placed",
    "changes_from_form",
    "display",
    "fields_of",
    "form_columns",
    "row_from_form",
]

# Every unit spelling the format reads (schema.ANALYTES): the measurement form's suggestions.
UNITS: tuple[str, ...] = tuple(
    dict.fromkeys(u.name for analyte in ANALYTES.values() for u in analyte.units)
)
_INPUT_TYPES = {
    "date": "date",
    "text": "text",
    "value": "text",
    "number": "text",
    "integer": "text",
}
_BOOL_CHOICES = (("", "not known"), ("true", "yes"), ("false", "no"))


@dataclass
class FormField:
    """One input of a form: the column it fills, how it is drawn, its value and problems."""

    column: Column
    value: str = ""
    errors: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.column.name

    @property
    def label(self) -> str:
        return self.column.name.replace("_", " ")

    @property
    def widget(self) -> str:
        """``select`` (allowed values, yes/no), else ``input``."""
        return "select" if self.column.allowed or self.column.kind == "bool" else "input"

    @property
    def input_type(self) -> str:
        return _INPUT_TYPES.get(self.column.kind, "text")

    @property
    def inputmode(self) -> str | None:
        """The on-screen keyboard a tablet shows (``decimal`` for numbers)."""
        return "decimal" if self.column.kind in ("number", "integer") else None

    @property
    def choices(self) -> list[tuple[str, str]]:
        """(value, label) of a select: empty first unless required."""
        if self.column.kind == "bool":
            return list(_BOOL_CHOICES)
        empty = [] if self.column.required else [("", "—")]
        return [*empty, *((v, v.replace("_", " ")) for v in self.column.allowed)]

    @property
    def suggestions(self) -> tuple[str, ...]:
        """Values offered in a datalist (a measurement's unit)."""
        return UNITS if self.column.name == "unit" else ()

    @property
    def hint(self) -> str:
        return self.column.description


def form_columns(table: str, *, with_id: bool = False) -> list[Column]:
    """The columns a form of ``table`` fills: all, but ``patient_id`` for a patient's rows
    (the page is the patient's) and for a patient's fields form (``with_id`` keeps it)."""
    columns = COHORT_TABLES[table].columns
    return [c for c in columns if with_id or c.name != "patient_id"]


def display(value: Any) -> str:
    """A stored value as a cell's text ('' for none)."""
    text = cell_text(value)
    return "" if text is None else text


def fields_of(
    table: str,
    values: Mapping[str, Any] | None = None,
    problems: Mapping[str, list[str]] | None = None,
    *,
    with_id: bool = False,
) -> list[FormField]:
    """The inputs of a form of ``table`` filled with ``values`` (stored values or the text the
    user sent) and each column's ``problems``."""
    given = values or {}
    wrong = problems or {}
    return [
        FormField(c, display(given.get(c.name)), list(wrong.get(c.name, ())))
        for c in form_columns(table, with_id=with_id)
    ]


def row_from_form(table: str, form: Mapping[str, Any], *, with_id: bool = False) -> dict[str, str]:
    """The cells of a new ``table`` row the form filled (empty ones left out)."""
    row = {}
    for column in form_columns(table, with_id=with_id):
        value = form.get(column.name)
        if isinstance(value, str) and value.strip():
            row[column.name] = value.strip()
    return row


def changes_from_form(table: str, form: Mapping[str, Any]) -> dict[str, str | None]:
    """Every cell of an edit form of ``table``: an emptied field clears its value."""
    changes: dict[str, str | None] = {}
    for column in form_columns(table):
        value = form.get(column.name)
        if isinstance(value, str):
            changes[column.name] = value.strip() or None
    return changes


@dataclass
class Placed:
    """The problems of one row of a form, by column (shown beside the field), and the others
    (shown above the form)."""

    by_column: dict[str, list[str]] = field(default_factory=dict)
    other: list[str] = field(default_factory=list)

    @classmethod
    def of(cls, problems: Iterable[Problem], table: str, rows: Sequence[int | None]) -> Placed:
        """Problems of ``table`` whose row is in ``rows`` (a problem of no row counts too) go
        beside their column; every other problem is listed as ``srnskit validate`` prints it,
        except a warning about another table as a whole (a child's record checked as a cohort of
        one has tables with no rows yet: nothing the person at the form can act on)."""
        placed = cls()
        for problem in problems:
            if problem.table != table and problem.row is None and problem.severity == "warning":
                continue
            mine = problem.table == table and (problem.row is None or problem.row in rows)
            if mine and problem.column:
                placed.by_column.setdefault(problem.column, []).append(problem.message)
            else:
                placed.other.append(str(problem))
        return placed
