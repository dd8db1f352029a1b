"""What ``srnskit derive`` writes: the derived tables' columns and declared output types
(cohort-format.md §3). Every writer, the engine's and the generator's truth alike, casts to it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal

__all__ = ["ANALYSIS_TABLES", "COMPARED_COURSES", "DERIVED_TABLES", "DerivedColumn", "DerivedType"]

DerivedType = Literal["string", "date", "bool", "int64", "float64"]


@dataclass(frozen=True)
class DerivedColumn:
    """A column of a table that ``srnskit derive`` writes, with its declared output type and,
    for a number written rounded, its ``decimals`` (cohort-format.md §3)."""

    name: str
    type: DerivedType
    decimals: int | None = None


# Written with 2 decimals (cohort-format.md §3: onset_age_years and eGFR).
_TWO_DECIMALS = ("onset_age_years", "egfr_first", "egfr_last")


def _derived(*columns: tuple[str, DerivedType]) -> tuple[DerivedColumn, ...]:
    return tuple(
        DerivedColumn(name, kind, 2 if name in _TWO_DECIMALS else None) for name, kind in columns
    )


# cohort-format.md §3: what `derive` writes (and the generator's truth), in column order.
DERIVED_TABLES: Mapping[str, tuple[DerivedColumn, ...]] = MappingProxyType(
    {
        "patient_outcomes": _derived(
            ("patient_id", "string"),
            ("eligible", "bool"),
            ("exclusion_reasons", "string"),
            ("onset_age_years", "float64"),
            ("steroid_response", "string"),
            ("steroid_response_source", "string"),
            ("resistance_type", "string"),
            ("resistance_date", "date"),
            ("cni_response", "string"),
            ("multidrug_resistant", "bool"),
            ("first_remission_date", "date"),
            ("first_remission_type", "string"),
            ("egfr_first", "float64"),
            ("egfr_last", "float64"),
            ("ckd_stage_last", "string"),
            ("krt", "string"),
            ("krt_date", "date"),
            ("severe_ckd_date", "date"),
            ("kidney_failure_date", "date"),
            ("followup_days", "int64"),
        ),
        "courses": _derived(
            ("patient_id", "string"),
            ("course_no", "int64"),
            ("regimen", "string"),
            ("n_agents", "int64"),
            ("start_date", "date"),
            ("end_date", "date"),
            ("days", "int64"),
            ("evaluable", "bool"),
            ("response", "string"),
            ("response_date", "date"),
            ("days_to_remission", "int64"),
            ("relapses", "int64"),
        ),
        "episodes": _derived(
            ("patient_id", "string"),
            ("state", "string"),
            ("start_date", "date"),
            ("end_date", "date"),
            ("rule", "string"),
            ("evidence", "string"),
        ),
    }
)


# What the engine also hands the analysis (``Derived.analysis``, computed when asked: the report
# asks, ``srnskit derive`` does not): every table the study's statistics need, so that
# ``analysis`` computes from ``Derived`` alone and no output re-derives a rule.
ANALYSIS_TABLES: Mapping[str, tuple[DerivedColumn, ...]] = MappingProxyType(
    {
        # The cohort's patients, as loaded (the characteristics of Table 1).
        "patients": _derived(
            ("patient_id", "string"),
            ("center_id", "string"),
            ("sex", "string"),
            ("birth_date", "date"),
            ("onset_date", "date"),
            ("family_history", "bool"),
            ("secondary_cause", "string"),
            ("histology", "string"),
            ("biopsy_date", "date"),
            ("genetic_testing", "bool"),
            ("genetic_variant", "string"),
            ("steroid_response_recorded", "string"),
        ),
        # One row per treatment row, with the days it is active (clinical.md §4: an ongoing row
        # to the last follow-up; a rituximab infusion for the set's rituximab_active_days, never
        # beyond the last follow-up) and the body size as of its start (the one weight rule,
        # clinical.md §1; the height within the study's [kidney].height_within_days).
        "exposures": _derived(
            ("patient_id", "string"),
            ("drug", "string"),
            ("start_date", "date"),
            ("end_date", "date"),
            ("active_end", "date"),
            ("dose", "float64"),
            ("dose_unit", "string"),
            ("schedule", "string"),
            ("height_cm", "float64"),
            ("weight_kg", "float64"),
        ),
        # Relapse episodes: nephrotic episodes that follow a state of the set's relapse_after
        # (clinical.md §3), as the engine counts them in courses.relapses.
        "relapses": _derived(
            ("patient_id", "string"),
            ("start_date", "date"),
            ("end_date", "date"),
        ),
        # The first standard-dose steroid course within the set's days of onset (clinical.md §5),
        # one row per patient who had one: its window's last day (start + the set's window_days,
        # or + its confirmation period when entered) and the course judged alone: sensitive,
        # resistant or unknown, with unknown_reason (no_proteinuria: no proteinuria day in the
        # window; after_followup: the window ends after the last follow-up). A response unknown
        # with no row here: no course near onset, none recorded.
        "initial_steroid_course": _derived(
            ("patient_id", "string"),
            ("start_date", "date"),
            ("window_end", "date"),
            ("outcome", "string"),
            ("unknown_reason", "string"),
        ),
        # Each trough once, measured while its drug is active (csa_trough with cyclosporine);
        # qualifier: "<" or ">" when the value is a bound (cohort-format.md §2), else empty.
        "troughs": _derived(
            ("patient_id", "string"),
            ("drug", "string"),
            ("date", "date"),
            ("value", "float64"),
            ("qualifier", "string"),
        ),
        # The values at diagnosis (the study's [at_diagnosis] window): one row per patient and
        # analyte (upcr, uprot_24h, albumin, creatinine) with its unit as measured.
        "presentation": _derived(
            ("patient_id", "string"),
            ("analyte", "string"),
            ("value", "float64"),
            ("unit", "string"),
        ),
        # Every eGFR the engine computes (clinical.md §6): creatinine day, its height, eGFR;
        # native: the day is before the patient's first kidney replacement therapy event (the
        # native kidneys' value, not the dialysis's or the graft's).
        "egfr": _derived(
            ("patient_id", "string"),
            ("date", "date"),
            ("creatinine_umol_l", "float64"),
            ("height_cm", "float64"),
            ("egfr", "float64"),
            ("native", "bool"),
            ("validated_age", "bool"),
        ),
        # Every creatinine day (the day's highest exact value; a bound is left out, cohort-format
        # §2), with or without an eGFR: native as in ``egfr``; has_egfr: a height was in reach
        # (the day is in ``egfr``). The last creatinine before KRT reads all of them (clinical.md
        # §6), not only the days with a height.
        "creatinine": _derived(
            ("patient_id", "string"),
            ("date", "date"),
            ("creatinine_umol_l", "float64"),
            ("native", "bool"),
            ("has_egfr", "bool"),
        ),
        # The cohort's events rows, as loaded (dialysis, transplant, death, loss to follow-up).
        "events": _derived(
            ("patient_id", "string"),
            ("date", "date"),
            ("event", "string"),
        ),
        # Adverse events with the drug each is attributed to (clinical.md §9): the recorded drug,
        # or, when none is recorded, every drug active on its date (one row per drug; none
        # active → one row with drug empty).
        "adverse_events": _derived(
            ("patient_id", "string"),
            ("date", "date"),
            ("event", "string"),
            ("drug", "string"),
            ("grade", "int64"),
        ),
        # The days with any proteinuria value of any stream (protocol assessment, clinical.md §7).
        "proteinuria_dates": _derived(
            ("patient_id", "string"),
            ("date", "date"),
        ),
    }
)


# The study's compared courses (``Derived.compared_courses``, always computed): one course per
# patient and group, the study's comparison (clinical.md §8, comparison group) decided once, in
# the engine. group: ``combined`` (an included patient's first evaluable combination course with
# a response) or ``comparison`` (the first evaluable course of the study's [comparison].regimen
# alone with a response, of a patient passing inclusion steps 1–4 and 6).
COMPARED_COURSES: tuple[DerivedColumn, ...] = _derived(
    ("patient_id", "string"),
    ("course_no", "int64"),
    ("group", "string"),
)
