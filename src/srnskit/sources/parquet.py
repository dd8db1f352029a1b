"""A cohort table written as Parquet: one file (``measurements.parquet``), or a folder of part
files as Spark writes a table (``measurements.parquet/part-00000-….parquet``, …;
cohort-format.md §3).

Each record keeps the row number the format gives it: its place in the table + 2 (the header
is row 1 in every format). In a folder the part files count in their names' order, the first
record of a part numbered after the last of the part before it, as Spark's reader numbers them
(``engine.backends.spark_raw.file_numbers``): row 1,000,002 of a table whose first part holds
1,000,000 records is the first record of the second part.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from srnskit.schema import COHORT_TABLES
from srnskit.schema.problems import Problem
from srnskit.sources.raw import (
    ROW_COLUMN,
    RawTable,
    arrow_column_as_text,
    header_columns,
    of_own_type,
    sql_identifier,
    sql_literal,
    text_table,
)
from srnskit.sources.workbook import table_meant

__all__ = [
    "CHUNK_ROWS",
    "first_records",
    "holds_part_files",
    "misnamed_parts",
    "part_files",
    "part_folder_problem",
    "read_parquet_table",
    "visible",
    "written_table",
]

# Rows per chunk when a Parquet file is read: validation and loading take one chunk of text at a
# time, so the whole file is never held as text at once (a million children: 64 M rows).
CHUNK_ROWS = 1_000_000


def part_files(folder: Path) -> list[Path]:
    """The part files of the table written in parts at ``folder``, in their names' order:
    every file there but those Hadoop's readers skip (``visible``), whatever its extension
    (Hive names its parts ``000000_0``), as Spark reads such a folder."""
    return sorted(p for p in folder.iterdir() if p.is_file() and visible(p.name))


def visible(name: str) -> bool:
    """Whether Hadoop's readers (Spark's) read the entry ``name`` of a table's folder: not a
    name starting with ``.``, nor with ``_`` unless it holds ``=`` (Spark's ``_SUCCESS``, a
    checksum ``.part-….crc``, a task's ``_temporary`` folder are skipped; ``_c=1`` is read, as
    a partition's name may start so), nor a copy under way (``…._COPYING_``): Spark's
    ``InMemoryFileIndex.shouldFilterOutPathName``."""
    hidden = name.startswith("_") and "=" not in name
    return not (hidden or name.startswith(".") or name.endswith("._COPYING_"))


def written_table(folder: Path) -> bool:
    """Whether ``folder`` looks like a table written in parts (``holds_part_files``)."""
    return holds_part_files(p.name for p in folder.iterdir() if p.is_file())


def holds_part_files(file_names: Iterable[str]) -> bool:
    """Whether a folder whose files are named ``file_names`` looks like a table written in
    parts: a Parquet file, or Spark's ``_SUCCESS`` marker."""
    return any(n.lower().endswith(".parquet") or n == "_SUCCESS" for n in file_names)


def first_records(counted: Iterable[tuple[str, int]]) -> list[tuple[str, int]]:
    """The part files of one table (each ``(name, its number of records)``) in their names'
    order, each with the number of records of the parts before it: what its records' row
    numbers are offset by (module docstring). ``[("b", 4), ("a", 3)]`` gives
    ``[("a", 0), ("b", 3)]``."""
    ordered = sorted(counted)
    starts = itertools.accumulate((n for _, n in ordered), initial=0)
    return [(name, start) for (name, _), start in zip(ordered, starts, strict=False)]


def part_folder_problem(
    name: str, label: str, files: Sequence[str], folders: Sequence[str]
) -> Problem | None:
    """Why the folder ``label`` of cohort table ``name``, holding the visible files ``files``
    and sub-folders ``folders`` (``visible``), cannot be read as a table in parts, or None:
    a table partitioned into folders (``center_id=A/part-…``: that column lives in the
    folders' names, not in the files, so a reader of the files would lack rows or a column),
    or a folder with no part file."""
    if folders:
        listed = ", ".join(sorted(folders))
        message = (
            f"{label} holds the folder{'s' if len(folders) > 1 else ''} {listed}: a table "
            "partitioned into folders is not read; write it without partitionBy (its part "
            "files side by side in one folder)"
        )
        return Problem(name, None, None, message)
    if not files:
        return Problem(name, None, None, f"{label} is a folder with no part file")
    return None


def misnamed_parts(folder: str) -> Problem | None:
    """The error for a folder of part files (``holds_part_files``) named ``folder`` near a
    cohort table's name but not as one (``measurement.parquet``; ``measurements``, as Spark's
    ``df.write.parquet("cohort/measurements")`` names it), so the table is never left out
    while the cohort is valid; None for a name near none (``workbook.table_meant``)."""
    stem, _, extension = folder.lower().rpartition(".")
    bare = stem if extension in ("parquet", "csv") else folder.lower()
    meant = table_meant(bare)
    if meant is None:
        return None
    message = (
        f"{folder} is a folder of part files that is not read: the {meant} table written in "
        f"parts must be named '{meant}.parquet'; rename it"
    )
    return Problem(meant, None, None, message)


def read_parquet_table(path: Path, name: str) -> tuple[RawTable | None, list[Problem]]:
    """The cohort table ``name`` (a key of ``COHORT_TABLES``) written as Parquet at ``path``: a
    file, or a folder of part files (``part_files``). Its cells are read lazily as text,
    ``CHUNK_ROWS`` records at a time (``RawTable.chunks``), or, when every kept column is of a
    type DuckDB writes as the same text (``RawTable.scan``), by DuckDB where the files lie.

    Returns the table, or None and the problems: a file that is not Parquet, a folder with no
    part file, a part file whose columns differ from the first part's (named by file)."""
    files, label = [path], path.name
    if path.is_dir():
        files = part_files(path)
        folders = [p.name for p in path.iterdir() if p.is_dir() and visible(p.name)]
        problem = part_folder_problem(name, label, [f.name for f in files], folders)
        if problem is not None:
            return None, [problem]
    opened: list[pq.ParquetFile] = []
    for file in files:
        try:
            opened.append(pq.ParquetFile(file))
        except (pa.ArrowInvalid, OSError) as exc:
            shown = label if file == path else f"{label}/{file.name}"
            return None, [
                Problem(name, None, None, f"{shown} is not a readable Parquet file: {exc}")
            ]
    schema = opened[0].schema_arrow
    for file, part in zip(files[1:], opened[1:], strict=True):
        if not _text_alike(part.schema_arrow).equals(_text_alike(schema)):
            message = (
                f"{label}/{file.name} has other columns or types than {files[0].name} "
                f"({_columns(part.schema_arrow)}, not {_columns(schema)}): every part file of "
                "a table holds the same columns"
            )
            return None, [Problem(name, None, None, message)]
    kept, problems = header_columns(name, schema.names)
    columns = [column for _, column in kept]
    rows = sum(part.metadata.num_rows for part in opened)

    def chunks() -> Iterator[pa.Table]:
        if rows == 0:
            yield text_table(columns, [[] for _ in columns], [])
        first_row = 2
        for file, part in zip(files, opened, strict=True):
            try:
                for batch in part.iter_batches(batch_size=CHUNK_ROWS):
                    numbers = range(first_row, first_row + batch.num_rows)
                    first_row += batch.num_rows
                    text = [
                        arrow_column_as_text(pa.chunked_array([batch.column(i)])) for i, _ in kept
                    ]
                    yield text_table(columns, text, numbers)
            except (pa.ArrowException, OSError) as exc:
                if file == path:
                    raise
                # The part that is damaged named (the table's message names its folder).
                raise OSError(f"its part file {file.name}: {exc}") from exc

    table = RawTable(name, label, columns, rows, chunks)
    names = schema.names
    types = [schema.field(i).type for i, _ in kept]
    # DuckDB reads the files itself when every kept column casts to the text the chunks give
    # (text, whole numbers, dates, booleans, doubles: ``_cell_sql``) and no two names differ
    # only in case (DuckDB's names ignore case). A column already of its column's own type (a
    # date column of dates, a number column of numbers, a yes/no column of booleans) is kept
    # as it is (``_typed``): nothing to read, and no text to make of 64 M values. A double
    # DuckDB writes as text with an exponent (its shortest digits, as Arrow's, but 5e-06 where
    # the chunks write 0.000005) sends the table to the chunks: validation checks the
    # ``plain`` columns after the scan.
    if all(map(_same_text_in_duckdb, types)) and len({n.lower() for n in names}) == len(names):
        typed = [_typed(name, c, kind) for (_, c), kind in zip(kept, types, strict=True)]
        cells = ", ".join(
            f"{sql_identifier(names[i]) if same else _cell_sql(names[i], kind)} "
            f"AS {sql_identifier(c)}"
            for (i, c), kind, same in zip(kept, types, typed, strict=True)
        )
        table.scan = f"(SELECT {_row_number(files, opened)}, {cells} FROM {_source(files)})"
        table.plain = tuple(
            c
            for (_, c), k, same in zip(kept, types, typed, strict=True)
            if pa.types.is_float64(k) and not same
        )
        table.lazy = True
        table.fallback = lambda: (RawTable(name, label, columns, rows, chunks), [])
    return table, problems


def _source(files: list[Path]) -> str:
    """DuckDB's scan of ``files``, each record with its place in its file (``file_row_number``)
    and, for several, its file's place in the list (``file_index``)."""
    if len(files) == 1:
        return f"read_parquet({sql_literal(str(files[0]))}, file_row_number = true)"
    listed = ", ".join(sql_literal(str(f)) for f in files)
    return f"read_parquet([{listed}], file_row_number = true, file_index = true)"


def _row_number(files: list[Path], opened: list[pq.ParquetFile]) -> str:
    """The SQL numbering each record as the format does (module docstring): its place in its
    file + 2, after the records of the files before it (counted from the footers)."""
    if len(files) == 1:
        return f"file_row_number + 2 AS {ROW_COLUMN}"
    # Indexed by DuckDB's file_index, the place in ``files`` (sorted by name, as here).
    counted = [(f.name, part.metadata.num_rows) for f, part in zip(files, opened, strict=True)]
    listed = ", ".join(str(start) for _, start in first_records(counted))
    return f"[{listed}]::BIGINT[][file_index + 1] + file_row_number + 2 AS {ROW_COLUMN}"


def _text_alike(schema: pa.Schema) -> pa.Schema:
    """``schema`` with Arrow's large text as text: the same Parquet column (a writer's choice,
    polars writes large_string), which DuckDB and Spark read as one type."""
    return pa.schema(
        [f.with_type(pa.string()) if pa.types.is_large_string(f.type) else f for f in schema]
    )


def _columns(schema: pa.Schema) -> str:
    return ", ".join(f"{field.name} {field.type}" for field in schema)


def _typed(table: str, column: str, kind: pa.DataType) -> bool:
    """Whether the Parquet column ``column`` of ``table``, of type ``kind``, is already of its
    declared column's own type (``raw.of_own_type``), so validation and loading read it as it
    is (``parse``'s readings of a typed cell). An undeclared column is read as text."""
    declared = {c.name: c.kind for c in COHORT_TABLES[table].columns}
    return column in declared and of_own_type(declared[column], kind)


def _cell_sql(column: str, kind: pa.DataType) -> str:
    """DuckDB's SQL writing a Parquet cell of type ``kind`` as ``arrow_column_as_text`` writes
    it: a whole double below 10^15 without '.0' (137.0 as '137', -0.0 as '-0'), NaN as 'nan',
    other doubles as their shortest digits (which both DuckDB and Arrow write); any other
    type as DuckDB's cast."""
    cell = sql_identifier(column)
    if not pa.types.is_float64(kind):
        return f"CAST({cell} AS VARCHAR)"
    return (
        f"CASE WHEN isnan({cell}) THEN 'nan' "
        f"WHEN {cell} = 0 AND signbit({cell}) THEN '-0' "
        f"WHEN {cell} = trunc({cell}) AND abs({cell}) < 1e15 "
        f"THEN CAST(CAST({cell} AS BIGINT) AS VARCHAR) "
        f"ELSE CAST({cell} AS VARCHAR) END"
    )


def _same_text_in_duckdb(kind: pa.DataType) -> bool:
    return bool(
        pa.types.is_string(kind)
        or pa.types.is_large_string(kind)
        or pa.types.is_integer(kind)
        or pa.types.is_date32(kind)
        or pa.types.is_boolean(kind)
        or pa.types.is_float64(kind)
    )
