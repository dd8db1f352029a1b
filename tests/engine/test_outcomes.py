"""Courses and patient outcomes on hand-made patients (clinical.md §4–§6, §8)."""

from __future__ import annotations

import datetime as dt

from tests.engine.conftest import D, outcome_of, upcr

CHILD = [("P1", "F", "2015-01-01", "2020-01-01")]
ONSET_NEPHROTIC = upcr("P1", "2020-01-01", [5, 5, 5])
PREDNISONE = ("P1", "prednisone", "2020-01-02", "2020-01-29", 60, "mg/m2/day", "daily")


def _courses(derived):  # type: ignore[no-untyped-def]
    return [
        (c["regimen"], c["start_date"], c["end_date"], c["response"])
        for c in derived.courses.to_pylist()
    ]


def test_steroid_sensitive_when_complete_remission_starts_within_28_days(derive_cohort) -> None:
    values = ONSET_NEPHROTIC + upcr("P1", "2020-01-20", [0.1, 0.1, 0.1])
    outcome = outcome_of(
        derive_cohort(patients=CHILD, measurements=values, treatments=[PREDNISONE])
    )
    assert (outcome["steroid_response"], outcome["resistance_type"]) == ("sensitive", None)


def test_initial_resistance_dates_from_course_start_plus_28(derive_cohort) -> None:
    # Course from Jan 2; no CR by Jan 30 (CR starts Feb 5): resistant from Jan 2 + 28 = Jan 30.
    values = (
        ONSET_NEPHROTIC
        + upcr("P1", "2020-01-20", [4, 4, 4])
        + upcr("P1", "2020-02-05", [0.1, 0.1, 0.1])
    )
    outcome = outcome_of(
        derive_cohort(patients=CHILD, measurements=values, treatments=[PREDNISONE])
    )
    assert (
        outcome["steroid_response"],
        outcome["resistance_type"],
        outcome["resistance_date"],
    ) == ("resistant", "initial", D("2020-01-30"))


def test_ipna_confirmation_period_for_a_partial_responder(derive_cohort) -> None:
    # Partial remission from Jan 20 (in PR on day 28, Jan 30); complete from Feb 8, within 42
    # days (Feb 13): IPNA late responder = sensitive; KDIGO (no confirmation period) = resistant.
    values = (
        upcr("P1", "2020-01-01", [4, 4, 4])
        + upcr("P1", "2020-01-20", [1.0, 1.0, 1.0])
        + upcr("P1", "2020-02-08", [0.1, 0.1, 0.1])
    )
    tables = dict(patients=CHILD, measurements=values, treatments=[PREDNISONE])
    assert outcome_of(derive_cohort("ipna2020", **tables))["steroid_response"] == "sensitive"
    kdigo = outcome_of(derive_cohort("kdigo2021", **tables))
    assert (kdigo["steroid_response"], kdigo["resistance_date"]) == ("resistant", D("2020-01-30"))


def test_ipna_partial_responder_without_remission_by_day_42_is_resistant_from_day_42(
    derive_cohort,
) -> None:
    values = (
        upcr("P1", "2020-01-01", [4, 4, 4])
        + upcr("P1", "2020-01-20", [1.0, 1.0, 1.0])
        + upcr("P1", "2020-02-20", [1.0])  # still partial; follow-up goes on
    )
    outcome = outcome_of(
        derive_cohort("ipna2020", patients=CHILD, measurements=values, treatments=[PREDNISONE])
    )
    # In partial remission on day 28 (Jan 30), none complete by Jan 2 + 42 days = Feb 13
    assert (outcome["steroid_response"], outcome["resistance_date"]) == (
        "resistant",
        D("2020-02-13"),
    )


def test_late_resistance_after_a_relapse(derive_cohort) -> None:
    # Sensitive (CR Jan 15), relapse Mar 1, course Mar 5 (within 14 days), no CR by Apr 2:
    # late resistance from Mar 5 + 28 = Apr 2.
    values = (
        ONSET_NEPHROTIC
        + upcr("P1", "2020-01-15", [0.1, 0.1, 0.1])
        + upcr("P1", "2020-03-01", [4, 4, 4])
        + upcr("P1", "2020-03-20", [4, 4, 4])
    )
    relapse_course = ("P1", "prednisone", "2020-03-05", "2020-04-01", 60, "mg/m2/day", "daily")
    # Seen again on May 1: the relapse course's window (to Apr 2) was followed to its end.
    visit = [("P1", "2020-05-01", "last_visit")]
    tables = dict(patients=CHILD, measurements=values, treatments=[PREDNISONE, relapse_course])
    outcome = outcome_of(derive_cohort(**tables, events=visit))
    assert (
        outcome["steroid_response"],
        outcome["resistance_type"],
        outcome["resistance_date"],
    ) == ("resistant", "late", D("2020-04-02"))
    # Without that visit, follow-up ends with the course on Apr 1 (the latest date of any
    # kind), a day before the window's end: the relapse's response is not judged, so the child
    # stays sensitive (from the onset course), not resistant from a day no one saw.
    outcome = outcome_of(derive_cohort(**tables))
    assert (outcome["steroid_response"], outcome["resistance_type"]) == ("sensitive", None)


def test_a_window_not_followed_to_its_end_is_unknown_not_resistant(derive_cohort) -> None:
    # Course from Jan 2, nephrotic on Jan 10-12, last seen Jan 20 (day 18 of 28): no complete
    # remission seen, but the window ends Jan 30, after the last follow-up: unknown (it was
    # "resistant from Jan 30", a date after the child was last seen). Seen on Feb 1 instead:
    # resistant from Jan 30.
    values = ONSET_NEPHROTIC + upcr("P1", "2020-01-10", [4, 4, 4])
    course = ("P1", "prednisone", "2020-01-02", "2020-01-15", 60, "mg/m2/day", "daily")
    tables = dict(patients=CHILD, measurements=values, treatments=[course])
    early = outcome_of(derive_cohort(**tables, events=[("P1", "2020-01-20", "last_visit")]))
    assert (early["steroid_response"], early["resistance_date"]) == ("unknown", None)
    later = outcome_of(derive_cohort(**tables, events=[("P1", "2020-02-01", "last_visit")]))
    assert (later["steroid_response"], later["resistance_date"]) == ("resistant", D("2020-01-30"))


def test_no_standard_course_means_steroid_response_unknown(derive_cohort) -> None:
    alternate = ("P1", "prednisone", "2020-01-02", "2020-02-01", 60, "mg/m2/day", "alternate_day")
    outcome = outcome_of(
        derive_cohort(patients=CHILD, measurements=ONSET_NEPHROTIC, treatments=[alternate])
    )
    assert outcome["steroid_response"] == "unknown"


def test_rituximab_active_window_splits_courses(derive_cohort) -> None:
    # CsA all of 2020; rituximab on Mar 1 is active to Mar 1 + 180 days = Aug 28.
    treatments = [
        ("P1", "cyclosporine", "2020-01-01", "2020-12-31", 150, "mg/m2/day", "daily"),
        ("P1", "rituximab", "2020-03-01", "2020-03-01", 375, "mg/m2", "single"),
    ]
    derived = derive_cohort(patients=CHILD, measurements=ONSET_NEPHROTIC, treatments=treatments)
    assert [c[:3] for c in _courses(derived)] == [
        ("cyclosporine", D("2020-01-01"), D("2020-02-29")),
        ("cyclosporine+rituximab", D("2020-03-01"), D("2020-08-28")),
        ("cyclosporine", D("2020-08-29"), D("2020-12-31")),
    ]


def test_course_response_and_not_evaluable_courses(derive_cohort) -> None:
    values = (
        ONSET_NEPHROTIC
        + upcr("P1", "2020-03-01", [4, 4])
        + upcr("P1", "2020-04-01", [0.1, 0.1, 0.1])
    )
    treatments = [
        ("P1", "cyclosporine", "2020-02-01", "2020-06-30", 150, "mg/m2/day", "daily"),
        ("P1", "mmf", "2020-07-01", "2020-08-15", 600, "mg/m2/day", "daily"),  # 46 days
        ("P1", "mmf", "2020-09-01", "2020-12-31", 600, "mg/m2/day", "daily"),  # starts in CR
    ]
    derived = derive_cohort(patients=CHILD, measurements=values, treatments=treatments)
    assert _courses(derived) == [
        ("cyclosporine", D("2020-02-01"), D("2020-06-30"), "complete"),
        ("mmf", D("2020-07-01"), D("2020-08-15"), "not_evaluable"),
        ("mmf", D("2020-09-01"), D("2020-12-31"), "not_evaluable"),
    ]
    first = derived.courses.to_pylist()[0]
    # Apr 1 − Feb 1 = 60 days
    assert (first["response_date"], first["days_to_remission"]) == (D("2020-04-01"), 60)


def test_cni_response(derive_cohort) -> None:
    csa = ("P1", "cyclosporine", "2020-02-01", "2020-12-31", 150, "mg/m2/day", "daily")
    responds = ONSET_NEPHROTIC + upcr("P1", "2020-04-01", [0.1, 0.1, 0.1])
    never = ONSET_NEPHROTIC + upcr("P1", "2020-04-01", [4, 4, 4])
    assert (
        outcome_of(derive_cohort(patients=CHILD, measurements=responds, treatments=[csa]))[
            "cni_response"
        ]
        == "responsive"
    )
    assert (
        outcome_of(derive_cohort(patients=CHILD, measurements=never, treatments=[csa]))[
            "cni_response"
        ]
        == "resistant"
    )
    short = ("P1", "cyclosporine", "2020-02-01", "2020-04-30", 150, "mg/m2/day", "daily")
    assert (
        outcome_of(derive_cohort(patients=CHILD, measurements=never, treatments=[short]))[
            "cni_response"
        ]
        == "not_evaluable"
    )
    assert (
        outcome_of(derive_cohort(patients=CHILD, measurements=never))["cni_response"]
        == "not_treated"
    )


def _egfr_rows(points):  # type: ignore[no-untyped-def]
    """Creatinine giving a chosen eGFR at height 100 cm: SCr = 0.413 × 100 / eGFR × 88.4."""
    rows = []
    for day, egfr in points:
        rows.append(("P1", D(day), "creatinine", round(0.413 * 100 / egfr * 88.4, 3), "umol/L"))
        rows.append(("P1", D(day), "height", 100, "cm"))
    return rows


def test_severe_ckd_must_be_sustained_past_90_days(derive_cohort) -> None:
    # Below 60 from Mar 1, but 70 on Apr 15, before the first value after Mar 1 + 90 (Jun 15):
    # not sustained. From Jun 15: 58, 55, 50, then 46 (Oct 20, the first after Sep 13): severe.
    points = [
        ("2020-01-01", 110),
        ("2020-03-01", 55),
        ("2020-04-15", 70),
        ("2020-06-15", 58),
        ("2020-07-01", 55),
        ("2020-09-01", 50),
        ("2020-10-20", 46),
    ]
    outcome = outcome_of(derive_cohort(patients=CHILD, measurements=_egfr_rows(points)))
    assert outcome["severe_ckd_date"] == D("2020-06-15")
    assert outcome["egfr_first"] == __import__("pytest").approx(110, abs=0.01)
    assert (round(outcome["egfr_last"]), outcome["ckd_stage_last"]) == (46, "G3a")
    assert outcome["kidney_failure_date"] is None


def test_sustained_decline_counts_the_day_at_exactly_90_days_inside_the_span(
    derive_cohort,
) -> None:
    # Jan 1 + 90 days = Mar 31 (2020 is a leap year). Mar 31 (58) lies inside the span, so the
    # first eGFR *after* it is Apr 1 (75, not below): Jan 1 is not sustained. Mar 31 is broken
    # by Apr 1 (75). Aug 1 (40): nothing in the next 90 days, then Dec 1 (40): severe from Aug 1.
    points = [
        ("2020-01-01", 50),
        ("2020-03-31", 58),
        ("2020-04-01", 75),
        ("2020-08-01", 40),
        ("2020-12-01", 40),
    ]
    outcome = outcome_of(derive_cohort(patients=CHILD, measurements=_egfr_rows(points)))
    assert outcome["severe_ckd_date"] == D("2020-08-01")
    assert outcome["kidney_failure_date"] is None


def test_first_egfr_counts_from_30_days_before_onset_and_last_is_the_latest(
    derive_cohort,
) -> None:
    # Onset 2020-01-01: the first eGFR counted is from 2019-12-02 (onset − 30 days) on, so
    # 2019-11-01 (95) is left out and 2019-12-02 (100, on the limit) is the first. The last is
    # 2020-06-01 (80): CKD stage G2 (60–89).
    points = [("2019-11-01", 95), ("2019-12-02", 100), ("2020-02-01", 90), ("2020-06-01", 80)]
    outcome = outcome_of(derive_cohort(patients=CHILD, measurements=_egfr_rows(points)))
    approx = __import__("pytest").approx
    assert outcome["egfr_first"] == approx(100, abs=0.01)
    assert outcome["egfr_last"] == approx(80, abs=0.01)
    assert outcome["ckd_stage_last"] == "G2"


def test_kidney_failure_from_dialysis(derive_cohort) -> None:
    points = [("2020-01-01", 30), ("2020-05-01", 20)]
    outcome = outcome_of(
        derive_cohort(
            patients=CHILD,
            measurements=_egfr_rows(points),
            events=[("P1", "2020-06-01", "dialysis_start")],
        )
    )
    assert outcome["kidney_failure_date"] == D("2020-06-01")
    assert outcome["severe_ckd_date"] == D("2020-01-01")  # < 60 from Jan 1, still < 60 after


def test_eligibility_lists_every_failing_step_and_flow_counts_the_first(derive_cohort) -> None:
    patients = [
        ("P1", "F", "2000-02-29", "2018-02-28"),  # onset on the 18th birthday (29 Feb → 28 Feb)
        ("P2", "M", "2019-06-01", "2019-08-01"),  # congenital (61 days)
        ("P3", "M", "2019-01-10", "2019-12-01"),  # infantile
        ("P4", "F", "2012-01-01", "2019-01-01", "vasculitis"),
    ]
    derived = derive_cohort(
        patients=patients, measurements=[("P1", D("2018-02-28"), "upcr", 5, "mg/mg")]
    )
    reasons = {
        o["patient_id"]: o["exclusion_reasons"] for o in derived.patient_outcomes.to_pylist()
    }
    # P1 has no standard-dose course: steroid response unknown (step 4b, clinical.md §8)
    assert reasons["P1"] == (
        "age_over_18;steroid_response_unknown;no_combination;followup_under_1y"
    )
    assert reasons["P2"].startswith("congenital;")
    assert reasons["P3"].startswith("infantile;")
    assert reasons["P4"].startswith("secondary;")
    assert derived.flow["start"] == 4
    assert [s["excluded"] for s in derived.flow["steps"]][:4] == [1, 1, 1, 1]
    assert derived.flow["steps"][-1]["remaining"] == 0
    assert outcome_of(derived, "P1")["onset_age_years"] == (
        (dt.date(2018, 2, 28) - dt.date(2000, 2, 29)).days / 365.25
    )
