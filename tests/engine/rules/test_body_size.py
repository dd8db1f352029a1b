"""The one weight rule (clinical.md §1) and the height window read from the study file (§6),
on hand-made children: exposures' body size, 24-hour protein in mg/kg, the standard dose's BSA."""

from __future__ import annotations

from pathlib import Path

import pytest

from srnskit.constants import WEIGHT_WITHIN_DAYS
from tests.engine.conftest import outcome_of, upcr
from tests.engine.rules.helpers import D, derive_analysis, rows, study_with

CHILD = [("P1", "F", "2014-01-01", "2020-01-01")]
# An ongoing course from 2021-03-01: its start is the day the body size is looked up for.
MMF = ("P1", "mmf", "2021-03-01", "", 600, "mg/m2/day", "daily")


def _weight(**tables):  # type: ignore[no-untyped-def]
    derived = derive_analysis(**tables)
    return rows(derived, "exposures", "drug", "weight_kg")


def test_the_weight_window_is_365_days() -> None:
    assert WEIGHT_WITHIN_DAYS == 365


def test_a_weight_beyond_365_days_before_gives_way_to_one_within_365_after(
    tmp_path: Path,
) -> None:
    # 2020-01-01 is 425 days before 2021-03-01 (366 to 2021-01-01, + 31 + 28): out of reach.
    # 2021-12-01 is 275 days after (31+30+31+30+31+31+30+31+30 = 275): the earliest within 365
    # after → 32 kg. Before the fix (any distance) the 425-day-old 30 kg was taken.
    weights = [("P1", "2020-01-01", "weight", 30, "kg"), ("P1", "2021-12-01", "weight", 32, "kg")]
    found = _weight(folder=tmp_path / "c", patients=CHILD, measurements=weights, treatments=[MMF])
    assert found == [("mmf", 32.0)]


def test_the_latest_within_365_before_wins_over_a_nearer_one_after(tmp_path: Path) -> None:
    # 2020-03-02 → 2021-03-01 = 364 days (the year from 2 March 2020 holds no 29 February, so
    # 2021-03-02 would be 365): on or before and within reach → 25 kg, though 26 kg is one
    # day after.
    weights = [("P1", "2020-03-02", "weight", 25, "kg"), ("P1", "2021-03-02", "weight", 26, "kg")]
    found = _weight(folder=tmp_path / "c", patients=CHILD, measurements=weights, treatments=[MMF])
    assert found == [("mmf", 25.0)]


def test_exactly_365_days_is_within_reach_and_366_is_not(tmp_path: Path) -> None:
    # 2020-03-01 → 2021-03-01 = 365 days (the year from 1 March 2020 holds no 29 February):
    # within. 2022-03-02 is 366 days after 2021-03-01: out of reach, not needed anyway.
    at_limit = [("P1", "2020-03-01", "weight", 24, "kg"), ("P1", "2022-03-02", "weight", 28, "kg")]
    found = _weight(folder=tmp_path / "a", patients=CHILD, measurements=at_limit, treatments=[MMF])
    assert found == [("mmf", 24.0)]
    # 2020-02-29 → 2021-03-01 = 366 days; 2022-03-02 is 366 days after: no weight at all.
    beyond = [("P1", "2020-02-29", "weight", 24, "kg"), ("P1", "2022-03-02", "weight", 28, "kg")]
    found = _weight(folder=tmp_path / "b", patients=CHILD, measurements=beyond, treatments=[MMF])
    assert found == [("mmf", None)]


def test_24_hour_protein_in_mg_kg_needs_a_weight_within_365_days(tmp_path: Path) -> None:
    # seed2023: nephrotic = uprot_24h ≥ 50 mg/kg/24h on 3 consecutive days; complete remission
    # ≤ 0.3 g/24h with albumin ≥ 35. Onset 2020-01-01 nephrotic (3.0 g/24h ÷ 20 kg = 150 mg/kg),
    # CR from 2020-02-01, then 1.2 g/24h on 2021-06-01..03: with 20 kg = 60 mg/kg ≥ 50 →
    # a relapse. The only weight is 2020-01-01, 517 days before 2021-06-01 (366 + 151): out of
    # reach, so those days have no weight, are not nephrotic, and there is no relapse (before
    # the fix, the 517-day-old weight made one).
    values = (
        [("P1", f"2020-01-0{d}", "uprot_24h", 3.0, "g/24h") for d in (1, 2, 3)]
        + [("P1", f"2020-02-0{d}", "uprot_24h", 0.1, "g/24h") for d in (1, 2, 3)]
        + [("P1", f"2020-02-0{d}", "albumin", 40, "g/L") for d in (1, 2, 3)]
        + [("P1", f"2021-06-0{d}", "uprot_24h", 1.2, "g/24h") for d in (1, 2, 3)]
        + [("P1", "2020-01-01", "weight", 20, "kg")]
    )
    derived = derive_analysis(
        tmp_path / "old", definitions="seed2023", patients=CHILD, measurements=values
    )
    assert rows(derived, "relapses", "start_date") == []
    assert [e["state"] for e in derived.episodes.to_pylist()] == [
        "nephrotic",
        "complete_remission",
    ]
    # A weight of 20 kg on 2021-01-01 (151 days before) is within reach: the relapse is found.
    recent = [*values, ("P1", "2021-01-01", "weight", 20, "kg")]
    derived = derive_analysis(
        tmp_path / "recent", definitions="seed2023", patients=CHILD, measurements=recent
    )
    assert rows(derived, "relapses", "start_date") == [(D("2021-06-01"),)]


def test_the_height_window_is_the_study_files_for_egfr_and_exposures(tmp_path: Path) -> None:
    # Height 120 cm on 2021-01-30, creatinine 60 µmol/L on 2021-03-01 (30 days later) and an
    # MMF start that day. Bedside Schwartz: 0.413 × 120 / (60 / 88.4 mg/dL) = 73.018 mL/min/1.73
    # m².
    values = [
        ("P1", "2021-01-30", "height", 120, "cm"),
        ("P1", "2021-03-01", "creatinine", 60, "umol/L"),
    ]
    tables = dict(patients=CHILD, measurements=values, treatments=[MMF])
    shipped = derive_analysis(tmp_path / "shipped", **tables)  # height_within_days = 90
    [(day, height, egfr)] = rows(shipped, "egfr", "date", "height_cm", "egfr")
    assert (day, height, egfr) == (D("2021-03-01"), 120.0, pytest.approx(73.018, abs=1e-3))
    assert rows(shipped, "exposures", "height_cm") == [(120.0,)]
    assert outcome_of(shipped)["egfr_first"] == pytest.approx(73.018, abs=1e-3)
    # A study whose window is 29 days: the height is 30 days away, so no eGFR, no height.
    narrow = study_with(tmp_path, "kidney", height_within_days=29)
    derived = derive_analysis(tmp_path / "narrow", study=narrow, **tables)
    assert rows(derived, "egfr", "egfr") == []
    assert rows(derived, "exposures", "height_cm") == [(None,)]
    assert outcome_of(derived)["egfr_first"] is None


def test_the_standard_doses_bsa_reads_the_height_window_of_the_study(tmp_path: Path) -> None:
    # Prednisone 50 mg/day from 2020-01-02; weight 26 kg and height 90 cm on 2019-11-03 (60 days
    # before). mg/kg = 50/26 = 1.92 < 2 and 50 < 60 mg/day; BSA = √(90 × 26 / 3600) = √0.65 =
    # 0.806 m², so 50 / 0.806 = 62.0 mg/m²/day ≥ 60: standard only with the height in reach.
    # Onset nephrotic (UPCR 5 × 3), complete remission from 2020-01-15: sensitive.
    values = (
        upcr("P1", "2020-01-01", [5, 5, 5])
        + upcr("P1", "2020-01-15", [0.1, 0.1, 0.1])
        + [("P1", "2019-11-03", "weight", 26, "kg"), ("P1", "2019-11-03", "height", 90, "cm")]
    )
    course = ("P1", "prednisone", "2020-01-02", "2020-01-29", 50, "mg/day", "daily")
    tables = dict(patients=CHILD, measurements=values, treatments=[course])
    shipped = derive_analysis(tmp_path / "shipped", **tables)  # height within 90 days
    assert outcome_of(shipped)["steroid_response"] == "sensitive"
    # Height within 59 days only: no BSA, the course is not standard → no standard course near
    # onset → steroid response unknown.
    narrow = study_with(tmp_path, "kidney", height_within_days=59)
    assert outcome_of(derive_analysis(tmp_path / "narrow", study=narrow, **tables))[
        "steroid_response"
    ] == ("unknown")
