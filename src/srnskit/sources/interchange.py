"""What the interchange sources (REDCap, FHIR, OMOP) share: rows in the format's columns, each
with the place in the source it came from, and what could not be mapped.

An importer reads its standard and fills a ``SourceRows``: every row it maps goes to a cohort
table with its origin (``REDCap record '12', measurements instance 3``; ``FHIR Observation
'obs-7'``; ``OMOP measurement row 4411``), every record it cannot map is listed with the
reason (never dropped silently, issue 20). ``raw_cohort()`` hands the rows to validation as any
reader's ``RawCohort``; ``locate()`` rewrites validation's problems so each names the origin
instead of a row of a file that was never written. ``cohort.imported.write_imported`` does the
rest (validate, write all or nothing).

    rows = SourceRows("export.csv")
    rows.add("patients", {"patient_id": "P1", "sex": "F", ...}, origin="REDCap record 'P1'")
    rows.skip("REDCap record 'P1', instrument 'visit'", "no field of the format")
    raw = rows.raw_cohort()               # RawCohort: text cells, rows numbered from 2
    located = rows.locate(problems)       # each problem's message starts with its origin
"""

from __future__ import annotations

import csv
import io
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from srnskit.errors import UsageError
from srnskit.schema import COHORT_TABLES
from srnskit.schema.problems import Problem
from srnskit.sources.raw import RawCohort, RawTable, text_table

__all__ = ["Skipped", "SourceRows", "load_mapping", "skipped_csv"]

# The first row of a table is row 2 (the header is row 1, cohort-format.md §1).
_FIRST_ROW = 2


@dataclass(frozen=True)
class Skipped:
    """A record of the source that was not mapped: where it is and why (``reason`` says what
    was missing or unknown, such as ``no LOINC code srnskit maps``)."""

    origin: str
    reason: str

    def __str__(self) -> str:
        return f"{self.origin}: {self.reason}"


@dataclass
class SourceRows:
    """Rows for the cohort tables, as text cells in the format's column names, each with its
    origin in the source; and the records skipped.

    ``source`` names the input (a file, a URL without its credentials) in messages. Cells are
    text as the format writes them (ISO dates, plain decimal numbers, ``true``/``false``) or
    None for empty; columns not in the format are refused (``ValueError``: a bug of the
    importer, not of the data).
    """

    source: str
    name: str | None = None
    center_id: str | None = None
    rows: dict[str, list[dict[str, str | None]]] = field(default_factory=dict)
    origins: dict[str, list[str]] = field(default_factory=dict)
    cell_origins: dict[tuple[str, int, str], str] = field(default_factory=dict)
    skipped: list[Skipped] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    # Where each problem of the reader was: (table, origin, column or None), for ``locate``.
    reported: list[tuple[str, str, str | None]] = field(default_factory=list)

    def add(
        self,
        table: str,
        cells: Mapping[str, str | None],
        *,
        origin: str,
        columns: Mapping[str, str] | None = None,
    ) -> None:
        """Append one row of ``table`` (``patients``, ``measurements``, …) from ``origin``;
        ``columns`` names a closer origin of some cells (a column → ``origin, field 'x'``),
        which a problem of that cell names instead. Raises ``ValueError`` for an unknown table
        or column."""
        if table not in COHORT_TABLES:
            raise ValueError(f"{table!r} is not a table of the cohort format")
        unknown = set(cells) - set(COHORT_TABLES[table].column_names)
        if unknown:
            raise ValueError(f"{sorted(unknown)} are not columns of {table}")
        self.rows.setdefault(table, []).append(dict(cells))
        self.origins.setdefault(table, []).append(origin)
        row = _FIRST_ROW + len(self.origins[table]) - 1
        for column, closer in (columns or {}).items():
            self.cell_origins[(table, row, column)] = closer

    def skip(self, origin: str, reason: str) -> None:
        """List a record of the source that maps to no row, with the reason."""
        self.skipped.append(Skipped(origin, reason))

    def problem(
        self, origin: str, message: str, *, table: str = "source", column: str | None = None
    ) -> None:
        """An error found while reading the source itself (a record, or a value of it, that
        cannot be read), printed as ``table:-:column: error: ORIGIN: message`` (``-`` for no
        column). The reader may then add the record's row with the unreadable cell empty:
        ``locate`` leaves out validation's "is empty" for that cell, a knock-on of this
        problem (the cell named by ``column``; without it, every required cell of the
        record)."""
        self.problems.append(Problem(table, None, column, f"{origin}: {message}"))
        self.reported.append((table, origin, column))

    def counts(self) -> dict[str, int]:
        """Rows per table, in the format's table order (tables with no row left out)."""
        return {name: len(self.rows[name]) for name in COHORT_TABLES if self.rows.get(name)}

    def raw_cohort(self, path: Path | None = None) -> RawCohort:
        """The rows as a ``RawCohort`` of text cells, as any reader's (rows numbered from 2 in
        the order added; a table's columns are those of the format that any row fills, and
        the required ones). ``patients`` is always present (empty when no row was added)."""
        cohort = RawCohort(
            path=path or Path(self.source),
            name=self.name,
            center_id=self.center_id,
            problems=list(self.problems),
        )
        for name, table in COHORT_TABLES.items():
            rows = self.rows.get(name, [])
            if not rows and name != "patients":
                continue
            filled = {c for row in rows for c, v in row.items() if v is not None}
            columns = [c.name for c in table.columns if c.required or c.name in filled]
            values = [[row.get(c) for row in rows] for c in columns]
            data = text_table(columns, values, range(_FIRST_ROW, _FIRST_ROW + len(rows)))
            cohort.tables[name] = RawTable.of(name, self.source, data)
        return cohort

    def origin(self, table: str, row: int | None, column: str | None = None) -> str | None:
        """The origin of ``table``'s row numbered ``row`` (from 2), or of its cell in
        ``column`` when one was given for it; None for no such row."""
        if row is None:
            return None
        if column is not None and (table, row, column) in self.cell_origins:
            return self.cell_origins[(table, row, column)]
        origins = self.origins.get(table, [])
        index = row - _FIRST_ROW
        return origins[index] if 0 <= index < len(origins) else None

    def locate(self, problems: Sequence[Problem]) -> list[Problem]:
        """``problems`` of validation with each row's problem pointing at its origin: the row
        becomes ``-`` (no file was written) and the message starts with the origin (the cell's,
        when ``add`` was given one). Several rows from one source record (a REDCap instance
        holding several analytes) share a problem of that record: it is listed once. A
        required cell left empty because the reader could not read it (``problem`` reported
        that record, or that cell) is not listed again as empty: each cell is reported once,
        with its first, real reason (``birthDate names no day``, not also ``birth_date is
        empty``)."""
        located: list[Problem] = []
        seen: set[Problem] = set()
        for problem in problems:
            origin = self.origin(problem.table, problem.row, problem.column)
            if origin is None:
                located.append(problem)
                continue
            if self._knock_on(problem, origin):
                continue
            moved = Problem(
                problem.table,
                None,
                problem.column,
                f"{origin}: {problem.message}",
                problem.severity,
            )
            if moved not in seen:
                seen.add(moved)
                located.append(moved)
        return located

    def _knock_on(self, problem: Problem, origin: str) -> bool:
        """Whether ``problem`` (validation's, of a cell from ``origin``) is a required cell
        found empty where the reader already reported why: a problem of the same table (or
        of the source as a whole), of the same record (one origin equal to the other or
        refining it, ``REDCap record '7'`` ⊃ ``REDCap record '7', event 'baseline'``), and of
        the same column when the reader named one."""
        column = problem.column
        # The wording of validation's required check (cohort/cells.py, check_cells).
        if column is None or problem.message != f"{column} is empty; it is required":
            return False
        return any(
            table in (problem.table, "source")
            and (named is None or named == column)
            and _same_record(reported, origin)
            for table, reported, named in self.reported
        )


def _same_record(one: str, other: str) -> bool:
    """Whether two origins name one source record: equal, or one the other with more said
    after a comma (``FHIR Patient 'p1'`` and ``FHIR Patient 'p1', birthDate``; never
    ``FHIR Patient 'p10'``)."""
    return one == other or one.startswith(f"{other}, ") or other.startswith(f"{one}, ")


def skipped_csv(skipped: Sequence[Skipped]) -> str:
    """The skipped records as CSV text (``origin,reason``), for ``import/skipped.csv``."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["origin", "reason"])
    for item in skipped:
        writer.writerow([item.origin, item.reason])
    return buffer.getvalue()


def load_mapping(standard: str) -> dict[str, Any]:
    """The mapping of ``standard`` (``redcap``, ``fhir``, ``omop``) from
    ``sources/mappings/STANDARD.toml``: every code with its source (issue 20: the mapping is
    data). Raises ``UsageError`` for an unknown standard."""
    package = resources.files("srnskit.sources") / "mappings" / f"{standard}.toml"
    if not package.is_file():
        raise UsageError(f"no mapping for {standard!r}")
    return tomllib.loads(package.read_text(encoding="utf-8"))
