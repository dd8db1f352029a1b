"""``srnskit omop import`` and ``export`` from the command line: what they print and their exit
codes (cohort-format.md §4: 0 done, 1 invalid input, 2 usage)."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from srnskit.examples import path as example_path


def test_import_prints_counts_and_what_it_skipped(cli, foreign: Path, tmp_path: Path) -> None:
    out = tmp_path / "cohort"
    result = cli("omop", "import", f"duckdb:///{foreign}", "--out", out, "--today", "2026-12-01")
    assert result.exit_code == 0, result.stderr
    assert (
        "imported 2 patients, 8 measurements, 3 treatments, 1 adverse event, 5 events"
        in result.stderr
    )
    assert "11 OMOP record(s) skipped" in result.stderr
    assert (
        "skipped: OMOP drug_exposure row 904: concept 1713332 (RxNorm 723 'amoxicillin') is not "
        "a drug srnskit maps"
    ) in result.stderr
    assert (out / "patients.csv").is_file()


def test_a_database_that_does_not_exist_is_a_usage_error(cli, tmp_path: Path) -> None:
    result = cli("omop", "import", "duckdb:///nowhere/cdm.duckdb", "--out", tmp_path / "c")
    assert result.exit_code == 2
    assert "no such DuckDB file" in result.stderr
    assert not (tmp_path / "c").exists()


def test_an_unreachable_server_is_a_usage_error_and_hides_the_password(cli, tmp_path: Path) -> None:
    # Port 1 on the loopback: nothing listens there.
    url = "postgresql://nurse:s3cret@127.0.0.1:1/cdm"
    result = cli("omop", "import", url, "--out", tmp_path / "c")
    assert result.exit_code == 2
    assert "s3cret" not in result.stderr
    assert "postgresql://nurse:***@127.0.0.1:1/cdm" in result.stderr


def test_a_folder_without_person_parquet_is_a_usage_error(cli, tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    result = cli("omop", "import", tmp_path / "empty", "--out", tmp_path / "c")
    assert result.exit_code == 2
    assert "has no person.parquet" in result.stderr


def test_invalid_data_exits_1_naming_the_omop_row_and_writes_nothing(
    cli, foreign: Path, tmp_path: Path
) -> None:
    con = duckdb.connect(str(foreign))
    # Nephrotic syndrome before birth: person 101 born 2012-05-14, onset now 2011-02-10.
    con.execute(
        "UPDATE condition_occurrence SET condition_start_date = DATE '2011-02-10' "
        "WHERE condition_occurrence_id = 501"
    )
    con.close()
    result = cli("omop", "import", foreign, "--out", tmp_path / "c", "--today", "2026-12-01")
    assert result.exit_code == 1
    assert "OMOP person row 101" in result.stdout
    assert not (tmp_path / "c").exists()


@pytest.mark.slow
def test_export_then_import_from_the_command_line(cli, tmp_path: Path) -> None:
    database = tmp_path / "demo.duckdb"
    exported = cli("omop", "export", example_path("demo"), "--out", f"duckdb:///{database}")
    assert exported.exit_code == 0, exported.stderr
    assert "58 person" in exported.stderr
    assert "minimal concept table" in exported.stderr
    again = cli("omop", "export", example_path("demo"), "--out", database)
    assert again.exit_code == 2  # exists, no --force
    imported = cli("omop", "import", database, "--out", tmp_path / "c", "--today", "2026-12-01")
    assert imported.exit_code == 0, imported.stderr
    assert "58 patients, 21488 measurements" in imported.stderr
