"""The tables the analysis reads besides the derived ones (``schema/derived.py`` ANALYSIS_TABLES),
each from the rule that owns it, so no output re-derives a rule.

- exposures: every treatment row with its last active day (``rules/exposure.py``, the intervals
  the courses are cut from) and the body size as of its start (``rules/body_size.py``);
- relapses: the episodes the engine flags as relapses (clinical.md §3, ``courses.relapses``);
- initial_steroid_course: the first standard-dose steroid course near onset, judged alone
  (clinical.md §5, ``outcomes.steroid_response``), which says why a response is unknown;
- troughs: each trough measurement once, while its drug is active;
- presentation: the values at diagnosis in the study's ``[at_diagnosis]`` window, which ends
  before steroids act (the highest proteinuria, the lowest albumin, the first creatinine), of
  exact values alone (a bound is not a value; those left out are counted, ``engine/coverage.py``);
- adverse_events: each event with the drug it is attributed to (clinical.md §9): the recorded
  drug, else every drug active on its date (a rituximab infusion for the set's window);
- proteinuria_dates: the days with any proteinuria value of any stream (clinical.md §7).
"""

from __future__ import annotations

import ibis

from srnskit.engine.backends import Tables, days_after
from srnskit.engine.rules.body_size import with_body_size
from srnskit.schema import ANALYSIS_TABLES
from srnskit.studies.model import AtDiagnosis

__all__ = [
    "PRESENTATION_ANALYTES",
    "PROTEINURIA_STREAMS",
    "TROUGH_DRUGS",
    "attributed_adverse_events",
    "diagnosis_rows",
    "exposures",
    "initial_steroid_course",
    "presentation",
    "proteinuria_dates",
    "relapses",
    "troughs",
]

# The values at diagnosis of Table 1 ([S] Table I).
PRESENTATION_ANALYTES = ("upcr", "uprot_24h", "albumin", "creatinine")
# Each trough analyte and the drug whose exposure it is measured under.
TROUGH_DRUGS = {"csa_trough": "cyclosporine", "tac_trough": "tacrolimus"}
# The proteinuria streams (clinical.md §1), whichever a set reads.
PROTEINURIA_STREAMS = ("upcr", "uprot_24h", "dipstick")
# Analytes whose highest value is a day's (clinical.md §1); the others take the lowest.
_HIGHEST_FIRST = ("upcr", "uprot_24h", "creatinine")
# Analytes whose highest value in the window is the value at diagnosis (clinical.md §9).
_HIGHEST = ("upcr", "uprot_24h")


def _columns(name: str) -> list[str]:
    return [c.name for c in ANALYSIS_TABLES[name]]


def exposures(tables: Tables, intervals: ibis.Table, *, height_within_days: int) -> ibis.Table:
    """``ANALYSIS_TABLES["exposures"]``: ``intervals`` (``exposure_intervals`` of every treatment
    row) with height_cm and weight_kg as of each start_date (the one weight rule; the height
    nearest within ``height_within_days``)."""
    starts = intervals.select("patient_id", date="start_date").distinct()
    sized = with_body_size(tables, starts, height_within_days=height_within_days)
    sized = sized.rename(patient_id_s="patient_id", date_s="date")
    joined = intervals.left_join(
        sized,
        [intervals.patient_id == sized.patient_id_s, intervals.start_date == sized.date_s],
    )
    return joined.select(*_columns("exposures"))


def relapses(episode: ibis.Table) -> ibis.Table:
    """``ANALYSIS_TABLES["relapses"]``: the engine's relapse episodes (a nephrotic episode after
    a state of the set's ``relapse_after``), start and end."""
    return episode.filter(episode.relapse).select("patient_id", "start_date", "end_date")


def initial_steroid_course(steroid: ibis.Table) -> ibis.Table:
    """``ANALYSIS_TABLES["initial_steroid_course"]``: from ``steroid`` (``steroid_response``'s
    rows), each patient's first standard-dose steroid course within the set's
    ``course_within_days_of_onset`` of onset (clinical.md §5), the last day its response was
    looked for, its outcome judged alone and why an unknown one is (``rules/windows.py``)."""
    courses = steroid.filter(steroid.onset_course_date.notnull())
    return courses.select(
        "patient_id",
        start_date=courses.onset_course_date,
        window_end=courses.onset_course_window_end,
        outcome=courses.onset_course_outcome,
        unknown_reason=courses.onset_course_unknown_reason,
    )


def troughs(tables: Tables, intervals: ibis.Table) -> ibis.Table:
    """``ANALYSIS_TABLES["troughs"]``: each trough measurement (``TROUGH_DRUGS``) dated within an
    active interval of its drug, once however many of its drug's rows cover the day, with its
    qualifier (a bound such as ``>2000`` is kept: it may still decide the target range)."""
    m = tables.measurements
    parts = []
    for analyte, drug in TROUGH_DRUGS.items():
        rows = m.filter(m.analyte == analyte).select(
            "patient_id", "date", "value", "qualifier", drug=ibis.literal(drug, "string")
        )
        active = intervals.filter(intervals.drug == drug).select(
            patient_id_t="patient_id", start_t="start_date", end_t="active_end"
        )
        parts.append(
            rows.semi_join(
                active,
                [
                    rows.patient_id == active.patient_id_t,
                    rows.date >= active.start_t,
                    rows.date <= active.end_t,
                ],
            ).select(*_columns("troughs"))
        )
    return ibis.union(*parts, distinct=False) if len(parts) > 1 else parts[0]


def diagnosis_rows(tables: Tables, window: AtDiagnosis) -> ibis.Table:
    """The measurements of ``PRESENTATION_ANALYTES`` in each patient's window at diagnosis
    (clinical.md §9), bounds included: the measurements' columns.

    The window is [onset − ``days_before_onset``, onset + ``days_after_onset``] (the study's
    ``[at_diagnosis]``), ending earlier, at the start + ``days_after_steroid_start``, when the
    first course of ``steroid_drugs`` starting on or after the window's first day starts sooner.
    """
    m = tables.measurements
    onset = tables.patients.select(patient_id_p="patient_id", onset="onset_date")
    t = tables.treatments
    first_day = days_after(onset.onset, -window.days_before_onset)
    steroid = t.filter(t.drug.isin(window.steroid_drugs))
    steroid = steroid.join(
        onset, [steroid.patient_id == onset.patient_id_p, steroid.start_date >= first_day]
    )
    started = steroid.group_by(patient_id_s=steroid.patient_id).aggregate(
        start=steroid.start_date.min()
    )
    bounds = onset.left_join(started, onset.patient_id_p == started.patient_id_s)
    last_day = days_after(bounds.onset, window.days_after_onset)
    steroid_limit = days_after(bounds.start, window.days_after_steroid_start)
    bounds = bounds.select(
        "patient_id_p",
        window_first=days_after(bounds.onset, -window.days_before_onset),
        window_last=ibis.coalesce(ibis.least(last_day, steroid_limit), last_day),
    )
    rows = m.filter(m.analyte.isin(PRESENTATION_ANALYTES))
    rows = rows.join(
        bounds,
        [
            rows.patient_id == bounds.patient_id_p,
            rows.date >= bounds.window_first,
            rows.date <= bounds.window_last,
        ],
    )
    return rows.select(*m.columns)


def presentation(tables: Tables, window: AtDiagnosis) -> ibis.Table:
    """``ANALYSIS_TABLES["presentation"]``: each patient's value of each of
    ``PRESENTATION_ANALYTES`` at diagnosis, with its unit as measured (clinical.md §9), from the
    rows of ``diagnosis_rows``.

    Proteinuria (each stream) takes the window's highest value, albumin its lowest, every other
    analyte its first (the day's highest on that day). One unit per analyte: the mass/mass UPCR
    before mg/mmol (clinical.md §1), a unit's values before another's in the unit's order.
    Exact values alone: a bound (``>10``, ``<0.5``; cohort-format.md §2) is not a value, and
    even where it would decide the choice (``>10`` above every exact value) it has no number to
    report, so it is left out (``engine/coverage.py`` counts those left out).
    """
    rows = diagnosis_rows(tables, window)
    rows = rows.filter(rows.qualifier.isnull())
    # Proteinuria: the highest; albumin: the lowest; the others: the first (clinical.md §9).
    extreme = rows.analyte.isin(_HIGHEST) | (rows.analyte == "albumin")
    ranked_value = ibis.ifelse(rows.analyte.isin(_HIGHEST_FIRST), -rows.value, rows.value)
    day = rows.date.delta(ibis.date(1970, 1, 1), unit="day")
    first = ibis.window(
        group_by=["patient_id", "analyte"],
        order_by=[rows.unit.fill_null(""), ibis.ifelse(extreme, 0, day), ranked_value, rows.date],
    )
    ranked = rows.mutate(k=ibis.row_number().over(first))
    return ranked.filter(ranked.k == 0).select(*_columns("presentation"))


def attributed_adverse_events(tables: Tables, intervals: ibis.Table) -> ibis.Table:
    """``ANALYSIS_TABLES["adverse_events"]``: each adverse event with its recorded drug; an event
    with none recorded once per distinct drug active on its date (``intervals``: a rituximab
    infusion active for the set's ``rituximab_active_days``), or once with drug NULL when none
    is (clinical.md §9)."""
    a = tables.adverse_events
    recorded = a.drug.notnull() & (a.drug != "")
    named = a.filter(recorded).select(*_columns("adverse_events"))
    unnamed = a.filter(~recorded).select("patient_id", "date", "event", "grade")
    days = unnamed.select(patient_id_d="patient_id", date_d="date").distinct()
    active = intervals.select(
        patient_id_i="patient_id", drug_i="drug", start_i="start_date", end_i="active_end"
    )
    on_day = days.join(
        active,
        [
            days.patient_id_d == active.patient_id_i,
            days.date_d >= active.start_i,
            days.date_d <= active.end_i,
        ],
    )
    on_day = on_day.select("patient_id_d", "date_d", drug="drug_i").distinct()
    attributed = unnamed.left_join(
        on_day, [unnamed.patient_id == on_day.patient_id_d, unnamed.date == on_day.date_d]
    )
    attributed = attributed.select(*_columns("adverse_events"))
    return named.union(attributed, distinct=False)


def proteinuria_dates(tables: Tables) -> ibis.Table:
    """``ANALYSIS_TABLES["proteinuria_dates"]``: the distinct (patient_id, date) with a value of
    any of ``PROTEINURIA_STREAMS``."""
    m = tables.measurements
    return m.filter(m.analyte.isin(PROTEINURIA_STREAMS)).select("patient_id", "date").distinct()
