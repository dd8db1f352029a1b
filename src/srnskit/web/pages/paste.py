"""Rows pasted from a spreadsheet: tab-separated text, with or without a header row.

A spreadsheet puts copied cells on the clipboard as tab-separated lines (a cell holding a tab,
a newline or a quote is quoted, as CSV quotes; ``csv`` reads that). The first line is a header
when one of its cells is a column name of the table (any case); without one, the cells are the
table's columns in the format's order, ``patient_id`` left out (the page is the patient's).
Lines with no text are skipped; rows are numbered 1, 2, … as pasted, the header not counted.

    read_paste(table, text) -> Pasted      the rows as cells, and what could not be read
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field

from srnskit.schema import COHORT_TABLES, Problem
from srnskit.sources.raw import column_name
from srnskit.web.pages.forms import form_columns

__all__ = ["Pasted", "read_paste"]


@dataclass
class Pasted:
    """The pasted rows: ``columns`` in the order read, each row's filled cells, whether a
    header was found, and ``problems`` of the paste itself (row = the pasted row's number)."""

    columns: list[str]
    rows: list[dict[str, str]] = field(default_factory=list)
    header: bool = False
    problems: list[Problem] = field(default_factory=list)


def read_paste(table: str, text: str) -> Pasted:
    """Read ``text`` pasted into ``table``'s box (see the module's docstring). A row with more
    cells than there are columns, an empty or repeated header name are problems of the paste;
    every value is left to the store's validation."""
    lines = [
        row for row in csv.reader(io.StringIO(text), delimiter="\t") if any(c.strip() for c in row)
    ]
    names = set(COHORT_TABLES[table].column_names)
    pasted = Pasted([c.name for c in form_columns(table)])
    if lines and any(column_name(cell) in names for cell in lines[0]):
        pasted.header = True
        pasted.columns = [column_name(cell) for cell in lines[0]]
        for position, name in enumerate(pasted.columns, start=1):
            if not name:
                pasted.problems.append(
                    Problem(table, None, None, f"the header's cell {position} is empty")
                )
            elif pasted.columns.index(name) != position - 1:
                pasted.problems.append(Problem(table, None, name, f"the header names {name} twice"))
        lines = lines[1:]
    for number, cells in enumerate(lines, start=1):
        row: dict[str, str] = {}
        for position, cell in enumerate(cells):
            value = cell.strip()
            if position >= len(pasted.columns):
                if value:
                    pasted.problems.append(
                        Problem(
                            table,
                            number,
                            None,
                            f"{len(cells)} cells, but the paste has {len(pasted.columns)} "
                            f"columns ({', '.join(pasted.columns)})",
                        )
                    )
                    break
                continue
            if value and pasted.columns[position]:
                row[pasted.columns[position]] = value
        pasted.rows.append(row)
    return pasted
