"""The cached SQL plan of a DuckDB derive: replaying it gives exactly what compiling gives."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest

from srnskit.cohort import read_cohort
from srnskit.definitions import load_definitions
from srnskit.engine.derive import derive
from srnskit.engine.plan import plan_key

TODAY = dt.date(2026, 11, 28)


@pytest.mark.parametrize("name", ["kdigo2021", "seed2023", "ipna2020"])
def test_replayed_plan_equals_a_fresh_compile(small_cohort: Path, name: str) -> None:
    cohort = read_cohort(small_cohort, today=TODAY)
    definitions = load_definitions(name)
    os.environ["SRNSKIT_NO_PLAN_CACHE"] = "1"
    try:
        fresh = derive(cohort, definitions)
    finally:
        del os.environ["SRNSKIT_NO_PLAN_CACHE"]
    first = derive(cohort, definitions)  # compiles and saves the plan (or replays it)
    replayed = derive(cohort, definitions)  # replays it
    for table, expected in fresh.tables().items():
        assert first.tables()[table].equals(expected), table
        assert replayed.tables()[table].equals(expected), table
    assert replayed.flow == fresh.flow
    # the step tables are dropped once the outputs are read
    temporary = cohort.con.execute("SELECT count(*) FROM duckdb_tables() WHERE temporary")
    assert temporary.fetchone() == (0,)


def test_plan_key_depends_on_the_definitions_and_the_schema(
    small_cohort: Path, tmp_path: Path
) -> None:
    cohort = read_cohort(small_cohort, today=TODAY)
    kdigo = load_definitions("kdigo2021")
    changed = kdigo.model_copy(update={"rituximab_active_days": 181})
    assert plan_key(cohort.con, kdigo.model_dump_json()) == plan_key(
        cohort.con, kdigo.model_dump_json()
    )
    assert plan_key(cohort.con, kdigo.model_dump_json()) != plan_key(
        cohort.con, changed.model_dump_json()
    )
    # an extra (passed-through) column changes the tables' schema, hence the plan
    (tmp_path / "c").mkdir()
    for f in small_cohort.iterdir():
        if f.is_file():
            (tmp_path / "c" / f.name).write_bytes(f.read_bytes())
    patients = (tmp_path / "c" / "patients.csv").read_text().splitlines()
    patients = [patients[0] + ",ward"] + [line + ",A" for line in patients[1:]]
    (tmp_path / "c" / "patients.csv").write_text("\n".join(patients) + "\n")
    other = read_cohort(tmp_path / "c", today=TODAY)
    assert plan_key(other.con, kdigo.model_dump_json()) != plan_key(
        cohort.con, kdigo.model_dump_json()
    )
