"""Dates that look like ISO dates and are none: the year 0000 (ISO's proleptic year 0, which no
Python date holds: it made DuckDB's checks fail as a damaged file and Spark's with a traceback)
and a date followed by what is no time of day (25:99), which was cut to its day and accepted."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from srnskit.cohort.load import check_cohort

TODAY = dt.date(2026, 12, 1)
PATIENTS = "patient_id,sex,birth_date,onset_date\nP1,F,2010-01-01,2015-01-01\n"
ROWS = {
    "0000-01-11": "'0000-01-11' is not a valid date (there is no year 0)",
    "2011-13-45": "'2011-13-45' is not a valid date (no such day)",
    "2016-01-11T25:99": "'2016-01-11T25:99' is not a date: what follows the day is not a time "
    "srnskit reads (hh:mm or hh:mm:ss from 00:00 to 23:59, then Z or ±hh:mm if any); write dates "
    "as YYYY-MM-DD",
    "2016-01-11 24:00": "'2016-01-11 24:00' is not a date: what follows the day is not a time "
    "srnskit reads (hh:mm or hh:mm:ss from 00:00 to 23:59, then Z or ±hh:mm if any); write dates "
    "as YYYY-MM-DD",
}


def dates_cohort(folder: Path, fmt: str) -> Path:
    folder.mkdir()
    dates = [*ROWS, "2016-01-11T23:59:59", "2016-01-11 00:00"]  # the last two are read
    if fmt == "csv":
        (folder / "patients.csv").write_text(PATIENTS)
        lines = [f"P1,{d},upcr,3,mg/mg" for d in dates]
        (folder / "measurements.csv").write_text(
            "patient_id,date,analyte,value,unit\n" + "\n".join(lines) + "\n"
        )
    else:
        pq.write_table(
            pa.table(
                {
                    "patient_id": ["P1"],
                    "sex": ["F"],
                    "birth_date": [dt.date(2010, 1, 1)],
                    "onset_date": [dt.date(2015, 1, 1)],
                }
            ),
            folder / "patients.parquet",
        )
        n = len(dates)
        pq.write_table(
            pa.table(
                {
                    "patient_id": ["P1"] * n,
                    "date": dates,  # text, as a laboratory export writes it
                    "analyte": ["upcr"] * n,
                    "value": [3.0] * n,
                    "unit": ["mg/mg"] * n,
                }
            ),
            folder / "measurements.parquet",
        )
    return folder


def expected_date_errors() -> list[str]:
    return [f"measurements:{row}:date: error: {m}" for row, m in enumerate(ROWS.values(), 2)]


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_a_date_of_the_year_0000_or_with_no_time_of_day_is_an_error(
    tmp_path: Path, fmt: str
) -> None:
    problems = check_cohort(dates_cohort(tmp_path / "c", fmt), today=TODAY)
    assert [str(p) for p in problems if p.severity == "error"] == expected_date_errors()
