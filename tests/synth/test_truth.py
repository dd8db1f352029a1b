"""The truth rules on hand-made latent courses, worked out by hand (clinical.md §3–§5, §8)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from srnskit.synth import truth
from srnskit.synth.latent import (
    CR,
    CYCLOSPORINE,
    DIALYSIS,
    LAST_VISIT,
    MMF,
    NEPHROTIC,
    PR,
    RITUXIMAB,
    TRANSPLANT,
    Latent,
)


def _latent(
    end: int,
    treatments: list[tuple[int, int, int]] | None = None,
    segments: list[tuple[int, int, float]] | None = None,
) -> Latent:
    """One child followed to ``end``; treatments (drug, start, end), segments (day, state, UPCR)."""
    one = np.zeros(1, dtype=np.int64)
    latent = Latent(
        n=1,
        category=one,
        male=np.array([True]),
        centre_b=np.array([False]),
        onset=np.array([15000]),
        birth=np.array([13000]),
        end=np.array([end]),
        family_history=np.array([False]),
        secondary_cause=one - 1,
        histology=one - 1,
        biopsy_day=one,
        genetic_testing=np.array([False]),
        monogenic=np.array([False]),
        resistance=one + 1,
        resistance_day=one + 28,
        height_z=one * 0.0,
        weight_z=one * 0.0,
        egfr_knots_day=np.array([[0, 100, 200, end]], dtype=float),
        egfr_knots=np.array([[120.0, 120.0, 60.0, 40.0]]),
        kidney_failure_day=one - 1,
        severe_ckd_day=one - 1,
        transplant_day=one - 1,
    )
    rows = treatments or []
    latent.treatments = {
        "pid": np.zeros(len(rows), dtype=np.int64),
        "drug": np.array([r[0] for r in rows], dtype=np.int64),
        "start": np.array([r[1] for r in rows], dtype=np.int64),
        "end": np.array([r[2] for r in rows], dtype=np.int64),
        "dose": np.full(len(rows), 1.0),
        "schedule": np.zeros(len(rows), dtype=np.int64),
    }
    parts = segments or [(0, NEPHROTIC, 6.0)]
    latent.segments = {
        "pid": np.zeros(len(parts), dtype=np.int64),
        "day": np.array([s[0] for s in parts], dtype=np.int64),
        "state": np.array([s[1] for s in parts], dtype=np.int64),
        "level": np.log([s[2] for s in parts]),
        "tau": np.full(len(parts), 3.0),
    }
    return latent


def test_courses_split_where_the_active_agents_change() -> None:
    # CsA days 0–99, MMF 50–149, one rituximab infusion on day 60 (active 60–240, cut at the
    # last follow-up, day 200): cyclosporine 0–49, +mmf 50–59, +rituximab 60–99,
    # mmf+rituximab 100–149, rituximab 150–200.
    latent = _latent(200, [(CYCLOSPORINE, 0, 99), (MMF, 50, 149), (RITUXIMAB, 60, 60)])
    course = truth.courses(latent)
    names, agents = truth.regimen_names(course["mask"])
    assert list(zip(names, course["start"], course["end"], strict=True)) == [
        ("cyclosporine", 0, 49),
        ("cyclosporine+mmf", 50, 59),
        ("cyclosporine+mmf+rituximab", 60, 99),
        ("mmf+rituximab", 100, 149),
        ("rituximab", 150, 200),
    ]
    assert agents.tolist() == [1, 2, 3, 2, 1]
    assert course["course_no"].tolist() == [1, 2, 3, 4, 5]


def test_an_ongoing_course_runs_to_the_last_follow_up() -> None:
    course = truth.courses(_latent(300, [(CYCLOSPORINE, 10, -1)]))
    assert (course["start"].tolist(), course["end"].tolist()) == ([10], [300])


def test_remission_starts_when_proteinuria_enters_the_band() -> None:
    # From 6 to 0.07 mg/mg with τ = 3 days, the level crosses 0.17 after
    # 3 × ln((ln 6 − ln 0.07) / (ln 0.17 − ln 0.07)) = 3 × ln(4.4510 / 0.8873) = 4.84 → day 45.
    latent = _latent(400, segments=[(0, NEPHROTIC, 6.0), (40, CR, 0.07)])
    kept = truth.kept_segments(latent)
    assert kept["onset_day"].tolist() == [0, 45]


def test_episodes_merge_one_state_and_mark_relapses() -> None:
    latent = _latent(
        400,
        segments=[
            (0, NEPHROTIC, 6.0),
            (30, PR, 0.8),
            (60, PR, 0.6),
            (100, CR, 0.07),
            (200, NEPHROTIC, 6.0),
        ],
    )
    episode = truth.episodes(latent, truth.kept_segments(latent))
    # PR from 30 (+ lag) merged with the second PR; the nephrotic episode after CR is a relapse.
    assert truth.STATE_NAMES[episode["state"]].tolist() == [
        "nephrotic",
        "partial_remission",
        "complete_remission",
        "nephrotic",
    ]
    assert episode["relapse"].tolist() == [False, False, False, True]
    assert episode["end"][-1] == 400
    assert (episode["end"][:-1] + 1).tolist() == episode["start"][1:].tolist()


def test_course_response_is_the_first_remission_within_it() -> None:
    latent = _latent(
        400,
        [(CYCLOSPORINE, 20, 300)],
        [(0, NEPHROTIC, 6.0), (80, PR, 0.8), (150, CR, 0.07), (250, NEPHROTIC, 6.0)],
    )
    episode = truth.episodes(latent, truth.kept_segments(latent))
    course = truth.courses(latent)
    response = truth.course_responses(course, episode)
    first_remission = episode["start"][1]
    assert response["response"].tolist() == ["complete"]  # a CR episode starts within
    assert response["response_day"].tolist() == [first_remission]  # the PR came first
    assert response["relapses"].tolist() == [1]
    assert response["days"].tolist() == [281]


def test_a_course_starting_in_remission_is_not_evaluable() -> None:
    latent = _latent(400, [(CYCLOSPORINE, 100, 300)], [(0, NEPHROTIC, 6.0), (50, CR, 0.07)])
    episode = truth.episodes(latent, truth.kept_segments(latent))
    response = truth.course_responses(truth.courses(latent), episode)
    assert response["response"].tolist() == ["not_evaluable"]


def test_a_course_shorter_than_60_days_is_not_evaluable() -> None:
    latent = _latent(400, [(CYCLOSPORINE, 10, 68)], [(0, NEPHROTIC, 6.0), (30, CR, 0.07)])
    episode = truth.episodes(latent, truth.kept_segments(latent))
    response = truth.course_responses(truth.courses(latent), episode)
    assert (response["days"].tolist(), response["response"].tolist()) == ([59], ["not_evaluable"])


@pytest.mark.parametrize(
    ("born", "years", "birthday"),
    [
        (dt.date(2012, 2, 29), 18, dt.date(2030, 2, 28)),  # 29 February → 28 February
        (dt.date(2012, 2, 29), 1, dt.date(2013, 2, 28)),
        (dt.date(2010, 7, 15), 18, dt.date(2028, 7, 15)),
        (dt.date(2011, 12, 31), 1, dt.date(2012, 12, 31)),
    ],
)
def test_nth_birthday(born: dt.date, years: int, birthday: dt.date) -> None:
    epoch = dt.date(1970, 1, 1)
    day = np.array([(born - epoch).days])
    assert truth.nth_birthday(day, years).tolist() == [(birthday - epoch).days]


def test_egfr_is_linear_between_knots() -> None:
    latent = _latent(400)
    # knots (0, 120) (100, 120) (200, 60) (400, 40): day 150 → 90; day 300 → 50
    days = np.array([0, 50, 150, 300, 400])
    assert truth.egfr_at(latent, np.zeros(5, dtype=np.int64), days).tolist() == pytest.approx(
        [120, 120, 90, 50, 40]
    )


def _with_events(latent: Latent, events: list[tuple[int, int]]) -> Latent:
    """``latent`` with events (code, day) for its one child."""
    latent.events = {
        "pid": np.zeros(len(events), dtype=np.int64),
        "day": np.array([e[1] for e in events], dtype=np.int64),
        "event": np.array([e[0] for e in events], dtype=np.int64),
    }
    return latent


@pytest.mark.parametrize(
    ("events", "krt", "krt_day", "last_krt"),
    [
        ([], "", -1, ""),
        ([(DIALYSIS, 300)], "dialysis", 300, "dialysis"),
        ([(DIALYSIS, 300), (TRANSPLANT, 500)], "dialysis", 300, "transplant"),
        ([(TRANSPLANT, 200)], "transplant", 200, "transplant"),
        # a failed graft, then dialysis again: the latest is the dialysis
        ([(DIALYSIS, 100), (TRANSPLANT, 200), (DIALYSIS, 350)], "dialysis", 100, "dialysis"),
        ([(LAST_VISIT, 390)], "", -1, ""),
    ],
)
def test_kidney_replacement_is_the_first_krt_event_and_the_stage_follows_the_latest(
    events: list[tuple[int, int]], krt: str, krt_day: int, last_krt: str
) -> None:
    latent = _with_events(_latent(400), events)
    got = truth.kidney_replacement(latent)
    assert (got["krt"][0], got["krt_day"][0], got["last_krt"][0]) == (krt, krt_day, last_krt)


def test_the_truths_last_egfr_is_the_native_kidneys_and_dialysis_is_g5d() -> None:
    # knots (0, 120) (100, 120) (200, 60) (400, 40); dialysis on day 300: egfr_last is the
    # eGFR on day 299 = 60 + (40 − 60) × 99 / 200 = 50.1; the stage G5D.
    csa = [(CYCLOSPORINE, 10, 200)]
    latent = _with_events(_latent(400, csa), [(DIALYSIS, 300)])
    episode = truth.episodes(latent, truth.kept_segments(latent))
    course = truth.courses(latent)
    out = truth.patient_outcomes(
        latent, episode, course, truth.course_responses(course, episode), None
    )
    assert out["egfr_last"][0] == pytest.approx(50.1)
    assert (out["ckd_stage_last"][0], out["krt"][0], out["krt_day"][0]) == ("G5D", "dialysis", 300)
    # No KRT: the stage of the last eGFR (40 on day 400: G3b).
    plain = _with_events(_latent(400, csa), [])
    episode = truth.episodes(plain, truth.kept_segments(plain))
    out = truth.patient_outcomes(
        plain, episode, course, truth.course_responses(course, episode), None
    )
    assert (out["ckd_stage_last"][0], out["krt"][0]) == ("G3b", "")


def test_the_engine_finds_the_truths_kidney_replacement_on_the_demo() -> None:
    # The demo's five children on maintenance dialysis (none transplanted): krt, krt_date and
    # ckd_stage_last (G5D) are read from the events alone, so the engine and the truth agree
    # exactly; egfr_last differs with how sparsely creatinine was observed, as before.
    import pyarrow.csv as pacsv

    from srnskit.cohort import read_cohort
    from srnskit.definitions import load_definitions
    from srnskit.engine import derive
    from srnskit.synth import demo_path

    options = pacsv.ConvertOptions(strings_can_be_null=True)
    true = pacsv.read_csv(demo_path() / "truth" / "patient_outcomes.csv", convert_options=options)
    with read_cohort(demo_path(), today=dt.date(2026, 12, 1)) as cohort:
        got = derive(cohort, load_definitions("kdigo2021")).patient_outcomes
    columns = ["patient_id", "krt", "krt_date"]
    assert got.select(columns).to_pylist() == true.select(columns).to_pylist()
    treated = [r for r in true.to_pylist() if r["krt"] is not None]
    assert len(treated) == 5
    stage = {r["patient_id"]: r["ckd_stage_last"] for r in got.to_pylist()}
    assert {r["patient_id"]: r["ckd_stage_last"] for r in treated} == {
        r["patient_id"]: stage[r["patient_id"]] for r in treated
    }
