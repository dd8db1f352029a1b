"""Threshold runs (clinical.md §1, §3): the engine's function of a ``threshold_run`` rule.

A **run** is an island of consecutive proteinuria days meeting one condition (gaps and islands:
the day before is not in it, the next ``confirm_count - 1`` days are, found with ``lag`` and
``lead``, each at most ``max_gap_days`` after the one before when the rule sets it); it dates
from its first day, with those first days as its evidence.
"""

from __future__ import annotations

import ibis

from srnskit.definitions.model import ThresholdRun

__all__ = ["ORDERED", "run_starts", "runs"]

# Each patient's days in date order.
ORDERED = ibis.window(group_by="patient_id", order_by=["date"])


def run_starts(
    days: ibis.Table, flag: str, rule: ThresholdRun, *, among: bool = False
) -> dict[str, ibis.Value]:
    """Columns marking confirmed runs of ``flag`` days, in one ordered pass over each patient's
    days: ``{flag}_start``, true on a run's first day (the flag holds on it and on the next
    ``confirm_count - 1`` days in a row, each at most ``max_gap_days`` after the one before, and
    not on the day before, or that day lies beyond the gap), and ``day_K``, the date of the
    K-th next day (the run's evidence; the same column whatever the flag).

    ``among``: ``days`` holds the ``flag`` days alone, each with ``n``, its number among all
    the patient's proteinuria days; a day follows another in a run when their numbers follow
    (no other day between them).
    """
    on = ibis.literal(True) if among else days[flag].fill_null(False)
    if among:
        previous = (days.n.lag().over(ORDERED) == days.n - 1).fill_null(False)
    else:
        previous = on.lag().over(ORDERED).fill_null(False)
    gap = rule.max_gap_days
    if gap is not None:
        before = days.date.delta(days.date.lag().over(ORDERED), unit="day")
        previous = previous & (before <= gap).fill_null(False)
    start = on & ~previous
    date: ibis.DateValue = days.date
    columns: dict[str, ibis.Value] = {}
    for k in range(1, rule.confirm_count):
        following = days.date.lead(k).over(ORDERED)
        following_n = days.n.lead(k).over(ORDERED) == days.n + k if among else None
        follows = on.lead(k).over(ORDERED) if following_n is None else following_n
        start = start & follows.fill_null(False)
        if gap is not None:
            start = start & (following.delta(date, unit="day") <= gap).fill_null(False)
        columns[f"day_{k}"] = following
        date = following
    return {f"{flag}_start": start, **columns}


def runs(marked: ibis.Table, flag: str, rule: ThresholdRun, kind: int) -> ibis.Table:
    """Confirmed runs from days marked by ``run_starts``: patient_id, date (the run's first
    day), kind, and day_0 … day_{n-1}, the dates of its first ``confirm_count`` days."""
    first = marked.filter(marked[f"{flag}_start"])
    days = {f"day_{k}": first[f"day_{k}"] for k in range(1, rule.confirm_count)}
    return first.select("patient_id", "date", kind=ibis.literal(kind, "int64"), **days)
