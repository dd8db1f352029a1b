"""Eligibility (clinical.md §8): the study's inclusion steps, in order, from its ``[eligibility]``.

The steps and their thresholds are the study file's (``studies/seed2023.toml``), not the
definition set's: age at onset, congenital and infantile onset, a secondary cause, steroid
resistance, an evaluable combination course, follow-up, and an optional calendar period (the
shipped study has none).
"""

from __future__ import annotations

import ibis

from srnskit.constants import DAYS_PER_YEAR
from srnskit.engine.backends import Tables, days_after
from srnskit.schema import EXCLUSION_STEPS, REGIMEN_AGENTS
from srnskit.studies.model import Eligibility

__all__ = ["eligibility"]


def eligibility(
    tables: Tables,
    steroid: ibis.Table,
    course: ibis.Table,
    last_followup: ibis.Table,
    rule: Eligibility,
) -> ibis.Table:
    """patient_id, onset_age_years (days from birth to onset / 365.25), followup_days,
    exclusion_reasons (every failing step, ``;``-joined; NULL when none), eligible, first_failed
    (the first failing step of ``EXCLUSION_STEPS``), under the study's ``[eligibility]``
    (clinical.md §8). ``outside_period`` can fail only when the study sets a ``study_period``.
    """
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
    )
