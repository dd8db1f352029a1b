"""A day's values (clinical.md §1) and the body size as of a day: the one weight rule, the height
within the study's window.

Several values of one analyte on one day reduce to one (the highest for proteinuria and
creatinine, the lowest for albumin, the mean for height and weight); a value given as a bound
(``<0.1``) is not a number to compute with and is left out here (cohort-format.md §2). The
weight for a day is the latest within ``WEIGHT_WITHIN_DAYS`` (365) on or before it, else the
earliest within 365 days after it (clinical.md §1, the one weight rule: 24-hour protein in
mg/kg, the standard dose and the body size of drug exposures all read it here); the height is
the nearest within the study's ``[kidney].height_within_days`` (the earlier wins a tie,
clinical.md §6), for eGFR and every BSA.
"""

from __future__ import annotations

import ibis

from srnskit.constants import WEIGHT_WITHIN_DAYS
from srnskit.engine.backends import Tables, materialise
from srnskit.engine.rules.nearest import nearest_value

__all__ = ["daily", "daily_step", "height_as_of", "weight_as_of", "with_body_size"]


def daily(measurements: ibis.Table, analyte: str, reduce: str = "max") -> ibis.Table:
    """patient_id, date, value: one value of ``analyte`` per patient and day (``reduce`` is
    ``max``, ``min`` or ``mean``), from its exact values: a bound (``qualifier`` set) is left out,
    as every computation that needs the number itself leaves it (cohort-format.md §2)."""
    rows = measurements.filter((measurements.analyte == analyte) & measurements.qualifier.isnull())
    value = getattr(rows.value, reduce)()
    return rows.group_by(["patient_id", "date"]).aggregate(value=value)


def daily_step(tables: Tables, analyte: str, reduce: str) -> ibis.Table:
    """``daily`` as a step of its own, computed once for all its readers (the day's height serves
    steroid doses, 24-hour protein, exposures and eGFR)."""
    return materialise(tables, daily(tables.measurements, analyte, reduce))


def weight_as_of(tables: Tables, rows: ibis.Table) -> ibis.Table:
    """``rows`` (patient_id, date, …; unique on the two) with weight_kg: the day's mean weight
    that is the latest within 365 days on or before ``date``, else the earliest within 365 days
    after it; NULL when none (clinical.md §1)."""
    return nearest_value(
        rows,
        daily_step(tables, "weight", "mean"),
        name="weight_kg",
        within_days=WEIGHT_WITHIN_DAYS,
        prefer="latest_before",
    )


def height_as_of(tables: Tables, rows: ibis.Table, *, height_within_days: int) -> ibis.Table:
    """``rows`` (patient_id, date, …; unique on the two) with height_cm: the day's mean height
    nearest to ``date`` within ``height_within_days`` (the study's ``[kidney]``; the earlier wins
    a tie); NULL when none (clinical.md §6)."""
    return nearest_value(
        rows,
        daily_step(tables, "height", "mean"),
        name="height_cm",
        within_days=height_within_days,
    )


def with_body_size(tables: Tables, rows: ibis.Table, *, height_within_days: int) -> ibis.Table:
    """``rows`` (patient_id, date, …; unique on the two) with weight_kg (``weight_as_of``) and
    height_cm (``height_as_of``)."""
    return height_as_of(tables, weight_as_of(tables, rows), height_within_days=height_within_days)
