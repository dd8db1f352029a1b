"""A cohort as read, before validation: ``RawCohort`` and its ``RawTable`` of text cells.

Every reader (``files.py`` for folders, ``workbook.py``, ``duckdb_file.py``) builds the same
thing: each table's cells as text, with the row number a person would see (the header is row 1
in every format), so validation can name the exact place of every problem before any value is
converted. The helpers here turn a header and columns of cells into such a table.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa

from srnskit.schema.problems import Problem

__all__ = [
    "ROW_COLUMN",
    "RawCohort",
    "RawTable",
    "add_table",
    "arrow_column_as_text",
    "header_columns",
    "text_table",
    "to_raw_table",
]

ROW_COLUMN = "_row"


@dataclass
class RawTable:
    """One table as read: its columns (as in the header, lower case) and its rows as text.

    ``chunks()`` yields the rows in order as Arrow tables of text (None for an empty cell), each
    with ``_row``, the row number a person would see; at least one chunk, possibly empty.
    """

    name: str
    source: str
    columns: list[str]
    rows: int
    chunks: Callable[[], Iterator[pa.Table]]

    @classmethod
    def of(cls, name: str, source: str, data: pa.Table) -> RawTable:
        """A table held in memory whole (CSV files, sheets): one chunk."""
        columns = [c for c in data.column_names if c != ROW_COLUMN]
        return cls(name, source, columns, data.num_rows, lambda: iter([data]))


@dataclass
class RawCohort:
    """A cohort as read from disk, before validation."""

    path: Path
    tables: dict[str, RawTable] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    name: str | None = None
    center_id: str | None = None


def add_table(cohort: RawCohort, result: tuple[RawTable | None, list[Problem]]) -> None:
    """Add a reader's result to ``cohort``: its problems, and its table when there is one."""
    table, problems = result
    cohort.problems.extend(problems)
    if table is not None:
        cohort.tables[table.name] = table


def arrow_column_as_text(column: pa.ChunkedArray) -> pa.ChunkedArray | list[str | None]:
    """A typed column as the text its CSV export would hold (dates ISO, 137.0 as '137')."""
    try:
        return column.cast(pa.string())
    except pa.ArrowException:  # a type with no text cast (nested, binary): as Python text
        return [None if v is None else str(v) for v in column.to_pylist()]


def header_columns(name: str, header: Sequence[Any]) -> tuple[list[tuple[int, str]], list[Problem]]:
    """The columns kept (position from 0, name in lower case) and the header's problems."""
    problems: list[Problem] = []
    kept: list[tuple[int, str]] = []
    for index, raw_name in enumerate(header):
        column_name = str(raw_name).strip().lower()
        if not column_name:
            problems.append(
                Problem(name, 1, None, f"column {index + 1} has no name in the header row")
            )
        elif column_name in (c for _, c in kept) or column_name == ROW_COLUMN:
            problems.append(
                Problem(name, 1, column_name, f"the column '{column_name}' appears twice")
            )
        else:
            kept.append((index, column_name))
    return kept, problems


def text_table(columns: list[str], values: Sequence[Any], rows: Iterable[int]) -> pa.Table:
    """An Arrow table of text: ``columns`` holding ``values`` (Arrow or Python text), and
    ``_row`` holding ``rows``."""
    arrays = [v if isinstance(v, pa.ChunkedArray) else pa.array(v, pa.string()) for v in values]
    return pa.table([*arrays, pa.array(rows, pa.int64())], names=[*columns, ROW_COLUMN])


def to_raw_table(
    name: str,
    source: str,
    header: Sequence[str],
    columns: Sequence[Iterable[str | None]] | Sequence[Any],
    rows: Iterable[int],
) -> tuple[RawTable | None, list[Problem]]:
    """The table of the columns the header keeps (``header_columns``), and the header's
    problems."""
    kept, problems = header_columns(name, header)
    names = [column for _, column in kept]
    data = text_table(names, [columns[index] for index, _ in kept], rows)
    return RawTable.of(name, source, data), problems
