"""Nearest-match joins, in the portable form (ARCHITECTURE.md engine notes).

``asof_join`` is not portable (unsupported on Spark; wrong rows on DuckDB with a tolerance), so a
value "nearest to a day" is found by a left join on the patient and a day range, then keeping
``row_number() == 0`` over a window ordered by the distance and then the other date (the earlier
wins a tie). One pattern serves height (± the study's ``height_within_days``) and albumin (±14).
Weight (the latest within 365 days on or before the day, else the earliest within 365 days
after it) is carried along each patient's dates instead, with no range join.
"""

from __future__ import annotations

from typing import Literal

import ibis

from srnskit.engine.backends import days_after

__all__ = ["nearest_value"]


def nearest_value(
    days: ibis.Table,
    values: ibis.Table,
    *,
    name: str,
    within_days: int | None,
    prefer: Literal["nearest", "latest_before"] = "nearest",
) -> ibis.Table:
    """``days`` (unique on patient_id, date) with column ``name``: the matched ``values.value``.

    ``values`` has patient_id, date, value (one row per patient and date). ``nearest``: the
    closest within ``within_days`` (earlier wins a tie); ``latest_before``: the latest within
    ``within_days`` on or before the day, else the earliest within ``within_days`` after it
    (None = any distance). A day with no value in reach gets NULL.
    """
    if prefer == "latest_before":
        return _carried(days, values, name, within_days)
    keys = days.select("patient_id", "date").distinct()
    other = values.select(patient_id_v=values.patient_id, date_v=values.date, value_v=values.value)
    condition = [keys.patient_id == other.patient_id_v]
    if within_days is not None:
        condition += [
            other.date_v >= days_after(keys.date, -within_days),
            other.date_v <= days_after(keys.date, within_days),
        ]
    pairs = keys.join(other, condition)
    distance = pairs.date_v.delta(pairs.date, unit="day")
    order = [distance.abs(), pairs.date_v]
    ranked = pairs.mutate(
        rank=ibis.row_number().over(group_by=[pairs.patient_id, pairs.date], order_by=order)
    )
    best = ranked.filter(ranked["rank"] == 0).select(
        patient_id_n=ranked.patient_id, date_n=ranked.date, **{name: ranked.value_v}
    )
    joined = days.left_join(best, [days.patient_id == best.patient_id_n, days.date == best.date_n])
    return joined.drop("patient_id_n", "date_n")


def _carried(
    days: ibis.Table, values: ibis.Table, name: str, within_days: int | None
) -> ibis.Table:
    """The latest value on or before each day, else the earliest after, each only within
    ``within_days`` (None = any distance): running max/min of the value dates over the days and
    values in one sequence (no range join). The latest value before a day is the nearest before
    it, so when it lies beyond the limit no earlier one is within it: the bound is a test on the
    two carried dates alone."""
    keys = (
        days.select("patient_id", "date")
        .distinct()
        .mutate(is_value=ibis.literal(0), value_date=ibis.null("date"))
    )
    dated = values.select("patient_id", "date", is_value=ibis.literal(1), value_date="date")
    both = keys.union(dated)
    # A value on the day itself counts as "on or before": values sort before days that date.
    order = [both.date, ibis.desc(both.is_value)]
    before = ibis.window(group_by="patient_id", order_by=order, rows=(None, 0))
    after = ibis.window(group_by="patient_id", order_by=order, rows=(0, None))
    found = both.mutate(
        latest=both.value_date.max().over(before), earliest=both.value_date.min().over(after)
    )
    latest, earliest = found.latest, found.earliest
    if within_days is not None:
        latest = ibis.ifelse(
            found.date.delta(latest, unit="day") <= within_days, latest, ibis.null("date")
        )
        earliest = ibis.ifelse(
            earliest.delta(found.date, unit="day") <= within_days, earliest, ibis.null("date")
        )
    found = found.filter(found.is_value == 0).select(
        patient_id_n="patient_id", date_n="date", matched=ibis.coalesce(latest, earliest)
    )
    lookup = values.select(patient_id_v="patient_id", date_v="date", **{name: values.value})
    matched = found.left_join(
        lookup, [found.patient_id_n == lookup.patient_id_v, found.matched == lookup.date_v]
    ).drop("patient_id_v", "date_v", "matched")
    joined = days.left_join(
        matched, [days.patient_id == matched.patient_id_n, days.date == matched.date_n]
    )
    return joined.drop("patient_id_n", "date_n")
