"""The calibration's views: relapses from the definition set's ``relapse_after``, and the last
follow-up from every table, dated as the engine dates it (clinical.md §3, §8)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from srnskit.cohort import read_cohort
from srnskit.definitions import load_definitions
from srnskit.engine import derive
from srnskit.synth.calibration import connect, last_followup_sql, relapses_sql
from srnskit.synth.generate import generate_chunk, write_synthetic_cohort
from srnskit.synth.profile import load_profile

D = dt.date


def _episodes() -> pa.Table:
    # P1: onset nephrotic → partial → nephrotic → complete → nephrotic.
    # P2: onset nephrotic → complete → nephrotic.
    rows = [
        ("P1", "nephrotic", D(2015, 1, 1)),
        ("P1", "partial_remission", D(2015, 3, 1)),
        ("P1", "nephrotic", D(2015, 6, 1)),
        ("P1", "complete_remission", D(2015, 9, 1)),
        ("P1", "nephrotic", D(2016, 1, 1)),
        ("P2", "nephrotic", D(2015, 1, 1)),
        ("P2", "complete_remission", D(2015, 2, 1)),
        ("P2", "nephrotic", D(2015, 5, 1)),
    ]
    return pa.table(
        {
            "patient_id": [r[0] for r in rows],
            "state": [r[1] for r in rows],
            "start_date": [r[2] for r in rows],
        }
    )


def _relapses(set_name: str) -> list[tuple[str, dt.date]]:
    con = connect()
    con.register("episodes", _episodes())
    sql = f"SELECT patient_id, start_date FROM ({relapses_sql(load_definitions(set_name))})"
    return sorted(con.execute(sql).fetchall())


def test_a_relapse_follows_the_states_the_calibrated_set_names() -> None:
    # seed2023: after complete or partial remission → P1's 2015-06-01 and 2016-01-01, P2's.
    assert _relapses("seed2023") == [
        ("P1", D(2015, 6, 1)),
        ("P1", D(2016, 1, 1)),
        ("P2", D(2015, 5, 1)),
    ]
    # kdigo2021: after complete remission only → P1's 2015-06-01 (after partial) is not one.
    assert _relapses("kdigo2021") == [("P1", D(2016, 1, 1)), ("P2", D(2015, 5, 1))]


def _table(**columns: list[object]) -> pa.Table:
    return pa.table(columns)


def test_last_followup_is_the_latest_date_in_any_table() -> None:
    con = connect()
    patients = ["P1", "P2", "P3", "P4", "P5"]
    con.register("patients", _table(patient_id=patients, onset_date=[D(2015, 1, 1)] * 5))
    # Every patient's events end on 2016-01-01 (a last_visit); the latest date is elsewhere:
    # P1 a measurement, P2 a treatment end, P3 an adverse event, P4 a treatment start with no
    # end (ongoing: the missing end counts for nothing), P5 the events table itself.
    con.register(
        "events",
        _table(patient_id=patients, date=[D(2016, 1, 1)] * 5, event=["last_visit"] * 5),
    )
    con.register(
        "measurements",
        _table(patient_id=["P1", "P2"], date=[D(2016, 3, 1), D(2015, 6, 1)]),
    )
    con.register(
        "treatments",
        _table(
            patient_id=["P2", "P4"],
            start_date=[D(2015, 2, 1), D(2016, 2, 1)],
            end_date=[D(2016, 4, 1), None],
        ),
    )
    con.register("adverse_events", _table(patient_id=["P3"], date=[D(2016, 5, 1)]))
    got = dict(con.execute(last_followup_sql()).fetchall())
    assert got == {
        "P1": D(2016, 3, 1),
        "P2": D(2016, 4, 1),
        "P3": D(2016, 5, 1),
        "P4": D(2016, 2, 1),
        "P5": D(2016, 1, 1),
    }


def test_last_followup_agrees_with_the_engine_on_a_synthetic_cohort(tmp_path: Path) -> None:
    profile = load_profile("seed2023")
    write_synthetic_cohort(tmp_path / "c", profile=profile, patients=150, seed=7)
    derived = derive(
        read_cohort(tmp_path / "c", today=D(2030, 1, 1)), load_definitions("kdigo2021")
    )
    # The one chunk write_synthetic_cohort generated (its random stream: the seed's first spawn).
    stream = np.random.SeedSequence(7).spawn(1)[0]
    chunk = generate_chunk(profile, 150, np.random.default_rng(stream), 1)
    con = connect()
    for name, table in chunk.cohort.items():
        con.register(name, table)
    ours = dict(
        con.execute(
            f"SELECT f.patient_id, f.last - p.onset_date FROM ({last_followup_sql()}) f "
            "JOIN patients p USING (patient_id)"
        ).fetchall()
    )
    outcomes = derived.patient_outcomes
    engines = dict(
        zip(
            outcomes["patient_id"].to_pylist(),
            pc.cast(outcomes["followup_days"], pa.int64()).to_pylist(),
            strict=True,
        )
    )
    assert len(ours) == 150
    assert ours == engines
