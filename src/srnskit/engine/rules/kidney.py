"""Kidney function (clinical.md §6): eGFR on creatinine days, CKD stage, sustained decline, and
kidney replacement therapy (KRT).

eGFR uses the bedside Schwartz equation of ``clinical/`` on columns, with the nearest height
within the study's ``[kidney].height_within_days`` (the earlier wins a tie). A decline is
**sustained** from the first day d with eGFR below the threshold such that every eGFR from d up to
and including the first eGFR after d + ``sustained_days`` is below it too (no eGFR after that →
not yet).

KRT (``schema.KRT_EVENTS``: ``dialysis_start``, ``transplant``; ``dialysis_acute`` is neither KRT
nor kidney failure) changes what a creatinine means: on dialysis it is the dialysis's, after a
transplant the graft's. An eGFR is **native** when its day is before the first KRT event; the
first and last eGFR and the sustained declines read native eGFRs only. ``ckd_stage_last`` follows
the latest KRT event: ``G5D`` after a dialysis start, the stage of the last eGFR after a transplant
with the suffix ``T`` (none after it: empty), without KRT the stage of ``egfr_last``. Two KRT
events on one day count as the dialysis start first, then the transplant (a transplant is not
followed by maintenance dialysis on its own day).
"""

from __future__ import annotations

import ibis

from srnskit.clinical.ckd import ckd_stage
from srnskit.clinical.egfr import EGFR_EQUATIONS, egfr_bedside_schwartz
from srnskit.engine.backends import Tables, days_after
from srnskit.engine.rules.body_size import daily, height_as_of
from srnskit.schema import KRT_EVENTS
from srnskit.studies.model import Kidney

__all__ = [
    "KIDNEY_FAILURE_EVENTS",
    "creatinine_days",
    "egfr_ages",
    "egfr_series",
    "egfr_summary",
    "kidney_outcomes",
    "krt_events",
]

KIDNEY_FAILURE_EVENTS = KRT_EVENTS  # clinical.md §6: the first KRT event dates kidney failure


def krt_events(tables: Tables) -> ibis.Table:
    """patient_id, krt (``dialysis`` | ``transplant``: the first KRT event), krt_date (its date),
    last_krt (the latest KRT event's name), last_krt_date: one row per patient with a KRT event
    (``schema.KRT_EVENTS``; ``dialysis_acute`` is not one). On one day a dialysis start counts
    before a transplant."""
    ev = tables.events.filter(tables.events.event.isin(KRT_EVENTS))
    dialysis = ev.event == "dialysis_start"
    # krt names the event as cohort-format.md §3 does; rank orders two on one day.
    ev = ev.select(
        "patient_id",
        "date",
        krt=ibis.ifelse(dialysis, "dialysis", "transplant"),
        rank=ibis.ifelse(dialysis, 0, 1),
    )
    first = ibis.window(group_by="patient_id", order_by=[ev.date, ev.rank])
    last = ibis.window(group_by="patient_id", order_by=[ev.date.desc(), ev.rank.desc()])
    ranked = ev.mutate(k_first=ibis.row_number().over(first), k_last=ibis.row_number().over(last))
    earliest = ranked.filter(ranked.k_first == 0).select("patient_id", "krt", krt_date="date")
    latest = ranked.filter(ranked.k_last == 0).select(
        patient_id_l="patient_id", last_krt="krt", last_krt_date="date"
    )
    joined = earliest.join(latest, earliest.patient_id == latest.patient_id_l)
    return joined.select("patient_id", "krt", "krt_date", "last_krt", "last_krt_date")


def egfr_series(tables: Tables, kidney: Kidney) -> ibis.Table:
    """patient_id, date, creatinine_umol_l (the day's highest), height_cm (nearest within
    ``kidney.height_within_days``), egfr (mL/min/1.73 m²), native (the day is before the
    patient's first KRT event, or the patient has none): one row per creatinine day with a
    height in reach."""
    creatinine = daily(tables.measurements, "creatinine", "max").rename(creatinine_umol_l="value")
    with_height = height_as_of(tables, creatinine, height_within_days=kidney.height_within_days)
    egfr = egfr_bedside_schwartz(
        height_cm=with_height.height_cm, creatinine_umol_l=with_height.creatinine_umol_l
    )
    series = with_height.mutate(egfr=egfr)
    series = series.filter(series.egfr.notnull())
    krt = krt_events(tables).select(patient_id_k="patient_id", first_krt="krt_date")
    series = series.left_join(krt, series.patient_id == krt.patient_id_k)
    native = (series.date < series.first_krt).fill_null(True)
    return series.select(
        "patient_id", "date", "creatinine_umol_l", "height_cm", "egfr", native=native
    )


def egfr_ages(tables: Tables, series: ibis.Table) -> ibis.Table:
    """``series`` (``egfr_series``) with ``validated_age``: whether the day is within the ages
    the bedside Schwartz equation was validated for (``clinical.egfr.EGFR_EQUATIONS``: 1 to
    18 years, Schwartz et al., JASN 2009), from the first birthday to the day before the 18th.
    An Nth birthday is the birth date with the year + N, 29 February → 28 February
    (clinical.md §8). An eGFR outside those ages is computed all the same, and warned of
    (clinical.md §6)."""
    low, high = EGFR_EQUATIONS["bedside-schwartz"].valid_age_years
    born = tables.patients.select(patient_id_b="patient_id", birth_date="birth_date")
    aged = series.left_join(born, series.patient_id == born.patient_id_b)
    validated = (aged.date >= aged.birth_date + ibis.interval(years=int(low))) & (
        aged.date < aged.birth_date + ibis.interval(years=int(high))
    )
    return aged.select(*series.columns, validated_age=validated)


def creatinine_days(tables: Tables, series: ibis.Table) -> ibis.Table:
    """patient_id, date, creatinine_umol_l (the day's highest exact value), native (the day is
    before the patient's first KRT event, or the patient has none), has_egfr (``series``, the
    ``egfr_series``, has the day: a height was in reach): one row per creatinine day, with an
    eGFR or not, so that the last creatinine before KRT is read from every creatinine value
    (clinical.md §6). A creatinine given as a bound is left out (cohort-format.md §2)."""
    creatinine = daily(tables.measurements, "creatinine", "max").rename(creatinine_umol_l="value")
    krt = krt_events(tables).select(patient_id_k="patient_id", first_krt="krt_date")
    days = creatinine.left_join(krt, creatinine.patient_id == krt.patient_id_k)
    computed = series.select(patient_id_e="patient_id", date_e="date", has_egfr="native")
    days = days.left_join(
        computed, [days.patient_id == computed.patient_id_e, days.date == computed.date_e]
    )
    return days.select(
        "patient_id",
        "date",
        "creatinine_umol_l",
        native=(days.date < days.first_krt).fill_null(True),
        has_egfr=days.date_e.notnull(),
    )


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


def _graft_egfr(series: ibis.Table, krt: ibis.Table) -> ibis.Table:
    """patient_id, graft_egfr: the last eGFR dated after the patient's latest KRT event when
    that event is a transplant."""
    grafted = krt.filter(krt.last_krt == "transplant").select(
        patient_id_k="patient_id", transplant_date="last_krt_date"
    )
    after = series.join(
        grafted,
        [series.patient_id == grafted.patient_id_k, series.date > grafted.transplant_date],
    )
    latest = ibis.window(group_by="patient_id", order_by=after.date.desc())
    ranked = after.mutate(k=ibis.row_number().over(latest))
    return ranked.filter(ranked.k == 0).select("patient_id", graft_egfr="egfr")


def kidney_outcomes(tables: Tables, summary: ibis.Table, series: ibis.Table) -> ibis.Table:
    """patient_id, egfr_first, egfr_last, ckd_stage_last, krt, krt_date, severe_ckd_date,
    kidney_failure_date (clinical.md §6), from ``summary`` (``egfr_summary`` of the study's
    ``[kidney]`` rule on the native eGFRs), ``series`` (``egfr_series``: every eGFR, for the
    graft's after a transplant) and the KRT events (``krt_events``).

    Kidney failure is the earliest of the first KRT event and a sustained native eGFR below
    ``failure_below``; severe CKD the earliest of a sustained native eGFR below ``severe_below``
    and kidney failure.
    """
    krt = krt_events(tables)
    out = tables.patients.select("patient_id")
    for part in (summary, krt, _graft_egfr(series, krt)):
        out = out.left_join(part, "patient_id").drop("patient_id_right")
    kidney_failure = ibis.least(out.failure_by_egfr, out.krt_date)
    kidney_failure = ibis.coalesce(kidney_failure, out.failure_by_egfr, out.krt_date)
    severe_date = ibis.coalesce(
        ibis.least(out.severe_by_egfr, kidney_failure), out.severe_by_egfr, kidney_failure
    )
    graft_stage = ckd_stage(egfr_ml_min_1_73m2=out.graft_egfr).cast("string")
    stage = ibis.cases(
        (out.last_krt == "dialysis", ibis.literal("G5D")),
        (out.last_krt == "transplant", graft_stage + "T"),
        else_=ckd_stage(egfr_ml_min_1_73m2=out.egfr_last).cast("string"),
    )
    return out.select(
        "patient_id",
        egfr_first="egfr_first",
        egfr_last="egfr_last",
        ckd_stage_last=stage,
        krt="krt",
        krt_date="krt_date",
        severe_ckd_date=severe_date,
        kidney_failure_date=kidney_failure,
    )
