"""The study file drives the study's rules (clinical.md §8): eligibility, with its optional
calendar period, absent from the shipped seed2023 study."""

from __future__ import annotations

from pathlib import Path

import pytest

from srnskit.studies import load_study
from tests.engine.conftest import outcome_of, upcr
from tests.engine.rules.helpers import derive_analysis, study_with

# Onset 2021-06-01 at 6 years; nephrotic at onset and on 2021-06-15 (a proteinuria day within
# the 28 days of the standard prednisone course, no remission) → initial steroid resistance
# from 2021-06-02 + 28 = 2021-06-30. Cyclosporine + MMF from 2022-01-01 to 2023-03-01: an
# evaluable combination course (425 days ≥ 60) starting in 2022. Follow-up to 2023-03-01:
# 638 days from onset, 424 from the combination's start, a year either way.
CHILD = [("P1", "F", "2015-01-01", "2021-06-01")]
VALUES = (
    upcr("P1", "2021-06-01", [5, 5, 5])
    + upcr("P1", "2021-06-15", [4])
    + upcr("P1", "2023-03-01", [3])
)
TREATMENTS = [
    ("P1", "prednisone", "2021-06-02", "2021-06-29", 60, "mg/m2/day", "daily"),
    ("P1", "cyclosporine", "2022-01-01", "2023-03-01", 150, "mg/m2/day", "daily"),
    ("P1", "mmf", "2022-01-01", "2023-03-01", 600, "mg/m2/day", "daily"),
]


def test_the_shipped_study_has_no_calendar_period() -> None:
    assert load_study("seed2023").eligibility.study_period is None


def test_a_combination_started_in_2022_is_eligible_under_the_shipped_study(
    tmp_path: Path,
) -> None:
    for definitions in ("kdigo2021", "ipna2020"):
        derived = derive_analysis(
            tmp_path / definitions,
            definitions=definitions,
            patients=CHILD,
            measurements=VALUES,
            treatments=TREATMENTS,
        )
        outcome = outcome_of(derived)
        assert (outcome["steroid_response"], outcome["resistance_type"]) == (
            "resistant",
            "initial",
        )
        assert (outcome["eligible"], outcome["exclusion_reasons"]) == (True, None)
        assert derived.flow["steps"][-1]["remaining"] == 1


@pytest.mark.slow
def test_outside_period_only_with_a_study_file_that_sets_one(tmp_path: Path) -> None:
    # The article's period, 2008–2020: the only combination course starts 2022-01-01, outside.
    article = study_with(tmp_path, "eligibility", study_period=["2008-01-01", "2020-12-31"])
    derived = derive_analysis(
        tmp_path / "article",
        study=article,
        patients=CHILD,
        measurements=VALUES,
        treatments=TREATMENTS,
    )
    outcome = outcome_of(derived)
    assert (outcome["eligible"], outcome["exclusion_reasons"]) == (False, "outside_period")
    steps = {s["step"]: s["excluded"] for s in derived.flow["steps"]}
    assert steps["outside_period"] == 1
    # A period that holds 2022-01-01 includes the child again.
    recent = study_with(tmp_path, "eligibility", study_period=["2022-01-01", "2022-12-31"])
    derived = derive_analysis(
        tmp_path / "recent",
        study=recent,
        patients=CHILD,
        measurements=VALUES,
        treatments=TREATMENTS,
    )
    assert outcome_of(derived)["eligible"] is True
    # Without a combination course the step is not failed: no_combination says why.
    alone = [t for t in TREATMENTS if t[1] != "mmf"]
    derived = derive_analysis(
        tmp_path / "alone", study=article, patients=CHILD, measurements=VALUES, treatments=alone
    )
    assert outcome_of(derived)["exclusion_reasons"] == "no_combination"


def test_the_eligibility_thresholds_are_the_study_files(tmp_path: Path) -> None:
    # The same child (onset at 6.4 years) under a study admitting onset before 6 years only.
    young = study_with(tmp_path, "eligibility", max_onset_age_years=6)
    derived = derive_analysis(
        tmp_path / "young", study=young, patients=CHILD, measurements=VALUES, treatments=TREATMENTS
    )
    assert outcome_of(derived)["exclusion_reasons"] == "age_over_18"
