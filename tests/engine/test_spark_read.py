"""``derive --engine spark`` on a cohort Spark reads itself (issue 21 part 2): a folder of
Parquet tables, or tables of Spark's catalog (``--spark-tables DB``). Spark reads, validates,
loads and derives; the outputs must be DuckDB's file for file, and a bad cohort must give
DuckDB's problems (the embedded path, ``check_cohort``, is the reference)."""

from __future__ import annotations

import datetime as dt
import json
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from srnskit.cohort.load import check_cohort
from srnskit.engine.backends.spark_raw import folder_uri
from srnskit.engine.spark_cohort import read_spark_cohort, spark_reads
from srnskit.errors import InvalidCohortError
from srnskit.synth.generate import write_synthetic_cohort
from srnskit.synth.profile import load_profile

pytestmark = pytest.mark.spark

TODAY = "2026-12-01"
OUTPUTS = ("patient_outcomes.csv", "courses.csv", "episodes.csv", "flow.json")


@pytest.fixture(scope="module")
def cohort(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("spark-read") / "cohort"
    write_synthetic_cohort(
        folder, profile=load_profile("seed2023"), patients=12, seed=11, fmt="parquet"
    )
    (folder / "cohort.toml").write_text(
        'name = "twelve children"\ncenter_id = "hospital-a"\nformat_version = 1\n'
    )
    return folder


def _same_outputs(one: Path, other: Path) -> None:
    for name in OUTPUTS:
        assert (one / name).read_bytes() == (other / name).read_bytes(), name


def test_a_parquet_folder_is_read_by_spark(cohort: Path, tmp_path: Path) -> None:
    csv_folder = tmp_path / "csv"
    csv_folder.mkdir()
    (csv_folder / "patients.csv").write_text("patient_id\nP1\n")
    assert spark_reads(str(cohort))
    assert spark_reads("hdfs://namenode/cohorts/a")
    assert spark_reads("file:///data/a")
    assert not spark_reads(str(csv_folder))
    assert not spark_reads("sqlite:///registry.db")
    assert not spark_reads("postgresql+psycopg://u@h/db")


def test_derive_on_spark_from_parquet_gives_duckdbs_outputs(
    cli: Any, spark: Any, cohort: Path, tmp_path: Path
) -> None:
    on_duckdb = cli("derive", cohort, "--out", tmp_path / "duck", "--today", TODAY)
    assert on_duckdb.exit_code == 0, on_duckdb.stderr
    # The same folder as a file: URI, which is how a cluster names a shared folder.
    on_spark = cli(
        "derive", cohort.as_uri(), "--engine", "spark", "--out", tmp_path / "spark",
        "--today", TODAY,
    )  # fmt: skip
    assert on_spark.exit_code == 0, on_spark.stderr
    _same_outputs(tmp_path / "duck", tmp_path / "spark")
    # derive's summary (on stderr, docs/cohort-format.md §4) counts alike on both engines
    [duck] = [line for line in on_duckdb.stderr.splitlines() if line.startswith("srnskit: wrote")]
    [spark] = [line for line in on_spark.stderr.splitlines() if line.startswith("srnskit: wrote")]
    assert spark == duck.replace(str(tmp_path / "duck"), str(tmp_path / "spark"))
    flow = json.loads((tmp_path / "spark" / "flow.json").read_text())
    assert flow["start"] == 12


def test_a_folder_whose_path_holds_a_space_or_brackets_is_read_as_a_path_and_as_a_uri(
    spark: Any, cohort: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Reviewers' finds: the path became file:///…/a%20b (pathlib's URI), which Hadoop reads
    # as a folder named "a%20b"; Spark's own names of its input files are quoted so; and
    # Spark's readers take a path as a glob pattern, "[2024]" meaning one of 2, 0 and 4.
    folder = tmp_path / "study [2024] {a,b}" / "cohort"
    shutil.copytree(cohort, folder)
    # The path is read as its file: URI with its characters as they are (one read covers
    # both forms), and Hadoop's relative file URI as the folder here (docs/scale.md)
    assert folder_uri(str(folder)) == f"file://{folder}"
    monkeypatch.chdir(folder.parent)
    assert folder_uri("file:cohort") == f"file://{folder}"
    rows = pq.ParquetFile(folder / "measurements.parquet").metadata.num_rows
    on_spark = read_spark_cohort(folder, today=dt.date(2026, 12, 1))
    try:
        assert on_spark.frames["patients"].count() == 12
        assert on_spark.frames["measurements"].count() == rows
    finally:
        on_spark.close()


def test_a_parquet_cohort_derived_to_csv_starts_no_python_worker(
    cohort: Path, tmp_path: Path
) -> None:
    # docs/scale.md: no Python on the executors before a Parquet output's writing. The Python
    # Spark starts for its workers (PYSPARK_PYTHON) here notes each start; the checks' units
    # table, made by createDataFrame of a Python list, started one (a reviewer's find).
    started = tmp_path / "python-workers.txt"
    python = tmp_path / "python"
    python.write_text(
        f'#!/bin/sh\necho "$@" >> {shlex.quote(str(started))}\n'
        f'exec {shlex.quote(sys.executable)} "$@"\n'
    )
    python.chmod(0o755)
    environment = {**os.environ, "PYSPARK_PYTHON": str(python), "SPARK_CONF_DIR": str(tmp_path)}
    srnskit = str(Path(sys.executable).parent / "srnskit")
    done = subprocess.run(
        [srnskit, "derive", str(cohort), "--out", str(tmp_path / "out"), "--engine", "spark"],
        capture_output=True,
        text=True,
        env=environment,
        timeout=900,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    assert (tmp_path / "out" / "episodes.csv").exists()
    assert not started.exists(), started.read_text()


def test_the_catalogs_tables_are_read_with_spark_tables(
    cli: Any, spark: Any, cohort: Path, tmp_path: Path
) -> None:
    database = "srnskit_test_read"
    spark.sql(f"CREATE DATABASE IF NOT EXISTS {database} LOCATION '{tmp_path / 'warehouse'}'")
    try:
        for table in sorted(cohort.glob("*.parquet")):
            frame = spark.read.parquet(str(table))
            frame.write.format("parquet").saveAsTable(f"{database}.{table.stem}")
        on_duckdb = cli("derive", cohort, "--out", tmp_path / "duck", "--today", TODAY)
        on_spark = cli(
            "derive", "--engine", "spark", "--spark-tables", database,
            "--out", tmp_path / "spark", "--today", TODAY,
        )  # fmt: skip
        assert on_spark.exit_code == 0, on_spark.stderr
        assert on_duckdb.exit_code == 0
        _same_outputs(tmp_path / "duck", tmp_path / "spark")
    finally:
        spark.sql(f"DROP DATABASE IF EXISTS {database} CASCADE")


def test_spark_tables_is_refused_without_spark_or_with_a_cohort(
    cli: Any, cohort: Path, tmp_path: Path
) -> None:
    alone = cli("derive", "--spark-tables", "db", "--out", tmp_path / "a")
    both = cli(
        "derive", cohort, "--engine", "spark", "--spark-tables", "db", "--out", tmp_path / "b"
    )
    assert alone.exit_code == 2
    assert "--spark-tables needs --engine spark" in alone.stderr
    assert both.exit_code == 2
    assert "give COHORT or --spark-tables DB, not both" in both.stderr
    assert not (tmp_path / "a").exists()
    assert not (tmp_path / "b").exists()


def test_a_bad_cohort_gives_on_spark_the_problems_it_gives_on_duckdb(
    spark: Any, tmp_path: Path
) -> None:
    folder = tmp_path / "bad"
    folder.mkdir()
    # Row 3 (P2) is born after onset; row 4 repeats P1; the measurement of P9 (row 3) has no
    # patient, the one of P1 on row 4 a unit creatinine does not take.
    patients = pa.table(
        {
            "patient_id": ["P1", "P2", "P1"],
            "sex": ["F", "M", "F"],
            "birth_date": [dt.date(2012, 1, 1), dt.date(2015, 1, 1), dt.date(2012, 1, 1)],
            "onset_date": [dt.date(2015, 3, 1), dt.date(2014, 1, 1), dt.date(2015, 3, 1)],
        }
    )
    measurements = pa.table(
        {
            "patient_id": ["P1", "P9", "P1"],
            "date": [dt.date(2015, 3, 2)] * 3,
            "analyte": ["upcr", "upcr", "creatinine"],
            "value": [3.1, 2.0, 40.0],
            "unit": ["mg/mg", "mg/mg", "g/L"],
        }
    )
    pq.write_table(patients, folder / "patients.parquet")
    pq.write_table(measurements, folder / "measurements.parquet")
    expected = check_cohort(folder, today=dt.date(2026, 12, 1))
    assert any(p.severity == "error" for p in expected)
    with pytest.raises(InvalidCohortError) as raised:
        read_spark_cohort(folder, today=dt.date(2026, 12, 1))
    assert [str(p) for p in raised.value.problems] == [str(p) for p in expected]
    rows = {(p.table, p.row) for p in expected}
    assert {("patients", 3), ("patients", 4), ("measurements", 3), ("measurements", 4)} <= rows


def test_cohort_toml_names_the_cohort_and_the_centre_of_children_without_one(
    spark: Any, tmp_path: Path
) -> None:
    patients = pa.table(
        {
            "patient_id": ["P1", "P2"],
            "center_id": ["ward-b", None],
            "sex": ["F", "M"],
            "birth_date": [dt.date(2012, 1, 1), dt.date(2011, 5, 1)],
            "onset_date": [dt.date(2015, 3, 1), dt.date(2014, 1, 1)],
        }
    )
    pq.write_table(patients, tmp_path / "patients.parquet")
    (tmp_path / "cohort.toml").write_text('name = "two children"\ncenter_id = "hospital-a"\n')
    on_spark = read_spark_cohort(tmp_path, today=dt.date(2026, 12, 1))
    try:
        rows = on_spark.frames["patients"].select("patient_id", "center_id").collect()
        assert on_spark.name == "two children"
        assert sorted(tuple(r) for r in rows) == [("P1", "ward-b"), ("P2", "hospital-a")]
    finally:
        on_spark.close()


def test_a_table_file_there_twice_in_other_capitals_is_an_error_on_both_engines(
    spark: Any, cohort: Path, tmp_path: Path
) -> None:
    # A reviewer's case: Measurements.parquet beside measurements.parquet; each engine read one
    # of the two by its name in lower case and dropped the other, the cohort said valid.
    folder = tmp_path / "twice"
    folder.mkdir()
    for file in ("patients.parquet", "measurements.parquet"):
        (folder / file).write_bytes((cohort / file).read_bytes())
    (folder / "Measurements.parquet").write_bytes((cohort / "measurements.parquet").read_bytes())
    expected = check_cohort(folder, today=dt.date(2026, 12, 1))
    assert [str(p) for p in expected if p.severity == "error"] == [
        "measurements:-:-: error: Measurements.parquet and measurements.parquet both exist, "
        "named alike but for capitals: srnskit would read one of them only; keep one (join "
        "their rows into it)"
    ]
    with pytest.raises(InvalidCohortError) as raised:
        read_spark_cohort(folder, today=dt.date(2026, 12, 1))
    assert [str(p) for p in raised.value.problems] == [str(p) for p in expected]


def test_dates_that_are_none_are_said_on_spark_as_on_duckdb(spark: Any, tmp_path: Path) -> None:
    # The year 0000 made Spark's checks fail with a traceback (a Python date has no year 0)
    from tests.cohort.test_dates_that_are_none import dates_cohort, expected_date_errors

    with pytest.raises(InvalidCohortError) as raised:
        read_spark_cohort(dates_cohort(tmp_path / "c", "parquet"), today=dt.date(2026, 12, 1))
    errors = [str(p) for p in raised.value.problems if p.severity == "error"]
    assert errors == expected_date_errors()
