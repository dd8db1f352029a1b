"""The cell and row checks of ``cohort.cells`` on Spark (``SparkChecks``), on the hand-written bad
tables of test_cells_engine.py written as Parquet files of text: every problem the same (row,
column, message) as worked out by hand there, as DuckDB finds."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pyarrow.parquet as pq
import pytest

from srnskit.engine.backends import spark_session
from srnskit.engine.backends.spark_checks import SparkChecks
from srnskit.sources.files import ROW_COLUMN
from tests.cohort.test_cells_engine import (
    EXPECTED_ADVERSE_EVENTS,
    EXPECTED_PATIENTS,
    EXPECTED_TREATMENTS,
    bad_cohort,
    duplicates,
    found,
)

pytestmark = pytest.mark.spark


@pytest.fixture(scope="module")
def checks(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SparkChecks]:
    session: Any = spark_session()
    # A few rows: one task per shuffle, no re-planning (as tests/engine/conftest.py sets).
    for key, value in {"spark.sql.shuffle.partitions": "1"}.items():
        session.conf.set(key, value)
    folder = tmp_path_factory.mktemp("bad")
    cohort = bad_cohort()
    for name, raw in cohort.tables.items():
        (data,) = raw.chunks()
        pq.write_table(data.drop_columns([ROW_COLUMN]), folder / f"{name}.parquet")
    with SparkChecks.from_location(folder, session=session) as engine:
        assert engine.problems == []
        yield engine


def test_each_bad_cell_is_the_same_problem_on_spark(checks: SparkChecks) -> None:
    cohort = bad_cohort()
    assert found(checks, cohort, "patients") == EXPECTED_PATIENTS
    assert found(checks, cohort, "adverse_events") == EXPECTED_ADVERSE_EVENTS
    assert found(checks, cohort, "treatments") == EXPECTED_TREATMENTS


def test_repeated_rows_are_the_same_on_spark(checks: SparkChecks) -> None:
    cohort = bad_cohort()
    repeats = "the row repeats row {} exactly"
    assert duplicates(checks, cohort, "patients") == [
        ("patients", 10, None, repeats.format(2), "warning"),
        ("patients", 12, None, repeats.format(2), "warning"),
        ("patients", 13, None, repeats.format(3), "warning"),
    ]
    assert duplicates(checks, cohort, "adverse_events") == []
