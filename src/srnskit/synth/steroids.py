"""Steroid-sensitive relapses of the simulated children: each relapse a nephrotic segment
treated by a standard-dose prednisone course and its taper; in late resistance the last relapse
does not respond (clinical.md §5). Draws from the chunk's generator in a fixed order, inside
``model.simulate``; a family's diary readings of each relapse (which decide when its course
starts) from the families' own generator, so that the chunk's draws keep their order."""

from __future__ import annotations

import numpy as np

from srnskit.synth.diary import FAMILY_WINDOW_DAYS, confirm_relapses
from srnskit.synth.latent import (
    CR,
    ENTER_NEPHROTIC,
    MAX_SENSITIVE_RELAPSES,
    NEPHROTIC,
    PR,
    PREDNISONE,
    TAU_RELAPSE,
    TAU_REMISSION,
    Array,
    Rows,
    draw_level,
    entry_lag,
    gamma,
)
from srnskit.synth.profile import Diary, Steroids

__all__ = ["prednisone_course", "simulate_sensitive_relapses"]


def prednisone_course(
    treatments: Rows,
    s: Steroids,
    daily: Array,
    tapered: Array,
    *,
    start: Array,
    daily_days: Array,
) -> None:
    """Add a prednisone course to ``treatments``, as the SFNP protocol gives it (clinical.md
    §2, the source article's protocol): ``s.standard_dose_mg_m2`` daily (schedule 0) from
    ``start`` for ``daily_days`` days, for each child where ``daily`` holds; then, where
    ``tapered`` holds (the children who respond), ``s.taper_mg_m2`` on alternate days
    (schedule 1) for ``s.taper_days`` days. Days are counted from onset; arrays are one value
    per child (``pid`` is the child's index)."""
    pid = np.arange(len(daily))
    treatments.add(
        daily,
        pid=pid,
        drug=PREDNISONE,
        start=start,
        end=start + daily_days - 1,
        dose=s.standard_dose_mg_m2,
        schedule=0,
    )
    treatments.add(
        tapered,
        pid=pid,
        drug=PREDNISONE,
        start=start + daily_days,
        end=start + daily_days + s.taper_days - 1,
        dose=s.taper_mg_m2,
        schedule=1,
    )


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
    remission_level: Array,
    resistance_day: Array,
    families: tuple[Diary, Array, np.random.Generator, Rows] | None = None,
) -> tuple[Array, Array]:
    """Add each child's sensitive relapses (and a late-resistant child's resistant one) to
    ``segments`` and ``treatments``; return the updated resistance day and the day of the last
    remission while sensitive (both days from onset).

    ``remission_level``: the target level (log mg/mg) of each child's first remission.
    ``families`` (the profile's diary, each family's adherence, the families' generator, and
    the rows pid, day, value that receive their readings): a relapse's prednisone starts
    ``relapse_treatment_delay_days`` (+ 0–2) after the family's diary confirms it
    (``diary.confirm_relapses``), and the readings before the course are kept as the diary's.
    A relapse no family confirms (no diary, none within the window, or ``families`` None)
    starts ``relapse_unconfirmed_delay_days`` (+ 0–2) after proteinuria starts rising.
    """
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
    previous_level = np.asarray(remission_level, dtype=float)
    for j in range(MAX_SENSITIVE_RELAPSES):
        gap = np.maximum(gamma(rng, s.relapse_interval_mean, s.relapse_interval_sd, n), 30)
        relapse_day = relapse_day + gap.astype(np.int64)
        relapses = responds & (j < sensitive_relapses)
        resistant_now = late & (j == sensitive_relapses)
        happens = relapses | resistant_now
        level = draw_level(rng, NEPHROTIC, n)
        segments.add(
            happens, pid=pid, day=relapse_day, state=NEPHROTIC, level=level, tau=TAU_RELAPSE
        )
        # Treated once the relapse is confirmed (the profile's delay, then 0–2 days).
        jitter = rng.integers(1, 4, n) - 1
        start = relapse_day + s.relapse_unconfirmed_delay_days + jitter
        if families is not None:
            nephrotic_from = relapse_day + entry_lag(
                previous_level, level, ENTER_NEPHROTIC, TAU_RELAPSE
            )
            start = _start_when_confirmed(s, families, happens, nephrotic_from, start, jitter)
        cr_after = rng.integers(s.remission_day_min, s.remission_day_max - 4, n)
        daily_days = np.where(resistant_now, s.course_days, np.maximum(14, cr_after + 8))
        prednisone_course(treatments, s, happens, relapses, start=start, daily_days=daily_days)
        level = draw_level(rng, CR, n)
        segments.add(
            relapses, pid=pid, day=start + cr_after, state=CR, level=level, tau=TAU_REMISSION
        )
        previous_level = np.where(relapses, level, previous_level)
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


def _start_when_confirmed(
    s: Steroids,
    families: tuple[Diary, Array, np.random.Generator, Rows],
    happens: Array,
    nephrotic_from: Array,
    start: Array,
    jitter: Array,
) -> Array:
    """Each relapse's course start: after the family's confirmation where its diary confirms
    the relapse (keeping its readings through the confirmation and up to the course in
    ``families``' rows), else ``start``."""
    diary, adherence, family_rng, readings = families
    index = np.flatnonzero(happens & (adherence > 0))
    confirmed, value = confirm_relapses(nephrotic_from[index], adherence[index], diary, family_rng)
    start = start.copy()
    ok = confirmed >= 0
    start[index[ok]] = confirmed[ok] + s.relapse_treatment_delay_days + jitter[index[ok]]
    day = nephrotic_from[index][:, None] + np.arange(FAMILY_WINDOW_DAYS)
    # Through the confirming reading itself (a course may start that same day), and every
    # day before the course.
    before = day < np.maximum(start[index], confirmed + 1)[:, None]
    readings.add(
        np.ones(int(before.sum()), dtype=bool),
        pid=np.repeat(index, FAMILY_WINDOW_DAYS).reshape(day.shape)[before],
        day=day[before],
        value=value[before],
    )
    return start
