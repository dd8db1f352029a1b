"""Demo cohort → OMOP (a DuckDB file, a Parquet folder) → import: the same cohort, and derive's
tables identical to the demo's under every definition set (issue 20, "Done when")."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from srnskit.cohort.imported import write_imported
from srnskit.cohort.load import read_cohort
from srnskit.examples import path as example_path
from srnskit.schema import COHORT_TABLES
from srnskit.sources.omop import read_omop
from tests.interchange.conftest import assert_rows_match

from .conftest import SETS, TODAY, derived_rows


def _rows(path: Path | str, table: str) -> list[tuple[Any, ...]]:
    columns = list(COHORT_TABLES[table].column_names)
    with read_cohort(path, today=TODAY) as cohort:
        data = cohort.to_arrow(table).select(columns).to_pylist()
    return sorted((tuple(r.values()) for r in data), key=repr)


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["duckdb", "parquet"])
def test_the_demo_round_trips_through_omop_to_the_same_derived_tables(
    kind: str,
    demo_omop: dict[str, Path],
    demo_derived: dict[str, dict[str, list[tuple[Any, ...]]]],
    tmp_path: Path,
) -> None:
    source = demo_omop[kind]
    rows = read_omop(f"duckdb:///{source}" if kind == "duckdb" else source)
    result = write_imported(rows, tmp_path / "imported", today=TODAY)

    # Every record the exporter wrote maps back: nothing skipped.
    assert result.skipped == []
    # The canonical cohort itself is the demo's, row for row (58 children, 21,488 values …).
    for table in COHORT_TABLES:
        found, expected = _rows(tmp_path / "imported", table), _rows(example_path("demo"), table)
        assert_rows_match(found, expected, table)
    imported = derived_rows(tmp_path / "imported")
    for name in SETS:
        assert imported[name].keys() == demo_derived[name].keys()
        for table, rows in demo_derived[name].items():
            assert_rows_match(imported[name][table], rows, f"{name} {table}")


def test_an_import_names_each_row_by_its_omop_table_and_id(demo_omop: dict[str, Path]) -> None:
    rows = read_omop(demo_omop["parquet"])
    raw = rows.raw_cohort()
    # The measurement table's first row is the first measurement row of the database.
    assert rows.origin("measurements", 2) == "OMOP measurement row 1"
    assert rows.origin("patients", 2) == "OMOP person row 1"
    # The demo has 21,394 measurement rows, then 94 oedema values from the observation table:
    # the last measurement row is row 21,395 of the table (header = row 1), then observations.
    assert raw.tables["measurements"].rows == 21_394 + 94
    assert rows.origin("measurements", 21_394 + 1) == "OMOP measurement row 21394"
    assert rows.origin("measurements", 21_394 + 2).startswith("OMOP observation row ")
