"""One patient's story rendered from a hand-made ``Derived``: no cohort, no engine run."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pyarrow as pa
import pytest

from srnskit.definitions.model import load_definitions
from srnskit.engine import Derived
from srnskit.errors import UsageError
from srnskit.outputs.explain import explain
from srnskit.schema import ANALYSIS_TABLES, COMPARED_COURSES, DERIVED_TABLES
from srnskit.studies import load_study
from srnskit.writer import ARROW_TYPES

D = dt.date


def _table(columns: Any, rows: list[dict[str, Any]]) -> pa.Table:
    """A table in its declared schema; a column a row leaves out is empty."""
    schema = pa.schema([pa.field(c.name, ARROW_TYPES[c.type]) for c in columns])
    full = [{c.name: row.get(c.name) for c in columns} for row in rows]
    return pa.Table.from_pylist(full, schema)


def _outcome(patient_id: str, **values: Any) -> dict[str, Any]:
    base = {
        "patient_id": patient_id,
        "eligible": True,
        "exclusion_reasons": "",
        "onset_age_years": 5.0,
        "steroid_response": "sensitive",
        "cni_response": "not_treated",
        "followup_days": 100,
    }
    return base | values


def _derived(*, analysis: bool = True, **p1: Any) -> Derived:
    patients = [
        {
            "patient_id": "P1",
            "sex": "F",
            "birth_date": D(2015, 1, 1),
            "onset_date": D(2020, 1, 1),
            "histology": "FSGS",
            "genetic_variant": "NPHS2",
        },
        {"patient_id": "P2", "sex": "M", "birth_date": D(2010, 6, 1), "onset_date": D(2012, 6, 1)},
    ]
    outcomes = [
        _outcome(
            "P1",
            onset_age_years=4.999,
            steroid_response="resistant",
            resistance_type="initial",
            resistance_date=D(2020, 2, 12),
            cni_response="complete_remission",
            multidrug_resistant=False,
            first_remission_date=D(2020, 5, 10),
            first_remission_type="complete",
            egfr_first=101.26,
            egfr_last=55.04,
            ckd_stage_last="G3a",
            severe_ckd_date=D(2021, 3, 1),
            followup_days=730,
        )
        | p1,
        _outcome("P2"),
    ]
    episodes = [
        {
            "patient_id": "P1",
            "state": "nephrotic",
            "start_date": D(2020, 1, 1),
            "end_date": D(2020, 5, 9),
            "rule": "nephrotic",
            "evidence": "2020-01-01 upcr=5 mg/mg",
        },
        {
            "patient_id": "P2",
            "state": "nephrotic",
            "start_date": D(2012, 6, 1),
            "end_date": D(2012, 6, 20),
            "rule": "nephrotic",
            "evidence": "2012-06-01 upcr=4 mg/mg",
        },
        {
            "patient_id": "P1",
            "state": "complete_remission",
            "start_date": D(2020, 5, 10),
            "end_date": D(2021, 12, 31),
            "rule": "complete_remission",
            "evidence": "",
        },
    ]
    courses = [
        {
            "patient_id": "P1",
            "course_no": 1,
            "regimen": "steroids",
            "start_date": D(2020, 1, 1),
            "end_date": D(2020, 2, 12),
            "days": 42,
            "response": "no_remission",
        },
        {
            "patient_id": "P1",
            "course_no": 2,
            "regimen": "cyclosporine",
            "start_date": D(2020, 2, 13),
            "end_date": D(2020, 8, 13),
            "days": 182,
            "response": "complete_remission",
            "response_date": D(2020, 5, 10),
            "days_to_remission": 87,
            "relapses": 2,
        },
    ]
    return Derived(
        patient_outcomes=_table(DERIVED_TABLES["patient_outcomes"], outcomes),
        courses=_table(DERIVED_TABLES["courses"], courses),
        episodes=_table(DERIVED_TABLES["episodes"], episodes),
        flow={},
        compared_courses=_table(COMPARED_COURSES, []),
        analysis={"patients": _table(ANALYSIS_TABLES["patients"], patients)} if analysis else None,
    )


@pytest.fixture(scope="module")
def rules() -> tuple[Any, Any]:
    return load_definitions("kdigo2021"), load_study("seed2023")


def test_the_story_is_told_from_derived_alone(rules) -> None:
    definitions, study = rules
    lines = explain(_derived(), "P1", definitions, study)
    assert lines == [
        f"Patient P1 under kdigo2021 ({definitions.title}), study seed2023",
        # 4.999 years shown to one decimal: 5.0
        "  girl, born 2015-01-01, nephrotic syndrome from 2020-01-01 (age 5.0 years), "
        "biopsy FSGS, NPHS2 variant",
        "  follow-up 730 days",
        "",
        "Disease course:",
        "  2020-01-01 → 2020-05-09  nephrotic (rule: nephrotic)",
        "      evidence: 2020-01-01 upcr=5 mg/mg",
        "  2020-05-10 → 2021-12-31  complete remission (rule: complete_remission)",
        "",
        "Treatment courses:",
        "  1. steroids  2020-01-01 → 2020-02-12 (42 days): no remission",
        "  2. cyclosporine  2020-02-13 → 2020-08-13 (182 days): complete remission "
        "from 2020-05-10 (day 87), 2 relapse(s)",
        "",
        "Labels:",
        "  steroid response: resistant (initial, from 2020-02-12)",
        "  CNI response: complete remission",
        "  multidrug resistant: no",
        "  first remission: complete on 2020-05-10",
        # 101.26 → 101.3 and 55.04 → 55.0, to one decimal
        "  eGFR first 101.3, last 55.0 mL/min/1.73 m² (G3a)",
        "  severe CKD (eGFR < 60, sustained) from 2021-03-01",
        "  study: included",
    ]


def test_the_header_gives_the_study_period_when_the_study_has_one(rules) -> None:
    definitions, study = rules
    period = (D(2008, 1, 1), D(2020, 12, 31))
    dated = study.model_copy(
        update={
            "name": "centre2024",
            "eligibility": study.eligibility.model_copy(update={"study_period": period}),
        }
    )
    assert explain(_derived(), "P1", definitions, dated)[0] == (
        f"Patient P1 under kdigo2021 ({definitions.title}), study centre2024 "
        "(study period 2008-01-01 to 2020-12-31)"
    )


def test_another_patients_rows_stay_out_of_the_story(rules) -> None:
    lines = explain(_derived(), "P2", *rules)
    assert lines[1] == "  boy, born 2010-06-01, nephrotic syndrome from 2012-06-01 (age 5.0 years)"
    assert lines[5:7] == [
        "  2012-06-01 → 2012-06-20  nephrotic (rule: nephrotic)",
        "      evidence: 2012-06-01 upcr=4 mg/mg",
    ]
    assert lines[lines.index("Treatment courses:") + 1] == ""


def test_the_severe_ckd_threshold_is_the_studys(rules) -> None:
    definitions, study = rules
    kidney = study.kidney.model_copy(update={"severe_below": 45.0})
    mine = study.model_copy(update={"kidney": kidney})
    lines = explain(_derived(), "P1", definitions, mine)
    assert "  severe CKD (eGFR < 45, sustained) from 2021-03-01" in lines


def test_an_excluded_patient_shows_each_reason(rules) -> None:
    derived = _derived(eligible=False, exclusion_reasons="infantile;followup_under_1y")
    assert explain(derived, "P1", *rules)[-1] == "  study: excluded: infantile, followup_under_1y"


def test_an_unknown_patient_is_a_usage_error(rules) -> None:
    with pytest.raises(UsageError, match="no patient 'P9'"):
        explain(_derived(), "P9", *rules)


def test_explain_needs_the_analysis_tables(rules) -> None:
    with pytest.raises(ValueError, match="analysis=True"):
        explain(_derived(analysis=False), "P1", *rules)
