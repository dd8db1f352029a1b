"""Home dipstick diaries: which days a family reads, how many it misses, what the strip shows."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.csv as pacsv
import pytest

from srnskit.errors import DefinitionError
from srnskit.synth.diary import (
    FAMILY_WINDOW_DAYS,
    confirm_relapses,
    diary_days,
    expand,
    read_dipsticks,
    true_band,
)
from srnskit.synth.generate import generate_chunk, write_synthetic_cohort
from srnskit.synth.latent import CR, NEPHROTIC, PREDNISONE, Latent
from srnskit.synth.model import simulate
from srnskit.synth.profile import Diary, load_profile

SEED2023 = load_profile("seed2023")
assert SEED2023.diary is not None
DIARY = SEED2023.diary
CLINIC_ONLY = SEED2023.model_copy(update={"diary": DIARY.model_copy(update={"enabled": False})})


def _diary(**changes: Any) -> Diary:
    return DIARY.model_copy(update=changes)


def _children(n: int, end: int, segments: list[tuple[int, int]]) -> Latent:
    """``n`` identical children: one daily prednisone course on days 0–27, follow-up to ``end``,
    the given (state, onset_day) segments; nothing else."""
    zeros = np.zeros(n, dtype=np.int64)
    pid = np.repeat(np.arange(n), len(segments))
    state = np.tile([s for s, _ in segments], n)
    onset = np.tile([d for _, d in segments], n)
    latent = Latent(
        n=n, category=zeros, male=zeros.astype(bool), centre_b=zeros.astype(bool), onset=zeros,
        birth=zeros - 2000, end=np.full(n, end), family_history=zeros.astype(bool),
        secondary_cause=zeros - 1, histology=zeros - 1, biopsy_day=zeros,
        genetic_testing=zeros.astype(bool), monogenic=zeros.astype(bool), resistance=zeros,
        resistance_day=zeros - 1, height_z=zeros.astype(float), weight_z=zeros.astype(float),
        egfr_knots_day=np.zeros((n, 4)), egfr_knots=np.zeros((n, 4)),
        kidney_failure_day=zeros - 1, severe_ckd_day=zeros - 1, transplant_day=zeros - 1,
    )  # fmt: skip
    latent.treatments = {
        "pid": np.arange(n), "drug": np.full(n, PREDNISONE), "start": zeros,
        "end": zeros + 27, "dose": np.full(n, 60.0), "schedule": zeros,
    }  # fmt: skip
    latent.segments = {"pid": pid, "day": onset, "state": state, "onset_day": onset}
    return latent


def test_expand_reads_every_day_or_a_few_days_a_week() -> None:
    pid, day = expand(np.array([0, 1, 2]), np.array([0, 10, 5]), np.array([3, 24, 4]), 7)
    assert pid.tolist() == [0, 0, 0, 0] + [1] * 15  # days 0–3, 10–24; 5 → 4 is empty
    assert day.tolist()[:4] == [0, 1, 2, 3]
    _, day = expand(np.array([0]), np.array([100]), np.array([114]), 2)
    # ⌊k × 7 / 2⌋ for k = 0 … ⌊14 × 2 / 7⌋ = 4: 0, 3, 7, 10, 14
    assert (day - 100).tolist() == [0, 3, 7, 10, 14]


# A family that never misses a day (adherence ≈ 1) and keeps a diary.
FAITHFUL = {"no_diary": 0.0, "adherence_mean": 0.9999, "adherence_sd": 0.00001}


def test_a_28_day_course_gives_28_diary_days_when_nothing_else_is_read() -> None:
    latent = _children(1, 400, [(NEPHROTIC, 0), (CR, 12)])
    only_course = _diary(after_course_days=0, routine_per_week=0, **FAITHFUL)
    _, day, _ = diary_days(latent, latent.segments, only_course, np.random.default_rng(1))
    assert day.tolist() == list(range(28))  # days 0–27, the course, none missed
    # Two weeks after it as well: days 0–41.
    after = _diary(after_course_days=14, routine_per_week=0, **FAITHFUL)
    _, day, _ = diary_days(latent, latent.segments, after, np.random.default_rng(1))
    assert day.tolist() == list(range(42))


def test_routine_readings_and_a_relapse_until_its_remission_is_confirmed() -> None:
    # Relapse from day 100 (nephrotic), complete remission from day 124: daily 100 … 124 + 3.
    latent = _children(1, 400, [(NEPHROTIC, 0), (CR, 12), (NEPHROTIC, 100), (CR, 124)])
    diary = _diary(after_course_days=0, routine_per_week=2, routine_years=1, **FAITHFUL)
    _, day, _ = diary_days(latent, latent.segments, diary, np.random.default_rng(1))
    routine = {k * 7 // 2 for k in range(365 * 2 // 7 + 1)}  # twice a week, days 0 … 364
    expected = sorted(set(range(28)) | set(range(100, 128)) | routine)
    # 28 course days + 28 relapse days + 105 routine days − 8 routine days within the course
    # (0, 3, … 24) − 8 within the relapse (101, 105, 108, 112, 115, 119, 122, 126) = 145
    assert len(expected) == 145
    assert day.tolist() == expected


def test_missed_days_follow_the_adherence_and_some_families_keep_no_diary() -> None:
    latent = _children(4000, 400, [(NEPHROTIC, 0), (CR, 12)])
    diary = _diary(after_course_days=0, routine_per_week=0, no_diary=0.05, adherence_mean=0.8)
    pid, _, _ = diary_days(latent, latent.segments, diary, np.random.default_rng(7))
    per_child = np.bincount(pid, minlength=4000)
    # 5% keep no diary; the others record 80% of their 28 days on average (22.4 days).
    assert abs((per_child == 0).mean() - 0.05) < 0.015
    assert abs(per_child[per_child > 0].mean() / 28 - 0.80) < 0.01


def test_the_same_seed_gives_the_same_diaries() -> None:
    latent = _children(50, 400, [(NEPHROTIC, 0), (CR, 12)])
    first = diary_days(latent, latent.segments, DIARY, np.random.default_rng(3))
    second = diary_days(latent, latent.segments, DIARY, np.random.default_rng(3))
    assert all(np.array_equal(a, b, equal_nan=True) for a, b in zip(first, second, strict=True))


@pytest.mark.parametrize(
    ("upcr", "row"),
    [
        (0.07, "misread_complete_range"),
        (0.8, "misread_between"),
        (6.0, "misread_nephrotic_range"),
    ],
)
def test_the_strip_misreads_each_band_at_the_profiles_rates(upcr: float, row: str) -> None:
    n = 200_000
    reading = read_dipsticks(np.full(n, upcr), DIARY, np.random.default_rng(5))
    read = true_band(np.where(reading <= 0.5, 0.0, np.where(reading >= 3, 9.0, 1.0)))
    shares = np.bincount(read, minlength=3) / n
    # The standard error of a share at n = 200,000 is ≤ 0.0012; 0.005 is four of them.
    assert np.allclose(shares, getattr(DIARY, row), atol=0.005)
    assert set(np.unique(reading)) <= {0.0, 0.5, 1.0, 2.0, 3.0, 4.0}


def test_a_misclassification_row_must_sum_to_one(tmp_path: Path) -> None:
    from importlib import resources

    text = resources.files("srnskit.synth").joinpath("profiles/seed2023.toml").read_text()
    old = "misread_between = [0.10, 0.81, 0.09]"
    assert old in text
    path = tmp_path / "mine.toml"
    path.write_text(text.replace(old, "misread_between = [0.10, 0.81, 0.19]"))
    with pytest.raises(DefinitionError, match="misread_between must be three probabilities"):
        load_profile(path)


def test_diaries_add_dipsticks_and_change_nothing_else() -> None:
    diary = generate_chunk(SEED2023, 300, np.random.default_rng(9), 1)
    clinic = generate_chunk(CLINIC_ONLY, 300, np.random.default_rng(9), 1)
    for name, table in clinic.truth.items():
        assert diary.truth[name].equals(table), name
    for name in ("patients", "treatments", "adverse_events", "events"):
        assert diary.cohort[name].equals(clinic.cohort[name]), name
    d = diary.cohort["measurements"].to_pandas()
    c = clinic.cohort["measurements"].to_pandas()
    other = ["patient_id", "date", "analyte", "value", "unit"]
    assert (
        d[d.analyte != "dipstick"][other]
        .reset_index(drop=True)
        .equals(c[c.analyte != "dipstick"][other].reset_index(drop=True))
    )
    # Clinic only: a dipstick every other day for 4 days from a daily steroid course (2 each).
    assert (d.analyte == "dipstick").sum() > 20 * (c.analyte == "dipstick").sum()


def test_a_diary_cohort_is_the_same_for_a_seed(tmp_path: Path) -> None:
    for name in ("a", "b"):
        write_synthetic_cohort(tmp_path / name, profile=SEED2023, patients=120, seed=4)
    first = pacsv.read_csv(tmp_path / "a" / "measurements.csv").to_pandas()
    assert first.equals(pacsv.read_csv(tmp_path / "b" / "measurements.csv").to_pandas())
    assert (first.analyte == "dipstick").sum() > 1000


def test_a_family_confirms_a_relapse_on_its_third_reading_of_3_plus_or_not_at_all() -> None:
    first_day = np.array([100, 200])
    every_day = np.array([1.0, 1.0], dtype=np.float32)
    # Every nephrotic-range strip reads ≥ 3+: days 100, 101, 102 → confirmed on day 102.
    sure = _diary(misread_nephrotic_range=[0.0, 0.0, 1.0])
    day, value = confirm_relapses(first_day, every_day, sure, np.random.default_rng(1))
    assert day.tolist() == [102, 202]
    assert value.shape == (2, FAMILY_WINDOW_DAYS)
    assert set(np.unique(value)) <= {3.0, 4.0}
    # Every strip misread 1+/2+: no run of three in the window.
    never = _diary(misread_nephrotic_range=[0.0, 1.0, 0.0])
    day, value = confirm_relapses(first_day, every_day, never, np.random.default_rng(1))
    assert day.tolist() == [-1, -1]
    assert set(np.unique(value)) <= {1.0, 2.0}
    # A family that records nothing confirms nothing; every day is missed (NaN).
    day, value = confirm_relapses(
        first_day, np.zeros(2, np.float32), sure, np.random.default_rng(1)
    )
    assert day.tolist() == [-1, -1]
    assert np.isnan(value).all()


def test_a_missed_day_neither_counts_nor_breaks_the_familys_run() -> None:
    # Half the days recorded, every strip ≥ 3+: the third recorded day confirms, whatever the
    # gaps (clinical.md §1: runs of consecutive proteinuria days, not calendar days).
    sure = _diary(misread_nephrotic_range=[0.0, 0.0, 1.0])
    half = np.full(500, 0.5, dtype=np.float32)
    day, value = confirm_relapses(np.zeros(500, np.int64), half, sure, np.random.default_rng(2))
    recorded = ~np.isnan(value)
    third = np.argmax(np.cumsum(recorded, axis=1) >= 3, axis=1)
    confirmed = day >= 0
    assert confirmed.mean() > 0.99  # P(fewer than 3 of 30 recorded at ½) ≈ 4e-7 per family
    assert (day[confirmed] == third[confirmed]).all()


def test_the_familys_own_readings_are_written_as_they_were() -> None:
    # Relapse from day 100; the disease model read days 100–102 (101 missed) before its course.
    latent = _children(1, 400, [(NEPHROTIC, 0), (CR, 12), (NEPHROTIC, 100), (CR, 124)])
    latent.family_readings = {
        "pid": np.array([0, 0, 0]),
        "day": np.array([100, 101, 102]),
        "value": np.array([3.0, np.nan, 1.0]),
    }
    diary = _diary(after_course_days=0, routine_per_week=0, **FAITHFUL)
    _, day, reading = diary_days(latent, latent.segments, diary, np.random.default_rng(1))
    got = dict(zip(day.tolist(), reading.tolist(), strict=True))
    # Course days 0–27 and relapse days 100 … 127 (124 + 3) are read; 101 stays missed, 100 and
    # 102 keep the family's values, every other day is left for the strip (NaN).
    assert sorted(got) == sorted(set(range(28)) | set(range(100, 128)) - {101})
    assert (got[100], got[102]) == (3.0, 1.0)
    assert np.isnan([v for d, v in got.items() if d not in (100, 102)]).all()


@pytest.mark.slow
def test_a_relapse_course_starts_once_the_familys_diary_has_confirmed_it() -> None:
    latent = simulate(SEED2023, 2000, np.random.default_rng(5))
    f = latent.family_readings
    assert latent.diary_adherence is not None
    assert len(f["pid"]) > 1000
    # Readings within follow-up (sorted by child and day). Each family window ends the day
    # before its course or on its confirming reading; a
    # course the family confirmed starts at most 2 days (relapse_treatment_delay_days 0 + 0–2)
    # after its third consecutive ≥ 3+ recorded reading.
    t = latent.treatments
    daily = (t["drug"] == PREDNISONE) & (t["schedule"] == 0)
    starts = set(zip(t["pid"][daily].tolist(), t["start"][daily].tolist(), strict=True))
    order = np.lexsort((f["day"], f["pid"]))
    pid, day, value = f["pid"][order].astype(int), f["day"][order].astype(int), f["value"][order]
    window = np.r_[True, (pid[1:] != pid[:-1]) | (day[1:] != day[:-1] + 1)]
    checked = 0
    bounds = np.r_[np.flatnonzero(window), len(pid)]
    for first, last in itertools.pairwise(bounds):
        run, confirmed = 0, -1
        for d, v in zip(day[first:last], value[first:last], strict=True):
            if not np.isnan(v):
                run = run + 1 if v >= 3 else 0
            if run >= 3 and confirmed < 0:
                confirmed = d
        if 0 <= confirmed <= latent.end[pid[first]] - 2:  # its course within follow-up
            after = {s for p, s in starts if p == pid[first] and 0 <= s - confirmed <= 2}
            assert after, (pid[first], confirmed)
            checked += 1
    assert checked > 500
