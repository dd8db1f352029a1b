"""One patient's story, in order, with the evidence for every label (``srnskit explain``)."""

from __future__ import annotations

from typing import Any

from srnskit.cohort.load import Cohort
from srnskit.definitions.model import DefinitionSet
from srnskit.engine.derive import derive
from srnskit.errors import UsageError

__all__ = ["explain"]

_STATE_WORDS = {
    "nephrotic": "nephrotic",
    "partial_remission": "partial remission",
    "complete_remission": "complete remission",
}


def explain(cohort: Cohort, patient_id: str, definitions: DefinitionSet) -> list[str]:
    """The lines of ``patient_id``'s story under ``definitions``."""
    found = cohort.con.execute(
        "SELECT sex, birth_date, onset_date, secondary_cause, histology, genetic_variant "
        "FROM patients WHERE patient_id = ?",
        [patient_id],
    ).fetchone()
    if found is None:
        raise UsageError(f"no patient '{patient_id}' in {cohort.path}")
    sex, birth, onset, secondary, histology, variant = found
    derived = derive(cohort, definitions, patient_id=patient_id)
    outcome: dict[str, Any] = derived.patient_outcomes.to_pylist()[0]
    lines = [
        f"Patient {patient_id} under {definitions.name} ({definitions.title})",
        f"  {'girl' if sex == 'F' else 'boy'}, born {birth}, nephrotic syndrome from {onset} "
        f"(age {outcome['onset_age_years']:.1f} years)"
        + (f", secondary: {secondary}" if secondary else "")
        + (f", biopsy {histology}" if histology else "")
        + (f", {variant} variant" if variant else ""),
        f"  follow-up {outcome['followup_days']} days",
        "",
        "Disease course:",
    ]
    for episode in derived.episodes.to_pylist():
        lines.append(
            f"  {episode['start_date']} → {episode['end_date']}  "
            f"{_STATE_WORDS[episode['state']]} (rule: {episode['rule']})"
        )
        if episode["evidence"]:
            lines.append(f"      evidence: {episode['evidence']}")
    lines += ["", "Treatment courses:"]
    for course in derived.courses.to_pylist():
        response = course["response"].replace("_", " ")
        text = (
            f"  {course['course_no']}. {course['regimen']}  {course['start_date']} → "
            f"{course['end_date']} ({course['days']} days): {response}"
        )
        if course["response_date"]:
            text += f" from {course['response_date']} (day {course['days_to_remission']})"
        if course["relapses"]:
            text += f", {course['relapses']} relapse(s)"
        lines.append(text)
    resistance = outcome["steroid_response"]
    if outcome["resistance_type"]:
        resistance += f" ({outcome['resistance_type']}, from {outcome['resistance_date']})"
    lines += [
        "",
        "Labels:",
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
            f"  severe CKD (eGFR < {definitions.kidney.severe_below:g}, sustained) "
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
