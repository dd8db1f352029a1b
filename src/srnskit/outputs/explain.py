"""One patient's story, in date order, with the evidence for every label (``srnskit explain``).

Renders what the engine derived for one patient (``Derived`` with its analysis tables): the
patient's characteristics from ``analysis["patients"]``, the treatment rows as given (drug, dose,
schedule, and the days a rituximab infusion counts as active) from ``analysis["exposures"]``,
the troughs measured while their drug was active from ``analysis["troughs"]``, the adverse
events with the drug each is attributed to from ``analysis["adverse_events"]``, the events
(dialysis, transplant, death) from ``analysis["events"]``. It computes nothing clinical and
reads no cohort: every date, state, response and attribution is the engine's.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.compute as pc

from srnskit.clinical.egfr import EGFR_EQUATIONS
from srnskit.constants import WEIGHT_WITHIN_DAYS
from srnskit.errors import UsageError
from srnskit.outputs.words import counted, nearest
from srnskit.schema import ANALYTES, EXCLUSION_WORDS, STREAM_WORDS

if TYPE_CHECKING:
    from srnskit.definitions.model import DefinitionSet
    from srnskit.engine import Derived
    from srnskit.studies import StudyDesign

__all__ = [
    "RESPONSE_WORDS",
    "STATE_WORDS",
    "adverse_event_groups",
    "course_words",
    "explain",
    "no_such_patient",
    "rows_of",
    "treatment_words",
    "why_unknown",
]

STATE_WORDS = {
    "nephrotic": "nephrotic",
    "partial_remission": "partial remission",
    "complete_remission": "complete remission",
}
# A course's response (cohort-format.md §3) in words.
RESPONSE_WORDS = {
    "complete": "complete remission",
    "partial": "partial remission",
    "none": "no remission",
    "not_evaluable": "not evaluable",
}
# Dose units already per m² (cohort-format.md §2): no body size needed to read them per m².
_PER_M2 = ("mg/m2/day", "mg/m2")
_SCHEDULE_WORDS = {"daily": "daily", "alternate_day": "on alternate days", "single": "once"}
# The unit every trough analyte is stored in (its canonical unit, cohort-format.md §2).
_TROUGH_UNITS = {a.units[0].name for a in ANALYTES.values() if a.name.endswith("_trough")}
# What comes first on one day: the state, then what was given, the course it forms, the
# troughs, the adverse events and the events.
_EPISODE, _TREATMENT, _COURSE, _TROUGH, _ADVERSE, _EVENT = range(6)
SUGGESTED = 3  # equally near ids named in an unknown id's error, at most; the rest counted
# The width of "YYYY-MM-DD → YYYY-MM-DD", so that a one-day entry lines up with a period.
_WHEN_WIDTH = 23


def explain(
    derived: Derived, patient_id: str, definitions: DefinitionSet, study: StudyDesign
) -> list[str]:
    """The lines of ``patient_id``'s story: who (under which definition set and study, with the
    study period when it has one), then the story in date order (the disease states with their
    evidence, each treatment row with its dose and schedule, the regimen courses with their
    responses, the troughs, the adverse events with their attributed drug, the events), then the
    labels (ages in years, eGFR in mL/min/1.73 m², the severe-CKD threshold from the study's
    ``[kidney]``, each exclusion reason in words).

    ``derived`` is the engine's result with its analysis tables (``analysis=True``), for this
    patient or for a cohort holding them. Raises ``UsageError`` when ``patient_id`` is not in
    it (naming the nearest id when one is close), and ``ValueError`` when ``derived`` has no
    analysis tables.
    """
    if derived.analysis is None:
        raise ValueError("explain needs the analysis tables: derive(..., analysis=True)")
    analysis = derived.analysis
    patients = rows_of(analysis["patients"], patient_id)
    outcomes = rows_of(derived.patient_outcomes, patient_id)
    if not patients or not outcomes:
        known = derived.patient_outcomes.column("patient_id").to_pylist()
        raise no_such_patient(patient_id, known, "the derived tables")
    outcome, initial = outcomes[0], analysis.get("initial_steroid_course")
    return [
        f"Patient {patient_id} under {definitions.name} ({definitions.title}), "
        f"study {study.name}{_period(study)}",
        _characteristics(patients[0], outcome),
        f"  follow-up {outcome['followup_days']} days",
        "",
        "Story, in date order:",
        *_story(derived, analysis, patient_id),
        "",
        "Labels:",
        *_labels(
            outcome,
            study,
            _after_krt(analysis, patient_id),
            why_unknown(
                None if initial is None else rows_of(initial, patient_id), patients[0], definitions
            ),
        ),
        *_unvalidated_ages(analysis, patient_id),
    ]


def _unvalidated_ages(analysis: dict[str, pa.Table], patient_id: str) -> list[str]:
    """The caveat of a patient with an eGFR at an age the bedside Schwartz equation was not
    validated for (``engine.rules.kidney.egfr_ages``: 1 to 18 years; clinical.md §6, "compute
    it but warn"), with the number of such days; none otherwise."""
    egfr = analysis.get("egfr")
    if egfr is None or "validated_age" not in egfr.column_names:
        return []
    days = sum(r["validated_age"] is False for r in rows_of(egfr, patient_id))
    if not days:
        return []
    low, high = EGFR_EQUATIONS["bedside-schwartz"].valid_age_years
    return [
        f"  note: {counted(days, 'eGFR')} at an age outside {low:g} to {high:g} years, the ages "
        "the bedside Schwartz equation was validated for: computed, but less reliable"
    ]


def _after_krt(analysis: dict[str, pa.Table], patient_id: str) -> list[dict[str, Any]]:
    """The patient's eGFR rows after kidney replacement therapy (not ``native``), by date."""
    egfr = analysis.get("egfr")
    if egfr is None:
        return []
    rows = [r for r in rows_of(egfr, patient_id) if r["native"] is False]
    return sorted(rows, key=lambda r: r["date"])


def no_such_patient(patient_id: str, known: Iterable[str], where: object) -> UsageError:
    """The usage error for an unknown ``patient_id``: ``no patient "p001" in WHERE; did you mean
    "P001"?`` when one of ``known`` is near it (``words.nearest``: the same id in another case,
    else the closest spellings; several equally close: 'did you mean "A" or "B"?', at most
    ``SUGGESTED`` named and the rest counted), else without the question."""
    text = f'no patient "{patient_id}" in {where}'
    close = nearest(patient_id, known)
    if not close:
        return UsageError(text)
    quoted = [f'"{c}"' for c in close[:SUGGESTED]]
    either = quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + f" or {quoted[-1]}"
    more = len(close) - len(quoted)
    also = f" ({more} more {'is' if more == 1 else 'are'} as near)" if more else ""
    return UsageError(f"{text}; did you mean {either}?{also}")


def _period(study: StudyDesign) -> str:
    """The header's ' (study period FIRST to LAST)' (ISO dates) when the study has one, else ''."""
    period = study.eligibility.study_period
    return f" (study period {period[0]} to {period[1]})" if period else ""


def rows_of(table: pa.Table, patient_id: str) -> list[dict[str, Any]]:
    """The rows of ``patient_id`` in ``table``, in the table's order (as dicts, column →
    value; dates as ``datetime.date``)."""
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


def _story(derived: Derived, analysis: dict[str, pa.Table], patient_id: str) -> list[str]:
    """Every dated entry of the patient, by date, then by kind (``_EPISODE`` … ``_EVENT``),
    then in each table's order; an entry may span several lines (an episode's evidence)."""
    entries: list[tuple[Any, int, list[str]]] = []
    for episode in rows_of(derived.episodes, patient_id):
        text = [_when(episode["start_date"], episode["end_date"]) + _episode(episode)]
        if episode["evidence"]:
            text.append(f"      evidence: {episode['evidence']}")
        entries.append((episode["start_date"], _EPISODE, text))
    for row in rows_of(analysis["exposures"], patient_id):
        entries.append((row["start_date"], _TREATMENT, [_treatment(row)]))
    complete = [
        episode["start_date"]
        for episode in rows_of(derived.episodes, patient_id)
        if episode["state"] == "complete_remission"
    ]
    for course in rows_of(derived.courses, patient_id):
        when = _when(course["start_date"], course["end_date"])
        entries.append((course["start_date"], _COURSE, [when + course_words(course, complete)]))
    for trough in rows_of(analysis["troughs"], patient_id):
        value = f"{trough['drug']} trough {_bound(trough)}{_trough_unit()}"
        entries.append((trough["date"], _TROUGH, [_when(trough["date"]) + value]))
    for date, told in _adverse_events(rows_of(analysis["adverse_events"], patient_id)):
        entries.append((date, _ADVERSE, [_when(date) + told]))
    for event in rows_of(analysis["events"], patient_id):
        what = event["event"].replace("_", " ")
        entries.append((event["date"], _EVENT, [_when(event["date"]) + what]))
    entries.sort(key=lambda entry: (entry[0], entry[1]))  # stable: each table's order kept
    return [line for _, _, text in entries for line in text]


def _when(start: Any, end: Any = None) -> str:
    """'  START → END  ' for a period, '  DATE' padded to the same width for one day."""
    when = f"{start} → {end}" if end is not None and end != start else f"{start}"
    return f"  {when:<{_WHEN_WIDTH}}  "


def _episode(episode: dict[str, Any]) -> str:
    return f"{STATE_WORDS[episode['state']]} (rule: {episode['rule']})"


def _treatment(row: dict[str, Any]) -> str:
    """A treatment row with its dates: a rituximab infusion on its day, an ongoing row to its
    active end (the last follow-up), any other row from its start to its end."""
    if row["drug"] == "rituximab":
        return _when(row["start_date"]) + treatment_words(row)
    return _when(row["start_date"], row["end_date"] or row["active_end"]) + treatment_words(row)


def treatment_words(row: dict[str, Any]) -> str:
    """A row of ``analysis["exposures"]`` in words, without its dates: 'prednisone 60
    mg/m2/day daily', 'cyclosporine … daily, ongoing' (no end date: active to the last
    follow-up), 'rituximab infusion 375 mg/m2, counted active to DATE' (the definition set's
    active days after an infusion, as the engine counts them); a dose not per m² whose start
    has no weight (the one weight rule, clinical.md §1) or no height says its dose per m² is
    unknown."""
    infusion = row["drug"] == "rituximab"
    text = str(row["drug"]) + (" infusion" if infusion else "")
    if row["dose"] is not None:
        text += f" {row['dose']:g} {row['dose_unit']}"
    schedule = row["schedule"]
    # an infusion is one dose whatever its schedule says (daily by default)
    if schedule and not infusion:
        text += f" {_SCHEDULE_WORDS.get(schedule, schedule)}"
    if infusion:
        if row["active_end"] is not None and row["active_end"] != row["start_date"]:
            text += f", counted active to {row['active_end']}"
    elif row["end_date"] is None:
        text += ", ongoing"
    if row["dose"] is not None and row["dose_unit"] not in _PER_M2:
        # Its dose per m² needs the BSA: the weight of the one weight rule (clinical.md §1) and
        # the height in reach of the start (the study's), which this start may lack
        missing = (
            [f"no weight within {WEIGHT_WITHIN_DAYS} days"] if row.get("weight_kg") is None else []
        )
        missing += ["no height in reach"] if row.get("height_cm") is None else []
        if missing:
            text += f" ({' and '.join(missing)} of the start: dose per m² unknown)"
    return text


def course_words(course: dict[str, Any], complete_starts: Iterable[Any] = ()) -> str:
    """A row of ``courses`` in words, without its dates: 'course 2, cyclosporine+mmf (406
    days): complete remission from DATE (day 216), 1 relapse'.

    ``response_date`` is the course's first remission of any kind (cohort-format.md §3); a
    complete response whose first remission was partial says both: 'complete remission from
    2015-09-01 (day 92); first remission (partial) from 2015-07-01 (day 30)', the complete
    remission's date being the first of ``complete_starts`` (the patient's complete-remission
    episodes' start dates) on or after the first remission and not after the course's end.
    Days count from the course's start (day 0).
    """
    response = course["response"]
    text = (
        f"course {course['course_no']}, {course['regimen']} ({course['days']} days): "
        f"{RESPONSE_WORDS.get(response, response)}"
    )
    first = course["response_date"]
    if first:
        day = f"{first} (day {course['days_to_remission']})"
        end = course["end_date"]
        reached = sorted(d for d in complete_starts if d >= first and (end is None or d <= end))
        if response == "complete" and reached and reached[0] != first:
            cr = reached[0]
            text += (
                f" from {cr} (day {(cr - course['start_date']).days}); "
                f"first remission (partial) from {day}"
            )
        else:
            text += f" from {day}"
    if course["relapses"]:
        text += f", {counted(course['relapses'], 'relapse')}"
    return text


def _bound(trough: dict[str, Any]) -> str:
    """A trough's value as written: '250.5', or a bound with its sign ('>2000', '<30')."""
    return f"{trough.get('qualifier') or ''}{trough['value']:g}"


def _trough_unit() -> str:
    """' ng/mL': the one unit troughs are stored in (empty should trough analytes ever differ)."""
    return f" {next(iter(_TROUGH_UNITS))}" if len(_TROUGH_UNITS) == 1 else ""


def adverse_event_groups(rows: list[dict[str, Any]]) -> list[tuple[Any, str, Any, list[str]]]:
    """Each adverse event once, in the rows' order, as (date, event, grade, drugs): every drug
    the engine attributes it to (``analysis["adverse_events"]`` holds one row per drug; an
    empty ``drugs``: no drug was active)."""
    drugs: dict[tuple[Any, str, Any], list[str]] = {}
    for row in rows:
        attributed = drugs.setdefault((row["date"], row["event"], row["grade"]), [])
        if row["drug"] and row["drug"] not in attributed:
            attributed.append(row["drug"])
    return [(date, event, grade, names) for (date, event, grade), names in drugs.items()]


def _adverse_events(rows: list[dict[str, Any]]) -> list[tuple[Any, str]]:
    """Each adverse event once, with every drug the engine attributes it to:
    'hypertension, grade 2, attributed to cyclosporine, mmf'."""
    told = []
    for date, event, grade, names in adverse_event_groups(rows):
        text = "adverse event: " + event.replace("_", " ")
        if grade is not None:
            text += f", grade {grade}"
        text += f", attributed to {', '.join(names)}" if names else ", no drug active"
        told.append((date, text))
    return told


RECORDED = (
    "as recorded (no standard-dose steroid course near onset to derive it from; "
    "docs/clinical-rules.md §5)"
)


def why_unknown(
    course: list[dict[str, Any]] | None, patient: dict[str, Any], definitions: DefinitionSet
) -> str:
    """Why a steroid response is unknown (clinical.md §5), from ``course`` (the patient's rows of
    the engine's ``initial_steroid_course``, with ``unknown_reason``): no course and nothing
    recorded; a window ending after the last follow-up; or no day of the set's streams in it
    (a recorded response then does not stand in: said). ``patient``: onset_date,
    steroid_response_recorded. Empty when ``course`` is None (no such table: not guessed)."""
    if course is None:
        return ""
    if not course:
        within = definitions.steroid_resistance.course_within_days_of_onset or 0
        days = f"from onset ({patient['onset_date']}) to {within} days after it"
        if not within:
            days = f"on the day of onset ({patient['onset_date']})"
        return (
            f"no standard-dose steroid course starts {days} to judge it by (a course below "
            "the standard dose, not daily, started before onset, or whose dose per m² or per "
            "kg cannot be read for want of a weight or height does not count), and no response "
            "is recorded (steroid_response_recorded); docs/clinical-rules.md §5"
        )
    start, end = course[0]["start_date"], course[0]["window_end"]
    if course[0]["unknown_reason"] == "after_followup":
        why = (
            f"the standard-dose steroid course from {start} was not followed to the end of its "
            f"window ({start} → {end}): follow-up ends before it, too soon to judge"
        )
    else:
        streams = ", ".join(STREAM_WORDS.get(s, s) for s in definitions.streams)
        why = (
            f"the standard-dose steroid course from {start} has no proteinuria measurement "
            f"that {definitions.name} reads ({streams}) in its window ({start} → {end})"
        )
    recorded = patient.get("steroid_response_recorded")
    if recorded in ("sensitive", "resistant"):
        why += (
            f"; the recorded response ({recorded}) stands in only when no standard-dose course "
            "starts near onset"
        )
    return why + "; docs/clinical-rules.md §5"


def _labels(
    outcome: dict[str, Any],
    study: StudyDesign,
    graft: list[dict[str, Any]] | None = None,
    why: str = "",
) -> list[str]:
    """The patient's labels; ``graft``: the patient's eGFR rows after kidney replacement
    therapy (``analysis["egfr"]`` where not ``native``), in date order; ``why``: said after an
    unknown steroid response (``why_unknown``)."""
    resistance = outcome["steroid_response"]
    resistance += f": {why}" if resistance == "unknown" and why else ""
    if outcome["resistance_type"]:
        resistance += f" ({outcome['resistance_type']}"
        resistance += f", from {outcome['resistance_date']})" if outcome["resistance_date"] else ")"
    if outcome.get("steroid_response_source") == "recorded":
        resistance += f", {RECORDED}"
    lines = [
        f"  steroid response: {resistance}",
        f"  CNI response: {outcome['cni_response'].replace('_', ' ')}",
    ]
    if outcome["multidrug_resistant"] is not None:
        lines.append(f"  multidrug resistant: {'yes' if outcome['multidrug_resistant'] else 'no'}")
    if outcome["first_remission_date"]:
        lines.append(
            f"  first remission ({outcome['first_remission_type']}) "
            f"from {outcome['first_remission_date']}"
        )
    lines += _kidney(outcome, study, graft or [])
    if outcome["eligible"]:
        lines.append("  study: included")
    else:
        lines.append("  study: excluded")
        reasons = [r for r in outcome["exclusion_reasons"].split(";") if r]
        lines += [f"    - {EXCLUSION_WORDS.get(r, r)}" for r in reasons]
    return lines


def _kidney(outcome: dict[str, Any], study: StudyDesign, after: list[dict[str, Any]]) -> list[str]:
    """eGFR first and last (the native kidneys' last, said so after kidney replacement therapy,
    with the graft's latest eGFR when the latest therapy is a transplant), the stage after the
    latest kidney replacement therapy, severe CKD and kidney failure, as the engine derived them.
    ``after``: the patient's non-native eGFR rows in date order."""
    lines = []
    if outcome["egfr_first"] is not None:
        last = f"last {outcome['egfr_last']:.1f}"
        if outcome.get("krt"):
            last = f"last native {outcome['egfr_last']:.1f}"
            # the graft's: when the latest KRT is a transplant (the stage then ends in T, from
            # the last eGFR after it; clinical.md §6), even after a first dialysis; an eGFR on
            # dialysis measures the dialysis, not a kidney: not told
            stage = outcome["ckd_stage_last"] or ""
            if stage.endswith("T") and after:
                last += f"; graft {after[-1]['egfr']:.1f}"
        # No stage only after a transplant that no eGFR follows (clinical.md §6): said so.
        stage = outcome["ckd_stage_last"] or "no stage: no eGFR after the transplant"
        lines.append(f"  eGFR first {outcome['egfr_first']:.1f}, {last} mL/min/1.73 m² ({stage})")
    elif outcome["ckd_stage_last"]:
        lines.append(f"  CKD stage {outcome['ckd_stage_last']}")
    if outcome["krt"]:
        lines.append(f"  kidney replacement therapy: {outcome['krt']} from {outcome['krt_date']}")
    if outcome["severe_ckd_date"]:
        lines.append(
            f"  severe CKD (eGFR < {study.kidney.severe_below:g}, sustained) "
            f"from {outcome['severe_ckd_date']}"
        )
    if outcome["kidney_failure_date"]:
        lines.append(f"  kidney failure from {outcome['kidney_failure_date']}")
    return lines
