"""The latent disease course of each child: what happened, before anyone measured it.

Everything is computed on arrays over a chunk of children (no loop over patients). Days are
counted from each child's onset (day 0). The disease is a sequence of **segments**: from its
start day, proteinuria moves towards a target level (log UPCR, mg/mg) with time constant ``tau``
days; the state (nephrotic, partial or complete remission) is the band the target lies in.
Treatments, adverse events, events and the eGFR trajectory (piecewise linear through four knots)
are generated alongside, following the SFNP protocol as the source article applied it.
"""

from __future__ import annotations

import datetime as dt

import numpy as np

from srnskit.constants import DAYS_PER_YEAR
from srnskit.schema.tables import MAX_MEASUREMENT_AGE_YEARS
from srnskit.synth.combination import simulate_combination
from srnskit.synth.course import simulate_kidney, simulate_toxicity
from srnskit.synth.diary import family_adherence
from srnskit.synth.latent import (
    ACEI,
    CR,
    CYCLOSPORINE,
    DIALYSIS,
    LAST_VISIT,
    LOST,
    NEPHROTIC,
    PR,
    PREDNISONE,
    SECONDARY_CAUSES,
    TAU_RELAPSE,
    TAU_REMISSION,
    TRANSPLANT,
    Array,
    Latent,
    Rows,
    clip_treatments,
    draw_level,
    draw_remission_level,
    gamma,
    within_follow_up,
)
from srnskit.synth.profile import CATEGORIES, Profile
from srnskit.synth.steroids import prednisone_course, simulate_sensitive_relapses

__all__ = ["simulate"]


def _day(date: dt.date) -> int:
    return (date - dt.date(1970, 1, 1)).days


def simulate(
    profile: Profile, n: int, rng: np.random.Generator, categories: Array | None = None
) -> Latent:
    """Simulate ``n`` children under ``profile`` (optionally with their categories fixed)."""
    p = profile
    # The families' diaries draw from their own generator (spawning it leaves the chunk's
    # stream as it was): whether a family keeps a diary, its adherence, a relapse's readings.
    family_rng = rng.spawn(1)[0]
    family_readings = Rows("pid", "day", "value")
    adherence, families = None, None
    if p.diary is not None:
        adherence = family_adherence(n, p.diary, family_rng)
        families = (p.diary, adherence, family_rng, family_readings)
    category = (
        np.asarray(categories)
        if categories is not None
        else rng.choice(len(CATEGORIES), size=n, p=p.population.shares())
    )
    code = {name: i for i, name in enumerate(CATEGORIES)}
    combined = category == code["combined"]
    sensitive_only = category == code["steroid_sensitive"]
    on_csa = ~sensitive_only
    male = rng.random(n) < p.population.male
    centre_b = rng.random(n) < p.population.centre_b

    # --- who, when ---------------------------------------------------------------------------
    age_days = 1.0 + np.minimum(gamma(rng, p.onset.age_mean - 1, p.onset.age_sd, n), 16.5)
    age_days = np.round(age_days * DAYS_PER_YEAR)
    age_days = np.where(category == code["infantile"], rng.integers(95, 355, n), age_days)
    age_days = np.where(category == code["congenital"], rng.integers(5, 85, n), age_days)
    age_days = np.where(
        category == code["adult_onset"], 18 * DAYS_PER_YEAR + rng.integers(20, 500, n), age_days
    ).astype(np.int64)
    onset = rng.integers(_day(p.onset.first_date), _day(p.onset.last_date) + 1, n)
    birth = onset - age_days
    secondary = np.where(
        category == code["secondary"], rng.integers(0, len(SECONDARY_CAUSES), n), -1
    )
    d = p.diagnosis
    histology_draw = rng.random(n)
    histology = np.select(
        [
            histology_draw < d.histology_mcd,
            histology_draw < d.histology_mcd + d.histology_fsgs,
            histology_draw < d.histology_mcd + d.histology_fsgs + d.histology_dmp,
        ],
        [0, 1, 2],
        -1,
    )
    biopsied = histology_draw < d.biopsy
    genetic_testing = rng.random(n) < d.genetic_testing
    monogenic = genetic_testing & on_csa & (rng.random(n) < d.monogenic_if_tested)

    s = p.steroids
    initial = on_csa & ((rng.random(n) < s.initial_resistance) | monogenic)
    late = on_csa & ~initial
    resistance = np.where(initial, 1, np.where(late, 2, 0))
    segments = Rows("pid", "day", "state", "level", "tau")
    treatments = Rows("pid", "drug", "start", "end", "dose", "schedule")
    pid = np.arange(n)
    everyone = np.ones(n, dtype=bool)
    segments.add(
        everyone,
        pid=pid,
        day=0,
        state=NEPHROTIC,
        level=draw_level(rng, NEPHROTIC, n),
        tau=TAU_RELAPSE,
    )

    # --- the first steroid course (clinical.md §2 standard dose) -------------------------------
    course_start = rng.integers(0, 4, n)
    responds = ~initial
    first_days = np.where(initial, s.course_days, s.sensitive_course_days)
    prednisone_course(treatments, s, everyone, responds, start=course_start, daily_days=first_days)
    remission_day = course_start + rng.integers(s.remission_day_min, s.remission_day_max - 4, n)
    remission_level = draw_level(rng, CR, n)
    segments.add(
        responds, pid=pid, day=remission_day, state=CR, level=remission_level, tau=TAU_REMISSION
    )
    partial = rng.random(n) < s.partial_response
    segments.add(
        initial & partial,
        pid=pid,
        day=course_start + rng.integers(12, 20, n),
        state=PR,
        level=draw_level(rng, PR, n),
        tau=TAU_REMISSION,
    )
    resistance_day = np.where(initial, course_start + s.course_days, -1)

    # --- relapses while steroid sensitive; the last one resistant in late resistance ----------
    resistance_day, last_sensitive_day = simulate_sensitive_relapses(
        rng,
        s,
        segments,
        treatments,
        late=late,
        sensitive_only=sensitive_only,
        responds=responds,
        partial=partial,
        remission_day=remission_day,
        remission_level=remission_level,
        resistance_day=resistance_day,
        families=families,
    )

    # --- cyclosporine, the SFNP first line ------------------------------------------------------
    c = p.cyclosporine
    csa_start = resistance_day + np.maximum(
        gamma(rng, c.delay_after_resistance_mean, c.delay_after_resistance_sd, n), 7
    ).astype(np.int64)
    csa_dose = np.round(np.clip(rng.normal(c.dose_mg_m2_mean, c.dose_mg_m2_sd, n), 100, 250), 1)
    csa_remission = np.maximum(gamma(rng, c.remission_days_mean, c.remission_days_sd, n), 30)
    csa_remission = csa_remission.astype(np.int64)
    csa_state = np.where(rng.random(n) < c.complete_share, CR, PR)
    with_steroids = on_csa  # prednisone 30 mg/m²/day for a month, then alternate days [N94]
    treatments.add(
        with_steroids,
        pid=pid,
        drug=PREDNISONE,
        start=csa_start,
        end=csa_start + 29,
        dose=30.0,
        schedule=0,
    )
    treatments.add(
        with_steroids,
        pid=pid,
        drug=PREDNISONE,
        start=csa_start + 30,
        end=csa_start + 179,
        dose=30.0,
        schedule=1,
    )

    # Cyclosporine only: remission or none, 12 months in all (or stopped without remission).
    alone = on_csa & ~combined
    alone_responds = alone & ~monogenic & (rng.random(n) >= c.no_response_csa_only)
    csa_remission_alone = np.minimum(csa_remission, 330)
    segments.add(
        alone_responds,
        pid=pid,
        day=csa_start + csa_remission_alone,
        state=csa_state,
        level=draw_remission_level(rng, csa_state),
        tau=TAU_REMISSION,
    )
    alone_days = np.where(alone_responds, c.csa_only_days, c.csa_only_stop_days)
    treatments.add(
        alone,
        pid=pid,
        drug=CYCLOSPORINE,
        start=csa_start,
        end=csa_start + alone_days - 1,
        dose=csa_dose,
        schedule=0,
    )
    late_relapse = alone_responds & (rng.random(n) < 0.3)
    segments.add(
        late_relapse,
        pid=pid,
        day=csa_start + alone_days + rng.integers(60, 400, n),
        state=NEPHROTIC,
        level=draw_level(rng, NEPHROTIC, n),
        tau=TAU_RELAPSE,
    )

    # Combined: remission on cyclosporine, relapses on it, refractory, then MMF (± rituximab).
    combination = simulate_combination(
        rng,
        p,
        segments,
        treatments,
        combined=combined,
        monogenic=monogenic,
        csa_start=csa_start,
        csa_remission=csa_remission,
        csa_state=csa_state,
        csa_dose=csa_dose,
    )
    second_agent, combination_end = combination.second_agent, combination.combination_end
    triple, infusion = combination.triple, combination.infusion
    acei = on_csa & (rng.random(n) < 0.6)
    treatments.add(acei, pid=pid, drug=ACEI, start=csa_start, end=-1, dose=np.nan, schedule=0)

    # --- follow-up ------------------------------------------------------------------------------
    end = np.select(
        [combined, alone, sensitive_only],
        [
            combination_end + rng.integers(60, 2400, n),
            csa_start + alone_days + rng.integers(200, 1500, n),
            last_sensitive_day + rng.integers(365, 1500, n),
        ],
    )
    end = np.where(category == code["short_followup"], rng.integers(150, 340, n), end)
    end = np.minimum(end, _day(p.onset.data_cutoff) - onset)
    # The format refuses a measurement more than 30 years after birth (a mistyped year): an
    # adult-onset child's follow-up ends before (365 days a year is inside 30 calendar years).
    end = np.minimum(end, MAX_MEASUREMENT_AGE_YEARS * 365 - age_days)

    kidney = simulate_kidney(
        rng, p, end, combined=combined, monogenic=monogenic, sensitive_only=sensitive_only
    )
    failure, severe, severe_day = kidney.failure, kidney.severe, kidney.severe_day
    dialysis_day, transplant_day, below_15 = (
        kidney.dialysis_day,
        kidney.transplant_day,
        kidney.below_15,
    )
    knots_day, knots = kidney.knots_day, kidney.knots
    adverse = simulate_toxicity(
        rng,
        p,
        on_csa=on_csa,
        combined=combined,
        triple=triple,
        severe=severe,
        severe_day=severe_day,
        csa_start=csa_start,
        second_agent=second_agent,
        infusion=infusion,
        course_start=course_start,
    )

    events = Rows("pid", "day", "event")
    events.add(failure & (dialysis_day >= 0), pid=pid, day=dialysis_day, event=DIALYSIS)
    events.add(transplant_day >= 0, pid=pid, day=transplant_day, event=TRANSPLANT)
    lost = (category == code["short_followup"]) | (rng.random(n) < p.observation.lost_to_followup)
    events.add(everyone, pid=pid, day=end, event=np.where(lost, LOST, LAST_VISIT))

    # A late resistance whose resistant course starts after the last follow-up is in no record
    # of the child: as of the last follow-up the child is steroid sensitive, and the truth says
    # so (as it cuts every episode there). Its biopsy day keeps the latent resistance day.
    unseen = (resistance == 2) & (resistance_day - s.course_days > end)
    latent = Latent(
        n=n,
        category=category,
        male=male,
        centre_b=centre_b,
        onset=onset,
        birth=birth,
        end=end,
        family_history=rng.random(n) < p.population.family_history,
        secondary_cause=secondary,
        histology=np.where(biopsied, histology, -1),
        biopsy_day=np.where(
            initial,
            rng.integers(10, 120, n),
            np.maximum(resistance_day, 0) + rng.integers(10, 60, n),
        ),
        genetic_testing=genetic_testing,
        monogenic=monogenic,
        resistance=np.where(unseen, 0, resistance),
        resistance_day=np.where(unseen, -1, resistance_day),
        height_z=np.clip(rng.normal(-0.3, 1.0, n), -4, 4),  # within the plausible heights
        weight_z=np.clip(rng.normal(0.0, 1.0, n), -4, 4),
        egfr_knots_day=knots_day,
        egfr_knots=knots,
        kidney_failure_day=np.where(failure, np.minimum(below_15, dialysis_day), -1),
        severe_ckd_day=np.where(severe, severe_day + 1, -1),
        transplant_day=transplant_day,
    )
    latent.segments = within_follow_up(segments.arrays(), end, "day")
    latent.treatments = clip_treatments(treatments.arrays(), end)
    latent.adverse_events = within_follow_up(adverse.arrays(), end, "day")
    latent.events = within_follow_up(events.arrays(), end, "day")
    latent.diary_adherence = adherence
    latent.family_readings = within_follow_up(family_readings.arrays(), end, "day")
    return latent
