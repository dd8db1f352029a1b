"""Derived tables written as Parquet by two engines, compared row for row (the Spark write tests
and the cluster test): a Spark table is a folder of part files (``NAME.parquet/``), DuckDB's a
single file; both hold the declared columns and types (cohort-format.md §3) and the same rows,
in no set order (compared sorted by each table's key)."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from srnskit.schema import DERIVED_TABLES
from srnskit.writer import ARROW_TYPES

__all__ = ["KEYS", "assert_same_derived_parquet", "part_files"]

# The row order each table is compared in (its key)
KEYS = {
    "patient_outcomes": ["patient_id"],
    "courses": ["patient_id", "course_no"],
    "episodes": ["patient_id", "start_date"],
}


def part_files(folder: Path) -> list[str]:
    """The part files of a table Spark wrote at ``folder``; asserts the folder holds nothing
    else but Spark's ``_SUCCESS`` marker (hidden ``.crc`` checksums aside)."""
    assert folder.is_dir(), folder
    parts = sorted(p.name for p in folder.glob("part-*.parquet"))
    assert parts, folder
    assert {p.name for p in folder.iterdir() if not p.name.startswith(".")} == {*parts, "_SUCCESS"}
    return parts


def assert_same_derived_parquet(spark: Path, duckdb: Path) -> dict[str, pa.Table]:
    """Each derived table Spark wrote under ``spark`` (part files) holds the declared columns,
    types and rows of the one DuckDB wrote under ``duckdb``; returns Spark's tables."""
    tables = {}
    for name, columns in DERIVED_TABLES.items():
        part_files(spark / f"{name}.parquet")
        on_spark = pq.read_table(spark / f"{name}.parquet")
        on_duckdb = pq.read_table(duckdb / f"{name}.parquet")
        declared = [(c.name, ARROW_TYPES[c.type]) for c in columns]
        assert [(f.name, f.type) for f in on_spark.schema] == declared, name
        assert [(f.name, f.type) for f in on_duckdb.schema] == declared, name
        assert on_spark.num_rows == on_duckdb.num_rows > 0, name
        order = [(key, "ascending") for key in KEYS[name]]
        assert on_spark.sort_by(order).equals(on_duckdb.sort_by(order)), name
        tables[name] = on_spark
    return tables
