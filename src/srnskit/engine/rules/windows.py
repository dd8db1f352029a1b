"""Windows after an exposure (clinical.md §5): the engine's function of a
``window_after_exposure`` rule, as steroid resistance reads it.
"""

from __future__ import annotations

import ibis

from srnskit.definitions.model import WindowAfterExposure
from srnskit.engine.backends import days_after
from srnskit.engine.rules.states import COMPLETE, PARTIAL

__all__ = ["window_outcome"]


def window_outcome(
    starts: ibis.Table, episode: ibis.Table, days: ibis.Table, rule: WindowAfterExposure
) -> ibis.Table:
    """The engine's function of a ``window_after_exposure`` rule (``rules/kinds.py``): for each
    exposure start (patient_id, start_date), outcome ``sensitive`` (a complete remission starts
    within ``window_days``, or within ``confirmation_period_days`` when in partial remission at
    the window's end), ``unknown`` (no proteinuria day in the window) or ``resistant``, and
    resistance_date (the start + the window, or + the confirmation period)."""
    window, confirmation = rule.window_days, rule.confirmation_period_days
    s = starts.select(patient_id="patient_id", s="start_date")
    e = episode.select(
        pe="patient_id", e_start="start_date", e_end="end_date", e_state="state_code"
    )
    at_end = s.join(
        e,
        [
            s.patient_id == e.pe,
            e.e_start <= days_after(s.s, window),
            e.e_end >= days_after(s.s, window),
        ],
    )
    at_end = at_end.group_by(["patient_id", "s"]).aggregate(
        partial_at_end=(at_end.e_state == PARTIAL).any()
    )
    horizon = max(window, confirmation or window)
    crs = s.join(
        e,
        [
            s.patient_id == e.pe,
            e.e_state == COMPLETE,
            e.e_start >= s.s,
            e.e_start <= days_after(s.s, horizon),
        ],
    )
    crs = crs.group_by(["patient_id", "s"]).aggregate(first_complete=crs.e_start.min())
    d = days.select(pd="patient_id", day="date")
    seen = s.semi_join(
        d, [s.patient_id == d.pd, d.day >= s.s, d.day <= days_after(s.s, window)]
    ).select("patient_id", "s", measured=ibis.literal(True))
    r = s.left_join(at_end, ["patient_id", "s"]).drop("patient_id_right", "s_right")
    r = r.left_join(crs, ["patient_id", "s"]).drop("patient_id_right", "s_right")
    r = r.left_join(seen, ["patient_id", "s"]).drop("patient_id_right", "s_right")
    extended = ibis.literal(False)
    if confirmation is not None:
        extended = r.partial_at_end.fill_null(False)
    limit = ibis.ifelse(extended, days_after(r.s, confirmation or window), days_after(r.s, window))
    sensitive = (r.first_complete <= limit).fill_null(False)
    outcome = ibis.cases(
        (sensitive, "sensitive"),
        (~r.measured.fill_null(False), "unknown"),
        else_="resistant",
    )
    return r.select(
        "patient_id",
        start_date="s",
        outcome=outcome,
        resistance_date=ibis.ifelse(outcome == "resistant", limit, ibis.null("date")),
    )
