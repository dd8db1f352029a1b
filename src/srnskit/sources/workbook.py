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
from srnskit.sources.raw import RawCohort, RawTable, add_table, to_raw_table

__all__ = ["read_workbook"]

# Sheets that `srnskit template` adds to a workbook besides the tables: never data.
TEMPLATE_SHEETS = frozenset({"about", "columns", "lists", "units"})


def read_workbook(path: Path, cohort: RawCohort) -> None:
    """Add every cohort table sheet of the workbook at ``path`` to ``cohort``, and a problem
    for an unreadable workbook or a sheet that is no cohort table."""
    from python_calamine import CalamineError, CalamineWorkbook

    try:
        workbook = CalamineWorkbook.from_path(str(path))
    except (CalamineError, OSError, ValueError) as exc:
        cohort.problems.append(
            Problem("patients", None, None, f"{path.name} is not a readable workbook: {exc}")
        )
        return
    sheets = {s.strip().lower(): s for s in workbook.sheet_names}
    for lower, sheet_name in sheets.items():
        if lower in COHORT_TABLES:
            sheet = workbook.get_sheet_by_name(sheet_name)
            values = sheet.to_python(skip_empty_area=False)
            add_table(cohort, _sheet_to_raw(lower, f"{path.name}[{sheet_name}]", values))
        elif lower not in TEMPLATE_SHEETS:
            hint = did_you_mean(lower, COHORT_TABLES)
            cohort.problems.append(
                Problem(
                    lower,
                    None,
                    None,
                    f"sheet '{sheet_name}' is not a cohort table and is ignored{hint}",
                    "warning",
                )
            )


def _sheet_to_raw(
    name: str, source: str, values: Sequence[Sequence[Any]]
) -> tuple[RawTable | None, list[Problem]]:
    first = next((i for i, row in enumerate(values) if any(_cell_text(v) for v in row)), None)
    if first is None:
        return None, [Problem(name, None, None, f"sheet {source} is empty (not even a header row)")]
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
    return to_raw_table(name, source, header, columns, rows)


def _cell_text(value: Any) -> str | None:
    """A spreadsheet cell as the text a CSV export would hold."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, dt.datetime):
        if value.time() == dt.time():
            return value.date().isoformat()
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    text = str(value)
    return text if text.strip() else None
