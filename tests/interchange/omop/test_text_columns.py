"""An OMOP database whose numbers and dates are stored as text (a VARCHAR column, a Parquet
folder written from CSV files): read as the DDL's types when they are, and a value that is not
one is a problem naming the table, the row and the column (exit 1, nothing written), never a
database error (issue 20 review)."""

from __future__ import annotations

from pathlib import Path

import duckdb
import ibis
import pytest

from srnskit.engine.backends import spark_session
from srnskit.errors import InvalidCohortError
from srnskit.sources.omop import read_omop
from tests.interchange.omop.conftest import FOREIGN_SQL
from tests.interchange.omop.test_spark import _everything

TODAY = "2026-12-01"


def _text_parquet(folder: Path, changes: dict[str, str] | None = None) -> Path:
    """The foreign database as a Parquet folder whose every column is text (VARCHAR), as a
    script converting CSV files writes it; ``changes``: table → a SELECT list replacing some
    columns (DuckDB's ``* REPLACE (…)``), applied to the text columns."""
    con = duckdb.connect()
    con.execute(FOREIGN_SQL.read_text(encoding="utf-8"))
    folder.mkdir()
    tables = [name for (name,) in con.execute("SHOW TABLES").fetchall()]
    for table in tables:
        columns = [row[0] for row in con.execute(f"DESCRIBE {table}").fetchall()]
        text = ", ".join(f"CAST({c} AS VARCHAR) AS {c}" for c in columns)
        query = f"SELECT {text} FROM {table}"
        if changes and table in changes:
            query = f"SELECT * REPLACE ({changes[table]}) FROM ({query})"
        con.execute(f"COPY ({query}) TO '{folder / table}.parquet' (FORMAT parquet)")
    con.close()
    return folder


def test_a_varchar_value_as_number_that_is_not_a_number_names_the_row(
    cli, foreign: Path, tmp_path: Path
) -> None:
    con = duckdb.connect(str(foreign))
    con.execute("ALTER TABLE measurement ALTER value_as_number TYPE VARCHAR")
    con.execute("UPDATE measurement SET value_as_number = '2,4' WHERE measurement_id = 4411")
    con.close()
    out = tmp_path / "cohort"
    result = cli("omop", "import", foreign, "--out", out, "--today", TODAY)
    assert result.exit_code == 1
    assert result.stdout.splitlines() == [
        "source:-:-: error: OMOP measurement row 4411: value_as_number '2,4' is not a number"
    ]
    assert "Traceback" not in result.stderr
    assert not out.exists()


@pytest.mark.slow
def test_a_text_parquet_folder_imports_as_the_typed_database(
    cli, foreign: Path, tmp_path: Path
) -> None:
    typed = cli("omop", "import", foreign, "--out", tmp_path / "typed", "--today", TODAY)
    assert typed.exit_code == 0, typed.stderr
    folder = _text_parquet(tmp_path / "text")
    result = cli("omop", "import", folder, "--out", tmp_path / "from_text", "--today", TODAY)
    assert result.exit_code == 0, result.stdout + result.stderr
    for name in ("patients.csv", "measurements.csv", "treatments.csv", "events.csv"):
        expected = (tmp_path / "typed" / name).read_text(encoding="utf-8")
        assert (tmp_path / "from_text" / name).read_text(encoding="utf-8") == expected
    # the foreign database's UPCR of person 101 (NS-A) on 2016-02-10: value_as_number 2.4 mg/mg
    measurements = (tmp_path / "from_text" / "measurements.csv").read_text(encoding="utf-8")
    assert '"NS-A",2016-02-10,"upcr",2.4,"mg/mg",' in measurements.splitlines()


def test_every_unreadable_text_column_is_one_problem(cli, tmp_path: Path) -> None:
    folder = _text_parquet(
        tmp_path / "omop",
        {
            "measurement": (
                "CASE measurement_id WHEN '4411' THEN '2,4' WHEN '4412' THEN 'n/a' "
                "WHEN '4431' THEN ' ' ELSE value_as_number END AS value_as_number, "
                "CASE measurement_id WHEN '4413' THEN '2016-02-30' ELSE measurement_date END "
                "AS measurement_date"
            ),
            "drug_exposure": (
                "CASE drug_exposure_id WHEN '901' THEN 'P-1' ELSE person_id END AS person_id"
            ),
            "death": "'abc' AS person_id",
        },
    )
    out = tmp_path / "cohort"
    result = cli("omop", "import", folder, "--out", out, "--today", TODAY)
    assert result.exit_code == 1
    # A blank value (row 4431's ' ') is an empty value, not an error.
    assert result.stdout.splitlines() == [
        "source:-:-: error: OMOP measurement row 4413: measurement_date '2016-02-30' is not a "
        "date (YYYY-MM-DD)",
        "source:-:-: error: OMOP measurement rows 4411, 4412: value_as_number is not a number "
        "('2,4', 'n/a')",
        "source:-:-: error: OMOP drug_exposure row 901: person_id 'P-1' is not a whole number",
        "source:-:-: error: OMOP death: person_id 'abc' is not a whole number",
    ]
    assert "the cohort has 4 validation error(s); nothing was written" in result.stderr
    assert not out.exists()


def test_many_unreadable_rows_are_counted_after_the_first_five(cli, tmp_path: Path) -> None:
    # the foreign database has 10 measurement rows (4411–4418, 4421, 4431)
    folder = _text_parquet(tmp_path / "omop", {"measurement": "'pos' AS value_as_number"})
    result = cli("omop", "import", folder, "--out", tmp_path / "cohort", "--today", TODAY)
    assert result.exit_code == 1
    assert result.stdout.splitlines() == [
        "source:-:-: error: OMOP measurement rows 4411, 4412, 4413, 4414, 4415 and 5 more "
        "(10 rows): value_as_number is not a number ('pos')"
    ]


def test_columns_srnskit_does_not_read_may_hold_any_text(cli, tmp_path: Path) -> None:
    # quantity and days_supply are amounts dispensed, not read (docs/interchange.md), and
    # range_low/range_high are not read either: their text changes nothing.
    folder = _text_parquet(
        tmp_path / "omop",
        {"drug_exposure": "'thirty' AS quantity, 'a month' AS days_supply"},
    )
    result = cli("omop", "import", folder, "--out", tmp_path / "cohort", "--today", TODAY)
    assert result.exit_code == 0, result.stdout
    assert "3 treatments" in result.stderr


def test_a_day_of_birth_that_is_no_day_skips_the_person(cli, foreign: Path, tmp_path: Path) -> None:
    con = duckdb.connect(str(foreign))
    con.execute(
        "UPDATE person SET birth_datetime = NULL, month_of_birth = 2, day_of_birth = 30 "
        "WHERE person_id = 101"
    )
    con.close()
    result = cli("omop", "import", foreign, "--out", tmp_path / "cohort", "--today", TODAY)
    assert result.exit_code == 0, result.stdout
    assert (
        "skipped: OMOP person row 101: year_of_birth, month_of_birth and day_of_birth are not a "
        "date; the person's records are not read"
    ) in result.stderr
    assert "imported 1 patient" in result.stderr


@pytest.mark.spark
def test_text_columns_read_and_are_checked_alike_on_spark(foreign: Path, tmp_path: Path) -> None:
    session = spark_session()
    session.conf.set("spark.sql.shuffle.partitions", "1")
    spark = ibis.pyspark.connect(session)
    # a valid text folder gives on Spark what the typed database gives on DuckDB
    text = _text_parquet(tmp_path / "text")
    assert _everything(read_omop(text, connection=spark)) == _everything(read_omop(foreign))
    bad = _text_parquet(
        tmp_path / "bad",
        {
            "measurement": (
                "CASE measurement_id WHEN '4411' THEN '2,4' ELSE value_as_number END "
                "AS value_as_number, CASE measurement_id WHEN '4413' THEN '2016-02-30' "
                "ELSE measurement_date END AS measurement_date"
            )
        },
    )
    expected = [
        "OMOP measurement row 4413: measurement_date '2016-02-30' is not a date (YYYY-MM-DD)",
        "OMOP measurement row 4411: value_as_number '2,4' is not a number",
    ]
    for connection in (None, spark):
        with pytest.raises(InvalidCohortError) as raised:
            read_omop(bad, connection=connection)
        assert [p.message for p in raised.value.problems] == expected
