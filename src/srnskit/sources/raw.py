"""A cohort as read, before validation: ``RawCohort`` and its ``RawTable`` of text cells.

Every reader (``files.py`` for folders, ``workbook.py``, ``duckdb_file.py``) builds the same
thing: each table's cells as text, with the row number a person would see (the header is row 1
in every format), so validation can name the exact place of every problem before any value is
converted. The helpers here turn a header and columns of cells into such a table.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from srnskit.schema import COHORT_TABLES
from srnskit.schema.problems import Problem

__all__ = [
    "ROW_COLUMN",
    "RawCohort",
    "RawTable",
    "add_table",
    "arrow_column_as_text",
    "as_written",
    "case_clashes",
    "column_name",
    "header_columns",
    "header_row_below",
    "of_own_type",
    "plain_decimal",
    "sql_identifier",
    "sql_literal",
    "text_table",
    "to_raw_table",
]

ROW_COLUMN = "_row"


def case_clashes(names: Iterable[str]) -> list[Problem]:
    """An error for each cohort file of a folder's entries ``names`` (``NAME.csv``,
    ``NAME.parquet``, ``cohort.toml``) that is there twice, in names differing only in
    capitals (``measurements.parquet`` and ``Measurements.parquet``): a folder is read by its
    names in lower case, so one of the two would be read and the other dropped unsaid."""
    by_lower: dict[str, list[str]] = {}
    for name in names:
        by_lower.setdefault(name.lower(), []).append(name)
    known = {f"{n}.{ext}" for n in COHORT_TABLES for ext in ("csv", "parquet")} | {"cohort.toml"}
    problems = []
    for lower, same in sorted(by_lower.items()):
        if lower in known and len(same) > 1:
            table = lower.rsplit(".", 1)[0] if lower != "cohort.toml" else "cohort"
            listed = " and ".join(sorted(same))
            problems.append(
                Problem(
                    table,
                    None,
                    None,
                    f"{listed} both exist, named alike but for capitals: srnskit would read one "
                    "of them only; keep one (join their rows into it)",
                )
            )
    return problems


@dataclass
class RawTable:
    """One table as read: its columns (as in the header, lower case) and its rows as text.

    ``chunks()`` yields the rows in order as Arrow tables of text (None for an empty cell), each
    with ``_row``, the row number a person would see; at least one chunk, possibly empty.

    ``scan``, when given, is a DuckDB table expression (``read_csv(…)``, ``read_parquet(…)``)
    yielding ``columns`` as text (a Parquet column already of its column's own type as it is:
    dates, numbers, booleans), one row per record in file order, so the rows are numbered
    by their position (the first record is row 2; a scan may give the number itself as its
    first column, ``_row``): validation loads the file with it in
    DuckDB's own parallel reader instead of through ``chunks()``. ``rows`` is then the count it
    must yield; when it yields another count, writes a ``plain`` column's number with an
    exponent, or fails, ``fallback()`` reads the file the careful way (returning the table and
    its problems).
    """

    name: str
    source: str
    columns: list[str]
    rows: int
    chunks: Callable[[], Iterator[pa.Table]]
    scan: str | None = None
    fallback: Callable[[], tuple[RawTable | None, list[Problem]]] | None = None
    # Columns of ``scan`` whose text must hold no exponent (doubles DuckDB writes as 5e-06
    # where the chunks write 0.000005): if one does, ``fallback`` reads the file.
    plain: tuple[str, ...] = ()
    # Whether ``scan`` reads a file DuckDB scans again at little cost (Parquet: columnar, its
    # records numbered by the format): validation then reads the scan where it lies, as a
    # view, instead of a copy of its cells in memory.
    lazy: bool = False

    @classmethod
    def of(cls, name: str, source: str, data: pa.Table) -> RawTable:
        """A table held in memory whole (CSV files, sheets): one chunk."""
        columns = [c for c in data.column_names if c != ROW_COLUMN]
        return cls(name, source, columns, data.num_rows, lambda: iter([data]))


@dataclass
class RawCohort:
    """A cohort as read from disk, before validation.

    ``reported_cells`` holds (table, row, column) of cells whose problem a reader already
    reported (a formula with no saved result): validation says nothing more about them.
    """

    path: Path
    tables: dict[str, RawTable] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    name: str | None = None
    center_id: str | None = None
    reported_cells: set[tuple[str, int, str]] = field(default_factory=set)


def add_table(cohort: RawCohort, result: tuple[RawTable | None, list[Problem]]) -> None:
    """Add a reader's result to ``cohort``: its problems, and its table when there is one."""
    table, problems = result
    cohort.problems.extend(problems)
    if table is not None:
        cohort.tables[table.name] = table


def plain_decimal(value: float) -> str:
    """A number as plain decimal text (cohort-format.md §2): 137.0 as '137', 1e-05 as
    '0.00001', never an exponent; 'nan' and 'inf' as they are (validation refuses them)."""
    if value != value or value in (float("inf"), float("-inf")):
        return str(value)
    if float(value).is_integer() and abs(value) < 1e16:
        # -0.0 as '-0', as Arrow's cast writes it (and DuckDB's scan, sources.files._cell_sql)
        return "-0" if value == 0 and math.copysign(1.0, value) < 0 else str(int(value))
    text = format(Decimal(repr(float(value))), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def as_written(value: object) -> str:
    """A cell's value as the text a reader writes for it (``arrow_column_as_text``): text as
    it is, a number in plain decimal notation (``plain_decimal``: 137.0 as '137', NaN as
    'nan'), a date as ISO 8601, a boolean as 'true' or 'false'. For a message quoting a
    typed Parquet cell (``RawTable.scan`` keeps a column of its column's own type)."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return plain_decimal(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def arrow_column_as_text(column: pa.ChunkedArray) -> pa.ChunkedArray | list[str | None]:
    """A typed column as the text its CSV export would hold (dates ISO, 137.0 as '137',
    numbers in plain decimal notation: Arrow writes 1e+20 and 2.5e-7 with exponents). A
    binary column whose bytes are not all UTF-8 is read value by value, each undecodable byte
    as U+FFFD (the other values as they are, the bad one visibly not what was meant)."""
    try:
        text = column.cast(pa.string())
    except pa.ArrowException:  # a type with no text cast (nested, binary): as Python text
        return [None if v is None else _as_text(v) for v in column.to_pylist()]
    if (
        pa.types.is_floating(column.type)
        and pc.any(pc.match_substring(text, "e", ignore_case=True)).as_py()
    ):
        return [None if v is None else plain_decimal(v) for v in column.to_pylist()]
    return text


def _as_text(value: Any) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return str(value)


# Rows looked at below the first when the first row holds no column of the table.
_HEADER_SEARCH_ROWS = 10


def header_row_below(name: str, rows: Sequence[Sequence[Any]]) -> int | None:
    """When the first of ``rows`` (a sheet's or file's first rows, the first row the would-be
    header) names no column of the table ``name`` but a later one names a required column:
    that row's position from 0 (a title above the header, issue 16). Else None."""
    table = COHORT_TABLES.get(name)
    if table is None or not rows:
        return None

    def names(row: Sequence[Any]) -> set[str]:
        return {column_name(v) for v in row if v is not None}

    if names(rows[0]) & set(table.column_names):
        return None
    required = {c.name for c in table.columns if c.required}
    for index, row in enumerate(rows[1 : _HEADER_SEARCH_ROWS + 1], start=1):
        if names(row) & required:
            return index
    return None


def column_name(header_cell: Any) -> str:
    """The column a header cell names: its text, trimmed of whitespace at either end
    (Python's, wider than the spaces a cell is trimmed of, ``schema.SPACES``: a tab or a line
    break typed after a column's name in a spreadsheet still names the column) and lowered
    (cohort-format.md §1: names are case-blind). Every reader's header goes through it, so a
    file read by DuckDB's scan and the same file read the careful way name the same columns."""
    return str(header_cell).strip().lower()


def header_columns(name: str, header: Sequence[Any]) -> tuple[list[tuple[int, str]], list[Problem]]:
    """The columns kept (position from 0, name in lower case) and the header's problems."""
    problems: list[Problem] = []
    kept: list[tuple[int, str]] = []
    for index, raw_name in enumerate(header):
        name_read = column_name(raw_name)
        if not name_read:
            problems.append(
                Problem(name, 1, None, f"column {index + 1} has no name in the header row")
            )
        elif name_read in (c for _, c in kept) or name_read == ROW_COLUMN:
            problems.append(Problem(name, 1, name_read, f"the column '{name_read}' appears twice"))
        else:
            kept.append((index, name_read))
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


# The Arrow types a column of each kind may hold as they are (a typed Parquet column): a date
# column dates, a number column whole numbers or doubles, a yes/no column booleans.
_OWN_TYPES: dict[str, Callable[[pa.DataType], bool]] = {
    "date": pa.types.is_date32,
    "number": lambda t: pa.types.is_integer(t) or pa.types.is_float64(t),
    "value": lambda t: pa.types.is_integer(t) or pa.types.is_float64(t),
    "integer": lambda t: pa.types.is_integer(t) or pa.types.is_float64(t),
    "bool": pa.types.is_boolean,
}


def of_own_type(kind: str, arrow_type: pa.DataType) -> bool:
    """Whether a raw column of the cohort-format kind ``kind`` (``schema.Column.kind``: date,
    number, value, integer, bool …) holding values of ``arrow_type`` is already of its kind's
    own type, so it is read as it is, not from its text: a date column of dates (date32), a
    number, value or integer column of whole numbers or doubles, a yes/no column of
    booleans. Any other pairing (text, a float32, a decimal, a kind of text) is read from its
    text. The one answer for the Parquet scan (``sources.files``, which keeps such a column
    typed) and the load (``cohort.load``, which reads a typed cell as it is)."""
    test = _OWN_TYPES.get(kind)
    return bool(test is not None and test(arrow_type))


def sql_literal(text: str) -> str:
    """``text`` as a SQL string literal (DuckDB's): in single quotes, each quote doubled."""
    return "'" + text.replace("'", "''") + "'"


def sql_identifier(name: str) -> str:
    """``name`` as a quoted SQL identifier (DuckDB's): in double quotes, each doubled."""
    return '"' + name.replace('"', '""') + '"'
