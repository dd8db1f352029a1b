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
from srnskit.outputs.words import nearest
from srnskit.schema import ANALYSIS_TABLES, COMPARED_COURSES, DERIVED_TABLES, EXCLUSION_WORDS
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


def _exposure(drug: str, start: dt.date, end: dt.date | None, active_end: dt.date, **row: Any):
    return {
        "patient_id": "P1",
        "drug": drug,
        "start_date": start,
        "end_date": end,
        "active_end": active_end,
    } | row


def _derived(
    *,
    analysis: bool = True,
    more: dict[str, list[dict[str, Any]]] | None = None,
    **p1: Any,
) -> Derived:
    """P1, a girl with nephrotic syndrome from 2020-01-01: prednisone for six weeks without
    remission (initially resistant, as the outcome row says), then cyclosporine (complete
    remission from 2020-05-10, day 87), a rituximab infusion counted active for 180 days
    (2020-09-01 + 180 = 2021-02-28), MMF ongoing from 2021-06-01 and an ACE inhibitor; two
    cyclosporine troughs, two adverse events, a last visit. P2, a boy whose rows must stay out
    of P1's story. ``more``: rows added to a table by name (an episode, an eGFR row)."""
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
            cni_response="responsive",
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
            "regimen": "cyclosporine",
            "start_date": D(2020, 2, 13),
            "end_date": D(2020, 8, 13),
            "days": 183,
            "response": "complete",
            "response_date": D(2020, 5, 10),
            "days_to_remission": 87,
            "relapses": 2,
        },
        {
            "patient_id": "P1",
            "course_no": 2,
            "regimen": "rituximab",
            "start_date": D(2020, 9, 1),
            "end_date": D(2021, 2, 28),
            "days": 181,
            "response": "not_evaluable",
        },
        {
            "patient_id": "P1",
            "course_no": 3,
            "regimen": "mmf",
            "start_date": D(2021, 6, 1),
            "end_date": D(2021, 12, 31),
            "days": 214,
            "response": "partial",
            "response_date": D(2021, 7, 1),
            "days_to_remission": 30,
            "relapses": 1,
        },
    ]
    exposures = [
        _exposure(
            "prednisone",
            D(2020, 1, 1),
            D(2020, 2, 12),
            D(2020, 2, 12),
            dose=60.0,
            dose_unit="mg/m2/day",
            schedule="daily",
        ),
        _exposure(
            "cyclosporine",
            D(2020, 2, 13),
            D(2020, 8, 13),
            D(2020, 8, 13),
            dose=150.0,
            dose_unit="mg/m2/day",
            schedule="daily",
        ),
        _exposure(
            "rituximab",
            D(2020, 9, 1),
            D(2020, 9, 1),
            D(2021, 2, 28),
            dose=375.0,
            dose_unit="mg/m2",
            schedule="single",
        ),
        _exposure(
            "mmf",
            D(2021, 6, 1),
            None,
            D(2021, 12, 31),
            dose=600.0,
            dose_unit="mg/m2/day",
            schedule="daily",
        ),
        _exposure("acei", D(2020, 1, 1), D(2020, 12, 31), D(2020, 12, 31)),
        _exposure("prednisone", D(2012, 6, 1), D(2012, 7, 1), D(2012, 7, 1)) | {"patient_id": "P2"},
    ]
    troughs = [
        {"patient_id": "P1", "drug": "cyclosporine", "date": D(2020, 4, 1), "value": 250.5},
        {"patient_id": "P1", "drug": "cyclosporine", "date": D(2020, 3, 1), "value": 120.0},
        {"patient_id": "P2", "drug": "cyclosporine", "date": D(2012, 7, 1), "value": 99.0},
    ]
    adverse_events = [
        # recorded without a drug: the engine attributes it to each drug active that day
        {"patient_id": "P1", "date": D(2020, 9, 15), "event": "infection", "drug": "acei"},
        {"patient_id": "P1", "date": D(2020, 9, 15), "event": "infection", "drug": "rituximab"},
        {
            "patient_id": "P1",
            "date": D(2020, 3, 15),
            "event": "hypertension",
            "drug": "cyclosporine",
            "grade": 2,
        },
        {"patient_id": "P2", "date": D(2012, 6, 5), "event": "other", "grade": 1},
    ]
    events = [
        {"patient_id": "P1", "date": D(2021, 12, 31), "event": "last_visit"},
        {"patient_id": "P2", "date": D(2012, 6, 20), "event": "lost_to_followup"},
    ]
    tables = {
        "patients": patients,
        "exposures": exposures,
        "troughs": troughs,
        "adverse_events": adverse_events,
        "events": events,
        "egfr": [],
        "episodes": episodes,
        "courses": courses,
    }
    for name, rows in (more or {}).items():
        tables[name] = tables[name] + rows
    episodes, courses = tables.pop("episodes"), tables.pop("courses")
    return Derived(
        patient_outcomes=_table(DERIVED_TABLES["patient_outcomes"], outcomes),
        courses=_table(DERIVED_TABLES["courses"], courses),
        episodes=_table(DERIVED_TABLES["episodes"], episodes),
        flow={},
        compared_courses=_table(COMPARED_COURSES, []),
        analysis=(
            {name: _table(ANALYSIS_TABLES[name], rows) for name, rows in tables.items()}
            if analysis
            else None
        ),
    )


@pytest.fixture(scope="module")
def rules() -> tuple[Any, Any]:
    return load_definitions("kdigo2021"), load_study("seed2023")


# A one-day entry is padded to the width of "YYYY-MM-DD → YYYY-MM-DD" (23 characters): the
# date (10) and 13 spaces, then the two spaces before the text.
DAY = " " * 15


def test_the_story_is_told_in_date_order_from_derived_alone(rules) -> None:
    definitions, study = rules
    lines = explain(_derived(), "P1", definitions, study)
    assert lines == [
        f"Patient P1 under kdigo2021 ({definitions.title}), study seed2023",
        # 4.999 years shown to one decimal: 5.0
        "  girl, born 2015-01-01, nephrotic syndrome from 2020-01-01 (age 5.0 years), "
        "biopsy FSGS, NPHS2 variant",
        "  follow-up 730 days",
        "",
        "Story, in date order:",
        # on one day: the state, then what was given (in the table's order), then the course
        "  2020-01-01 → 2020-05-09  nephrotic (rule: nephrotic)",
        "      evidence: 2020-01-01 upcr=5 mg/mg",
        "  2020-01-01 → 2020-02-12  prednisone 60 mg/m2/day daily",
        "  2020-01-01 → 2020-12-31  acei",
        "  2020-02-13 → 2020-08-13  cyclosporine 150 mg/m2/day daily",
        "  2020-02-13 → 2020-08-13  course 1, cyclosporine (183 days): complete remission "
        "from 2020-05-10 (day 87), 2 relapses",
        # the troughs by date, whatever their order in the table
        f"  2020-03-01{DAY}cyclosporine trough 120 ng/mL",
        f"  2020-03-15{DAY}adverse event: hypertension, grade 2, attributed to cyclosporine",
        f"  2020-04-01{DAY}cyclosporine trough 250.5 ng/mL",
        "  2020-05-10 → 2021-12-31  complete remission (rule: complete_remission)",
        # 2020-09-01 + 180 days = 2021-02-28, the set's rituximab_active_days as the engine
        # counted them
        f"  2020-09-01{DAY}rituximab infusion 375 mg/m2, counted active to 2021-02-28",
        "  2020-09-01 → 2021-02-28  course 2, rituximab (181 days): not evaluable",
        # one event, two rows in the table (one per drug active that day): told once
        f"  2020-09-15{DAY}adverse event: infection, attributed to acei, rituximab",
        # no end date: ongoing, to the last follow-up the engine counted
        "  2021-06-01 → 2021-12-31  mmf 600 mg/m2/day daily, ongoing",
        "  2021-06-01 → 2021-12-31  course 3, mmf (214 days): partial remission from "
        "2021-07-01 (day 30), 1 relapse",
        f"  2021-12-31{DAY}last visit",
        "",
        "Labels:",
        "  steroid response: resistant (initial, from 2020-02-12)",
        "  CNI response: responsive",
        "  multidrug resistant: no",
        "  first remission (complete) from 2020-05-10",
        # 101.26 → 101.3 and 55.04 → 55.0, to one decimal
        "  eGFR first 101.3, last 55.0 mL/min/1.73 m² (G3a)",
        "  severe CKD (eGFR < 60, sustained) from 2021-03-01",
        "  study: included",
    ]


def test_a_partial_first_remission_reads_as_one(rules) -> None:
    derived = _derived(first_remission_type="partial", first_remission_date=D(2020, 4, 2))
    assert "  first remission (partial) from 2020-04-02" in explain(derived, "P1", *rules)


def test_kidney_replacement_therapy_is_told_beside_the_native_kidneys_last_egfr(rules) -> None:
    graft = [
        # the graft's eGFR: after the transplant (not native); the later one is told
        {"patient_id": "P1", "date": D(2021, 10, 1), "egfr": 60.0, "native": False},
        {"patient_id": "P1", "date": D(2021, 12, 1), "egfr": 74.06, "native": False},
        {"patient_id": "P1", "date": D(2021, 8, 1), "egfr": 12.0, "native": True},
    ]
    derived = _derived(
        more={"egfr": graft},
        egfr_last=12.0,
        ckd_stage_last="G2T",
        krt="transplant",
        krt_date=D(2021, 9, 1),
        kidney_failure_date=D(2021, 9, 1),
    )
    lines = explain(derived, "P1", *rules)
    assert lines[lines.index("Labels:") + 5 :][:4] == [
        # 74.06 → 74.1: the latest graft eGFR, beside the native kidneys' last
        "  eGFR first 101.3, last native 12.0; graft 74.1 mL/min/1.73 m² (G2T)",
        "  kidney replacement therapy: transplant from 2021-09-01",
        "  severe CKD (eGFR < 60, sustained) from 2021-03-01",
        "  kidney failure from 2021-09-01",
    ]
    # on dialysis: the native kidneys' last, said so; an eGFR on dialysis is not told
    on_dialysis = [{"patient_id": "P1", "date": D(2021, 10, 1), "egfr": 9.6, "native": False}]
    dialysis = _derived(
        more={"egfr": on_dialysis},
        egfr_last=9.0,
        ckd_stage_last="G5D",
        krt="dialysis",
        krt_date=D(2021, 9, 1),
    )
    assert "  eGFR first 101.3, last native 9.0 mL/min/1.73 m² (G5D)" in explain(
        dialysis, "P1", *rules
    )
    # dialysis first (krt), then a transplant: the stage follows the latest (G2T), and so does
    # the graft's eGFR beside it (the first KRT was dialysis: it was left out before)
    graft_after_dialysis = _derived(
        more={"egfr": graft},
        egfr_last=12.0,
        ckd_stage_last="G2T",
        krt="dialysis",
        krt_date=D(2021, 6, 1),
    )
    assert "  eGFR first 101.3, last native 12.0; graft 74.1 mL/min/1.73 m² (G2T)" in explain(
        graft_after_dialysis, "P1", *rules
    )


def test_a_transplant_no_egfr_follows_has_no_stage_and_says_why(rules) -> None:
    # clinical.md §6: after a transplant the stage is that of the last eGFR after it, empty
    # when none follows; the native kidneys' last is still told
    native = [{"patient_id": "P1", "date": D(2021, 8, 1), "egfr": 12.0, "native": True}]
    derived = _derived(
        more={"egfr": native},
        egfr_last=12.0,
        ckd_stage_last=None,
        krt="transplant",
        krt_date=D(2021, 9, 1),
    )
    assert (
        "  eGFR first 101.3, last native 12.0 mL/min/1.73 m² "
        "(no stage: no eGFR after the transplant)"
    ) in explain(derived, "P1", *rules)


def test_a_dose_whose_start_has_no_weight_says_its_dose_per_m2_is_unknown(rules) -> None:
    # clinical.md §1: the one weight rule (365 days); 40 mg/day of prednisone is a standard
    # dose only per m² (>= 60 mg/m2/day), which needs that weight. A rituximab row left at the
    # default schedule (daily) is still one infusion.
    rows = [
        _exposure(
            "prednisone",
            D(2021, 3, 1),
            D(2021, 3, 28),
            D(2021, 3, 28),
            dose=40.0,
            dose_unit="mg/day",
            schedule="daily",
            weight_kg=None,
        ),
        _exposure(
            "cyclosporine",
            D(2021, 3, 1),
            D(2021, 9, 1),
            D(2021, 9, 1),
            dose=120.0,
            dose_unit="mg/day",
            schedule="daily",
            weight_kg=25.0,
            height_cm=120.0,
        ),
        _exposure(
            "rituximab",
            D(2021, 4, 1),
            D(2021, 4, 1),
            D(2021, 9, 28),
            dose=375.0,
            dose_unit="mg/m2",
            schedule="daily",
        ),
    ]
    lines = explain(_derived(more={"exposures": rows}), "P1", *rules)
    said = [line.split("  ", 2)[-1].strip() for line in lines if line.startswith("  2021-0")]
    # the BSA needs both: a weight (365 days) and a height in reach of the start
    assert said[0] == (
        "prednisone 40 mg/day daily (no weight within 365 days and no height in reach of the "
        "start: dose per m² unknown)"
    )
    assert "cyclosporine 120 mg/day daily" in said
    assert "rituximab infusion 375 mg/m2, counted active to 2021-09-28" in said


def test_an_egfr_at_an_age_the_equation_was_not_validated_for_is_noted(rules) -> None:
    # clinical.md §6: bedside Schwartz is valid for ages 1 to 18, outside them "compute it
    # but warn"; the engine marks each such eGFR (validated_age false): two of P1's, none of P2's
    rows = [
        {"patient_id": "P1", "date": D(2033, 1, 2), "egfr": 80.0, "validated_age": False},
        {"patient_id": "P1", "date": D(2033, 6, 1), "egfr": 78.0, "validated_age": False},
        {"patient_id": "P1", "date": D(2021, 6, 1), "egfr": 55.0, "validated_age": True},
        {"patient_id": "P2", "date": D(2030, 1, 1), "egfr": 90.0, "validated_age": False},
    ]
    lines = explain(_derived(more={"egfr": rows}), "P1", *rules)
    assert lines[-1] == (
        "  note: 2 eGFRs at an age outside 1 to 18 years, the ages the bedside Schwartz "
        "equation was validated for: computed, but less reliable"
    )
    assert not any("note:" in line for line in explain(_derived(), "P1", *rules))


def test_a_complete_response_reached_through_partial_says_both_dates(rules) -> None:
    # course 3 (mmf, from 2021-06-01): first remission partial on 2021-07-01 (day 30), a
    # complete remission episode from 2021-09-01: day 2021-09-01 − 2021-06-01 = 92
    derived = _derived(
        more={
            "episodes": [
                {
                    "patient_id": "P1",
                    "state": "complete_remission",
                    "start_date": D(2021, 9, 1),
                    "end_date": D(2021, 12, 31),
                    "rule": "complete_remission",
                    "evidence": "",
                },
            ],
            "courses": [
                {
                    "patient_id": "P1",
                    "course_no": 4,
                    "regimen": "mmf",
                    "start_date": D(2021, 6, 1),
                    "end_date": D(2021, 12, 31),
                    "days": 214,
                    "response": "complete",
                    "response_date": D(2021, 7, 1),
                    "days_to_remission": 30,
                    "relapses": 0,
                },
            ],
        }
    )
    lines = explain(derived, "P1", *rules)
    assert (
        "  2021-06-01 → 2021-12-31  course 4, mmf (214 days): complete remission from "
        "2021-09-01 (day 92); first remission (partial) from 2021-07-01 (day 30)"
    ) in lines
    # course 1's first remission was the complete one (2020-05-10): one date
    assert (
        "  2020-02-13 → 2020-08-13  course 1, cyclosporine (183 days): complete remission "
        "from 2020-05-10 (day 87), 2 relapses"
    ) in lines


def test_a_recorded_steroid_response_says_it_was_recorded(rules) -> None:
    derived = _derived(steroid_response_source="recorded", resistance_date=None)
    assert (
        "  steroid response: resistant (initial), as recorded (no standard-dose steroid course "
        "near onset to derive it from; docs/clinical-rules.md §5)"
    ) in explain(derived, "P1", *rules)
    derived = _derived(steroid_response_source="derived")
    assert "  steroid response: resistant (initial, from 2020-02-12)" in explain(
        derived, "P1", *rules
    )


def test_a_trough_given_as_a_bound_is_printed_as_written(rules) -> None:
    bound = {
        "patient_id": "P1",
        "drug": "cyclosporine",
        "date": D(2020, 6, 1),
        "value": 2000.0,
        "qualifier": ">",
    }
    lines = explain(_derived(more={"troughs": [bound]}), "P1", *rules)
    assert f"  2020-06-01{DAY}cyclosporine trough >2000 ng/mL" in lines


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
    assert lines[lines.index("Story, in date order:") + 1 : lines.index("Labels:")] == [
        "  2012-06-01 → 2012-06-20  nephrotic (rule: nephrotic)",
        "      evidence: 2012-06-01 upcr=4 mg/mg",
        "  2012-06-01 → 2012-07-01  prednisone",
        # an event with no drug recorded and none active
        f"  2012-06-05{DAY}adverse event: other, grade 1, no drug active",
        f"  2012-06-20{DAY}lost to followup",
        f"  2012-07-01{DAY}cyclosporine trough 99 ng/mL",
        "",
    ]


def test_the_severe_ckd_threshold_is_the_studys(rules) -> None:
    definitions, study = rules
    kidney = study.kidney.model_copy(update={"severe_below": 45.0})
    mine = study.model_copy(update={"kidney": kidney})
    lines = explain(_derived(), "P1", definitions, mine)
    assert "  severe CKD (eGFR < 45, sustained) from 2021-03-01" in lines


def test_an_excluded_patient_shows_each_reason_in_words(rules) -> None:
    derived = _derived(eligible=False, exclusion_reasons="infantile;followup_under_1y")
    assert explain(derived, "P1", *rules)[-3:] == [
        "  study: excluded",
        f"    - {EXCLUSION_WORDS['infantile']}",
        f"    - {EXCLUSION_WORDS['followup_under_1y']}",
    ]


def test_an_unknown_patient_is_a_usage_error_naming_the_nearest(rules) -> None:
    with pytest.raises(
        UsageError, match=r'^no patient "p1" in the derived tables; did you mean "P1"\?$'
    ):
        explain(_derived(), "p1", *rules)
    with pytest.raises(UsageError, match=r'^no patient "XYZ" in the derived tables$'):
        explain(_derived(), "XYZ", *rules)


def test_the_nearest_name_ignores_case_first_then_spelling() -> None:
    ids = ["P001", "P002", "SYN0000020"]
    assert nearest("p001", ids) == ["P001"]  # the same id in another case wins outright
    # "syn0000002" against "syn0000020": 9 of 10 characters in order, ratio 2·9/20 = 0.9
    assert nearest("SYN0000002", ids) == ["SYN0000020"]
    assert nearest("P001", ids) == []  # an existing id needs no suggestion
    # "q9" has no character in common with any of them: ratio 0 < 0.6
    assert nearest("Q9", ids) == []


def test_equally_near_ids_prefer_a_repeated_character_slip() -> None:
    # "syn000002" (9 characters) is each of "syn0000002", "syn0000052" and "syn0000020" (10)
    # less one character: 9 characters match in order, ratio 2·9/(9 + 10) = 0.947 for all
    # three; only "syn0000002" differs by a character of a run (one 0 of six typed too few)
    ids = ["SYN0000052", "SYN0000002", "SYN0000020", "SYN0000777"]
    assert nearest("SYN000002", ids) == ["SYN0000002"]
    # "syn0000777" shares "syn0000" (7) only: 2·7/19 = 0.737 < 0.947, not offered
    assert nearest("SYN000002", ["SYN0000052", "SYN0000777"]) == ["SYN0000052"]
    # "syn00004" against "syn000014" and "syn000024": 8 of 8 + 9, ratio 16/17 each, and
    # neither is a repeated character (1 and 2 stand alone): both, in the cohort's order
    assert nearest("SYN00004", ["SYN000024", "SYN000014"]) == ["SYN000024", "SYN000014"]
    # a character typed twice: "p11" for "P1" (ratio 2·2/5 = 0.8, as "P2"'s 2·1/5 = 0.4 is not)
    assert nearest("p11", ["P1", "P2"]) == ["P1"]


def test_an_unknown_id_with_equally_near_names_names_three(rules) -> None:
    from srnskit.outputs.explain import no_such_patient

    error = no_such_patient("SYN00004", ["SYN000014", "SYN000024"], "demo")
    assert str(error) == ('no patient "SYN00004" in demo; did you mean "SYN000014" or "SYN000024"?')
    # five equally near (each "syn0000" + one digit + "4" less that digit): three named
    ids = [f"SYN0000{d}4" for d in "12356"]
    error = no_such_patient("SYN00004", ids, "demo")
    assert str(error) == (
        'no patient "SYN00004" in demo; did you mean "SYN000014", "SYN000024" or '
        '"SYN000034"? (2 more are as near)'
    )


def test_explain_needs_the_analysis_tables(rules) -> None:
    with pytest.raises(ValueError, match="analysis=True"):
        explain(_derived(analysis=False), "P1", *rules)
