"""Courses (clinical.md §4): follow-up cut into intervals with a constant set of active agents.

Each treatment row adds +1 for its agent on its first day and −1 the day after its last active
day (``rules/exposure.py``: a rituximab infusion is active for the set's
``rituximab_active_days``; an ongoing course runs to the last follow-up; nothing runs past it).
Running sums give the active set on each boundary day; a course is a maximal interval of one
non-empty set, named by its agents in the declared order. Its response comes from the episodes
that start within it.
"""

from __future__ import annotations

import ibis

from srnskit.definitions.model import DefinitionSet
from srnskit.engine.backends import days_after
from srnskit.engine.rules.episodes import COMPLETE, NEPHROTIC
from srnskit.engine.rules.exposure import exposure_intervals
from srnskit.schema import REGIMEN_AGENTS

__all__ = ["course_responses", "courses"]


def courses(
    treatments: ibis.Table, last_followup: ibis.Table, definitions: DefinitionSet
) -> ibis.Table:
    """patient_id, course_no, regimen, n_agents, start_date, end_date, days, evaluable, and one
    boolean per agent (``has_cyclosporine`` …)."""
    t = exposure_intervals(
        treatments.filter(treatments.drug.isin(REGIMEN_AGENTS)), last_followup, definitions
    )
    t = t.rename(stop="active_end")
    starts = t.select(
        "patient_id",
        day=t.start_date,
        **{f"d_{a}": ibis.ifelse(t.drug == a, 1, 0) for a in REGIMEN_AGENTS},
    )
    stops = t.select(
        "patient_id",
        day=days_after(t.stop, 1),
        **{f"d_{a}": ibis.ifelse(t.drug == a, -1, 0) for a in REGIMEN_AGENTS},
    )
    events = starts.union(stops)
    # The active set after each boundary day: running sums over every event up to and
    # including the day (a range frame takes a day's events together, so all rows of one day
    # carry the same set and only the first of them can be a change).
    through_day = ibis.window(group_by="patient_id", order_by=["day"], range=(None, 0))
    active = events.select(
        "patient_id",
        "day",
        **{f"has_{a}": events[f"d_{a}"].sum().over(through_day) > 0 for a in REGIMEN_AGENTS},
    )
    name = ibis.literal("")
    for agent in REGIMEN_AGENTS:
        name = name + ibis.ifelse(active[f"has_{agent}"], "+" + agent, "")
    active = active.mutate(regimen=ibis.ifelse(name == "", "", name.substr(1)))
    ordered = ibis.window(group_by="patient_id", order_by=["day"])
    changes = active.mutate(previous=active.regimen.lag().over(ordered))
    changes = changes.filter(changes.previous.isnull() | (changes.previous != changes.regimen))
    # A course is a change to a non-empty set that a later change ends (only the last change
    # has none), so its number is the running count of non-empty changes, in the same pass.
    up_to = ibis.window(group_by="patient_id", order_by=["day"], rows=(None, 0))
    changes = changes.mutate(
        next_day=changes.day.lead().over(ordered),
        course_no=(changes.regimen != "").cast("int64").sum().over(up_to),
    )
    found = changes.filter((changes.regimen != "") & changes.next_day.notnull())
    found = found.mutate(end_date=days_after(found.next_day, -1))
    found = found.mutate(
        n_agents=sum(found[f"has_{a}"].cast("int64") for a in REGIMEN_AGENTS),
        days=found.end_date.delta(found.day, unit="day") + 1,
    )
    return found.select(
        "patient_id",
        "course_no",
        "regimen",
        "n_agents",
        start_date="day",
        end_date="end_date",
        days="days",
        evaluable=found.days >= definitions.min_course_days,
        **{f"has_{a}": f"has_{a}" for a in REGIMEN_AGENTS},
    )


def course_responses(course: ibis.Table, episode: ibis.Table, days: ibis.Table) -> ibis.Table:
    """Courses with response, response_date, days_to_remission and relapses (clinical.md §4)."""
    key = ["patient_id", "course_no"]
    c = course.select(*key, c_start="start_date", c_end="end_date")
    e = episode.select(
        e_patient="patient_id",
        e_start="start_date",
        e_end="end_date",
        e_state="state_code",
        e_relapse="relapse",
    )
    within = c.join(e, [c.patient_id == e.e_patient, e.e_start >= c.c_start, e.e_start <= c.c_end])
    inside = within.group_by(key).aggregate(
        first_remission=within.e_start.min(where=within.e_state != NEPHROTIC),
        any_complete=(within.e_state == COMPLETE).any(),
        relapses=within.e_relapse.cast("int64").sum(),
    )
    covering = c.join(
        e, [c.patient_id == e.e_patient, e.e_start <= c.c_start, e.e_end >= c.c_start]
    )
    at_start = covering.group_by(key).aggregate(in_remission=(covering.e_state != NEPHROTIC).any())
    d = days.select(d_patient="patient_id", d_date="date")
    measured = c.semi_join(
        d, [c.patient_id == d.d_patient, d.d_date >= c.c_start, d.d_date <= c.c_end]
    ).select(*key, measured=ibis.literal(True))
    r = course.left_join(inside, key).drop("patient_id_right", "course_no_right")
    r = r.left_join(at_start, key).drop("patient_id_right", "course_no_right")
    r = r.left_join(measured, key).drop("patient_id_right", "course_no_right")
    assessable = r.evaluable & ~r.in_remission.fill_null(False) & r.measured.fill_null(False)
    response = ibis.cases(
        (~assessable, "not_evaluable"),
        (r.any_complete.fill_null(False), "complete"),
        (r.first_remission.notnull(), "partial"),
        else_="none",
    )
    remitted = assessable & r.first_remission.notnull()
    response_date = ibis.ifelse(remitted, r.first_remission, ibis.null("date"))
    return r.mutate(
        response=response,
        response_date=response_date,
        days_to_remission=response_date.delta(r.start_date, unit="day"),
        relapses=r.relapses.fill_null(0),
    )
