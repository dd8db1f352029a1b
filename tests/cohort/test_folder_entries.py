"""What a cohort folder holds besides its table files: a table file there twice in names that
differ only in capitals, a table written as a folder of part files (a reviewer's cases: each
was read in part, or not at all, while the cohort was called valid)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from srnskit.cohort.load import check_cohort
from srnskit.sources.raw import case_clashes

TODAY = dt.date(2026, 12, 1)
PATIENTS = "patient_id,sex,birth_date,onset_date\nP1,F,2010-01-01,2015-01-01\n"
MEASUREMENTS = "patient_id,date,analyte,value,unit\nP1,2015-01-02,upcr,3,mg/mg\n"


def _errors(folder: Path) -> list[str]:
    return [str(p) for p in check_cohort(folder, today=TODAY) if p.severity == "error"]


def test_a_table_file_there_twice_in_other_capitals_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "patients.csv").write_text(PATIENTS)
    (tmp_path / "measurements.csv").write_text(MEASUREMENTS)
    (tmp_path / "MEASUREMENTS.csv").write_text(MEASUREMENTS)
    assert _errors(tmp_path) == [
        "measurements:-:-: error: MEASUREMENTS.csv and measurements.csv both exist, named alike "
        "but for capitals: srnskit would read one of them only; keep one (join their rows into "
        "it)"
    ]


def test_only_the_cohorts_files_are_compared_by_their_names_in_lower_case() -> None:
    # Other files in other capitals are not the cohort's (notes.txt, Notes.txt); one name
    # alone is no clash; cohort.toml is the cohort's
    assert case_clashes(["notes.txt", "Notes.txt", "patients.csv", "events.parquet"]) == []
    (clash,) = case_clashes(["cohort.toml", "Cohort.toml"])
    assert (clash.table, clash.message.split(" both")[0]) == (
        "cohort",
        "Cohort.toml and cohort.toml",
    )


def test_a_table_written_as_a_folder_of_parts_is_named_not_read(tmp_path: Path) -> None:
    (tmp_path / "patients.csv").write_text(PATIENTS)
    parts = tmp_path / "measurements.parquet"
    parts.mkdir()
    (parts / "_SUCCESS").write_text("")
    assert _errors(tmp_path) == [
        "measurements:-:-: error: measurements.parquet is a folder (a table written in parts, "
        "as Spark writes one), not read here: write the table as one file, measurements.parquet "
        "(derive --engine spark reads such a folder where it lies when every table is Parquet)"
    ]
    # A folder of another name (a backup, notes) is none of the cohort's business
    parts.rename(tmp_path / "old")
    assert _errors(tmp_path) == []
