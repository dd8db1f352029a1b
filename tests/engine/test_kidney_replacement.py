"""Kidney replacement therapy (clinical.md §6) on hand-made children: the native kidneys' last
eGFR, krt and krt_date, the stage after the latest KRT event, and acute dialysis that is none."""

from __future__ import annotations

import pytest

from tests.engine.conftest import D, outcome_of

# Onset 2020-01-01 for every child.
CHILDREN = [(p, "F", "2012-01-01", "2020-01-01") for p in ("P1", "P2", "P3", "P4", "P5", "P6")]


def _egfr(patient: str, day: str, egfr: float) -> list[tuple[object, ...]]:
    """Creatinine giving ``egfr`` at height 100 cm measured the same day (bedside Schwartz:
    SCr µmol/L = 0.413 × 100 / eGFR × 88.4, e.g. eGFR 40 → 91.273)."""
    creatinine = round(0.413 * 100 / egfr * 88.4, 3)
    return [
        (patient, D(day), "creatinine", creatinine, "umol/L"),
        (patient, D(day), "height", 100, "cm"),
    ]


def _rows(patient: str, points: list[tuple[str, float]]) -> list[tuple[object, ...]]:
    return [row for day, value in points for row in _egfr(patient, day, value)]


MEASUREMENTS = (
    # P1, dialysis: 40 then 20 before dialysis on 2020-06-01; 9 and 8 on dialysis are the
    # dialysis's values, not the kidneys'.
    _rows("P1", [("2020-01-01", 40), ("2020-05-01", 20), ("2020-07-01", 9), ("2020-11-01", 8)])
    # P2, dialysis from 2020-04-01, transplant 2021-01-01, graft eGFR 85 then 70 (G2).
    + _rows("P2", [("2020-01-01", 30), ("2020-03-01", 12), ("2021-03-01", 85), ("2021-06-01", 70)])
    # P3, pre-emptive transplant on 2020-03-01: native 18, graft 95 (G1).
    + _rows("P3", [("2020-01-01", 18), ("2020-05-01", 95)])
    # P4, dialysis 2020-01-10, transplant 2020-06-01 (graft 50), the graft fails (10), dialysis
    # again on 2021-02-01.
    + _rows("P4", [("2020-01-02", 12), ("2020-08-01", 50), ("2021-01-01", 10)])
    # P5, acute dialysis only: 25, dialysis_acute on 2020-01-05, recovered to 70.
    + _rows("P5", [("2020-01-01", 25), ("2020-03-01", 70)])
    # P6, transplant with no eGFR after it.
    + _rows("P6", [("2020-01-01", 14)])
)
EVENTS = [
    ("P1", "2020-06-01", "dialysis_start"),
    ("P2", "2020-04-01", "dialysis_start"),
    ("P2", "2021-01-01", "transplant"),
    ("P3", "2020-03-01", "transplant"),
    ("P4", "2020-01-10", "dialysis_start"),
    ("P4", "2020-06-01", "transplant"),
    ("P4", "2021-02-01", "dialysis_start"),
    ("P5", "2020-01-05", "dialysis_acute"),
    ("P6", "2020-02-01", "transplant"),
]


def _derived(derive_cohort):  # type: ignore[no-untyped-def]
    return derive_cohort(patients=CHILDREN, measurements=MEASUREMENTS, events=EVENTS)


def test_a_dialysed_child_keeps_her_native_last_egfr_and_is_g5d(derive_cohort) -> None:
    p1 = outcome_of(_derived(derive_cohort), "P1")
    # egfr_last: 20 (2020-05-01), the last before dialysis; 9 and 8 are on dialysis.
    assert (p1["egfr_first"], p1["egfr_last"]) == (
        pytest.approx(40, abs=0.01),
        pytest.approx(20, abs=0.01),
    )
    assert (p1["krt"], p1["krt_date"], p1["ckd_stage_last"]) == (
        "dialysis",
        D("2020-06-01"),
        "G5D",
    )
    # Kidney failure: the dialysis start (20 is not below 15); severe CKD from 2020-01-01 (40,
    # and 20 on 2020-05-01, the first eGFR after 2020-01-01 + 90 = 2020-03-31, still < 60).
    assert (p1["kidney_failure_date"], p1["severe_ckd_date"]) == (D("2020-06-01"), D("2020-01-01"))


def test_after_a_transplant_the_stage_is_the_grafts_last_with_t(derive_cohort) -> None:
    derived = _derived(derive_cohort)
    p2 = outcome_of(derived, "P2")
    # Native last: 12 (2020-03-01). Latest KRT: the transplant; the graft's last eGFR 70: G2T.
    assert p2["egfr_last"] == pytest.approx(12, abs=0.01)
    assert (p2["krt"], p2["krt_date"], p2["ckd_stage_last"]) == (
        "dialysis",
        D("2020-04-01"),
        "G2T",
    )
    p3 = outcome_of(derived, "P3")  # pre-emptive: the transplant is the first KRT; graft 95
    assert (p3["krt"], p3["krt_date"], p3["ckd_stage_last"]) == (
        "transplant",
        D("2020-03-01"),
        "G1T",
    )
    assert (p3["egfr_last"], p3["kidney_failure_date"]) == (
        pytest.approx(18, abs=0.01),
        D("2020-03-01"),
    )
    p6 = outcome_of(derived, "P6")  # no eGFR after the transplant: no stage
    assert (p6["krt"], p6["ckd_stage_last"], p6["egfr_last"]) == (
        "transplant",
        None,
        pytest.approx(14, abs=0.01),
    )


def test_dialysis_after_a_failed_graft_is_g5d(derive_cohort) -> None:
    p4 = outcome_of(_derived(derive_cohort), "P4")
    # First KRT: the dialysis of 2020-01-10; the latest: the dialysis of 2021-02-01 → G5D. The
    # native last is 12 (2020-01-02); the graft's 50 and 10 are not the native kidneys'.
    assert (p4["krt"], p4["krt_date"], p4["ckd_stage_last"]) == (
        "dialysis",
        D("2020-01-10"),
        "G5D",
    )
    assert (p4["egfr_first"], p4["egfr_last"]) == (
        pytest.approx(12, abs=0.01),
        pytest.approx(12, abs=0.01),
    )
    assert p4["kidney_failure_date"] == D("2020-01-10")


def test_acute_dialysis_is_neither_krt_nor_kidney_failure(derive_cohort) -> None:
    p5 = outcome_of(_derived(derive_cohort), "P5")
    assert (p5["krt"], p5["krt_date"], p5["kidney_failure_date"]) == (None, None, None)
    # The last eGFR, 70 (after the acute dialysis, which is not KRT): G2.
    assert (p5["egfr_last"], p5["ckd_stage_last"]) == (pytest.approx(70, abs=0.01), "G2")


def test_a_dialysis_and_a_transplant_on_one_day_are_the_dialysis_then_the_graft(
    derive_cohort,
) -> None:
    child = [("P1", "F", "2012-01-01", "2020-01-01")]
    rows = _rows("P1", [("2020-01-01", 13), ("2020-04-01", 75)])
    events = [("P1", "2020-02-01", "transplant"), ("P1", "2020-02-01", "dialysis_start")]
    p1 = outcome_of(derive_cohort(patients=child, measurements=rows, events=events))
    # krt: the dialysis (first on the day); latest: the transplant; graft eGFR 75 → G2T.
    assert (p1["krt"], p1["krt_date"], p1["ckd_stage_last"]) == (
        "dialysis",
        D("2020-02-01"),
        "G2T",
    )
