"""Kidney function (clinical.md §6): eGFR on creatinine days, CKD stage, sustained decline.

eGFR uses the bedside Schwartz equation of ``clinical/`` on columns, with the nearest height
within the set's ``height_within_days`` (the earlier wins a tie). A decline is **sustained** from
the first day d with eGFR below the threshold such that every eGFR from d up to and including the
first eGFR after d + ``sustained_days`` is below it too (no eGFR after that → not yet).
"""

from __future__ import annotations

import ibis

from srnskit.clinical.ckd import ckd_stage
from srnskit.clinical.egfr import egfr_bedside_schwartz
from srnskit.definitions.model import DefinitionSet
from srnskit.engine.backend import Tables, materialise
from srnskit.engine.nearest import nearest_value
from srnskit.engine.proteinuria import daily, daily_step

__all__ = ["KIDNEY_FAILURE_EVENTS", "egfr_series", "kidney_outcomes", "sustained_below"]

KIDNEY_FAILURE_EVENTS = ("dialysis_start", "transplant")  # clinical.md §6


def egfr_series(tables: Tables, definitions: DefinitionSet) -> ibis.Table:
    """patient_id, date, creatinine_umol_l, height_cm, egfr: one row per creatinine day."""
    creatinine = daily(tables.measurements, "creatinine", "max").rename(creatinine_umol_l="value")
    height = daily_step(tables, "height", "mean")
    with_height = nearest_value(
        creatinine, height, name="height_cm", within_days=definitions.kidney.height_within_days
    )
    egfr = egfr_bedside_schwartz(
        height_cm=with_height.height_cm, creatinine_umol_l=with_height.creatinine_umol_l
    )
    series = with_height.mutate(egfr=egfr)
    return series.filter(series.egfr.notnull())


def sustained_below(
    series: ibis.Table, thresholds: dict[str, float], sustained_days: int
) -> ibis.Table:
    """patient_id and, for each named threshold, the first day of a sustained eGFR below it.

    One ordered pass over each patient's eGFR days, on day numbers: the highest eGFR in the
    next ``sustained_days`` days (a range frame) and the first eGFR after them; a day starts a
    sustained decline when it, that highest value and that first later value are all below.
    """
    numbered = series.select(
        "patient_id", "date", "egfr", n=series.date.delta(ibis.date(1970, 1, 1), unit="day")
    )
    within = ibis.window(group_by="patient_id", order_by="n", range=(1, sustained_days))
    after = ibis.window(group_by="patient_id", order_by="n", range=(sustained_days + 1, None))
    ahead = numbered.mutate(
        highest=numbered.egfr.max().over(within), confirm=numbered.egfr.first().over(after)
    )
    return ahead.group_by("patient_id").aggregate(
        **{
            name: ahead.date.min(
                where=(ahead.egfr < threshold)
                & (ahead.confirm < threshold).fill_null(False)
                & ~(ahead.highest >= threshold).fill_null(False)
            )
            for name, threshold in thresholds.items()
        }
    )


def kidney_outcomes(tables: Tables, definitions: DefinitionSet) -> ibis.Table:
    """patient_id, egfr_first, egfr_last, ckd_stage_last, severe_ckd_date, kidney_failure_date."""
    k = definitions.kidney
    # Read five times below (first, last, two sustained declines): computed once.
    series = materialise(
        tables,
        egfr_series(tables, definitions).join(
            tables.patients.select("patient_id", "onset_date"), "patient_id"
        ),
    )
    from_onset = series.filter(
        series.date >= series.onset_date - ibis.interval(days=k.first_from_days_before_onset)
    )
    first = from_onset.mutate(k=ibis.row_number().over(group_by="patient_id", order_by=["date"]))
    first = first.filter(first.k == 0).select("patient_id", egfr_first="egfr")
    last = series.mutate(
        k=ibis.row_number().over(group_by="patient_id", order_by=[ibis.desc("date")])
    )
    last = last.filter(last.k == 0).select("patient_id", egfr_last="egfr")
    declines = sustained_below(
        series,
        {"severe_by_egfr": k.severe_below, "failure_by_egfr": k.failure_below},
        k.sustained_days,
    )
    ev = tables.events.filter(tables.events.event.isin(KIDNEY_FAILURE_EVENTS))
    replacement = ev.group_by("patient_id").aggregate(failure_by_event=ev.date.min())
    out = tables.patients.select("patient_id")
    for part in (first, last, declines, replacement):
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
