"""Drug exposure (clinical.md §4): the days each treatment row is active, the one home of the rule.

A treatment row is active from its start_date to its end_date; an ongoing row (no end_date) to
the last follow-up; a rituximab infusion on day d on days d … d + the set's
``rituximab_active_days`` inclusive (B-cell depletion); nothing beyond the last follow-up. Courses
(``rules/courses.py``), toxicity attribution and the troughs and relapses "while a drug is
active" all read these intervals.
"""

from __future__ import annotations

import ibis

from srnskit.definitions.model import DefinitionSet
from srnskit.engine.backends import days_after

__all__ = ["active_end", "exposure_intervals"]


def active_end(treatments: ibis.Table, definitions: DefinitionSet) -> ibis.DateValue:
    """The last active day of each row of ``treatments`` joined with its patient's
    ``last_followup`` (a column of the table)."""
    t = treatments
    end = ibis.cases(
        (t.drug == "rituximab", days_after(t.start_date, definitions.rituximab_active_days)),
        (t.end_date.isnull(), t.last_followup),
        else_=t.end_date,
    )
    last: ibis.DateValue = ibis.least(end, t.last_followup)
    return last


def exposure_intervals(
    treatments: ibis.Table, last_followup: ibis.Table, definitions: DefinitionSet
) -> ibis.Table:
    """``treatments`` (any columns, with patient_id, drug, start_date, end_date) with
    ``last_followup`` and ``active_end``, the last day the row is active (clinical.md §4)."""
    t = treatments.join(last_followup, "patient_id")
    return t.mutate(active_end=active_end(t, definitions))
