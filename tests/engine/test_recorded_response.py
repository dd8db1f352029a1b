"""A steroid response documented elsewhere (``steroid_response_recorded``, clinical.md §5) on
hand-made children under kdigo2021: it stands in only when no standard-dose course starts within
30 days of onset, a response derived from the data always wins, late resistance is still derived,
and ``steroid_response_source`` says which. Onset 2020-01-01 for every child."""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from srnskit.definitions import load_definitions
from srnskit.outputs.explain import explain
from srnskit.outputs.timeline import rows_from_derived, timeline_of
from srnskit.studies import load_study
from tests.engine.conftest import D, outcome_of, upcr


def _child(patient: str, recorded: str = "") -> tuple[str, ...]:
    return (patient, "F", "2012-01-01", "2020-01-01", "", recorded)


def _prednisone(patient: str, start: str, end: str) -> tuple[Any, ...]:
    # 60 mg/day: standard dose whatever the child's size (clinical.md §2, the usual cap).
    return (patient, "prednisone", start, end, 60, "mg/day", "daily")


CHILDREN = [
    _child("P1", "resistant"),  # referred: no course near onset, resistance documented
    _child("P2", "sensitive"),  # referred: sensitivity documented, no relapse
    _child("P3", "sensitive"),  # referred sensitive, then resistant at a relapse here
    _child("P4", "resistant"),  # onset course in the data, complete remission in it
    _child("P5", "resistant"),  # onset course in the data, no proteinuria in its window
    _child("P6"),  # no course near onset, nothing documented
]
MEASUREMENTS = (
    upcr("P1", "2020-01-02", [5])
    + upcr("P2", "2020-01-02", [5])
    # P3: complete remission from Feb 1 (three days ≤ 0.2), relapse from Mar 1 (three days
    # ≥ 2 after a complete remission), then no complete remission under the relapse's course.
    + upcr("P3", "2020-01-02", [5])
    + upcr("P3", "2020-02-01", [0.1, 0.1, 0.1])
    + upcr("P3", "2020-03-01", [3, 3, 3])
    + upcr("P3", "2020-03-10", [3, 3, 3], every_days=10)
    # P4: complete remission from Jan 10, within 28 days of the Jan 5 course.
    + upcr("P4", "2020-01-02", [5])
    + upcr("P4", "2020-01-10", [0.1, 0.1, 0.1])
    # P5: nothing in the Jan 5 course's window (Jan 5 – Feb 2).
    + upcr("P5", "2020-01-02", [5])
    + upcr("P5", "2020-03-01", [5])
    + upcr("P6", "2020-01-02", [5])
)
TREATMENTS = [
    # P3's course starts Mar 5, 4 days after the relapse (within 14) and 64 days after onset
    # (not the onset course: beyond 30 days).
    _prednisone("P3", "2020-03-05", "2020-04-30"),
    _prednisone("P4", "2020-01-05", "2020-02-01"),
    _prednisone("P5", "2020-01-05", "2020-02-01"),
]


def _outcomes(derive_cohort):  # type: ignore[no-untyped-def]
    derived = derive_cohort(patients=CHILDREN, measurements=MEASUREMENTS, treatments=TREATMENTS)
    return {p: outcome_of(derived, p) for p in ("P1", "P2", "P3", "P4", "P5", "P6")}


def _response(outcome: dict[str, Any]) -> tuple[Any, ...]:
    return (
        outcome["steroid_response"],
        outcome["steroid_response_source"],
        outcome["resistance_type"],
        outcome["resistance_date"],
    )


def test_the_recorded_response_stands_in_only_without_an_onset_course(derive_cohort) -> None:
    o = _outcomes(derive_cohort)
    # Recorded resistant: initial, with no resistance date (no course in the data to count
    # 28 days from).
    assert _response(o["P1"]) == ("resistant", "recorded", "initial", None)
    # Recorded sensitive, no relapse treated here: sensitive on the record alone.
    assert _response(o["P2"]) == ("sensitive", "recorded", None, None)
    # Recorded sensitive, then late resistance from the data: the relapse's course from Mar 5
    # has no complete remission by Mar 5 + 28 = Apr 2, so resistant (late) from Apr 2, derived.
    assert _response(o["P3"]) == ("resistant", "derived", "late", D("2020-04-02"))
    # A derived response wins: complete remission from Jan 10, within 28 days of the course.
    assert _response(o["P4"]) == ("sensitive", "derived", None, None)
    # An onset course with no proteinuria in its window: unknown, the record does not stand
    # in (the response is unknown for want of measurements, not of a course).
    assert _response(o["P5"]) == ("unknown", None, None, None)
    assert _response(o["P6"]) == ("unknown", None, None, None)


def test_inclusion_step_4_follows_the_final_response(derive_cohort) -> None:
    o = _outcomes(derive_cohort)

    def steps(patient: str) -> set[str]:
        return set((o[patient]["exclusion_reasons"] or "").split(";"))

    steroid_steps = {"not_steroid_resistant", "steroid_response_unknown"}
    assert not steps("P1") & steroid_steps
    assert not steps("P3") & steroid_steps
    assert steps("P2") & steroid_steps == {"not_steroid_resistant"}
    assert steps("P4") & steroid_steps == {"not_steroid_resistant"}
    assert steps("P5") & steroid_steps == {"steroid_response_unknown"}
    assert steps("P6") & steroid_steps == {"steroid_response_unknown"}


def test_explain_says_why_a_response_is_unknown(derive_cohort) -> None:
    derived = derive_cohort(
        patients=CHILDREN, measurements=MEASUREMENTS, treatments=TREATMENTS, analysis=True
    )
    # The engine's first standard-dose course within 30 days of onset, judged alone: P4's and
    # P5's Jan 5 courses (window Jan 5 + 28 = Feb 2); P3's course (Mar 5, day 64) is not one,
    # P1, P2 and P6 have none.
    courses = derived.analysis["initial_steroid_course"].to_pylist()
    assert courses == [
        {
            "patient_id": "P4",
            "start_date": D("2020-01-05"),
            "window_end": D("2020-02-02"),
            "outcome": "sensitive",
            "unknown_reason": None,
        },
        {
            "patient_id": "P5",
            "start_date": D("2020-01-05"),
            "window_end": D("2020-02-02"),
            "outcome": "unknown",
            "unknown_reason": "no_proteinuria",
        },
    ]
    rules = (load_definitions("kdigo2021"), load_study("seed2023"))
    p5 = explain(derived, "P5", *rules)
    assert (
        "  steroid response: unknown: the standard-dose steroid course from 2020-01-05 has no "
        "proteinuria measurement that kdigo2021 reads (UPCR, dipstick) in its window "
        "(2020-01-05 → 2020-02-02); the recorded response (resistant) stands in only when no "
        "standard-dose course starts near onset; docs/clinical-rules.md §5"
    ) in p5
    p6 = explain(derived, "P6", *rules)
    assert (
        "  steroid response: unknown: no standard-dose steroid course starts from onset "
        "(2020-01-01) to 30 days after it to judge it by (a course below the standard dose, not "
        "daily, started before onset, or whose dose per m² or per kg cannot be read for want of "
        "a weight or height does not count), and no response is recorded "
        "(steroid_response_recorded); docs/clinical-rules.md §5"
    ) in p6
    # A known response says nothing of the kind.
    assert "  steroid response: sensitive" in explain(derived, "P4", *rules)


def test_explain_says_a_window_was_not_followed_to_its_end(derive_cohort) -> None:
    # Course from Jan 5 (window to Jan 5 + 28 = Feb 2), nephrotic Jan 10-12, last seen Jan 20.
    derived = derive_cohort(
        patients=[_child("P1")],
        measurements=upcr("P1", "2020-01-02", [5]) + upcr("P1", "2020-01-10", [4, 4, 4]),
        treatments=[_prednisone("P1", "2020-01-05", "2020-01-15")],
        events=[("P1", "2020-01-20", "last_visit")],
        analysis=True,
    )
    (course,) = derived.analysis["initial_steroid_course"].to_pylist()
    assert (course["outcome"], course["unknown_reason"]) == ("unknown", "after_followup")
    lines = explain(derived, "P1", load_definitions("kdigo2021"), load_study("seed2023"))
    assert (
        "  steroid response: unknown: the standard-dose steroid course from 2020-01-05 was not "
        "followed to the end of its window (2020-01-05 → 2020-02-02): follow-up ends before it, "
        "too soon to judge; docs/clinical-rules.md §5"
    ) in lines

    # The timeline's steroid-response label gives the same reason in its tip.
    measurements = pa.table({"patient_id": pa.array([], pa.string())})
    rows = rows_from_derived(derived, measurements, "P1")
    spec = timeline_of(rows, load_definitions("kdigo2021"), load_study("seed2023"))
    tips = [
        r["tip"]
        for layer in spec["vconcat"][0]["layer"]
        if layer["mark"].get("shape") == "triangle-down"
        for r in layer["data"]["values"]
    ]
    assert tips[0] == (
        "steroid response: unknown: the standard-dose steroid course from 2020-01-05 was not "
        "followed to the end of its window (2020-01-05 → 2020-02-02): follow-up ends before it, "
        "too soon to judge; docs/clinical-rules.md §5"
    )


def test_a_window_not_followed_to_its_end_without_any_proteinuria_reading(derive_cohort) -> None:
    # Course Jan 5 → Jan 15 (window to Jan 5 + 28 = Feb 2), no proteinuria measured at all (the
    # onset episode alone), last date of any kind the course's end, Jan 15 (clinical.md §8).
    # Both reasons hold; the window not followed to its end is said first (rules/windows.py).
    derived = derive_cohort(
        patients=[_child("P1")],
        measurements=[],
        treatments=[_prednisone("P1", "2020-01-05", "2020-01-15")],
        analysis=True,
    )
    (course,) = derived.analysis["initial_steroid_course"].to_pylist()
    assert (course["window_end"], course["outcome"], course["unknown_reason"]) == (
        D("2020-02-02"),
        "unknown",
        "after_followup",
    )
