"""Proteinuria days (clinical.md §1): one value a day, and what it qualifies for under a set.

A day's proteinuria is read from the first present of upcr (mass/mass before mass/mol),
uprot_24h and dipstick among the set's streams; several values of one stream on one day reduce
to the highest. 24-hour protein is converted with the day's weight (and BSA from the nearest
height) into every unit a threshold asks for. Albumin for a day is the nearest within ±14 days;
oedema is the day's record.
"""

from __future__ import annotations

import ibis

from srnskit.clinical.bsa import bsa_mosteller
from srnskit.definitions.model import DefinitionSet, ThresholdRun
from srnskit.engine.backend import Tables, materialise
from srnskit.engine.nearest import nearest_value

__all__ = [
    "ALBUMIN_WITHIN_DAYS",
    "HEIGHT_WITHIN_DAYS",
    "daily",
    "daily_step",
    "evidence_text",
    "meets_thresholds",
    "proteinuria_days",
    "qualifies",
    "with_body_size",
]

ALBUMIN_WITHIN_DAYS = 14  # clinical.md §1
HEIGHT_WITHIN_DAYS = 90  # clinical.md §6, also for the BSA of mg/m2/h
# The order in which a day's value is read (clinical.md §1): quantitative first.
_PRIORITY = {
    ("upcr", "mg/mg"): 0,
    ("upcr", "mg/mmol"): 1,
    ("uprot_24h", "g/24h"): 2,
    ("uprot_24h", "mg/kg/24h"): 3,
    ("uprot_24h", "mg/m2/h"): 4,
    ("dipstick", None): 5,
}
HOURS_PER_DAY = 24.0
MG_PER_G = 1000.0


def daily(measurements: ibis.Table, analyte: str, reduce: str = "max") -> ibis.Table:
    """One value of ``analyte`` per patient and day (highest, lowest or mean)."""
    rows = measurements.filter(measurements.analyte == analyte)
    value = getattr(rows.value, reduce)()
    return rows.group_by(["patient_id", "date"]).aggregate(value=value)


def daily_step(tables: Tables, analyte: str, reduce: str) -> ibis.Table:
    """``daily`` as a step of its own, computed once for all its readers (the day's height serves
    steroid doses, 24-hour protein and eGFR)."""
    return materialise(tables, daily(tables.measurements, analyte, reduce))


def proteinuria_days(tables: Tables, definitions: DefinitionSet) -> ibis.Table:
    """The set's proteinuria days from onset: patient_id, date, onset_date, stream, unit, value,
    one column per threshold key (``upcr_mg_mg`` …, NULL where it does not apply), albumin,
    edema and weight_kg."""
    m = tables.measurements
    p = tables.patients.select("patient_id", "onset_date")
    streams = list(definitions.streams)
    rows = m.filter(m.analyte.isin(streams)).join(p, "patient_id")
    rows = rows.filter(rows.date >= rows.onset_date)
    # One grouping per patient and day: the highest value of each stream and unit family (the
    # canonical units, all of which validation guarantees), then the first present in the
    # order of _PRIORITY.
    levels = [(stream, unit) for stream, unit in _PRIORITY if stream in streams]
    found = rows.group_by(["patient_id", "date", "onset_date"]).aggregate(
        **{
            f"v{i}": rows.value.max(
                where=(rows.analyte == stream)
                & (rows.unit.isnull() if unit is None else rows.unit == unit)
            )
            for i, (stream, unit) in enumerate(levels)
        }
    )
    present = [(found[f"v{i}"].notnull(), level) for i, level in enumerate(levels)]
    days = found.select(
        "patient_id",
        "date",
        "onset_date",
        stream=ibis.cases(*[(here, stream) for here, (stream, _) in present]),
        unit=ibis.cases(
            *[(here, ibis.literal(unit, "string")) for here, (_, unit) in present],
            else_=ibis.null("string"),
        ),
        value=ibis.coalesce(*[found[f"v{i}"] for i in range(len(levels))])
        if len(levels) > 1
        else found.v0,
    )
    # Each lookup reads its input twice: materialised between them, nothing is recomputed.
    days = materialise(tables, days)
    # A lookup runs only where a rule reads it: weight and height convert 24-hour protein (on
    # its days alone), albumin and oedema serve the sets whose rules name them. The others
    # carry NULL, so the days have the same columns under every set.
    looked_up = "uprot_24h" in streams
    if looked_up:
        days = _with_body_size(tables, days)
    else:
        days = days.mutate(weight_kg=ibis.null("float64"), height_cm=ibis.null("float64"))
    rules = (definitions.complete_remission, definitions.partial_remission, definitions.nephrotic)
    reads_albumin = (
        r.albumin_min_g_l or r.albumin_min_g_l_if_available or r.albumin_not_below_baseline
        for r in rules
    )
    if any(reads_albumin):
        looked_up = True
        days = nearest_value(
            days, daily(m, "albumin", "min"), name="albumin", within_days=ALBUMIN_WITHIN_DAYS
        )
    else:
        days = days.mutate(albumin=ibis.null("float64"))
    if any(r.edema_absent for r in rules):
        looked_up = True
        edema = daily(m, "edema", "max").rename(edema="value")
        days = days.left_join(
            edema, [days.patient_id == edema.patient_id, days.date == edema.date]
        ).drop("patient_id_right", "date_right")
    else:
        days = days.mutate(edema=ibis.null("float64"))
    # With lookups joined, the days are computed once for their several readers; without,
    # they are a projection of the table above, cheaper to read again than to copy.
    days = materialise(tables, days) if looked_up else days
    bsa_m2 = bsa_mosteller(height_cm=days.height_cm, weight_kg=days.weight_kg)
    is_uprot = days.stream == "uprot_24h"
    grams_24h = ibis.cases(
        (is_uprot & (days.unit == "g/24h"), days.value),
        (is_uprot & (days.unit == "mg/kg/24h"), days.value * days.weight_kg / MG_PER_G),
        (is_uprot & (days.unit == "mg/m2/h"), days.value * bsa_m2 * HOURS_PER_DAY / MG_PER_G),
        else_=ibis.null("float64"),
    )
    return days.mutate(
        upcr_mg_mg=ibis.ifelse(days.unit == "mg/mg", days.value, ibis.null("float64")),
        upcr_mg_mmol=ibis.ifelse(days.unit == "mg/mmol", days.value, ibis.null("float64")),
        uprot_24h_g_24h=grams_24h,
        uprot_24h_mg_kg_24h=ibis.ifelse(
            is_uprot & (days.unit == "mg/kg/24h"),
            days.value,
            grams_24h * MG_PER_G / days.weight_kg,
        ),
        dipstick=ibis.ifelse(days.stream == "dipstick", days.value, ibis.null("float64")),
    )


def with_body_size(tables: Tables, rows: ibis.Table) -> ibis.Table:
    """``rows`` (patient_id, date, …) with weight_kg (the latest on or before the day, else the
    earliest after, clinical.md §1) and height_cm (the nearest within 90 days, §6)."""
    rows = nearest_value(
        rows,
        daily_step(tables, "weight", "mean"),
        name="weight_kg",
        within_days=None,
        prefer="latest_before",
    )
    return nearest_value(
        rows,
        daily_step(tables, "height", "mean"),
        name="height_cm",
        within_days=HEIGHT_WITHIN_DAYS,
    )


def _with_body_size(tables: Tables, days: ibis.Table) -> ibis.Table:
    """``days`` with weight_kg and height_cm on the 24-hour protein days, the only ones that
    convert."""
    uprot = days.filter(days.stream == "uprot_24h").select("patient_id", "date")
    uprot = materialise(tables, with_body_size(tables, uprot))
    joined = days.left_join(uprot, [days.patient_id == uprot.patient_id, days.date == uprot.date])
    return joined.drop("patient_id_right", "date_right")


def evidence_text(days: ibis.Table) -> ibis.StringValue:
    """``DATE STREAM=VALUE UNIT`` of a proteinuria day (cohort-format.md §3, episodes.evidence).

    Built only for the days that confirm a run, not carried along every day.
    """
    unit_text = days.unit.fill_null("")
    return (
        days.date.cast("string")
        + " "
        + days.stream
        + "="
        + days.value.cast("string")
        + ibis.ifelse(unit_text == "", "", " " + unit_text)
    )


def _compare(column: ibis.Value, operator: str, threshold: float) -> ibis.BooleanValue:
    return {
        "le": column <= threshold,
        "lt": column < threshold,
        "ge": column >= threshold,
        "gt": column > threshold,
    }[operator]


def meets_thresholds(days: ibis.Table, rule: ThresholdRun) -> ibis.BooleanValue:
    """True on a day whose value meets one of the rule's thresholds (its own stream and unit)."""
    met = ibis.literal(False)
    for key, comparison in rule.thresholds.items():
        met = met | _compare(days[key], comparison.operator, comparison.value).fill_null(False)
    return met


def qualifies(days: ibis.Table, rule: ThresholdRun) -> ibis.BooleanValue:
    """``meets_thresholds`` with the extra conditions of complete remission (an albumin for
    the day, no oedema); those of partial remission need the baseline and live in ``episodes``.
    """
    met = meets_thresholds(days, rule)
    if rule.albumin_min_g_l is not None:
        met = met & (days.albumin >= rule.albumin_min_g_l).fill_null(False)
    if rule.edema_absent:
        met = met & (days.edema.fill_null(0) < 1)
    return met
