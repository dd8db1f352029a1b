"""Eligibility (clinical.md §8): the study's inclusion steps, in order, from its ``[eligibility]``.

The steps and their thresholds are the study file's (``studies/seed2023.toml``), not the
definition set's: age at onset, congenital and infantile onset, a secondary cause, steroid
resistance, an evaluable combination course, follow-up, and an optional calendar period (the
shipped study has none).
"""

from __future__ import annotations

import functools
import operator

import ibis

from srnskit.constants import DAYS_PER_YEAR
from srnskit.engine.backends import Tables, days_after
from srnskit.schema import EXCLUSION_STEPS, REGIMEN_AGENTS
from srnskit.studies.model import Eligibility

__all__ = ["COMPARISON_MAY_FAIL", "combination_courses", "eligibility"]

# The comparison group passes inclusion steps 1–4 and 6 (clinical.md §8, comparison group): of
# the steps, it may fail only these.
COMPARISON_MAY_FAIL = ("no_combination", "outside_period")


def combination_courses(course: ibis.Table, rule: Eligibility) -> ibis.Table:
    """The evaluable courses with at least ``rule.combination_min_agents`` of the study's
    ``combination_agents`` at the same time (clinical.md §8 step 5; the article: two or more of
    cyclosporine, MMF and rituximab). ``course``: the courses with their ``has_AGENT`` flags."""
    agents = [a for a in REGIMEN_AGENTS if a in rule.combination_agents]
    held = sum(course[f"has_{a}"].cast("int64") for a in agents)
    return course.filter(course.evaluable & (held >= rule.combination_min_agents))


def eligibility(
    tables: Tables,
    steroid: ibis.Table,
    course: ibis.Table,
    last_followup: ibis.Table,
    rule: Eligibility,
) -> ibis.Table:
    """patient_id, onset_age_years (days from birth to onset / 365.25), followup_days (last
    follow-up − onset), exclusion_reasons (every failing step, ``;``-joined; NULL when none),
    eligible, first_failed (the first failing step of ``EXCLUSION_STEPS``) and comparable (fails
    no step but ``COMPARISON_MAY_FAIL``), under the study's ``[eligibility]`` (clinical.md §8).

    Step 6 counts the year of follow-up from the start of the patient's first evaluable
    combination course, from onset when there is none (clinical.md §8, changed 2026-11-30).
    ``outside_period`` can fail only when the study sets a ``study_period``.
    """
    p = tables.patients.join(steroid, "patient_id").join(last_followup, "patient_id")
    combination = combination_courses(course, rule)
    has_combination = combination.group_by("patient_id").aggregate(
        n_combination=combination.days.count(), first_combination=combination.start_date.min()
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
    followup_from = p.first_combination.fill_null(p.onset_date)
    followup_studied = p.last_followup.delta(followup_from, unit="day")
    failing = {
        "age_over_18": p.onset_date >= adult,
        "congenital": p.onset_date < congenital,
        "infantile": (p.onset_date >= congenital) & (p.onset_date < first_birthday),
        "secondary": p.secondary_cause.notnull(),
        # Step 4 in two (clinical.md §8): sensitive, then unknown (no standard course near
        # onset, or none of the set's proteinuria streams measured).
        "not_steroid_resistant": (p.steroid_response == "sensitive").fill_null(False),
        "steroid_response_unknown": ~p.steroid_response.isin(["sensitive", "resistant"]).fill_null(
            False
        ),
        "no_combination": p.n_combination.fill_null(0) == 0,
        "followup_under_1y": followup_studied < rule.min_followup_days,
        # Only a patient with an evaluable combination course, none starting within the
        # period, fails it (clinical.md §8 step 7); no period in the study: it cannot fail.
        "outside_period": (
            (p.n_combination.fill_null(0) > 0) & (p.n_in_period.fill_null(0) == 0)
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
        comparable=~functools.reduce(
            operator.or_,
            [failing[s] for s in EXCLUSION_STEPS if s not in COMPARISON_MAY_FAIL],
        ),
    )
