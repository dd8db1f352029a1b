"""A primary key on several rows (rows loaded twice into a database built without its
constraints) is invalid input, exit 1, one error per table naming the OMOP ids: never a
warning in cohort row numbers, never the doubled rows of a join with a repeated person."""

from __future__ import annotations

from pathlib import Path

import duckdb


def _import(cli, database: Path, tmp_path: Path):
    return cli(
        "omop", "import", f"duckdb:///{database}", "--out", tmp_path / "c", "--today", "2026-12-01"
    )


def test_a_measurement_inserted_twice_is_an_error_naming_its_id(
    cli, foreign: Path, tmp_path: Path
) -> None:
    con = duckdb.connect(str(foreign))
    con.execute("INSERT INTO measurement SELECT * FROM measurement WHERE measurement_id = 4411")
    con.close()
    result = _import(cli, foreign, tmp_path)
    assert result.exit_code == 1
    assert result.stdout == (
        "source:-:-: error: OMOP measurement: measurement_id 4411 is on 2 rows, where a primary "
        "key names one row (OMOP CDM v5.4): were rows loaded twice? Keep one of each\n"
    )
    assert "repeats" not in result.output
    assert not (tmp_path / "c").exists()


def test_a_person_inserted_twice_is_the_only_error(cli, foreign: Path, tmp_path: Path) -> None:
    con = duckdb.connect(str(foreign))
    con.execute("INSERT INTO person SELECT * FROM person WHERE person_id = 101")
    con.execute("INSERT INTO person SELECT * FROM person WHERE person_id = 101 LIMIT 1")
    con.execute(
        "INSERT INTO drug_exposure SELECT * FROM drug_exposure WHERE drug_exposure_id = 901"
    )
    con.close()
    result = _import(cli, foreign, tmp_path)
    assert result.exit_code == 1
    assert result.stdout == (
        "source:-:-: error: OMOP person: person_id 101 is on 3 rows, where a primary key names "
        "one row (OMOP CDM v5.4): were rows loaded twice? Keep one of each\n"
        "source:-:-: error: OMOP drug_exposure: drug_exposure_id 901 is on 2 rows, where a "
        "primary key names one row (OMOP CDM v5.4): were rows loaded twice? Keep one of each\n"
    )
    assert "warning" not in result.output
