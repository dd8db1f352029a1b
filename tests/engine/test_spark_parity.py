"""DuckDB and Spark give identical outputs end to end (ARCHITECTURE.md principle 2).

Each rule is checked on both backends by the hand-worked tests (the ``backend`` fixture of
conftest.py); these compare whole cohorts: the demo, 2,000 synthetic children and the six
hand-made patients below. One Spark session serves every test (conftest's ``spark``); outputs
are compared as Arrow tables cast to the declared schema, value for value.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from srnskit.cohort import read_cohort
from srnskit.definitions import load_definitions
from srnskit.engine.derive import derive
from srnskit.synth.demo import demo_path
from srnskit.synth.generate import write_synthetic_cohort
from srnskit.synth.profile import load_profile
from tests.engine.conftest import upcr, write_cohort

TODAY = dt.date(2026, 11, 28)


def _hand_made(folder: Path) -> Path:
    """Six patients exercising confirmation, partial remission, resistance, courses, eGFR."""
    patients = [(f"P{i}", "F" if i % 2 else "M", "2014-03-01", "2020-01-01") for i in range(1, 7)]
    m = upcr("P1", "2020-01-01", [5, 5, 5]) + upcr("P1", "2020-01-10", [0.1, 0.1, 0.1])
    m += upcr("P2", "2020-01-01", [3, 3, 3]) + upcr("P2", "2020-01-20", [1.0, 1.0, 1.0])
    m += upcr("P2", "2020-02-08", [0.1, 0.1, 0.1])
    m += upcr("P3", "2020-01-01", [400, 420, 410], unit="mg/mmol")
    m += upcr("P3", "2020-03-01", [21, 21, 21], unit="mg/mmol")
    m += upcr("P4", "2020-01-01", [5, 5, 5]) + upcr("P4", "2020-01-15", [0.1, 0.1, 0.1])
    m += upcr("P4", "2020-03-01", [4, 4, 4]) + upcr("P4", "2020-03-20", [4, 4, 4])
    m += upcr("P5", "2020-01-01", [5, 5, 5]) + upcr("P5", "2020-04-01", [0.1, 0.1, 0.1])
    m += [
        ("P6", dt.date(2020, 1, 1) + dt.timedelta(days=40 * k), analyte, value, unit)
        for k, egfr in enumerate([110, 55, 70, 58, 55, 50, 46])
        for analyte, value, unit in (
            ("creatinine", round(0.413 * 100 / egfr * 88.4, 3), "umol/L"),
            ("height", 100, "cm"),
        )
    ]
    m += [
        ("P6", dt.date(2020, 1, 1), "uprot_24h", 3.0, "g/24h"),
        ("P6", dt.date(2020, 1, 1), "weight", 20, "kg"),
        ("P6", dt.date(2020, 2, 1), "uprot_24h", 0.2, "g/24h"),
        ("P6", dt.date(2020, 2, 1), "albumin", 38, "g/L"),
    ]
    prednisone = [
        (f"P{i}", "prednisone", "2020-01-02", "2020-01-29", 60, "mg/m2/day", "daily")
        for i in range(1, 7)
    ]
    treatments = [
        *prednisone,
        ("P4", "prednisone", "2020-03-05", "2020-04-01", 60, "mg/m2/day", "daily"),
        ("P5", "cyclosporine", "2020-02-01", "2020-12-31", 150, "mg/m2/day", "daily"),
        ("P5", "rituximab", "2020-03-01", "2020-03-01", 375, "mg/m2", "single"),
        ("P5", "mmf", "2020-06-01", "2020-12-31", 600, "mg/m2/day", "daily"),
    ]
    return write_cohort(
        folder,
        patients=patients,
        measurements=m,
        treatments=treatments,
        events=[("P6", "2020-09-01", "dialysis_start")],
    )


def _assert_identical(cohort_path: Path, definitions: str) -> None:
    chosen = load_definitions(definitions)
    with read_cohort(cohort_path, today=TODAY) as cohort:
        on_duckdb = derive(cohort, chosen, engine="duckdb")
        on_spark = derive(cohort, chosen, engine="spark")
    for name, table in on_duckdb.tables().items():
        assert on_spark.tables()[name].equals(table), f"{name} differs under {definitions}"
    assert on_spark.flow == on_duckdb.flow


# kdigo2021 and ipna2020 on the demo and the synthetic cohort below; every set on each rule's
# hand-worked tests.
@pytest.mark.spark
def test_spark_matches_duckdb_on_hand_made_patients(spark, tmp_path) -> None:
    _assert_identical(_hand_made(tmp_path), "seed2023")


@pytest.mark.spark
def test_spark_matches_duckdb_on_the_demo_cohort(spark) -> None:
    _assert_identical(demo_path(), "kdigo2021")


@pytest.mark.spark
def test_spark_matches_duckdb_on_2000_synthetic_children(spark, tmp_path) -> None:
    out = tmp_path / "synthetic"
    write_synthetic_cohort(out, profile=load_profile("seed2023"), patients=2000, seed=5)
    _assert_identical(out, "ipna2020")
