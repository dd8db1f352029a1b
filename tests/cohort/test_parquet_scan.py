"""A Parquet file of doubles is read by DuckDB's own scan (issue 21 part 5: the measurements
of a million children are doubles) with exactly the text the careful reader gives: 137.0 as
'137', -0.0 as '-0', NaN as 'nan', other numbers as their shortest digits; a number DuckDB
would write with an exponent sends the table to the careful reader (0.000005, not 5e-06)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from srnskit.cohort.parse import connect
from srnskit.cohort.validate import register_raw_tables
from srnskit.sources.files import read_raw_cohort

PATIENTS = pa.table(
    {
        "patient_id": ["P1"],
        "sex": ["F"],
        "birth_date": [dt.date(2012, 1, 1)],
        "onset_date": [dt.date(2015, 3, 1)],
    }
)


def _cells(folder: Path, values: list[float]) -> tuple[list[str | None], bool]:
    """The value cells of a measurements file of ``values`` as validation holds them, and
    whether DuckDB's scan read them (not the careful reader)."""
    pq.write_table(PATIENTS, folder / "patients.parquet")
    measurements = pa.table(
        {
            "patient_id": ["P1"] * len(values),
            "date": [dt.date(2015, 3, 2)] * len(values),
            "analyte": ["upcr"] * len(values),
            "value": pa.array(values, pa.float64()),
            "unit": ["mg/mg"] * len(values),
        }
    )
    pq.write_table(measurements, folder / "measurements.parquet")
    raw = read_raw_cohort(folder)
    assert raw.tables["measurements"].scan is not None
    con = connect()
    register_raw_tables(con, raw)
    rows = con.execute("SELECT value FROM raw_measurements ORDER BY _row").fetchall()
    scanned = raw.tables["measurements"].scan is not None
    return [r[0] for r in rows], scanned


def test_doubles_are_scanned_as_the_careful_reader_writes_them(tmp_path: Path) -> None:
    values = [137.0, 0.5, -0.0, float("nan"), 0.1 + 0.2, 827702593820.4418, -12.25, 1e14]
    cells, scanned = _cells(tmp_path, values)
    assert scanned
    assert cells == [
        "137",
        "0.5",
        "-0",
        "nan",
        "0.30000000000000004",
        "827702593820.4418",
        "-12.25",
        "100000000000000",
    ]


def test_a_number_written_with_an_exponent_sends_the_file_to_the_careful_reader(
    tmp_path: Path,
) -> None:
    cells, scanned = _cells(tmp_path, [0.5, 0.000005, 2e20, -0.0])
    assert not scanned
    assert cells == ["0.5", "0.000005", "200000000000000000000", "-0"]
