"""Patient-level outcomes (clinical.md §5) and eligibility (§8).

Steroid response looks for a complete remission episode starting within the window after a
standard-dose course (the first within 30 days of onset; for late resistance, one started within
14 days of a relapse); under a set with a confirmation period, a child in partial remission at
the window's end is observed to the period's end. A child with no such course near onset (referred
later) takes the response documented elsewhere (``steroid_response_recorded``), which a response
derived from the data always overrides. CNI response, multidrug resistance and the
first remission follow §5. The standard dose is the study's (``[standard_dose]``), its weight
the one weight rule and its BSA's height within the study's window (``rules/body_size.py``).
"""

from __future__ import annotations

import ibis

from srnskit.clinical.bsa import bsa_mosteller
from srnskit.definitions.model import DefinitionSet
from srnskit.engine.backends import Tables, days_after, materialise
from srnskit.engine.rules.body_size import with_body_size
from srnskit.engine.rules.episodes import COMPLETE, NEPHROTIC
from srnskit.engine.rules.kinds import interpret
from srnskit.schema import AGENT_CLASSES, REGIMEN_AGENTS
from srnskit.studies.model import StandardDose, StudyDesign

__all__ = [
    "cni_response",
    "first_remission",
    "multidrug_resistance",
    "standard_dose_courses",
    "steroid_response",
]

CNI_AGENTS = tuple(a for a, c in AGENT_CLASSES.items() if c == "calcineurin_inhibitor")


def standard_dose_courses(tables: Tables, study: StudyDesign) -> ibis.Table:
    """patient_id, start_date of each standard-dose daily steroid course (clinical.md §2): the
    study's ``[standard_dose]`` drugs at or above any of its thresholds (mg/m²/day, mg/kg/day,
    mg/day), or with no dose.

    A course at or above the threshold of its own unit (or without a dose) is standard as it
    stands; only the others are converted with the weight (the one weight rule) and BSA (the
    height within the study's ``[kidney].height_within_days``) as of their start, the
    nearest-value lookups being the costly part.
    """
    rule = study.standard_dose
    t = tables.treatments
    courses = t.filter(t.drug.isin(rule.drugs) & (t.schedule == "daily"))
    courses = courses.select("patient_id", "dose", "dose_unit", date=t.start_date)
    unknown = ibis.null("float64")
    as_given = _standard(courses, rule, weight=unknown, bsa=unknown)
    converted = with_body_size(
        tables, courses.filter(~as_given), height_within_days=study.kidney.height_within_days
    )
    bsa = bsa_mosteller(height_cm=converted.height_cm, weight_kg=converted.weight_kg)
    converted = converted.filter(_standard(converted, rule, weight=converted.weight_kg, bsa=bsa))
    standard = courses.filter(as_given).select("patient_id", start_date="date")
    return standard.union(converted.select("patient_id", start_date="date")).distinct()


def _standard(
    courses: ibis.Table,
    s: StandardDose,
    *,
    weight: ibis.FloatingValue,
    bsa: ibis.FloatingValue,
) -> ibis.BooleanValue:
    """True where a course's dose, converted with ``weight`` and ``bsa`` (NULL: not known),
    reaches a standard-dose threshold of ``s`` in any unit, or has no dose."""
    dose, unit = courses.dose, courses.dose_unit
    mg_day = ibis.cases(
        (unit == "mg/day", dose),
        (unit == "mg/m2/day", dose * bsa),
        (unit == "mg/kg/day", dose * weight),
        else_=ibis.null("float64"),
    )
    mg_m2 = ibis.cases((unit == "mg/m2/day", dose), else_=mg_day / bsa)
    mg_kg = ibis.cases((unit == "mg/kg/day", dose), else_=mg_day / weight)
    return (
        dose.isnull()
        | (mg_m2 >= s.mg_m2_day).fill_null(False)
        | (mg_kg >= s.mg_kg_day).fill_null(False)
        | (mg_day >= s.mg_day).fill_null(False)
    )


def steroid_response(
    tables: Tables,
    episode: ibis.Table,
    days: ibis.Table,
    last_followup: ibis.Table,
    definitions: DefinitionSet,
    study: StudyDesign,
) -> ibis.Table:
    """patient_id, steroid_response, steroid_response_source, resistance_type, resistance_date
    (clinical.md §5): the set's ``steroid_resistance`` after the study's standard-dose courses.

    A patient with no standard-dose course within the set's days of onset whose
    ``steroid_response_recorded`` is set takes it as the initial response: ``resistant`` →
    type ``initial`` with no resistance_date (the data hold no course to count from);
    ``sensitive`` → late resistance derived from the data as for anyone sensitive.
    steroid_response_source: ``recorded`` when the final response rests on the recorded value
    alone, ``derived`` when it comes from the data, NULL when unknown. Also, for the analysis
    and ``explain`` (why a response is unknown): onset_course_date, the start of the first
    standard-dose course within the set's days of onset (NULL: none), and
    onset_course_outcome, that course judged alone (``sensitive``, ``resistant``, or
    ``unknown``; NULL with no course), with onset_course_unknown_reason and
    onset_course_window_end (``rules/windows.py``: ``no_proteinuria``, ``after_followup``; the
    window's last day). ``last_followup``: the engine's (``rules/followup.py``), which says
    whether a window was followed to its end."""
    rule = definitions.steroid_resistance
    # Read by the initial and the late branch: computed once (its nearest-weight windows).
    courses = materialise(
        tables,
        standard_dose_courses(tables, study).join(
            tables.patients.select("patient_id", "onset_date"), "patient_id"
        ),
    )
    within = rule.course_within_days_of_onset or 0
    early = courses.filter(
        (courses.start_date >= courses.onset_date)
        & (courses.start_date <= days_after(courses.onset_date, within))
    )
    early = early.mutate(k=ibis.row_number().over(group_by="patient_id", order_by=["start_date"]))
    first = early.filter(early.k == 0).select("patient_id", "start_date")
    relapses = episode.filter(episode.relapse).select(pr="patient_id", r_start="start_date")
    after = rule.course_within_days_of_relapse or 0
    c = courses.select(pc="patient_id", c_start="start_date")
    treated = relapses.join(
        c,
        [
            relapses.pr == c.pc,
            c.c_start >= relapses.r_start,
            c.c_start <= days_after(relapses.r_start, after),
        ],
    )
    treated = treated.select(patient_id="pr", start_date="c_start").distinct()
    # The initial course and the relapse courses judged together, once (the days are read
    # once; materialised, as the initial and the late branch both read it).
    judged = materialise(
        tables,
        interpret(rule)(first.union(treated, distinct=True), episode, days, last_followup, rule),
    )
    key = ["patient_id", "start_date"]
    initial = first.join(judged, key).select(
        "patient_id", "outcome", "resistance_date", "unknown_reason", "window_end"
    )
    late = treated.join(judged, key).select("patient_id", "outcome", "resistance_date")
    late = late.filter(late.outcome == "resistant")
    late = late.group_by("patient_id").aggregate(late_date=late.resistance_date.min())
    recorded = tables.patients.select("patient_id", "steroid_response_recorded")
    onset_course = first.select("patient_id", onset_course_date="start_date")
    out = recorded.left_join(initial, "patient_id").drop("patient_id_right")
    out = out.left_join(onset_course, "patient_id").drop("patient_id_right")
    out = out.left_join(late, "patient_id").drop("patient_id_right")
    derived_outcome = out.outcome.fill_null("unknown")
    # clinical.md §5: with no standard course within the onset window (not with a course whose
    # window holds no proteinuria day), the response documented elsewhere stands in; a response
    # derived from the data always wins over it.
    stands_in = out.onset_course_date.isnull() & out.steroid_response_recorded.isin(
        ["sensitive", "resistant"]
    ).fill_null(False)
    initial_outcome = ibis.ifelse(stands_in, out.steroid_response_recorded, derived_outcome)
    response = ibis.cases(
        (initial_outcome == "resistant", "resistant"),
        ((initial_outcome == "sensitive") & out.late_date.notnull(), "resistant"),
        else_=initial_outcome,
    )
    kind = ibis.cases(
        (initial_outcome == "resistant", "initial"),
        (response == "resistant", "late"),
        else_=ibis.null("string"),
    )
    date = ibis.cases(
        ((kind == "initial") & ~stands_in, out.resistance_date),
        (kind == "late", out.late_date),
        else_=ibis.null("date"),
    )
    # recorded: the final response rests on the recorded value alone (recorded resistant, or
    # recorded sensitive with no late resistance found); derived: it comes from the data.
    source = ibis.cases(
        (response == "unknown", ibis.null("string")),
        (stands_in & (kind != "late").fill_null(True), ibis.literal("recorded")),
        else_=ibis.literal("derived"),
    )
    return out.select(
        "patient_id",
        steroid_response=response,
        steroid_response_source=source,
        resistance_type=kind,
        resistance_date=date,
        onset_course_date="onset_course_date",
        onset_course_outcome="outcome",
        onset_course_unknown_reason="unknown_reason",
        onset_course_window_end="window_end",
    )


def cni_response(
    tables: Tables,
    episode: ibis.Table,
    days: ibis.Table,
    course: ibis.Table,
    definitions: DefinitionSet,
) -> ibis.Table:
    """patient_id, cni_response: responsive / resistant / not_treated / not_evaluable (§5)."""
    window = definitions.cni_resistance.window_days
    t = tables.treatments.filter(tables.treatments.drug.isin(CNI_AGENTS))
    s = t.group_by("patient_id").aggregate(s=t.start_date.min())
    e = episode.select(
        pe="patient_id", e_start="start_date", e_end="end_date", e_state="state_code"
    )
    covering = s.join(e, [s.patient_id == e.pe, e.e_start <= s.s, e.e_end >= s.s])
    covering = covering.group_by("patient_id").aggregate(
        in_remission=(covering.e_state != NEPHROTIC).any()
    )
    remits = s.join(
        e,
        [
            s.patient_id == e.pe,
            e.e_state != NEPHROTIC,
            e.e_start >= s.s,
            e.e_start <= days_after(s.s, window),
        ],
    )
    remits = remits.group_by("patient_id").aggregate(remitted=remits.e_start.count())
    d = days.select(pd="patient_id", day="date")
    seen = s.semi_join(
        d, [s.patient_id == d.pd, d.day >= s.s, d.day <= days_after(s.s, window)]
    ).select("patient_id", measured=ibis.literal(True))
    with_cni = course.filter(ibis.or_(*[course[f"has_{a}"] for a in CNI_AGENTS]))
    c = with_cni.join(s, "patient_id")
    c = c.filter(c.start_date >= c.s)
    exposure = c.group_by("patient_id").aggregate(exposure=c.days.sum())
    out = tables.patients.select("patient_id")
    for part in (s, covering, remits, seen, exposure):
        out = out.left_join(part, "patient_id").drop("patient_id_right")
    response = ibis.cases(
        (out.s.isnull(), "not_treated"),
        (out.in_remission.fill_null(False), "not_evaluable"),
        (~out.measured.fill_null(False), "not_evaluable"),
        (out.remitted.fill_null(0) > 0, "responsive"),
        (out.exposure.fill_null(0) >= window, "resistant"),
        else_="not_evaluable",
    )
    return out.select("patient_id", cni_response=response)


def multidrug_resistance(
    tables: Tables, episode: ibis.Table, last_followup: ibis.Table, definitions: DefinitionSet
) -> ibis.Table:
    """patient_id, multidrug_resistant (true/false/NULL) under a set that defines it (§5)."""
    rule = definitions.multidrug_resistance
    patients = tables.patients.select("patient_id")
    if rule is None:
        return patients.mutate(multidrug_resistant=ibis.null("boolean"))
    t = tables.treatments.filter(tables.treatments.drug.isin(REGIMEN_AGENTS))
    agent_class = ibis.cases(*[(t.drug == a, c) for a, c in AGENT_CLASSES.items()])
    by_class = (
        t.mutate(agent_class=agent_class)
        .group_by(["patient_id", "agent_class"])
        .aggregate(first=t.start_date.min())
    )
    by_class = by_class.mutate(
        k=ibis.row_number().over(group_by="patient_id", order_by=["first", "agent_class"])
    )
    second = by_class.filter(by_class.k == 1).select("patient_id", s2="first")
    window = rule.window_days
    e = episode.select(
        pe="patient_id", e_start="start_date", e_end="end_date", e_state="state_code"
    )
    complete = second.join(
        e,
        [
            second.patient_id == e.pe,
            e.e_state == COMPLETE,
            e.e_start <= days_after(second.s2, window),
            e.e_end >= second.s2,
        ],
    )
    complete = complete.group_by("patient_id").aggregate(in_complete=complete.e_start.count())
    out = patients.left_join(second, "patient_id").drop("patient_id_right")
    out = out.left_join(complete, "patient_id").drop("patient_id_right")
    out = out.join(last_followup, "patient_id")
    enough = out.s2.notnull() & (out.last_followup.delta(out.s2, unit="day") >= window)
    value = ibis.ifelse(enough, out.in_complete.fill_null(0) == 0, ibis.null("boolean"))
    return out.select("patient_id", multidrug_resistant=value)


def first_remission(tables: Tables, episode: ibis.Table) -> ibis.Table:
    """patient_id, first_remission_date, first_remission_type (complete / partial)."""
    remissions = episode.filter(episode.state_code != NEPHROTIC)
    remissions = remissions.mutate(
        k=ibis.row_number().over(group_by="patient_id", order_by=["start_date"])
    )
    first = remissions.filter(remissions.k == 0).select(
        "patient_id",
        first_remission_date="start_date",
        first_remission_type=ibis.ifelse(remissions.state_code == COMPLETE, "complete", "partial"),
    )
    return (
        tables.patients.select("patient_id").left_join(first, "patient_id").drop("patient_id_right")
    )
