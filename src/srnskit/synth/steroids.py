"""Steroid-sensitive relapses of the simulated children: each relapse a nephrotic segment
treated by a standard-dose prednisone course and its taper; in late resistance the last relapse
does not respond (clinical.md §5). Draws from the chunk's generator in a fixed order, inside
``model.simulate``."""

from __future__ import annotations

import numpy as np

from srnskit.synth.latent import (
    CR,
    MAX_SENSITIVE_RELAPSES,
    NEPHROTIC,
    PR,
    PREDNISONE,
    TAU_RELAPSE,
    TAU_REMISSION,
    Array,
    Rows,
    draw_level,
    gamma,
)
from srnskit.synth.profile import Steroids

__all__ = ["simulate_sensitive_relapses"]


def simulate_sensitive_relapses(
    rng: np.random.Generator,
    s: Steroids,
    segments: Rows,
    treatments: Rows,
    *,
    late: Array,
    sensitive_only: Array,
    responds: Array,
    partial: Array,
    remission_day: Array,
    resistance_day: Array,
) -> tuple[Array, Array]:
    """Add each child's sensitive relapses (and a late-resistant child's resistant one) to
    ``segments`` and ``treatments``; return the updated resistance day and the day of the last
    remission while sensitive (both days from onset)."""
    n = len(late)
    pid = np.arange(n)
    sensitive_relapses = np.where(
        late,
        1 + rng.poisson(max(s.sensitive_relapses_mean - 1, 0), n),
        np.where(sensitive_only, rng.poisson(s.sensitive_relapses_mean, n), 0),
    )
    sensitive_relapses = np.minimum(sensitive_relapses, MAX_SENSITIVE_RELAPSES - 1)
    relapse_day = remission_day.copy()
    last_sensitive_day = remission_day.copy()
    for j in range(MAX_SENSITIVE_RELAPSES):
        gap = np.maximum(gamma(rng, s.relapse_interval_mean, s.relapse_interval_sd, n), 30)
        relapse_day = relapse_day + gap.astype(np.int64)
        relapses = responds & (j < sensitive_relapses)
        resistant_now = late & (j == sensitive_relapses)
        happens = relapses | resistant_now
        segments.add(
            happens,
            pid=pid,
            day=relapse_day,
            state=NEPHROTIC,
            level=draw_level(rng, NEPHROTIC, n),
            tau=TAU_RELAPSE,
        )
        # Treated once the relapse is confirmed (the profile's delay, then 0–2 days).
        start = relapse_day + s.relapse_treatment_delay_days + rng.integers(1, 4, n) - 1
        cr_after = rng.integers(s.remission_day_min, s.remission_day_max - 4, n)
        daily_days = np.where(resistant_now, s.course_days, np.maximum(14, cr_after + 8))
        treatments.add(
            happens,
            pid=pid,
            drug=PREDNISONE,
            start=start,
            end=start + daily_days - 1,
            dose=s.standard_dose_mg_m2,
            schedule=0,
        )
        treatments.add(
            relapses,
            pid=pid,
            drug=PREDNISONE,
            start=start + daily_days,
            end=start + daily_days + s.taper_days - 1,
            dose=s.taper_mg_m2,
            schedule=1,
        )
        segments.add(
            relapses,
            pid=pid,
            day=start + cr_after,
            state=CR,
            level=draw_level(rng, CR, n),
            tau=TAU_REMISSION,
        )
        segments.add(
            resistant_now & partial,
            pid=pid,
            day=start + rng.integers(12, 20, n),
            state=PR,
            level=draw_level(rng, PR, n),
            tau=TAU_REMISSION,
        )
        resistance_day = np.where(resistant_now, start + s.course_days, resistance_day)
        last_sensitive_day = np.where(relapses, start + cr_after, last_sensitive_day)
        relapse_day = np.where(relapses, start + cr_after, relapse_day)
    return resistance_day, last_sensitive_day
