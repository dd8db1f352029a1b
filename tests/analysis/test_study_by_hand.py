"""The study's numbers on four hand-made children, every expected value worked out by hand.

The derived and analysis tables are written here by hand (no cohort, no engine), so these tests
check the study's own rules (clinical.md §8 comparison group, §9 definitions) and nothing else.
"""

from __future__ import annotations

import datetime as dt

import pytest

from srnskit.analysis.study import Study, headline, study
from srnskit.constants import DAYS_PER_MONTH, DAYS_PER_YEAR
from srnskit.definitions import load_definitions
from srnskit.protocols import load_protocol
from srnskit.studies import load_study
from tests.analysis.handmade import HandDerived, hand_derived

D = dt.date
ONSET = D(2015, 1, 1)
BIRTH = D(2008, 1, 1)


def _outcome(pid: str, eligible: bool, reasons: str, resistance: str, **kw: object) -> dict:  # type: ignore[type-arg]
    return {
        "patient_id": pid,
        "eligible": eligible,
        "exclusion_reasons": reasons,
        "onset_age_years": 7.0,
        "steroid_response": "resistant",
        "resistance_type": resistance,
        "followup_days": 3000,
        **kw,
    }


def _course(
    pid: str,
    no: int,
    regimen: str,
    start: dt.date,
    end: dt.date,
    response: str,
    days_to_remission: int | None,
    relapses: int = 0,
) -> dict:  # type: ignore[type-arg]
    return {
        "patient_id": pid,
        "course_no": no,
        "regimen": regimen,
        "n_agents": regimen.count("+") + 1,
        "start_date": start,
        "end_date": end,
        "days": (end - start).days + 1,
        "evaluable": True,
        "response": response,
        "response_date": None
        if days_to_remission is None
        else start + dt.timedelta(days_to_remission),
        "days_to_remission": days_to_remission,
        "relapses": relapses,
    }


def four_children() -> HandDerived:
    """A and B included (initial, late resistance); C fails only the combination step (so in
    the comparison group); D excluded for a secondary cause (in no group)."""
    outcomes = [
        _outcome("A", True, "", "initial", egfr_first=120.0, egfr_last=80.0, ckd_stage_last="G2"),
        _outcome(
            "B",
            True,
            "",
            "late",
            egfr_first=100.0,
            egfr_last=50.0,
            ckd_stage_last="G3a",
            severe_ckd_date=D(2018, 1, 1),
        ),
        _outcome("C", False, "no_combination", "initial", egfr_first=110.0, egfr_last=100.0),
        _outcome("D", False, "secondary", "initial", egfr_first=90.0, egfr_last=90.0),
    ]
    courses = [
        _course("A", 1, "cyclosporine", D(2015, 3, 1), D(2015, 12, 31), "partial", 61),
        _course("A", 2, "cyclosporine+mmf", D(2016, 1, 1), D(2016, 12, 31), "complete", 90, 1),
        _course("B", 1, "cyclosporine+mmf", D(2015, 6, 1), D(2016, 5, 31), "none", None),
        _course("C", 1, "cyclosporine", D(2015, 2, 1), D(2015, 7, 31), "complete", 30),
        _course("D", 1, "cyclosporine", D(2015, 2, 1), D(2015, 7, 31), "complete", 30),
    ]
    patients = [
        (pid, "c1", sex, BIRTH, ONSET, False, "", histology, None, False, "")
        for pid, sex, histology in [
            ("A", "F", "MCD"),
            ("B", "M", None),
            ("C", "F", "FSGS"),
            ("D", "M", None),
        ]
    ]
    exposures = [  # patient, drug, start, end, active end, dose, unit, schedule, height, weight
        (
            "A",
            "cyclosporine",
            D(2015, 3, 1),
            D(2016, 12, 31),
            D(2016, 12, 31),
            180.0,
            "mg/day",
            "daily",
            137.0,
            32.0,
        ),
        (
            "A",
            "mmf",
            D(2016, 1, 1),
            D(2016, 12, 31),
            D(2016, 12, 31),
            1200.0,
            "mg/m2/day",
            "daily",
            140.0,
            33.0,
        ),
        (
            "B",
            "cyclosporine",
            D(2015, 6, 1),
            D(2016, 5, 31),
            D(2016, 5, 31),
            5.0,
            "mg/kg/day",
            "daily",
            120.0,
            25.0,
        ),
        ("B", "mmf", D(2015, 6, 1), D(2016, 5, 31), D(2016, 5, 31), None, None, None, 120.0, 25.0),
        (
            "C",
            "cyclosporine",
            D(2015, 2, 1),
            D(2015, 7, 31),
            D(2015, 7, 31),
            None,
            None,
            None,
            None,
            None,
        ),
        (
            "D",
            "cyclosporine",
            D(2015, 2, 1),
            D(2015, 7, 31),
            D(2015, 7, 31),
            None,
            None,
            None,
            None,
            None,
        ),
    ]
    analysis = {
        "patients": patients,
        "exposures": exposures,
        "relapses": [
            ("A", D(2016, 6, 1), D(2017, 1, 31)),  # on cyclosporine (to 2016-12-31)
            ("A", D(2017, 3, 1), D(2017, 6, 1)),  # after cyclosporine stopped: not counted
        ],
        "troughs": [
            ("A", "cyclosporine", D(2015, 4, 1), 150.0, None),
            # the same value another day: counted
            ("A", "cyclosporine", D(2015, 5, 1), 150.0, None),
            ("A", "cyclosporine", D(2015, 6, 1), 400.0, None),  # above the 100–300 target
            ("C", "cyclosporine", D(2015, 4, 1), 200.0, None),  # not included: not counted
        ],
        "presentation": [
            ("A", "upcr", 226.24, "mg/mmol"),  # 226.24 / 113.12 = 2.0 mg/mg
            ("B", "upcr", 4.0, "mg/mg"),
            ("A", "albumin", 15.0, "g/L"),
            ("B", "albumin", 25.0, "g/L"),
            ("C", "albumin", 40.0, "g/L"),  # not included
        ],
        "egfr": [  # patient, date, creatinine, height, eGFR, native, validated_age
            ("A", D(2015, 1, 1), 40.0, 110.0, 120.0, True, True),
            ("A", D(2019, 1, 1), 60.0, 135.0, 80.0, True, True),  # 1461 days after onset: 4.0 y
            ("B", D(2015, 1, 1), 45.0, 110.0, 100.0, True, True),
            ("B", D(2018, 1, 1), 90.0, 125.0, 50.0, True, True),
        ],
        # every creatinine day: the eGFR days, A's later creatinine with no height in reach and
        # B's after kidney replacement therapy (not native)
        "creatinine": [  # patient, date, creatinine, native, has_egfr
            ("A", D(2015, 1, 1), 40.0, True, True),
            ("A", D(2019, 1, 1), 60.0, True, True),
            ("A", D(2019, 6, 1), 70.0, True, False),
            ("B", D(2015, 1, 1), 45.0, True, True),
            ("B", D(2018, 1, 1), 90.0, True, True),
            ("B", D(2018, 6, 1), 300.0, False, False),
        ],
        "adverse_events": [
            ("A", D(2015, 4, 1), "hypertrichosis", "cyclosporine", None),
            # B's GI disorder with no drug recorded: the engine attributed it to both active drugs
            ("B", D(2015, 7, 1), "gi_disorder", "cyclosporine", None),
            ("B", D(2015, 7, 1), "gi_disorder", "mmf", None),
            ("D", D(2015, 4, 1), "hypertrichosis", "cyclosporine", None),  # not included
        ],
        "proteinuria_dates": [
            ("A", D(2015, 7, 29)),  # A's cyclosporine: day 150 = day 120 + 30, the window's edge
            ("A", D(2016, 6, 1)),  # A's MMF: day 152, outside 120 ± 30
            ("B", D(2015, 8, 30)),  # B's both courses: day 90 = day 120 − 30
        ],
    }
    # the engine's comparison (tests/engine/rules/test_comparison.py): A's and C's first
    # cyclosporine-only courses; the included A's and B's first combination courses; D, excluded
    # for a secondary cause, in no group
    compared = [("A", 1, "comparison"), ("C", 1, "comparison"), ("A", 2, "combined")]
    compared.append(("B", 1, "combined"))
    return hand_derived(outcomes, courses, analysis, compared)


@pytest.fixture(scope="module")
def result() -> Study:
    return study(
        four_children(),
        load_definitions("kdigo2021"),
        load_study("seed2023"),
        load_protocol("sfnp"),
    )


def test_table2_groups_follow_the_comparison_rule(result: Study) -> None:
    assert result.groups == ("cyclosporine alone", "combined")
    t2 = result.table2.set_index("group")
    # cyclosporine alone: A's first course (partial, 61 d) and C's (complete, 30 d); D is
    # excluded for a secondary cause, so not in the comparison group
    alone = t2.loc["cyclosporine alone"]
    assert (alone.courses, alone.complete, alone.partial, alone.none) == (2, 1, 1, 0)
    assert alone.months_to_remission.mean == pytest.approx((61 + 30) / 2 / DAYS_PER_MONTH)
    combined = t2.loc["combined"]
    assert (combined.courses, combined.complete, combined.partial, combined.none) == (2, 1, 0, 1)


def test_the_comparison_group_is_named_after_the_study_files_regimen() -> None:
    design = load_study("seed2023")
    mmf_design = design.model_copy(
        update={"comparison": design.comparison.model_copy(update={"regimen": "mmf"})}
    )
    s = study(four_children(), load_definitions("kdigo2021"), mmf_design, load_protocol("sfnp"))
    assert s.groups == ("mmf alone", "combined")
    # which courses are compared is the engine's (Derived.compared_courses), not re-decided here
    assert s.table2.set_index("group").loc["mmf alone"].courses == 2


def test_a_course_without_remission_is_censored_at_its_end(result: Study) -> None:
    b = result.remission_courses.set_index("patient_id").loc["B"]
    assert (b.event, b.days) == (0, 365)  # 2015-06-01 to 2016-05-31
    assert result.km[result.km.group == "combined"].n_censor.sum() == 1


def test_shared_patients_trigger_the_guardrail(result: Study) -> None:
    assert any("share 1 patient (" in w for w in result.warnings)  # one: singular
    # four courses of three children: the Cox model cannot converge, and says so
    assert not result.tests["cox_cluster"].ran
    assert "did not converge" in result.tests["cox_cluster"].reason
    # one child remitted under both regimens: a paired test needs two
    assert not result.tests["time_paired"].ran
    assert "fewer than two pairs" in result.tests["time_paired"].reason


def test_cyclosporine_exposure(result: Study) -> None:
    c = result.cyclosporine
    assert c["exposed"] == 2
    assert c["days_to_csa"].mean == pytest.approx((59 + 151) / 2)  # A 1 Mar, B 1 Jun 2015
    assert c["days_to_csa_initial"].mean == 59
    assert c["days_to_csa_late"].mean == 151
    assert (c["trough_count"], c["trough_in_target"]) == (3, 2)
    assert c["trough"].mean == pytest.approx((150 + 150 + 400) / 3)
    # A: one relapse while cyclosporine was active, the later one after it stopped; B none
    assert c["relapses"].mean == pytest.approx(0.5)
    # A 180 mg/day ÷ √(137 × 32 / 3600) = 163.1; B 5 mg/kg/day × 25 kg ÷ √(120 × 25 / 3600) = 136.9
    assert c["dose_mg_m2"].mean == pytest.approx((163.1 + 136.9) / 2)
    assert c["dose_missing"] == 0


def test_second_agent(result: Study) -> None:
    # A's first two-agent course 2016-01-01 (365 days), B's 2015-06-01 (151 days)
    assert result.second_agent.mean == pytest.approx((365 + 151) / 2 / DAYS_PER_MONTH)


def test_toxicity_counts_attributed_events(result: Study) -> None:
    tox = result.toxicity.set_index(["drug", "event"])
    assert tuple(tox.loc[("any immunosuppressant", "any"), ["patients", "exposed"]]) == (2, 2)
    assert tuple(tox.loc[("cyclosporine", "hypertrichosis"), ["patients", "exposed"]]) == (1, 2)
    assert tuple(tox.loc[("cyclosporine", "gi_disorder"), ["patients", "exposed"]]) == (1, 2)
    assert tuple(tox.loc[("mmf", "gi_disorder"), ["patients", "exposed"]]) == (1, 2)
    assert tox.loc[("mmf", "gi_disorder"), "pct"] == pytest.approx(50.0)
    assert "rituximab" not in set(result.toxicity.drug)  # nobody exposed


def test_kidney_outcomes(result: Study) -> None:
    k = result.kidney
    assert (k["severe_ckd"], k["kidney_failure"]) == (1, 0)
    # B: onset 2015-01-01 to 2018-01-01 = 1096 days
    assert k["months_to_severe_ckd"].mean == pytest.approx(1096 / DAYS_PER_MONTH)
    # the last native creatinine of all creatinine days, a height in reach or not: A's 70
    # (2019-06-01, no eGFR), B's 90 (its 300 is after KRT)
    assert k["final_creatinine"].mean == pytest.approx((70 + 90) / 2)
    paired = result.tests["egfr_first_last"]
    # last minus first: −40 (A) and −50 (B): mean −45, SD √50, SE 5 → t = −9, df 1;
    # t(0.975, 1) = 12.7062 → CI −45 ± 63.53
    assert paired.statistic == pytest.approx(-9.0)
    assert paired.df == 1
    assert (paired.statistic_label, paired.estimate) == ("t", pytest.approx(-45.0))
    assert paired.ci == pytest.approx((-45 - 12.7062047 * 5, -45 + 12.7062047 * 5))
    assert (paired.estimate_label, paired.contrast) == (
        "mean paired difference",
        "last minus first eGFR",
    )
    assert paired.unit == "mL/min/1.73 m²"
    assert "n = 2, 0 left out" in paired.reason
    a = result.egfr_trajectories[result.egfr_trajectories.patient_id == "A"]
    assert list(a.years) == [0.0, pytest.approx(1461 / DAYS_PER_YEAR)]


def test_table1_counts_and_values_at_diagnosis(result: Study) -> None:
    t1 = result.table1.set_index("characteristic")
    assert (t1.loc["Girls", "n"], t1.loc["Girls", "of"]) == (1, 2)
    assert t1.loc["Kidney biopsy", "n"] == 1  # A has a histology, B none
    assert t1.loc["Initial steroid resistance", "pct"] == pytest.approx(50.0)
    # A's 226.24 mg/mmol shown as 2.0 mg/mg beside B's 4.0
    assert t1.loc["UPCR at diagnosis", "summary"].mean == pytest.approx(3.0)
    assert t1.loc["Serum albumin at diagnosis", "summary"].mean == pytest.approx(20.0)


def test_adherence(result: Study) -> None:
    a = result.adherence_summary.set_index("drug")
    csa, mmf = a.loc["cyclosporine"], a.loc["mmf"]
    # A 163.1 in 150–200, B 136.9 below; A's three troughs, two within 100–300
    assert (csa.courses, csa.dose_known, csa.dose_in_range) == (2, 2, 1)
    assert (csa.troughs, csa.troughs_in_target) == (3, 2)
    # both lasted 120 days; A assessed on day 150, B on day 90: both within ±30
    assert (csa.assessment_due, csa.assessment_done) == (2, 2)
    # A's 1200 mg/m²/day above the article's 600; B's MMF without a dose; A not assessed
    assert (mmf.courses, mmf.dose_known, mmf.dose_in_range) == (2, 1, 0)
    assert (mmf.assessment_due, mmf.assessment_done) == (2, 1)


def test_headline_alone_equals_the_full_studys(result: Study) -> None:
    assert headline(four_children(), load_study("seed2023")) == result.headline
    # by hand: 2 included, 1 of 2 initial; combined 2 courses, 1 complete, 1 none
    assert result.headline["included"] == 2
    assert result.headline["combined_complete_pct"] == 50.0
    assert result.headline["severe_ckd"] == 1


def test_a_derived_without_analysis_tables_is_refused() -> None:
    from srnskit.errors import UsageError

    derived = four_children()
    derived.analysis = None
    with pytest.raises(UsageError, match="analysis=True"):
        study(derived, load_definitions("kdigo2021"), load_study("seed2023"), load_protocol("sfnp"))


def test_table1_summarises_each_variable_one_way() -> None:
    from srnskit.analysis.study.table1 import summary_kind

    # 1 … 10: symmetric (skewness 0) with 10 values → mean ± SD
    assert summary_kind(range(1, 11)) == "mean_sd"
    # nine 1s and a 50: g1 = (n − 2)/√(n − 1) = 8/3, G1 = √(n(n − 1))/(n − 2) · g1 = √90/3
    # = 3.16 > 1 → median [IQR]
    assert summary_kind([1] * 9 + [50]) == "median_iqr"
    assert summary_kind(range(1, 10)) == "median_iqr"  # 9 values: too few to judge symmetry
    assert summary_kind([1] * 9 + [50], "mean_sd") == "mean_sd"  # as the caller asks
    s = study(
        four_children(),
        load_definitions("kdigo2021"),
        load_study("seed2023"),
        load_protocol("sfnp"),
        summary="mean_sd",
    )
    continuous = s.table1[s.table1.kind == "continuous"]
    assert set(continuous.summary_kind) == {"mean_sd"}
    assert s.table1_n == 2
    assert "mean ± SD (as asked)" in s.notes["table1"]


def test_table1_auto_summary_on_two_children(result: Study) -> None:
    continuous = result.table1[result.table1.kind == "continuous"]
    assert set(continuous.summary_kind) == {"median_iqr"}  # 2 values each: fewer than 10
    assert result.table1[result.table1.kind == "count"].summary_kind.isna().all()
