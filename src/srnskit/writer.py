"""The one writer of tables: derived tables (cohort-format.md §3) and cohort tables (§2).

Every table is cast to its declared schema before it is written, so CSV and Parquet, DuckDB and
Spark, engine and generator all write the same names and types.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from types import TracebackType
from typing import Literal, Self

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from srnskit.atomic import atomic_directory
from srnskit.schema import COHORT_TABLES, DERIVED_TABLES, FORMAT_VERSION

__all__ = [
    "ARROW_TYPES",
    "DECIMALS",
    "OutputFormat",
    "TableWriter",
    "cohort_schema",
    "declared_batches",
    "declared_table",
    "derived_schema",
    "write_cohort_folder",
]

ARROW_TYPES = {
    "string": pa.string(),
    "date": pa.date32(),
    "bool": pa.bool_(),
    "int64": pa.int64(),
    "float64": pa.float64(),
}
OutputFormat = Literal["csv", "parquet"]
# The field metadata key of the decimals a number is written with (cohort-format.md §3).
DECIMALS = b"decimals"


# How each cohort column kind is written (a measurement value is written as a number).
_COHORT_KIND_TYPES = {
    "text": pa.string(),
    "enum": pa.string(),
    "date": pa.date32(),
    "number": pa.float64(),
    "integer": pa.int64(),
    "bool": pa.bool_(),
    "value": pa.float64(),
}


def cohort_schema(name: str) -> pa.Schema:
    """The Arrow schema a cohort table (``patients``, ``measurements``, …) is written with."""
    return pa.schema(
        [pa.field(c.name, _COHORT_KIND_TYPES[c.kind]) for c in COHORT_TABLES[name].columns]
    )


def derived_schema(name: str) -> pa.Schema:
    """The declared Arrow schema of a derived table (``patient_outcomes``, ``courses``, …); a
    column written rounded carries its decimals in the field's metadata (``DECIMALS``), which
    ``TableWriter`` applies."""
    return pa.schema(
        [
            pa.field(
                c.name,
                ARROW_TYPES[c.type],
                metadata=None if c.decimals is None else {DECIMALS: str(c.decimals)},
            )
            for c in DERIVED_TABLES[name]
        ]
    )


def _rounded(column: pa.ChunkedArray, field: pa.Field) -> pa.ChunkedArray:
    decimals = (field.metadata or {}).get(DECIMALS)
    if decimals is None:
        return column
    rounded: pa.ChunkedArray = pc.round(column, ndigits=int(decimals), round_mode="half_to_even")
    return rounded


def declared_table(table: pa.Table, schema: pa.Schema) -> pa.Table:
    """``table`` as it is written: the columns of ``schema`` in its order (others left out),
    each cast to its declared type and a number with declared decimals (``DECIMALS``) rounded
    to them, half to even as Python's ``round`` (cohort-format.md §3). Raises ``KeyError`` for
    a column of ``schema`` that ``table`` lacks."""
    columns = [_rounded(table.column(f.name).cast(f.type), f) for f in schema]
    return pa.table(columns, schema=schema)


def declared_batches(
    batches: Iterable[pa.RecordBatch], schema: pa.Schema
) -> Iterator[pa.RecordBatch]:
    """``declared_table`` batch by batch: what Spark's executors run on each partition of a
    derived table before writing it (``DataFrame.mapInArrow``), so a part file holds exactly the
    columns, types and rounding of the file this module writes itself."""
    for batch in batches:
        yield from declared_table(pa.Table.from_batches([batch]), schema).to_batches()


class TableWriter:
    """Writes one table in chunks to ``folder/NAME.csv`` or ``NAME.parquet``, cast to ``schema``.

    Chunks keep memory flat: a table of ten million rows never sits in memory at once.
    """

    def __init__(self, folder: Path, name: str, schema: pa.Schema, fmt: OutputFormat) -> None:
        self.path = folder / f"{name}.{fmt}"
        self.schema = schema
        self._writer: pq.ParquetWriter | pacsv.CSVWriter
        if fmt == "parquet":
            self._writer = pq.ParquetWriter(
                self.path, schema, compression="zstd", compression_level=1
            )
        else:
            self._writer = pacsv.CSVWriter(self.path, schema)

    def write(self, table: pa.Table) -> None:
        """Append ``table``'s rows, each column cast to its declared type and a number with
        declared decimals rounded to them (half to even, as Python's ``round``)."""
        self._writer.write_table(declared_table(table, self.schema))

    def close(self) -> None:
        self._writer.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()


def write_cohort_folder(
    tables: Mapping[str, pa.Table],
    out: Path,
    *,
    fmt: OutputFormat = "csv",
    force: bool = False,
    name: str,
    files: Mapping[str, str] | None = None,
) -> None:
    """Write a cohort folder (cohort-format.md §1): one file per table through the one table
    writer, ``cohort.toml`` (``name``, ``format_version``), and ``files`` (a relative path →
    its text, such as ``import/skipped.csv``; a sub-folder, which cohort readers ignore), all
    or nothing. Raises ``UsageError`` when ``out`` exists and is not empty without ``force``."""
    with atomic_directory(out, force=force) as folder:
        for table_name, table in tables.items():
            with TableWriter(folder, table_name, table.schema, fmt) as writer:
                writer.write(table)
        (folder / "cohort.toml").write_text(
            f"name = {json.dumps(name)}\nformat_version = {FORMAT_VERSION}\n", encoding="utf-8"
        )
        for relative, text in (files or {}).items():
            target = folder / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
