"""Write one small cohort, given as rows of text, in each format srnskit reads (CSV folder,
.xlsx workbook, Parquet folder, DuckDB file), so a test can check a kind in every format."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from openpyxl import Workbook

__all__ = ["FORMATS", "PATIENTS", "write_cohort"]

FORMATS = ("csv", "xlsx", "parquet", "duckdb")
Tables = Mapping[str, Sequence[Sequence[str | None]]]  # name → header row, then records

PATIENTS = [
    ["patient_id", "sex", "birth_date", "onset_date"],
    ["P1", "F", "2010-01-01", "2014-01-01"],
]


def _arrow(rows: Sequence[Sequence[str | None]]) -> pa.Table:
    header, records = rows[0], rows[1:]
    columns = {
        str(name): pa.array([r[i] for r in records], pa.string()) for i, name in enumerate(header)
    }
    return pa.table(columns)


def write_cohort(folder: Path, fmt: str, tables: Tables) -> Path:
    """The cohort ``tables`` written in ``fmt`` under ``folder``; returns the cohort's path."""
    folder.mkdir(parents=True, exist_ok=True)
    if fmt == "csv":
        path = folder / "csv"
        path.mkdir()
        for name, rows in tables.items():
            pacsv.write_csv(
                _arrow(rows),
                path / f"{name}.csv",
                pacsv.WriteOptions(quoting_style="needed"),
            )
        return path
    if fmt == "parquet":
        path = folder / "parquet"
        path.mkdir()
        for name, rows in tables.items():
            pq.write_table(_arrow(rows), path / f"{name}.parquet")
        return path
    if fmt == "xlsx":
        path = folder / "cohort.xlsx"
        workbook = Workbook()
        workbook.remove(workbook.active)
        for name, rows in tables.items():
            sheet = workbook.create_sheet(name)
            for row in rows:
                sheet.append(list(row))
        workbook.save(path)
        return path
    path = folder / "cohort.duckdb"
    con = duckdb.connect(str(path))
    for name, rows in tables.items():
        data = _arrow(rows)  # noqa: F841 (read by the SQL below)
        con.execute(f"CREATE TABLE {name} AS SELECT * FROM data")
    con.close()
    return path
