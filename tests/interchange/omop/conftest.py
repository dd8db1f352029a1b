"""Shared by the OMOP tests: the demo cohort's derived tables under every set (computed once
per session), the demo exported to OMOP once per session, and the hand-written foreign OMOP
database built from its SQL."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import duckdb
import pytest

from srnskit.cohort.load import read_cohort
from srnskit.examples import path as example_path
from srnskit.outputs.exports.omop import export_omop
from tests.interchange.conftest import derived_under_every_set

TODAY = dt.date(2026, 12, 1)
SETS = ("seed2023", "kdigo2021", "ipna2020")
FOREIGN_SQL = Path(__file__).parents[2] / "data" / "interchange" / "omop" / "foreign.sql"


def derived_rows(cohort_path: Path | str) -> dict[str, dict[str, list[tuple[Any, ...]]]]:
    """derive's three tables of a cohort under every set, each as sorted row tuples."""
    return {
        name: {
            table: sorted(
                (tuple(row.values()) for row in derived.tables()[table].to_pylist()), key=repr
            )
            for table in ("patient_outcomes", "courses", "episodes")
        }
        for name, derived in derived_under_every_set(cohort_path).items()
    }


@pytest.fixture(scope="session")
def demo_derived() -> dict[str, dict[str, list[tuple[Any, ...]]]]:
    return derived_rows(example_path("demo"))


@pytest.fixture(scope="session")
def demo_omop(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The demo exported once as a DuckDB file and once as a Parquet folder."""
    folder = tmp_path_factory.mktemp("demo_omop")
    with read_cohort(example_path("demo"), today=TODAY) as cohort:
        export_omop(cohort, folder / "demo.duckdb")
        export_omop(cohort, folder / "parquet")
    return {"duckdb": folder / "demo.duckdb", "parquet": folder / "parquet"}


def build_foreign(path: Path) -> Path:
    """The hand-written foreign OMOP database (tests/data/interchange/omop/foreign.sql) as a
    DuckDB file at ``path``."""
    con = duckdb.connect(str(path))
    try:
        con.execute(FOREIGN_SQL.read_text(encoding="utf-8"))
    finally:
        con.close()
    return path


@pytest.fixture
def foreign(tmp_path: Path) -> Path:
    return build_foreign(tmp_path / "foreign.duckdb")
