"""The cached SQL plan of a DuckDB derive: replaying it gives exactly what compiling gives."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import duckdb
import pytest

from srnskit.cohort import read_cohort
from srnskit.definitions import load_definitions
from srnskit.engine.backends.duckdb import plan_key, replay
from srnskit.engine.derive import build_key, derive
from srnskit.studies import load_study

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


def test_plan_key_depends_on_the_definitions_the_study_the_analysis_and_the_schema(
    small_cohort: Path, tmp_path: Path
) -> None:
    cohort = read_cohort(small_cohort, today=TODAY)
    kdigo = load_definitions("kdigo2021")
    study = load_study("seed2023")
    changed = kdigo.model_copy(update={"rituximab_active_days": 181})
    other_study = study.model_copy(
        update={"kidney": study.kidney.model_copy(update={"height_within_days": 60})}
    )
    key = build_key(kdigo, study, False)
    assert plan_key(cohort.con, key) == plan_key(cohort.con, build_key(kdigo, study, False))
    for differing in (
        build_key(changed, study, False),
        build_key(kdigo, other_study, False),
        build_key(kdigo, study, True),
    ):
        assert plan_key(cohort.con, differing) != plan_key(cohort.con, key)
    # an extra (passed-through) column changes the tables' schema, hence the plan
    (tmp_path / "c").mkdir()
    for f in small_cohort.iterdir():
        if f.is_file():
            (tmp_path / "c" / f.name).write_bytes(f.read_bytes())
    patients = (tmp_path / "c" / "patients.csv").read_text().splitlines()
    patients = [patients[0] + ",ward"] + [line + ",A" for line in patients[1:]]
    (tmp_path / "c" / "patients.csv").write_text("\n".join(patients) + "\n")
    other = read_cohort(tmp_path / "c", today=TODAY)
    assert plan_key(other.con, key) != plan_key(cohort.con, key)


def _step(n: int) -> str:
    return f"srnskit_step_{n:020x}"


def _plan_with_a_late_second_reader() -> dict[str, object]:
    """s0 is read by s1 and by s3; s2 reads s1 and reports whether s0 still exists.

    In plan order (s0, s1, s2, s3) s0 is alive when s2 runs. Scheduled, s3 (whose oldest input
    is s0) runs before s2 (oldest input s1), so s0 is dropped before s2 runs.
    """
    s0, s1, s2, s3 = (_step(n) for n in range(4))
    # s0's name in two pieces: written whole, the plan would count s2 as one of s0's readers
    alive = f"(SELECT count(*) FROM duckdb_tables() WHERE table_name = '{s0[:13]}' || '{s0[13:]}')"
    return {
        "steps": [
            [s0, "SELECT 1 AS x"],
            [s1, f"SELECT x + 1 AS x FROM {s0}"],
            [s2, f"SELECT x, {alive} AS s0_alive FROM {s1}"],
            [s3, f"SELECT x + 2 AS x FROM {s0}"],
        ],
        "outputs": {"out": f"SELECT a.x AS x2, a.s0_alive, b.x AS x3 FROM {s2} a, {s3} b"},
    }


def test_replay_drops_each_step_once_its_last_reader_has_run() -> None:
    con = duckdb.connect()
    result = replay(con, _plan_with_a_late_second_reader())["out"].to_pylist()
    assert result == [{"x2": 2, "s0_alive": 0, "x3": 3}]
    # s0 and s1 went as soon as read; s2 and s3 feed the output and are the caller's to drop
    left = con.execute("SELECT table_name FROM duckdb_tables() ORDER BY 1").fetchall()
    assert left == [(_step(2),), (_step(3),)]


def test_replay_keeping_steps_runs_them_in_plan_order_and_keeps_them() -> None:
    con = duckdb.connect()
    plan = _plan_with_a_late_second_reader()
    result = replay(con, plan, keep_steps=True)["out"].to_pylist()
    assert result == [{"x2": 2, "s0_alive": 1, "x3": 3}]
    assert con.execute("SELECT count(*) FROM duckdb_tables()").fetchone() == (4,)
