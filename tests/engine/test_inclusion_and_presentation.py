"""Inclusion steps 4, 6 and 7 (clinical.md §8), the values at diagnosis (§9) and what the data
cannot support (``Derived.warnings``), on hand-made children."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from srnskit.cohort import read_cohort
from srnskit.definitions import load_definitions
from srnskit.engine import Derived, derive
from srnskit.schema import EXCLUSION_STEPS, EXCLUSION_WORDS
from srnskit.studies import StudyDesign, load_study
from tests.engine.conftest import TODAY, D, outcome_of, upcr, write_cohort


def _derive(
    folder: Path,
    backend: str,
    *,
    definitions: str = "kdigo2021",
    study: StudyDesign | None = None,
    analysis: bool = False,
    **tables: Any,
) -> Derived:
    folder.mkdir()
    write_cohort(folder, **tables)
    with read_cohort(folder, today=TODAY) as cohort:
        return derive(
            cohort,
            load_definitions(definitions),
            engine=backend,
            study=study,
            analysis=analysis,
        )


def _with_period(first: str, last: str) -> StudyDesign:
    study = load_study("seed2023")
    period = (dt.date.fromisoformat(first), dt.date.fromisoformat(last))
    eligibility = study.eligibility.model_copy(update={"study_period": period})
    return study.model_copy(update={"eligibility": eligibility})


# Every child: born 2012-01-01, onset 2020-01-01, nephrotic (UPCR 5 mg/mg) on Jan 1–3.
IDS = ("P1", "P2", "P3", "P4", "P5")
CHILDREN = [(p, "F", "2012-01-01", "2020-01-01") for p in IDS]


def _prednisone(p: str) -> tuple[Any, ...]:
    return (p, "prednisone", "2020-01-02", "2020-01-29", 60, "mg/m2/day", "daily")


def _csa(p: str, end: str) -> tuple[Any, ...]:
    return (p, "cyclosporine", "2020-03-01", end, 150, "mg/m2/day", "daily")


MMF = ("mmf", "2020-06-01", "2020-12-31", 600, "mg/m2/day", "daily")
# Resistant (P1–P3): still nephrotic on Jan 20–22, no CR within 28 days of the course start.
# Sensitive (P4): CR (UPCR 0.1) from Jan 20. P5 has no steroid course: unknown.
MEASUREMENTS = [
    row
    for p in IDS
    for row in upcr(p, "2020-01-01", [5, 5, 5])
    + upcr(p, "2020-01-20", [0.1, 0.1, 0.1] if p == "P4" else [4, 4, 4])
]
TREATMENTS = [
    *(_prednisone(p) for p in ("P1", "P2", "P3", "P4")),
    # P1: cyclosporine + MMF from 2020-06-01 (214 days), follow-up to 2021-12-31: 578 days after.
    _csa("P1", "2021-12-31"),
    ("P1", *MMF),
    # P2: the same combination, follow-up to 2021-03-31: 455 days after onset (the old rule's
    # year) but 303 after the combination's start (2021-03-31 − 2020-06-01): under a year.
    _csa("P2", "2021-03-31"),
    ("P2", *MMF),
    # P3: cyclosporine alone to 2021-03-31: no combination; 455 days after onset, a year.
    _csa("P3", "2021-03-31"),
]


def _reasons(derived: Derived) -> dict[str, str | None]:
    return {o["patient_id"]: o["exclusion_reasons"] for o in derived.patient_outcomes.to_pylist()}


def test_step_4_counts_sensitive_then_unknown_and_step_6_counts_from_the_combination(
    tmp_path: Path, backend: str
) -> None:
    derived = _derive(
        tmp_path / "c", backend, patients=CHILDREN, measurements=MEASUREMENTS, treatments=TREATMENTS
    )
    reasons = _reasons(derived)
    assert reasons["P1"] is None
    assert reasons["P2"] == "followup_under_1y"
    assert reasons["P3"] == "no_combination"  # a year from onset when there is no combination
    assert reasons["P4"].startswith("not_steroid_resistant;")
    assert reasons["P5"].startswith("steroid_response_unknown;")
    assert outcome_of(derived, "P5")["steroid_response"] == "unknown"
    steps = {s["step"]: s["excluded"] for s in derived.flow["steps"]}
    assert [s["step"] for s in derived.flow["steps"]] == list(EXCLUSION_STEPS)
    assert EXCLUSION_STEPS.index("steroid_response_unknown") == (
        EXCLUSION_STEPS.index("not_steroid_resistant") + 1
    )
    # Each child counted once, at its first failing step: 5 − 1 − 1 − 1 − 1 = 1 included.
    assert (steps["not_steroid_resistant"], steps["steroid_response_unknown"]) == (1, 1)
    assert (steps["no_combination"], steps["followup_under_1y"]) == (1, 1)
    assert derived.flow["steps"][-1]["remaining"] == 1
    assert set(EXCLUSION_WORDS) == set(EXCLUSION_STEPS)


def test_outside_period_only_for_a_child_with_a_combination_course(
    tmp_path: Path, backend: str
) -> None:
    tables = {"patients": CHILDREN, "measurements": MEASUREMENTS, "treatments": TREATMENTS}
    before = _derive(
        tmp_path / "a", backend, study=_with_period("2020-01-01", "2020-03-31"), **tables
    )
    reasons = _reasons(before)
    # P1's only combination course starts 2020-06-01, after the period; P3 has none: it fails
    # no_combination, not outside_period.
    assert reasons["P1"] == "outside_period"
    assert reasons["P3"] == "no_combination"
    within = _derive(
        tmp_path / "b", backend, study=_with_period("2020-06-01", "2020-12-31"), **tables
    )
    assert _reasons(within)["P1"] is None


def test_the_values_at_diagnosis_end_before_steroids_act(tmp_path: Path, backend: str) -> None:
    children = [(p, "F", "2012-01-01", "2020-01-10") for p in ("P1", "P2", "P3", "P4")]
    m = [
        # P1: prednisone from Jan 12: window [Jan 3, min(Jan 17, Jan 12 + 2 = Jan 14)].
        ("P1", "2020-01-02", "upcr", 9, "mg/mg"),  # before the window
        ("P1", "2020-01-04", "upcr", 700, "mg/mmol"),  # the mass/mass family comes first
        ("P1", "2020-01-05", "upcr", 4, "mg/mg"),
        ("P1", "2020-01-13", "upcr", 6, "mg/mg"),  # the highest in the window
        ("P1", "2020-01-15", "upcr", 8, "mg/mg"),  # after steroid start + 2
        ("P1", "2020-01-05", "albumin", 20, "g/L"),
        ("P1", "2020-01-14", "albumin", 15, "g/L"),  # the lowest, on the window's last day
        ("P1", "2020-01-16", "albumin", 10, "g/L"),
        ("P1", "2020-01-04", "creatinine", 40, "umol/L"),  # the first
        ("P1", "2020-01-06", "creatinine", 30, "umol/L"),
        # P2: no steroid: window [Jan 3, Jan 17].
        ("P2", "2020-01-17", "creatinine", 50, "umol/L"),
        ("P2", "2020-01-18", "upcr", 7, "mg/mg"),
        # P3: a pulse on Jan 1 (before onset − 7) does not end it; prednisone from Jan 20 is
        # after Jan 17: window [Jan 3, Jan 17].
        ("P3", "2020-01-16", "albumin", 18, "g/L"),
        # P4: prednisolone from Jan 4 (on or after onset − 7): window [Jan 3, Jan 6].
        ("P4", "2020-01-05", "upcr", 3, "mg/mg"),
        ("P4", "2020-01-08", "upcr", 10, "mg/mg"),
    ]
    treatments = [
        ("P1", "prednisone", "2020-01-12", "2020-02-20", 60, "mg/m2/day", "daily"),
        ("P3", "methylprednisolone", "2020-01-01", "2020-01-01", 500, "mg", "single"),
        ("P3", "prednisone", "2020-01-20", "2020-02-20", 60, "mg/m2/day", "daily"),
        ("P4", "prednisolone", "2020-01-04", "2020-02-20", 60, "mg/m2/day", "daily"),
    ]
    derived = _derive(
        tmp_path / "c",
        backend,
        analysis=True,
        patients=children,
        measurements=[(p, D(d), a, v, u) for p, d, a, v, u in m],
        treatments=treatments,
    )
    assert derived.analysis is not None
    rows = {
        (r["patient_id"], r["analyte"]): (r["value"], r["unit"])
        for r in derived.analysis["presentation"].to_pylist()
    }
    assert rows == {
        ("P1", "upcr"): (6.0, "mg/mg"),
        ("P1", "albumin"): (15.0, "g/L"),
        ("P1", "creatinine"): (40.0, "umol/L"),
        ("P2", "creatinine"): (50.0, "umol/L"),
        ("P3", "albumin"): (18.0, "g/L"),
        ("P4", "upcr"): (3.0, "mg/mg"),
    }


def test_the_analysis_reads_the_events_and_which_egfr_is_native(
    tmp_path: Path, backend: str
) -> None:
    child = [("P1", "F", "2012-01-01", "2020-01-01")]
    # eGFR on Jan 1 (native) and on Jul 1 (after the dialysis start of Jun 1: the dialysis's).
    m = [
        ("P1", D(day), analyte, value, unit)
        for day in ("2020-01-01", "2020-07-01")
        for analyte, value, unit in (("creatinine", 100, "umol/L"), ("height", 100, "cm"))
    ]
    events = [("P1", "2020-06-01", "dialysis_start"), ("P1", "2020-12-01", "last_visit")]
    derived = _derive(
        tmp_path / "c", backend, analysis=True, patients=child, measurements=m, events=events
    )
    assert derived.analysis is not None
    egfr = derived.analysis["egfr"].to_pylist()
    assert [(r["date"], r["native"]) for r in egfr] == [
        (D("2020-01-01"), True),
        (D("2020-07-01"), False),
    ]
    assert [(r["date"], r["event"]) for r in derived.analysis["events"].to_pylist()] == [
        (D("2020-06-01"), "dialysis_start"),
        (D("2020-12-01"), "last_visit"),
    ]


@pytest.mark.parametrize(
    ("definitions", "streams"),
    [("seed2023", "24-hour proteinuria"), ("kdigo2021", "UPCR or dipstick")],
)
def test_a_set_with_none_of_its_streams_measured_is_warned_of(
    tmp_path: Path, backend: str, definitions: str, streams: str
) -> None:
    child = [("P1", "F", "2012-01-01", "2020-01-01")]
    # seed2023 reads 24-hour protein, kdigo2021 UPCR and dipstick: give each the other's.
    other = (
        upcr("P1", "2020-01-01", [5, 5, 5])
        if definitions == "seed2023"
        else [("P1", D("2020-01-01"), "uprot_24h", 4, "g/24h")]
    )
    derived = _derive(
        tmp_path / "c", backend, definitions=definitions, patients=child, measurements=other
    )
    assert derived.warnings == (
        f"this cohort has no {streams}: {definitions} cannot classify steroid response",
    )
    measured = _derive(
        tmp_path / "d",
        backend,
        definitions="kdigo2021",
        patients=child,
        measurements=upcr("P1", "2020-01-01", [5]),
    )
    assert measured.warnings == ()


def test_children_with_creatinine_but_no_height_in_reach_are_counted(
    tmp_path: Path, backend: str
) -> None:
    children = [(p, "F", "2012-01-01", "2020-01-01") for p in ("A1", "B2", "C3")]
    m = [
        # A1: creatinine with a height the same day: an eGFR.
        ("A1", D("2020-01-01"), "creatinine", 50, "umol/L"),
        ("A1", D("2020-01-01"), "height", 120, "cm"),
        # B2: the only height 152 days after the creatinine (> 90): no eGFR at all.
        ("B2", D("2020-01-01"), "creatinine", 50, "umol/L"),
        ("B2", D("2020-06-01"), "height", 120, "cm"),
        # C3: an eGFR on Jan 1, none on 2021-01-01 (the height is 366 days before it).
        ("C3", D("2020-01-01"), "creatinine", 50, "umol/L"),
        ("C3", D("2020-01-01"), "height", 120, "cm"),
        ("C3", D("2021-01-01"), "creatinine", 55, "umol/L"),
        *upcr("A1", "2020-01-01", [5]),
    ]
    derived = _derive(tmp_path / "c", backend, patients=children, measurements=m)
    assert derived.warnings == (
        "2 children have creatinine without a height within 90 days of it: eGFR not computed "
        "on those days (1 of them with no eGFR at all)",
    )
    assert not any(p in w for w in derived.warnings for p in ("A1", "B2", "C3"))


def test_children_with_an_egfr_outside_the_equations_ages_are_counted(
    tmp_path: Path, backend: str
) -> None:
    # Bedside Schwartz is validated for ages 1 to 18 (clinical.md §6: compute it but warn). An
    # Nth birthday is the birth date with the year + N, 29 February -> 28 February (§8).
    children = [
        ("E1", "F", "2004-02-29", "2010-01-01"),  # 18 on 2022-02-28: that day is outside
        ("F2", "M", "2004-02-29", "2010-01-01"),  # 2022-02-27: still 17, inside
        ("G3", "F", "2019-06-15", "2020-01-01"),  # 2020-06-14: not yet 1, outside
        ("H4", "M", "2019-06-15", "2020-01-01"),  # 2020-06-15: the first birthday, inside
    ]
    days = {"E1": "2022-02-28", "F2": "2022-02-27", "G3": "2020-06-14", "H4": "2020-06-15"}
    m = [
        row
        for child, day in days.items()
        for row in (
            (child, D(day), "creatinine", 30, "umol/L"),
            (child, D(day), "height", 80 if child in ("G3", "H4") else 170, "cm"),
        )
    ] + upcr("F2", "2010-01-01", [5])
    derived = _derive(tmp_path / "c", backend, patients=children, measurements=m)
    assert derived.warnings == (
        "2 children have an eGFR at an age outside 1 to 18 years, the ages the bedside "
        "Schwartz equation was validated for: computed, but less reliable",
    )
    assert not any(p in w for w in derived.warnings for p in days)
