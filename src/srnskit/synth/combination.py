"""Combined therapy of the simulated children (the source article's combined group): remission
on cyclosporine, relapses on it each treated by a standard-dose prednisone course, then MMF
added (± two rituximab infusions) and the combined remission. Draws from the chunk's generator in
a fixed order, inside ``model.simulate``."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from srnskit.synth.latent import (
    CR,
    CYCLOSPORINE,
    MAX_RELAPSES_ON_CSA,
    MMF,
    NEPHROTIC,
    PR,
    PREDNISONE,
    RITUXIMAB,
    TAU_RELAPSE,
    TAU_REMISSION,
    Array,
    Rows,
    draw_level,
    draw_remission_level,
    gamma,
)
from srnskit.synth.profile import Profile

__all__ = ["CombinedCourse", "simulate_combination"]


@dataclass(frozen=True)
class CombinedCourse:
    """Per child (days from onset; meaningful where the child is in the combined group)."""

    second_agent: Array  # the day MMF is added
    combination_end: Array  # the last day of cyclosporine + MMF
    triple: Array  # rituximab given too
    infusion: Array  # the first rituximab infusion


def simulate_combination(
    rng: np.random.Generator,
    p: Profile,
    segments: Rows,
    treatments: Rows,
    *,
    combined: Array,
    monogenic: Array,
    csa_start: Array,
    csa_remission: Array,
    csa_state: Array,
    csa_dose: Array,
) -> CombinedCourse:
    """Add the combined group's course on cyclosporine, MMF and rituximab to ``segments`` and
    ``treatments`` (``csa_*``: the cyclosporine start day, days to its remission, that
    remission's state and the dose in mg/m²/day)."""
    n = len(combined)
    pid = np.arange(n)
    s, c, m = p.steroids, p.cyclosporine, p.combination
    relapses_on_csa = np.clip(
        np.round(rng.normal(c.relapses_on_csa_mean, c.relapses_on_csa_sd, n)),
        1,
        MAX_RELAPSES_ON_CSA,
    ).astype(np.int64)
    relapses_on_csa = np.where(monogenic, 0, relapses_on_csa)
    second_agent = np.maximum(
        gamma(rng, m.second_agent_days_mean, m.second_agent_days_sd, n).astype(np.int64),
        csa_start + csa_remission + 90 * relapses_on_csa + 90,
    )
    responds_on_csa = combined & ~monogenic
    segments.add(
        responds_on_csa,
        pid=pid,
        day=csa_start + csa_remission,
        state=csa_state,
        level=draw_remission_level(rng, csa_state),
        tau=TAU_REMISSION,
    )
    final_relapse = second_agent - rng.integers(30, 60, n)
    first_remission_on_csa = csa_start + csa_remission
    for j in range(MAX_RELAPSES_ON_CSA):
        is_final = j == relapses_on_csa - 1
        happens = responds_on_csa & (j < relapses_on_csa)
        spacing = (final_relapse - first_remission_on_csa) / np.maximum(relapses_on_csa, 1)
        day = np.where(
            is_final,
            final_relapse,
            first_remission_on_csa + ((j + 1) * spacing).astype(np.int64) - rng.integers(0, 15, n),
        )
        segments.add(
            happens,
            pid=pid,
            day=day,
            state=NEPHROTIC,
            level=draw_level(rng, NEPHROTIC, n),
            tau=TAU_RELAPSE,
        )
        treatments.add(
            happens,
            pid=pid,
            drug=PREDNISONE,
            start=day + s.relapse_unconfirmed_delay_days,
            end=day + s.relapse_unconfirmed_delay_days + 27,
            dose=s.standard_dose_mg_m2,
            schedule=0,
        )
        back = happens & ~is_final
        back_state = np.where(rng.random(n) < c.complete_share, CR, PR)
        segments.add(
            back,
            pid=pid,
            day=day + rng.integers(20, 40, n),
            state=back_state,
            level=draw_remission_level(rng, back_state),
            tau=TAU_REMISSION,
        )
    mmf_days = rng.integers(m.mmf_days_min, m.mmf_days_max + 1, n)
    combination_end = second_agent + mmf_days - 1
    treatments.add(
        combined,
        pid=pid,
        drug=CYCLOSPORINE,
        start=csa_start,
        end=combination_end,
        dose=csa_dose,
        schedule=0,
    )
    treatments.add(
        combined,
        pid=pid,
        drug=MMF,
        start=second_agent,
        end=combination_end,
        dose=m.mmf_dose_mg_m2,
        schedule=0,
    )
    triple = combined & (rng.random(n) < m.rituximab_share)
    infusion = second_agent + rng.integers(60, 150, n)
    for offset in (0, m.rituximab_gap_days):
        treatments.add(
            triple,
            pid=pid,
            drug=RITUXIMAB,
            start=infusion + offset,
            end=infusion + offset,
            dose=m.rituximab_dose_mg_m2,
            schedule=2,
        )
    draw = rng.random(n)
    combined_state = np.where(draw < m.complete, CR, np.where(draw < 1 - m.none, PR, NEPHROTIC))
    combined_state = np.where(triple, CR, np.where(monogenic, NEPHROTIC, combined_state))
    combined_remission = second_agent + np.clip(
        gamma(rng, m.remission_days_mean, m.remission_days_sd, n), 30, 300
    ).astype(np.int64)
    segments.add(
        combined & (combined_state != NEPHROTIC),
        pid=pid,
        day=combined_remission,
        state=combined_state,
        level=draw_remission_level(rng, combined_state),
        tau=TAU_REMISSION,
    )
    return CombinedCourse(
        second_agent=second_agent,
        combination_end=combination_end,
        triple=triple,
        infusion=infusion,
    )
