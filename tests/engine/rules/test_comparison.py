"""The study's compared courses and the year of follow-up (clinical.md §8, changed 2026-11-30),
decided in the engine from the study file; every expected value worked out by hand."""

from __future__ import annotations

from pathlib import Path

import pytest

from srnskit.engine import Derived
from tests.engine.conftest import outcome_of, upcr
from tests.engine.rules.helpers import derive_analysis, study_with

# Onset 2021-06-01; nephrotic at onset and on 2021-06-15 (within the 28 days of the standard
# prednisone course, no remission): initial steroid resistance. Then cyclosporine alone from
# 2021-07-01 to 2021-12-31 (course 1, 184 days, evaluable; UPCR 4 mg/mg on 2021-09-01: no
# remission, response none) and cyclosporine + MMF from 2022-01-01 to 2023-03-01 (course 2,
# 425 days; UPCR 4 on 2022-06-01: response none). Last follow-up 2023-03-01: 638 days after
# onset, 424 after the combination's start.
CHILD = [("P1", "F", "2015-01-01", "2021-06-01")]
VALUES = (
    upcr("P1", "2021-06-01", [5, 5, 5])
    + upcr("P1", "2021-06-15", [4])
    + upcr("P1", "2021-09-01", [4])
    + upcr("P1", "2022-06-01", [4])
    + upcr("P1", "2023-03-01", [3])
)
PREDNISONE = ("P1", "prednisone", "2021-06-02", "2021-06-29", 60, "mg/m2/day", "daily")
TREATMENTS = [
    PREDNISONE,
    ("P1", "cyclosporine", "2021-07-01", "2023-03-01", 150, "mg/m2/day", "daily"),
    ("P1", "mmf", "2022-01-01", "2023-03-01", 600, "mg/m2/day", "daily"),
]


def compared(derived: Derived) -> list[tuple[str, int, str]]:
    return [
        (r["patient_id"], r["course_no"], r["group"]) for r in derived.compared_courses.to_pylist()
    ]


def test_the_comparison_and_the_combination_each_take_the_first_course_of_their_kind(
    tmp_path: Path,
) -> None:
    derived = derive_analysis(tmp_path, patients=CHILD, measurements=VALUES, treatments=TREATMENTS)
    courses = [(r["course_no"], r["regimen"], r["response"]) for r in derived.courses.to_pylist()]
    assert courses == [(1, "cyclosporine", "none"), (2, "cyclosporine+mmf", "none")]
    assert outcome_of(derived)["eligible"] is True
    assert compared(derived) == [("P1", 2, "combined"), ("P1", 1, "comparison")]
    assert derived.flow["study"] == "seed2023"


@pytest.mark.slow
def test_the_compared_regimen_and_the_number_of_agents_are_the_study_files(
    tmp_path: Path,
) -> None:
    mmf = study_with(tmp_path, "comparison", regimen="mmf")
    derived = derive_analysis(
        tmp_path / "mmf", study=mmf, patients=CHILD, measurements=VALUES, treatments=TREATMENTS
    )
    assert compared(derived) == [("P1", 2, "combined")]  # nobody had MMF alone
    # Three agents at once: the two-drug course is no combination, the child fails step 5 only,
    # so stays in the comparison group (steps 1–4 and 6 passed).
    three = study_with(tmp_path, "eligibility", combination_min_agents=3)
    derived = derive_analysis(
        tmp_path / "three", study=three, patients=CHILD, measurements=VALUES, treatments=TREATMENTS
    )
    assert outcome_of(derived)["exclusion_reasons"] == "no_combination"
    assert compared(derived) == [("P1", 1, "comparison")]


def test_the_year_of_follow_up_counts_from_the_first_combination_course(tmp_path: Path) -> None:
    # MMF joins on 2022-06-01 instead: the combination course runs 2022-06-01 to 2023-03-01
    # (274 days, evaluable), and follow-up after its start is 2023-03-01 − 2022-06-01 = 273 days
    # < 365, although 638 days have passed since onset.
    late = [*TREATMENTS[:2], ("P1", "mmf", "2022-06-01", "2023-03-01", 600, "mg/m2/day", "daily")]
    derived = derive_analysis(tmp_path, patients=CHILD, measurements=VALUES, treatments=late)
    outcome = outcome_of(derived)
    assert outcome["followup_days"] == 638
    assert (outcome["eligible"], outcome["exclusion_reasons"]) == (False, "followup_under_1y")
    # Not included, and step 6 failed: in neither group.
    assert compared(derived) == []
    # Without a combination course the year counts from onset: 638 days, step 6 passed.
    alone = TREATMENTS[:2]
    derived = derive_analysis(
        tmp_path / "alone", patients=CHILD, measurements=VALUES, treatments=alone
    )
    assert outcome_of(derived)["exclusion_reasons"] == "no_combination"
    assert compared(derived) == [("P1", 1, "comparison")]
