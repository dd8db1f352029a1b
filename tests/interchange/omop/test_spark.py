"""The OMOP reader on Spark (issue 20): the hand-written foreign database as a Parquet folder,
read through Ibis' PySpark backend, gives the same rows, origins and skipped records as on
DuckDB."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb
import ibis
import pytest

from srnskit.engine.backends import spark_session
from srnskit.sources.omop import ArrowRows, read_omop


def _parquet_folder(database: Path, folder: Path) -> Path:
    folder.mkdir()
    con = duckdb.connect(str(database), read_only=True)
    try:
        for (name,) in con.execute("SHOW TABLES").fetchall():
            con.execute(f"COPY {name} TO '{folder / name}.parquet' (FORMAT parquet)")
    finally:
        con.close()
    return folder


def _everything(rows: ArrowRows) -> dict[str, Any]:
    raw = rows.raw_cohort()
    tables = {}
    for name, table in raw.tables.items():
        cells = [r for chunk in table.chunks() for r in chunk.to_pylist()]
        tables[name] = [(r, rows.origin(name, r["_row"])) for r in cells]
    return {"tables": tables, "skipped": rows.skipped}


@pytest.mark.spark
def test_the_omop_reader_gives_the_same_rows_on_spark(foreign: Path, tmp_path: Path) -> None:
    folder = _parquet_folder(foreign, tmp_path / "omop")
    on_duckdb = _everything(read_omop(folder))
    session = spark_session()
    session.conf.set("spark.sql.shuffle.partitions", "1")
    on_spark = _everything(read_omop(folder, connection=ibis.pyspark.connect(session)))
    assert on_spark == on_duckdb
    # and they are the foreign database's: two children, eight measurements, eleven records skipped
    assert len(on_duckdb["tables"]["patients"]) == 2
    assert len(on_duckdb["tables"]["measurements"]) == 8
    assert len(on_duckdb["skipped"]) == 11
