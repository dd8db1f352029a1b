"""Patient-level outcomes (clinical.md §5) and eligibility (§8).

Steroid response looks for a complete remission episode starting within the window after a
standard-dose course (the first within 30 days of onset; for late resistance, one started within
14 days of a relapse); under a set with a confirmation period, a child in partial remission at
the window's end is observed to the period's end. CNI response, multidrug resistance and the
first remission follow §5; eligibility applies §8's steps in order.
"""

from __future__ import annotations

import ibis

from srnskit.clinical.bsa import bsa_mosteller
from srnskit.definitions.model import DefinitionSet
from srnskit.engine.backends import Tables, days_after, materialise
from srnskit.engine.rules.episodes import COMPLETE, NEPHROTIC, PARTIAL
from srnskit.engine.rules.proteinuria import with_body_size
from srnskit.schema import AGENT_CLASSES, EXCLUSION_STEPS, REGIMEN_AGENTS

__all__ = [
    "DAYS_PER_YEAR",
    "cni_response",
    "eligibility",
    "first_remission",
    "multidrug_resistance",
    "standard_dose_courses",
    "steroid_response",
]

DAYS_PER_YEAR = 365.25  # onset_age_years (clinical.md §8)
CNI_AGENTS = tuple(a for a, c in AGENT_CLASSES.items() if c == "calcineurin_inhibitor")


def standard_dose_courses(tables: Tables, definitions: DefinitionSet) -> ibis.Table:
    """patient_id, start_date of each standard-dose daily steroid course (clinical.md §2).

    A course at or above the threshold of its own unit (or without a dose) is standard as it
    stands; only the others are converted with the weight and BSA as of their start, the
    nearest-value lookups being the costly part.
    """
    t = tables.treatments
    courses = t.filter(t.drug.isin(definitions.standard_dose.drugs) & (t.schedule == "daily"))
    courses = courses.select("patient_id", "dose", "dose_unit", date=t.start_date)
    unknown = ibis.null("float64")
    as_given = _standard(courses, definitions, weight=unknown, bsa=unknown)
    converted = with_body_size(tables, courses.filter(~as_given))
    bsa = bsa_mosteller(height_cm=converted.height_cm, weight_kg=converted.weight_kg)
    converted = converted.filter(
        _standard(converted, definitions, weight=converted.weight_kg, bsa=bsa)
    )
    standard = courses.filter(as_given).select("patient_id", start_date="date")
    return standard.union(converted.select("patient_id", start_date="date")).distinct()


def _standard(
    courses: ibis.Table,
    definitions: DefinitionSet,
    *,
    weight: ibis.FloatingValue,
    bsa: ibis.FloatingValue,
) -> ibis.BooleanValue:
    """True where a course's dose, converted with ``weight`` and ``bsa`` (NULL: not known),
    reaches a standard-dose threshold in any unit, or has no dose."""
    s = definitions.standard_dose
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


def _window_outcome(
    starts: ibis.Table, episode: ibis.Table, days: ibis.Table, definitions: DefinitionSet
) -> ibis.Table:
    """For each (patient_id, start_date): sensitive / resistant / unknown, resistance_date."""
    rule = definitions.steroid_resistance
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


def steroid_response(
    tables: Tables, episode: ibis.Table, days: ibis.Table, definitions: DefinitionSet
) -> ibis.Table:
    """patient_id, steroid_response, resistance_type, resistance_date (clinical.md §5)."""
    rule = definitions.steroid_resistance
    # Read by the initial and the late branch: computed once (its nearest-weight windows).
    courses = materialise(
        tables,
        standard_dose_courses(tables, definitions).join(
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
        tables, _window_outcome(first.union(treated, distinct=True), episode, days, definitions)
    )
    key = ["patient_id", "start_date"]
    initial = first.join(judged, key).select("patient_id", "outcome", "resistance_date")
    late = treated.join(judged, key).select("patient_id", "outcome", "resistance_date")
    late = late.filter(late.outcome == "resistant")
    late = late.group_by("patient_id").aggregate(late_date=late.resistance_date.min())
    out = (
        tables.patients.select("patient_id")
        .left_join(initial, "patient_id")
        .drop("patient_id_right")
    )
    out = out.left_join(late, "patient_id").drop("patient_id_right")
    initial_outcome = out.outcome.fill_null("unknown")
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
        (kind == "initial", out.resistance_date),
        (kind == "late", out.late_date),
        else_=ibis.null("date"),
    )
    return out.select(
        "patient_id", steroid_response=response, resistance_type=kind, resistance_date=date
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


def eligibility(
    tables: Tables,
    steroid: ibis.Table,
    course: ibis.Table,
    last_followup: ibis.Table,
    definitions: DefinitionSet,
) -> ibis.Table:
    """patient_id, onset_age_years, followup_days, exclusion_reasons, eligible, first_failed."""
    rule = definitions.eligibility
    p = tables.patients.join(steroid, "patient_id").join(last_followup, "patient_id")
    agents = [a for a in REGIMEN_AGENTS if a in rule.combination_agents]
    combination = course.filter(
        course.evaluable & (sum(course[f"has_{a}"].cast("int64") for a in agents) >= 2)
    )
    has_combination = combination.group_by("patient_id").aggregate(
        n_combination=combination.days.count()
    )
    in_period = combination
    if rule.study_period is not None:
        first_day, last_day = rule.study_period
        in_period = combination.filter(
            (combination.start_date >= first_day) & (combination.start_date <= last_day)
        )
    period = in_period.group_by("patient_id").aggregate(n_in_period=in_period.days.count())
    p = p.left_join(has_combination, "patient_id").drop("patient_id_right")
    p = p.left_join(period, "patient_id").drop("patient_id_right")
    adult = p.birth_date + ibis.interval(years=rule.max_onset_age_years)
    first_birthday = p.birth_date + ibis.interval(years=rule.min_onset_age_years)
    congenital = days_after(p.birth_date, rule.congenital_days)
    followup_days = p.last_followup.delta(p.onset_date, unit="day")
    failing = {
        "age_over_18": p.onset_date >= adult,
        "congenital": p.onset_date < congenital,
        "infantile": (p.onset_date >= congenital) & (p.onset_date < first_birthday),
        "secondary": p.secondary_cause.notnull(),
        "not_steroid_resistant": p.steroid_response != "resistant",
        "no_combination": p.n_combination.fill_null(0) == 0,
        "followup_under_1y": followup_days < rule.min_followup_days,
        # No study period in the set: the step cannot fail (clinical.md §8 step 7).
        "outside_period": (
            p.n_in_period.fill_null(0) == 0
            if rule.study_period is not None
            else ibis.literal(False)
        ),
    }
    reasons = ibis.literal("")
    for step in EXCLUSION_STEPS:
        reasons = reasons + ibis.ifelse(failing[step], ";" + step, "")
    first_failed = ibis.cases(
        *[(failing[step], step) for step in EXCLUSION_STEPS], else_=ibis.null("string")
    )
    return p.select(
        "patient_id",
        # float first: Spark divides integers as DECIMAL(…, 6), DuckDB as double
        onset_age_years=p.onset_date.delta(p.birth_date, unit="day").cast("float64")
        / DAYS_PER_YEAR,
        followup_days=followup_days,
        exclusion_reasons=ibis.ifelse(reasons == "", ibis.null("string"), reasons.substr(1)),
        eligible=reasons == "",
        first_failed=first_failed,
    )
