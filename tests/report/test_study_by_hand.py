"""The report's numbers on four hand-made children, every expected value worked out by hand.

The derived outcomes are written here by hand too (not by the engine), so these tests check the
report's own rules (clinical.md §8 comparison group, §9 definitions) and nothing else.
"""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest

from srnskit.cohort import read_cohort
from srnskit.definitions import load_definitions
from srnskit.engine import Derived
from srnskit.outputs.report.study import DAYS_PER_MONTH, Study, study
from srnskit.protocols.model import load_protocol

D = dt.date


def _cohort(folder: Path):  # type: ignore[no-untyped-def]
    (folder / "patients.csv").write_text(
        "patient_id,sex,birth_date,onset_date,histology\n"
        "A,F,2008-01-01,2015-01-01,MCD\n"
        "B,M,2008-01-01,2015-01-01,\n"
        "C,F,2008-01-01,2015-01-01,FSGS\n"
        "D,M,2008-01-01,2015-01-01,\n"
    )
    (folder / "treatments.csv").write_text(
        "patient_id,drug,start_date,end_date\n"
        "A,cyclosporine,2015-03-01,2016-12-31\n"
        "A,mmf,2016-01-01,2016-12-31\n"
        "B,cyclosporine,2015-06-01,2016-05-31\n"
        "B,mmf,2015-06-01,2016-05-31\n"
        "C,cyclosporine,2015-02-01,2015-07-31\n"
        "D,cyclosporine,2015-02-01,2015-07-31\n"
    )
    (folder / "measurements.csv").write_text(
        "patient_id,date,analyte,value,unit\n"
        "A,2015-04-01,csa_trough,150,ng/mL\n"
        "A,2015-05-01,csa_trough,150,ng/mL\n"  # the same value on another day: a second trough
        "A,2015-06-01,csa_trough,400,ng/mL\n"  # above the 100–300 target
        "A,2017-01-01,csa_trough,200,ng/mL\n"  # after cyclosporine stopped: not counted
    )
    (folder / "adverse_events.csv").write_text(
        "patient_id,date,event,drug\n"
        "A,2015-04-01,hypertrichosis,cyclosporine\n"
        "B,2015-07-01,gi_disorder,\n"  # no drug named: both active drugs count it
        "D,2015-04-01,hypertrichosis,cyclosporine\n"  # not included: not counted
    )
    return read_cohort(folder, today=D(2026, 11, 28))


def _derived() -> Derived:
    outcomes = pd.DataFrame(
        {
            "patient_id": ["A", "B", "C", "D"],
            "eligible": [True, True, False, False],
            "exclusion_reasons": ["", "", "no_combination", "secondary"],
            "onset_age_years": [7.0, 7.0, 7.0, 7.0],
            "steroid_response": ["resistant"] * 4,
            "resistance_type": ["initial", "late", "initial", "initial"],
            "egfr_first": [120.0, 100.0, 110.0, 90.0],
            "egfr_last": [80.0, 50.0, 100.0, 90.0],
            "ckd_stage_last": ["G2", "G3a", "G1", "G1"],
            "severe_ckd_date": [None, D(2018, 1, 1), None, None],
            "kidney_failure_date": [None, None, None, None],
            "followup_days": [3000, 3000, 3000, 3000],
        }
    )
    # one course per line; an empty cell is a missing value
    courses = pd.read_csv(
        io.StringIO(
            "patient_id,course_no,regimen,n_agents,start_date,end_date,days,evaluable,"
            "response,response_date,days_to_remission,relapses\n"
            "A,1,cyclosporine,1,2015-03-01,2015-12-31,306,true,partial,2015-05-01,61,0\n"
            "A,2,cyclosporine+mmf,2,2016-01-01,2016-12-31,366,true,complete,2016-03-31,90,1\n"
            "B,1,cyclosporine+mmf,2,2015-06-01,2016-05-31,366,true,none,,,0\n"
            "C,1,cyclosporine,1,2015-02-01,2015-07-31,181,true,complete,2015-03-03,30,0\n"
            "D,1,cyclosporine,1,2015-02-01,2015-07-31,181,true,complete,2015-03-03,30,0\n"
        ),
        true_values=["true"],
        false_values=["false"],
        dtype={"days_to_remission": "Int64"},
    )
    for column in ("start_date", "end_date", "response_date"):
        courses[column] = pd.to_datetime(courses[column]).dt.date
    episodes = pd.DataFrame(
        [
            ("A", "nephrotic", D(2015, 1, 1), D(2015, 4, 30)),
            ("A", "partial_remission", D(2015, 5, 1), D(2015, 9, 30)),
            ("A", "nephrotic", D(2015, 10, 1), D(2016, 3, 30)),  # after PR: no relapse (KDIGO)
            ("A", "complete_remission", D(2016, 3, 31), D(2016, 5, 31)),
            ("A", "nephrotic", D(2016, 6, 1), D(2020, 1, 1)),  # a relapse, on cyclosporine
            ("B", "nephrotic", D(2015, 1, 1), D(2020, 1, 1)),
        ],
        columns=["patient_id", "state", "start_date", "end_date"],
    ).assign(rule="", evidence="")
    flow = {"definitions": "kdigo2021", "start": 4, "steps": []}
    return Derived(
        patient_outcomes=pa.Table.from_pandas(outcomes),
        courses=pa.Table.from_pandas(courses),
        episodes=pa.Table.from_pandas(episodes),
        flow=flow,
    )


@pytest.fixture(scope="module")
def result(tmp_path_factory: pytest.TempPathFactory) -> Study:
    folder = tmp_path_factory.mktemp("four")
    return study(_cohort(folder), _derived(), load_definitions("kdigo2021"), load_protocol("sfnp"))


def test_table2_groups_follow_the_comparison_rule(result: Study) -> None:
    t2 = result.table2.set_index("group")
    # cyclosporine alone: A's first course (partial, 61 d) and C's (complete, 30 d); D is
    # excluded for a secondary cause, so not in the comparison group
    alone = t2.loc["cyclosporine alone"]
    assert (alone.courses, alone.complete, alone.partial, alone.none) == (2, 1, 1, 0)
    assert alone.months_to_remission.mean == pytest.approx((61 + 30) / 2 / DAYS_PER_MONTH)
    combined = t2.loc["combined"]
    assert (combined.courses, combined.complete, combined.partial, combined.none) == (2, 1, 0, 1)


def test_a_course_without_remission_is_censored_at_its_end(result: Study) -> None:
    b = result.remission_courses.set_index("patient_id").loc["B"]
    assert (b.event, b.days) == (0, 365)  # 2015-06-01 to 2016-05-31
    assert result.km[result.km.group == "combined"].n_censor.sum() == 1


def test_shared_patients_trigger_the_guardrail(result: Study) -> None:
    assert any("share 1 patients" in w for w in result.warnings)
    # four courses of three children: the Cox model cannot converge, and says so
    assert not result.tests["cox_cluster"].ran
    assert "did not converge" in result.tests["cox_cluster"].reason
    # one child remitted under both regimens: a paired test needs two
    assert not result.tests["time_paired"].ran
    assert "fewer than two pairs" in result.tests["time_paired"].reason


def test_cyclosporine_exposure(result: Study) -> None:
    c = result.cyclosporine
    assert c["days_to_csa"].mean == pytest.approx((59 + 151) / 2)  # A 1 Mar, B 1 Jun 2015
    assert c["days_to_csa_initial"].mean == 59
    assert c["days_to_csa_late"].mean == 151
    assert (c["trough_count"], c["trough_in_target"]) == (3, 2)
    assert c["trough"].mean == pytest.approx((150 + 150 + 400) / 3)
    # A: one relapse on cyclosporine (the nephrotic episode after a PR is not one under KDIGO)
    assert c["relapses"].mean == pytest.approx(0.5)


def test_toxicity_counts_attributed_and_unattributed_events(result: Study) -> None:
    tox = result.toxicity.set_index(["drug", "event"])
    assert tuple(tox.loc[("any immunosuppressant", "any"), ["patients", "exposed"]]) == (2, 2)
    assert tuple(tox.loc[("cyclosporine", "hypertrichosis"), ["patients", "exposed"]]) == (1, 2)
    # B's unattributed GI disorder happened while cyclosporine and MMF were both active
    assert tuple(tox.loc[("cyclosporine", "gi_disorder"), ["patients", "exposed"]]) == (1, 2)
    assert tuple(tox.loc[("mmf", "gi_disorder"), ["patients", "exposed"]]) == (1, 2)
    assert tox.loc[("mmf", "gi_disorder"), "pct"] == pytest.approx(50.0)


def test_kidney_outcomes(result: Study) -> None:
    k = result.kidney
    assert (k["severe_ckd"], k["kidney_failure"]) == (1, 0)
    # B: onset 2015-01-01 to 2018-01-01 = 1096 days
    assert k["months_to_severe_ckd"].mean == pytest.approx(1096 / DAYS_PER_MONTH)
    paired = result.tests["egfr_first_last"]
    # differences 40 and 50: mean 45, SD √50, SE 5 → t = 9, df 1
    assert paired.statistic == pytest.approx(9.0)
    assert paired.df == 1


def test_table1_counts(result: Study) -> None:
    t1 = result.table1.set_index("characteristic")
    assert (t1.loc["Girls", "n"], t1.loc["Girls", "of"]) == (1, 2)
    assert t1.loc["Kidney biopsy", "n"] == 1  # A has a histology, B none
    assert t1.loc["Initial steroid resistance", "pct"] == pytest.approx(50.0)


def test_headline_alone_equals_the_full_studys(result: Study) -> None:
    from srnskit.outputs.report.study import headline

    assert headline(_derived(), load_definitions("kdigo2021")) == result.headline
    # by hand: 2 included, 1 of 2 initial; combined 2 courses, 1 complete, 1 none
    assert result.headline["included"] == 2
    assert result.headline["combined_complete_pct"] == 50.0
    assert result.headline["severe_ckd"] == 1
