"""The row and link checks (``cohort.links``, ``cohort.plausibility``, ``cohort.chronology``) on
Spark (``SparkChecks`` over the cohort written as Parquet) find exactly what they find on DuckDB
on the hand-written bad cohort of ``test_links_checks`` (whose every problem is worked out by
hand there): same table, row, column, severity and message, in the same order."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from srnskit.cohort.chronology import check_impossible_dates
from srnskit.cohort.links import (
    check_patient_links,
    check_patients,
    check_treatments,
    drop_patient_spans,
)
from srnskit.cohort.plausibility import check_measurements
from srnskit.schema import COHORT_TABLES
from tests.cohort.test_links_checks import COHORT, TODAY, engine  # noqa: F401 (a fixture)

pytestmark = pytest.mark.spark


def _every_check(checks: Any) -> list[tuple[Any, ...]]:
    """The checks in validation's order, as (table, row, column, severity, message)."""
    found = check_patients(checks, TODAY)
    for name in ("measurements", "treatments"):
        found += check_patient_links(checks, COHORT_TABLES[name], TODAY)
    found += check_impossible_dates(checks, set(COHORT), TODAY)
    found += check_measurements(checks)
    found += check_treatments(checks)
    for name in COHORT:
        drop_patient_spans(checks, name)
    return [(p.table, p.row, p.column, p.severity, p.message) for p in found]


@pytest.fixture
def on_spark(tmp_path: Path) -> Iterator[Any]:
    """The cohort as one Parquet file of text per table, read by ``SparkChecks``."""
    from srnskit.engine.backends.spark import spark_session
    from srnskit.engine.backends.spark_checks import SparkChecks

    for name, records in COHORT.items():
        columns = COHORT_TABLES[name].column_names
        table = pa.table({c: pa.array([r.get(c) for r in records], pa.string()) for c in columns})
        pq.write_table(table, tmp_path / f"{name}.parquet")
    session = spark_session()
    session.conf.set("spark.sql.shuffle.partitions", "1")  # a few rows: one task per shuffle
    with SparkChecks.from_location(tmp_path, session=session) as checks:
        assert checks.problems == []
        yield checks


def test_the_checks_find_on_spark_what_they_find_on_duckdb(engine, on_spark) -> None:  # noqa: F811
    on_duckdb = _every_check(engine)
    # 5 patients, 3 + 2 link, 3 impossible dates, 9 measurement values, 3 treatment problems.
    assert len(on_duckdb) == 25
    assert _every_check(on_spark) == on_duckdb
