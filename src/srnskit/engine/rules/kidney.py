"""Kidney function (clinical.md §6): eGFR on creatinine days, CKD stage, sustained decline.

eGFR uses the bedside Schwartz equation of ``clinical/`` on columns, with the nearest height
within the study's ``[kidney].height_within_days`` (the earlier wins a tie). A decline is
**sustained** from the first day d with eGFR below the threshold such that every eGFR from d up to
and including the first eGFR after d + ``sustained_days`` is below it too (no eGFR after that →
not yet).
"""

from __future__ import annotations

import ibis

from srnskit.clinical.ckd import ckd_stage
from srnskit.clinical.egfr import egfr_bedside_schwartz
from srnskit.engine.backends import Tables, days_after
from srnskit.engine.rules.body_size import daily, height_as_of
from srnskit.studies.model import Kidney

__all__ = ["KIDNEY_FAILURE_EVENTS", "egfr_series", "egfr_summary", "kidney_outcomes"]

KIDNEY_FAILURE_EVENTS = ("dialysis_start", "transplant")  # clinical.md §6


def egfr_series(tables: Tables, kidney: Kidney) -> ibis.Table:
    """patient_id, date, creatinine_umol_l (the day's highest), height_cm (nearest within
    ``kidney.height_within_days``), egfr (mL/min/1.73 m²): one row per creatinine day with a
    height in reach."""
    creatinine = daily(tables.measurements, "creatinine", "max").rename(creatinine_umol_l="value")
    with_height = height_as_of(tables, creatinine, height_within_days=kidney.height_within_days)
    egfr = egfr_bedside_schwartz(
        height_cm=with_height.height_cm, creatinine_umol_l=with_height.creatinine_umol_l
    )
    series = with_height.mutate(egfr=egfr)
    return series.filter(series.egfr.notnull())


def egfr_summary(series: ibis.Table, kidney: Kidney) -> ibis.Table:
    """patient_id, egfr_first (the first eGFR from onset − ``first_from_days_before_onset``),
    egfr_last, severe_by_egfr and failure_by_egfr (the first day of a sustained eGFR below
    ``severe_below`` and ``failure_below``), from ``series`` (one row per eGFR day, with the
    onset date).

    One ordered pass over each patient's eGFR days, on day numbers: the day before and after
    (the first day from the limit, the last day), the highest eGFR in the next
    ``sustained_days`` days (a range frame) and the first eGFR after them; a day starts a
    sustained decline when it, that highest value and that first later value are all below.
    """
    numbered = series.select(
        "patient_id",
        "date",
        "egfr",
        "onset_date",
        n=series.date.delta(ibis.date(1970, 1, 1), unit="day"),
    )
    ordered = ibis.window(group_by="patient_id", order_by="n")
    span = kidney.sustained_days
    within = ibis.window(group_by="patient_id", order_by="n", range=(1, span))
    after = ibis.window(group_by="patient_id", order_by="n", range=(span + 1, None))
    ahead = numbered.mutate(
        before=numbered.date.lag().over(ordered),
        later=numbered.date.lead().over(ordered),
        highest=numbered.egfr.max().over(within),
        confirm=numbered.egfr.first().over(after),
    )
    start = days_after(ahead.onset_date, -kidney.first_from_days_before_onset)
    first_counted = (ahead.date >= start) & (ahead.before.isnull() | (ahead.before < start))
    declines = {"severe_by_egfr": kidney.severe_below, "failure_by_egfr": kidney.failure_below}
    return ahead.group_by("patient_id").aggregate(
        egfr_first=ahead.egfr.max(where=first_counted),
        egfr_last=ahead.egfr.max(where=ahead.later.isnull()),
        **{
            name: ahead.date.min(
                where=(ahead.egfr < threshold)
                & (ahead.confirm < threshold).fill_null(False)
                & ~(ahead.highest >= threshold).fill_null(False)
            )
            for name, threshold in declines.items()
        },
    )


def kidney_outcomes(tables: Tables, summary: ibis.Table) -> ibis.Table:
    """patient_id, egfr_first, egfr_last, ckd_stage_last, severe_ckd_date, kidney_failure_date,
    from ``summary`` (``egfr_summary`` of the study's ``[kidney]`` rule) and the kidney failure
    events (dialysis start, transplant)."""
    ev = tables.events.filter(tables.events.event.isin(KIDNEY_FAILURE_EVENTS))
    replacement = ev.group_by("patient_id").aggregate(failure_by_event=ev.date.min())
    out = tables.patients.select("patient_id")
    for part in (summary, replacement):
        out = out.left_join(part, "patient_id").drop("patient_id_right")
    kidney_failure = ibis.least(out.failure_by_egfr, out.failure_by_event)
    kidney_failure = ibis.coalesce(kidney_failure, out.failure_by_egfr, out.failure_by_event)
    severe_date = ibis.coalesce(
        ibis.least(out.severe_by_egfr, kidney_failure), out.severe_by_egfr, kidney_failure
    )
    return out.select(
        "patient_id",
        egfr_first="egfr_first",
        egfr_last="egfr_last",
        ckd_stage_last=ckd_stage(egfr_ml_min_1_73m2=out.egfr_last),
        severe_ckd_date=severe_date,
        kidney_failure_date=kidney_failure,
    )
