"""Read a cohort from an .xlsx workbook as text: one sheet per table (cohort-format.md).

A cell reads as the text a CSV export would hold; the row number is the spreadsheet's own.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from srnskit.schema import COHORT_TABLES
from srnskit.schema.problems import Problem, did_you_mean
from srnskit.sources.formulas import formulas_without_results
from srnskit.sources.raw import (
    RawCohort,
    RawTable,
    add_table,
    column_name,
    header_row_below,
    plain_decimal,
    to_raw_table,
)

__all__ = ["TABLE_SYNONYMS", "TEMPLATE_SHEETS", "read_workbook", "table_meant"]

# Sheets that `srnskit template` adds to a workbook besides the tables: never data.
TEMPLATE_SHEETS = frozenset({"about", "columns", "lists", "units"})
# Names people give the tables (a sheet or a file): each an error naming the table meant, never
# ignored while the cohort is called valid (issue 16).
TABLE_SYNONYMS = {
    "lab": "measurements",
    "labs": "measurements",
    "laboratory": "measurements",
    "results": "measurements",
    "observations": "measurements",
    "patient": "patients",
    "children": "patients",
    "demographics": "patients",
    "drugs": "treatments",
    "medications": "treatments",
    "medication": "treatments",
    "meds": "treatments",
    "therapy": "treatments",
    "toxicity": "adverse_events",
    "adverse events": "adverse_events",
    "side_effects": "adverse_events",
    "outcomes": "events",
}
_FORMULA = "a formula with no saved result: open and save the workbook in Excel, or paste values"


def table_meant(name: str) -> str | None:
    """The cohort table that a sheet or file named ``name`` most likely is (a near miss such as
    'measurement', spaces around it, or a synonym such as 'labs'), else None."""
    lowered = name.strip().lower()
    if lowered in COHORT_TABLES:
        return lowered
    if lowered in TABLE_SYNONYMS:
        return TABLE_SYNONYMS[lowered]
    hint = did_you_mean(lowered, COHORT_TABLES)
    return hint.split("'")[1] if hint else None


def read_workbook(path: Path, cohort: RawCohort) -> None:
    """Add every cohort table sheet of the workbook at ``path`` to ``cohort``, and a problem
    for an unreadable workbook or a sheet that is no cohort table."""
    from python_calamine import CalamineError, CalamineWorkbook, SheetVisibleEnum

    try:
        workbook = CalamineWorkbook.from_path(str(path))
    except (CalamineError, OSError, ValueError) as exc:
        cohort.problems.append(
            Problem("patients", None, None, f"{path.name} is not a readable workbook: {exc}")
        )
        return
    hidden = {m.name for m in workbook.sheets_metadata if m.visible != SheetVisibleEnum.Visible}
    tables = {s: s.lower() for s in workbook.sheet_names if s.lower() in COHORT_TABLES}
    formulas = formulas_without_results(path, set(tables))
    for sheet_name in workbook.sheet_names:
        lower = sheet_name.lower()
        if sheet_name in tables:
            if sheet_name in hidden:
                cohort.problems.append(
                    Problem(
                        lower,
                        None,
                        None,
                        f"sheet '{sheet_name}' is hidden in the workbook; it is read as a table "
                        "(unhide it to see what is checked)",
                        "warning",
                    )
                )
            sheet = workbook.get_sheet_by_name(sheet_name)
            values = sheet.to_python(skip_empty_area=False)
            source = f"{path.name}[{sheet_name}]"
            result = _sheet_to_raw(lower, source, values, formulas.get(sheet_name, []), cohort)
            add_table(cohort, result)
        elif lower.strip() in TEMPLATE_SHEETS:
            continue
        elif (meant := table_meant(sheet_name)) is not None:
            cohort.problems.append(
                Problem(
                    meant,
                    None,
                    None,
                    f"sheet '{sheet_name}' is not read: the {meant} sheet must be named exactly "
                    f"'{meant}'; rename it",
                )
            )
        else:
            cohort.problems.append(
                Problem(
                    lower.strip(),
                    None,
                    None,
                    f"sheet '{sheet_name}' is not a cohort table and is ignored",
                    "warning",
                )
            )


def _sheet_to_raw(
    name: str,
    source: str,
    values: Sequence[Sequence[Any]],
    formulas: list[tuple[int, int]],
    cohort: RawCohort,
) -> tuple[RawTable | None, list[Problem]]:
    first = next((i for i, row in enumerate(values) if any(_cell_text(v) for v in row)), None)
    if first is None:
        return None, [Problem(name, None, None, f"sheet {source} is empty (not even a header row)")]
    below = header_row_below(name, [[_cell_text(v) for v in row] for row in values[first:]])
    if below is not None:
        row = first + below + 1
        above = "row" if row == 2 else "rows"
        message = (
            f"the header is on row {row}: remove the {above} above it (a title or notes "
            "above the column names)"
        )
        return None, [Problem(name, row, None, message)]
    header = [_cell_text(v) or "" for v in values[first]]
    while header and not header[-1]:
        header.pop()
    width = len(header)
    records: list[list[str | None]] = []
    rows: list[int] = []
    for index in range(first + 1, len(values)):
        cells = [_cell_text(v) for v in values[index]][:width]
        if not any(cells):
            continue
        records.append(cells + [None] * (width - len(cells)))
        rows.append(index + 1)
    columns = list(zip(*records, strict=True)) if records else [() for _ in header]
    table, problems = to_raw_table(name, source, header, columns, rows)
    names = [column_name(h) for h in header]
    for row, column in formulas:
        if row > first + 1 and column < width and names[column]:
            cohort.reported_cells.add((name, row, names[column]))
            problems.append(Problem(name, row, names[column], _FORMULA))
    return table, problems


def _cell_text(value: Any) -> str | None:
    """A spreadsheet cell as the text a CSV export would hold."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return plain_decimal(value)
    if isinstance(value, dt.datetime):
        if value.time() == dt.time():
            return value.date().isoformat()
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    text = str(value)
    return text if text.strip() else None
