"""One patient's story, in order, with the evidence for every label (``srnskit explain``).

Renders what the engine derived for one patient (``Derived`` with its analysis tables: the
patient's characteristics come from ``analysis["patients"]``); it computes nothing clinical and
reads no cohort.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.compute as pc

from srnskit.errors import UsageError

if TYPE_CHECKING:
    from srnskit.definitions.model import DefinitionSet
    from srnskit.engine import Derived
    from srnskit.studies import StudyDesign

__all__ = ["explain"]

_STATE_WORDS = {
    "nephrotic": "nephrotic",
    "partial_remission": "partial remission",
    "complete_remission": "complete remission",
}


def explain(
    derived: Derived, patient_id: str, definitions: DefinitionSet, study: StudyDesign
) -> list[str]:
    """The lines of ``patient_id``'s story: who (under which definition set and study, with the
    study period when it has one), the disease course with its evidence, the treatment courses
    with their responses, and the labels (ages in years, eGFR in mL/min/1.73 m², the severe-CKD
    threshold from the study's ``[kidney]``).

    ``derived`` is the engine's result with its analysis tables (``analysis=True``), for this
    patient or for a cohort holding them. Raises ``UsageError`` when ``patient_id`` is not in
    it, and ``ValueError`` when ``derived`` has no analysis tables.
    """
    if derived.analysis is None:
        raise ValueError("explain needs the analysis tables: derive(..., analysis=True)")
    patients = _of(derived.analysis["patients"], patient_id)
    outcomes = _of(derived.patient_outcomes, patient_id)
    if not patients or not outcomes:
        raise UsageError(f"no patient '{patient_id}' in the derived tables")
    outcome = outcomes[0]
    lines = [
        f"Patient {patient_id} under {definitions.name} ({definitions.title}), "
        f"study {study.name}{_period(study)}",
        _characteristics(patients[0], outcome),
        f"  follow-up {outcome['followup_days']} days",
        "",
        "Disease course:",
    ]
    for episode in _of(derived.episodes, patient_id):
        lines.append(
            f"  {episode['start_date']} → {episode['end_date']}  "
            f"{_STATE_WORDS[episode['state']]} (rule: {episode['rule']})"
        )
        if episode["evidence"]:
            lines.append(f"      evidence: {episode['evidence']}")
    lines += ["", "Treatment courses:"]
    lines += [_course(course) for course in _of(derived.courses, patient_id)]
    lines += ["", "Labels:", *_labels(outcome, study)]
    return lines


def _period(study: StudyDesign) -> str:
    """The header's ' (study period FIRST to LAST)' (ISO dates) when the study has one, else ''."""
    period = study.eligibility.study_period
    return f" (study period {period[0]} to {period[1]})" if period else ""


def _of(table: pa.Table, patient_id: str) -> list[dict[str, Any]]:
    """The rows of ``patient_id`` in ``table``, in the table's order."""
    rows: list[dict[str, Any]] = table.filter(pc.field("patient_id") == patient_id).to_pylist()
    return rows


def _characteristics(patient: dict[str, Any], outcome: dict[str, Any]) -> str:
    secondary, histology, variant = (
        patient["secondary_cause"],
        patient["histology"],
        patient["genetic_variant"],
    )
    return (
        f"  {'girl' if patient['sex'] == 'F' else 'boy'}, born {patient['birth_date']}, "
        f"nephrotic syndrome from {patient['onset_date']} "
        f"(age {outcome['onset_age_years']:.1f} years)"
        + (f", secondary: {secondary}" if secondary else "")
        + (f", biopsy {histology}" if histology else "")
        + (f", {variant} variant" if variant else "")
    )


def _course(course: dict[str, Any]) -> str:
    response = course["response"].replace("_", " ")
    text = (
        f"  {course['course_no']}. {course['regimen']}  {course['start_date']} → "
        f"{course['end_date']} ({course['days']} days): {response}"
    )
    if course["response_date"]:
        text += f" from {course['response_date']} (day {course['days_to_remission']})"
    if course["relapses"]:
        text += f", {course['relapses']} relapse(s)"
    return text


def _labels(outcome: dict[str, Any], study: StudyDesign) -> list[str]:
    resistance = outcome["steroid_response"]
    if outcome["resistance_type"]:
        resistance += f" ({outcome['resistance_type']}, from {outcome['resistance_date']})"
    lines = [
        f"  steroid response: {resistance}",
        f"  CNI response: {outcome['cni_response'].replace('_', ' ')}",
    ]
    if outcome["multidrug_resistant"] is not None:
        lines.append(f"  multidrug resistant: {'yes' if outcome['multidrug_resistant'] else 'no'}")
    if outcome["first_remission_date"]:
        lines.append(
            f"  first remission: {outcome['first_remission_type']} on "
            f"{outcome['first_remission_date']}"
        )
    if outcome["egfr_first"] is not None:
        lines.append(
            f"  eGFR first {outcome['egfr_first']:.1f}, last {outcome['egfr_last']:.1f} "
            f"mL/min/1.73 m² ({outcome['ckd_stage_last']})"
        )
    if outcome["severe_ckd_date"]:
        lines.append(
            f"  severe CKD (eGFR < {study.kidney.severe_below:g}, sustained) "
            f"from {outcome['severe_ckd_date']}"
        )
    if outcome["kidney_failure_date"]:
        lines.append(f"  kidney failure from {outcome['kidney_failure_date']}")
    included = (
        "included"
        if outcome["eligible"]
        else ("excluded: " + outcome["exclusion_reasons"].replace(";", ", "))
    )
    lines.append(f"  study: {included}")
    return lines
