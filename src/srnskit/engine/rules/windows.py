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
    starts: ibis.Table,
    episode: ibis.Table,
    days: ibis.Table,
    last_followup: ibis.Table,
    rule: WindowAfterExposure,
) -> ibis.Table:
    """The engine's function of a ``window_after_exposure`` rule (``rules/kinds.py``): for each
    exposure start (patient_id, start_date), outcome ``sensitive`` (a complete remission starts
    within ``window_days``, or within ``confirmation_period_days`` when in partial remission at
    the window's end), ``unknown`` (no proteinuria day in the window, or the window, with its
    confirmation period when entered, ends after the last follow-up: not observed to its end)
    or ``resistant``, and resistance_date (the start + the window, or + the confirmation
    period). unknown_reason says which unknown: ``no_proteinuria`` or ``after_followup``
    (the latter first when both hold); NULL when the outcome is known. window_end: the last
    day the response was looked for (the start + the window, or + the confirmation period
    when the patient entered it).

    ``last_followup`` is the engine's (patient_id, last_followup: ``rules/followup.py``,
    clinical.md §8), the one the episodes were cut at (the last episode ends there, clinical.md
    §3; every child has one, from onset). Resistance is a finding of the whole window: a child
    followed 14 days of the 28 without remission is not resistant but not yet judged
    (docs/decisions.md)."""
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
    followed = last_followup.select(pe="patient_id", last_followup="last_followup")
    r = s.left_join(at_end, ["patient_id", "s"]).drop("patient_id_right", "s_right")
    r = r.left_join(crs, ["patient_id", "s"]).drop("patient_id_right", "s_right")
    r = r.left_join(seen, ["patient_id", "s"]).drop("patient_id_right", "s_right")
    r = r.left_join(followed, r.patient_id == followed.pe).drop("pe")
    extended = ibis.literal(False)
    if confirmation is not None:
        extended = r.partial_at_end.fill_null(False)
    limit = ibis.ifelse(extended, days_after(r.s, confirmation or window), days_after(r.s, window))
    sensitive = (r.first_complete <= limit).fill_null(False)
    reason = ibis.cases(
        (sensitive, ibis.null("string")),
        ((r.last_followup < limit).fill_null(False), ibis.literal("after_followup")),
        (~r.measured.fill_null(False), ibis.literal("no_proteinuria")),
        else_=ibis.null("string"),
    )
    outcome = ibis.cases(
        (sensitive, "sensitive"),
        (reason.notnull(), "unknown"),
        else_="resistant",
    )
    return r.select(
        "patient_id",
        start_date="s",
        outcome=outcome,
        resistance_date=ibis.ifelse(outcome == "resistant", limit, ibis.null("date")),
        unknown_reason=reason,
        window_end=limit,
    )
