"""Time to remission with competing events (clinical.md §9), on hand-made children.

Each combined course ends in one state, chosen to cover every rule of
``study.competing.competing_courses``; the Aalen–Johansen estimates are worked out by hand below
(the estimator itself is checked against R in test_against_r.py).
"""

from __future__ import annotations

import datetime as dt

import pytest

from srnskit.analysis.study import Study, study
from srnskit.constants import DAYS_PER_MONTH
from srnskit.definitions import load_definitions
from srnskit.protocols import load_protocol
from srnskit.studies import load_study
from tests.analysis.handmade import Child, HandDerived, cohort

COMBO = "cyclosporine+mmf"
ONSET = dt.date(2015, 1, 1)  # every hand-made child's onset (handmade.Child)


def seven_courses() -> HandDerived:
    """Combined courses from onset + 100 days; Q1, Q2 in the comparison group (no shared child).

    P7 remits on day 30 (kidney failure on day 40 comes after); P5 lost to follow-up on day 35;
    P3 in kidney failure on day 50; P1 remits on day 60; P4 dies on day 80; P2's course ends
    without remission on day 119 (120 days), long before the last follow-up; P6's course is
    still going at the last follow-up (onset + 250 = course start + 150).
    """
    children = [
        Child("P1").course(COMBO, 100, 200, "complete", 60, "combined"),
        Child("P2").course(COMBO, 100, 120, "none", None, "combined"),
        Child("P3", outcome={"kidney_failure_date": ONSET + dt.timedelta(150)}).course(
            COMBO, 100, 200, "none", None, "combined"
        ),
        Child("P4").course(COMBO, 100, 200, "none", None, "combined").event(180, "death"),
        Child("P5")
        .course(COMBO, 100, 200, "none", None, "combined")
        .event(135, "lost_to_followup"),
        Child("P6", followup_days=250).course(COMBO, 100, 151, "none", None, "combined"),
        Child("P7", outcome={"kidney_failure_date": ONSET + dt.timedelta(140)}).course(
            COMBO, 100, 200, "partial", 30, "combined"
        ),
        Child("Q1", eligible=False, reasons="no_combination").course(
            "cyclosporine", 10, 100, "complete", 20, "comparison"
        ),
        Child("Q2", eligible=False, reasons="no_combination").course(
            "cyclosporine", 10, 100, "none", None, "comparison"
        ),
    ]
    return cohort(children)


def run(derived: HandDerived) -> Study:
    return study(
        derived, load_definitions("kdigo2021"), load_study("seed2023"), load_protocol("sfnp")
    )


@pytest.fixture(scope="module")
def result() -> Study:
    return run(seven_courses())


def test_each_course_ends_in_its_state(result: Study) -> None:
    c = result.remission_courses.set_index("patient_id")
    assert c.loc["P1"].event == 1
    # Kaplan–Meier censors every course without remission at its end (days − 1)
    assert c.loc["P3"].days == 199
    cif = result.cumulative_incidence
    assert list(cif.columns[:6]) == [
        "group",
        "time_months",
        "n_risk",
        "state",
        "estimate",
        "std_err",
    ]
    combined = cif[cif.group == "combined"]
    # the distinct times, in days: 30 remission (P7, before its kidney failure on day 40),
    # 35 loss to follow-up (P5, censored), 50 kidney failure (P3), 60 remission (P1),
    # 80 death (P4), 119 course end (P2), 150 still going at the last follow-up (P6, censored)
    times = sorted(set(combined.time_months))
    assert times == pytest.approx([d / DAYS_PER_MONTH for d in (30, 35, 50, 60, 80, 119, 150)])
    assert sorted(set(combined.n_risk)) == [1, 2, 3, 4, 5, 6, 7]


def test_cumulative_incidence_by_hand(result: Study) -> None:
    # Aalen–Johansen with 7 courses: day 30 F_rem = 1/7, S = 6/7; day 35 censored (n 6);
    # day 50 (n 5) F_kf = 6/7 × 1/5 = 6/35, S = 24/35; day 60 (n 4) F_rem = 1/7 + 24/35 × 1/4
    # = 11/35, S = 18/35; day 80 (n 3) F_death = 18/35 × 1/3 = 6/35, S = 12/35; day 119 (n 2)
    # F_course_end = 12/35 × 1/2 = 6/35, S = 6/35; day 150 censored.
    cif = result.cumulative_incidence
    last = cif[cif.group == "combined"].groupby("state").estimate.last()
    assert last.to_dict() == pytest.approx(
        {"remission": 11 / 35, "kidney_failure": 6 / 35, "death": 6 / 35, "course_end": 6 / 35}
    )
    first = cif[(cif.group == "combined") & (cif.state == "remission")].iloc[0]
    # the first remission's influence: (1 − 1/7)/7 once and −1/49 six times → SE² = 6/343;
    # log interval p·exp(±1.959964·SE/p)
    se = (6 / 343) ** 0.5
    assert first.std_err == pytest.approx(se)
    z = 1.959963984540054
    assert first.ci_low == pytest.approx(1 / 7 * 2.718281828459045 ** (-z * se * 7))
    assert first.ci_high == pytest.approx(min(1.0, 1 / 7 * 2.718281828459045 ** (z * se * 7)))
    # the comparison group: Q1 remits on day 20, Q2's course ends on day 99 (ended long
    # before the last follow-up): remission 1/2, course end 1/2
    alone = cif[cif.group == "cyclosporine alone"].groupby("state").estimate.last()
    assert (alone["remission"], alone["course_end"]) == (0.5, 0.5)


def test_the_summary_at_3_6_12_months(result: Study) -> None:
    table = result.competing.set_index(["group", "months"])
    # 3 months = 91.3 days: all but P2's course end (day 119) and P6's censoring (day 150)
    row = table.loc[("combined", 3)]
    assert (row.remission, row.death, row.course_end) == (
        pytest.approx(11 / 35),
        pytest.approx(6 / 35),
        0.0,
    )
    assert table.loc[("combined", 6)].course_end == pytest.approx(6 / 35)  # 182.6 days
    assert row.competing_events == 3  # P2, P3, P4, whenever it happened


def test_the_notes_and_the_estimands(result: Study) -> None:
    note = result.notes["cumulative_incidence"]
    assert "combined: 7 courses (remission 2, course end 1, kidney failure 1, death 1, " in note
    assert "censored 2)" in note
    assert "had the course gone on" in result.estimands["km"]
    # the protocol's assessment day, read from protocols/sfnp.toml (day 120, 3.9 months)
    assert "SFNP assesses response on day 120 (about 4 months)" in result.estimands["cif"]
    assert result.km_test == "logrank"  # no child in both groups


def shared_children() -> HandDerived:
    """Six children each with a cyclosporine-only course, then a combined one."""
    return cohort(
        [
            Child(f"S{i}")
            .course("cyclosporine", 10, 100, *outcome_alone, "comparison")
            .course(COMBO, 200, 200, *outcome_combined, "combined")
            for i, (outcome_alone, outcome_combined) in enumerate(
                [
                    (("none", None), ("complete", 30)),
                    (("partial", 50), ("complete", 20)),
                    (("none", None), ("none", None)),
                    (("complete", 80), ("partial", 40)),
                    (("none", None), ("complete", 60)),
                    (("complete", 25), ("none", None)),
                ]
            )
        ]
    )


def test_shared_patients_put_the_clustered_cox_p_on_the_figure() -> None:
    shared = shared_children()
    s = run(shared)
    assert s.km_test == "cox_cluster"
    assert "Figure 1 shows the clustered Cox model's p instead" in s.tests["logrank"].reason
    cox = s.tests["cox_cluster"]
    assert cox.estimate_label == "hazard ratio of remission"
    assert cox.contrast == "combined over cyclosporine alone"
    if cox.ran:
        assert cox.statistic_label == "z"
        assert cox.ci is not None
        assert cox.estimate is not None
        assert cox.ci[0] < cox.estimate < cox.ci[1]
    else:
        assert cox.reason


def test_every_estimate_says_which_group_minus_which() -> None:
    s = run(shared_children())
    t = s.tests["time_student"]
    # remitted courses in days: combined 30, 20, 40, 60 (mean 37.5); alone 50, 80, 25 (mean
    # 155/3): combined minus alone = −14.1667 days, in months ÷ 30.4375
    assert t.estimate == pytest.approx((37.5 - 155 / 3) / DAYS_PER_MONTH)
    assert (t.statistic_label, t.estimate_label) == ("t", "difference in means")
    assert (t.contrast, t.unit) == ("combined minus cyclosporine alone", "months")
    assert t.statistic is not None
    assert t.statistic < 0  # the sign of the estimate
    response = s.tests["response"]
    # any remission: combined 4 of 6, alone 3 of 6 → +16.67 percentage points (Newcombe CI)
    assert response.estimate == pytest.approx(100 * (4 / 6 - 3 / 6))
    assert response.unit == "percentage points"
    assert response.ci is not None
    assert response.estimate is not None
    assert response.ci[0] < response.estimate < response.ci[1]
