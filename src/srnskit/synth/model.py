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
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from srnskit.synth.profile import CATEGORIES, Profile

__all__ = [
    "ADVERSE_EVENT_CODES",
    "CR",
    "DRUG_CODES",
    "EVENT_CODES",
    "NEPHROTIC",
    "PR",
    "Latent",
    "simulate",
]

Array = npt.NDArray[Any]
NEPHROTIC, PR, CR = 0, 1, 2
# Proteinuria bands on the latent UPCR (mg/mg): tight enough that the mass/mol thresholds
# (20 and 200 mg/mmol = 0.177 and 1.77 mg/mg) and the 24-hour ones (50 mg/kg/day) agree.
NEPHROTIC_LEVEL = (3.6, 15.0)  # lognormal around 6 mg/mg, clipped
PR_LEVEL = (0.45, 1.1)
CR_LEVEL = (0.04, 0.10)
ENTER_CR, ENTER_PR, ENTER_NEPHROTIC = np.log(0.17), np.log(1.76), np.log(2.5)
TAU_REMISSION, TAU_RELAPSE = 3.0, 1.5  # days
MAX_SENSITIVE_RELAPSES = 6
MAX_RELAPSES_ON_CSA = 5

DRUG_CODES = ("prednisone", "cyclosporine", "mmf", "rituximab", "acei")
PREDNISONE, CYCLOSPORINE, MMF, RITUXIMAB, ACEI = range(5)
EVENT_CODES = ("dialysis_start", "transplant", "lost_to_followup", "last_visit")
DIALYSIS, TRANSPLANT, LOST, LAST_VISIT = range(4)
ADVERSE_EVENT_CODES = (
    "hypertrichosis",
    "gingival_hypertrophy",
    "hypertension",
    "nephrotoxicity",
    "gi_disorder",
    "lymphopenia",
    "cushingoid",
)
SECONDARY_CAUSES = ("systemic_disease", "infection", "drug", "glomerulonephritis")


class _Rows:
    """Columns of a flat table, appended block by block under a mask."""

    def __init__(self, *names: str) -> None:
        self.parts: dict[str, list[Array]] = {n: [] for n in names}

    def add(self, mask: Array, **columns: Any) -> None:
        index = np.flatnonzero(mask)
        for name, parts in self.parts.items():
            value = columns[name]
            parts.append(np.asarray(value)[index] if np.ndim(value) else np.full(len(index), value))

    def arrays(self) -> dict[str, Array]:
        return {n: np.concatenate(p) if p else np.empty(0) for n, p in self.parts.items()}


@dataclass
class Latent:
    """A chunk of children: per-child arrays, and flat tables keyed by ``pid`` (0 … n-1)."""

    n: int
    category: Array
    male: Array
    centre_b: Array
    onset: Array  # day number (days since 1970-01-01)
    birth: Array
    end: Array  # last follow-up, days from onset
    family_history: Array
    secondary_cause: Array  # index into SECONDARY_CAUSES, -1 = primary
    histology: Array  # index into ("MCD", "FSGS", "DMP"), -1 = no biopsy
    biopsy_day: Array
    genetic_testing: Array
    monogenic: Array
    resistance: Array  # 0 sensitive, 1 initial, 2 late
    resistance_day: Array  # -1 when sensitive
    height_z: Array
    weight_z: Array
    egfr_knots_day: Array  # (n, 4)
    egfr_knots: Array  # (n, 4)
    kidney_failure_day: Array  # -1 = none
    severe_ckd_day: Array  # -1 = none
    transplant_day: Array  # -1 = none
    segments: dict[str, Array] = field(default_factory=dict)  # pid, day, state, level, tau
    treatments: dict[str, Array] = field(default_factory=dict)  # pid, drug, start, end, dose, …
    adverse_events: dict[str, Array] = field(default_factory=dict)  # pid, day, event, drug, grade
    events: dict[str, Array] = field(default_factory=dict)  # pid, day, event


def _gamma(rng: np.random.Generator, mean: float, sd: float, size: int) -> Array:
    shape = (mean / sd) ** 2
    return rng.gamma(shape, sd**2 / mean, size)


def _level(rng: np.random.Generator, state: int, size: int) -> Array:
    if state == NEPHROTIC:
        return np.log(np.clip(rng.lognormal(np.log(6.0), 0.35, size), *NEPHROTIC_LEVEL))
    low, high = PR_LEVEL if state == PR else CR_LEVEL
    return np.log(rng.uniform(low, high, size))


def _remission_level(rng: np.random.Generator, state: Array) -> Array:
    """Target levels for remissions of either kind (draws complete, then partial, levels)."""
    n = len(state)
    return np.where(state == CR, _level(rng, CR, n), _level(rng, PR, n))


def _day(date: dt.date) -> int:
    return (date - dt.date(1970, 1, 1)).days


def simulate(
    profile: Profile, n: int, rng: np.random.Generator, categories: Array | None = None
) -> Latent:
    """Simulate ``n`` children under ``profile`` (optionally with their categories fixed)."""
    p = profile
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
    age_days = 1.0 + np.minimum(_gamma(rng, p.onset.age_mean - 1, p.onset.age_sd, n), 16.5)
    age_days = np.round(age_days * 365.25)
    age_days = np.where(category == code["infantile"], rng.integers(95, 355, n), age_days)
    age_days = np.where(category == code["congenital"], rng.integers(5, 85, n), age_days)
    age_days = np.where(
        category == code["adult_onset"], 18 * 365.25 + rng.integers(20, 500, n), age_days
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
    segments = _Rows("pid", "day", "state", "level", "tau")
    treatments = _Rows("pid", "drug", "start", "end", "dose", "schedule")
    pid = np.arange(n)
    everyone = np.ones(n, dtype=bool)
    segments.add(
        everyone, pid=pid, day=0, state=NEPHROTIC, level=_level(rng, NEPHROTIC, n), tau=TAU_RELAPSE
    )

    # --- the first steroid course (clinical.md §2 standard dose) -------------------------------
    course_start = rng.integers(0, 4, n)
    responds = ~initial
    first_days = np.where(initial, s.course_days, s.sensitive_course_days)
    treatments.add(
        everyone,
        pid=pid,
        drug=PREDNISONE,
        start=course_start,
        end=course_start + first_days - 1,
        dose=s.standard_dose_mg_m2,
        schedule=0,
    )
    treatments.add(
        responds,
        pid=pid,
        drug=PREDNISONE,
        start=course_start + first_days,
        end=course_start + first_days + s.taper_days - 1,
        dose=s.taper_mg_m2,
        schedule=1,
    )
    remission_day = course_start + rng.integers(s.remission_day_min, s.remission_day_max - 4, n)
    segments.add(
        responds, pid=pid, day=remission_day, state=CR, level=_level(rng, CR, n), tau=TAU_REMISSION
    )
    partial = rng.random(n) < s.partial_response
    segments.add(
        initial & partial,
        pid=pid,
        day=course_start + rng.integers(12, 20, n),
        state=PR,
        level=_level(rng, PR, n),
        tau=TAU_REMISSION,
    )
    resistance_day = np.where(initial, course_start + s.course_days, -1)

    # --- relapses while steroid sensitive; the last one resistant in late resistance ----------
    sensitive_relapses = np.where(
        late,
        1 + rng.poisson(max(s.sensitive_relapses_mean - 1, 0), n),
        np.where(sensitive_only, rng.poisson(s.sensitive_relapses_mean, n), 0),
    )
    sensitive_relapses = np.minimum(sensitive_relapses, MAX_SENSITIVE_RELAPSES - 1)
    relapse_day = remission_day.copy()
    last_sensitive_day = remission_day.copy()
    for j in range(MAX_SENSITIVE_RELAPSES):
        gap = np.maximum(_gamma(rng, s.relapse_interval_mean, s.relapse_interval_sd, n), 30)
        relapse_day = relapse_day + gap.astype(np.int64)
        relapses = responds & (j < sensitive_relapses)
        resistant_now = late & (j == sensitive_relapses)
        happens = relapses | resistant_now
        segments.add(
            happens,
            pid=pid,
            day=relapse_day,
            state=NEPHROTIC,
            level=_level(rng, NEPHROTIC, n),
            tau=TAU_RELAPSE,
        )
        start = relapse_day + rng.integers(1, 4, n)
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
            level=_level(rng, CR, n),
            tau=TAU_REMISSION,
        )
        segments.add(
            resistant_now & partial,
            pid=pid,
            day=start + rng.integers(12, 20, n),
            state=PR,
            level=_level(rng, PR, n),
            tau=TAU_REMISSION,
        )
        resistance_day = np.where(resistant_now, start + s.course_days, resistance_day)
        last_sensitive_day = np.where(relapses, start + cr_after, last_sensitive_day)
        relapse_day = np.where(relapses, start + cr_after, relapse_day)

    # --- cyclosporine, the SFNP first line ------------------------------------------------------
    c = p.cyclosporine
    csa_start = resistance_day + np.maximum(
        _gamma(rng, c.delay_after_resistance_mean, c.delay_after_resistance_sd, n), 7
    ).astype(np.int64)
    csa_dose = np.round(np.clip(rng.normal(c.dose_mg_m2_mean, c.dose_mg_m2_sd, n), 100, 250), 1)
    csa_remission = np.maximum(_gamma(rng, c.remission_days_mean, c.remission_days_sd, n), 30)
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
        level=_remission_level(rng, csa_state),
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
        level=_level(rng, NEPHROTIC, n),
        tau=TAU_RELAPSE,
    )

    # Combined: remission on cyclosporine, relapses on it, refractory, then MMF (± rituximab).
    m = p.combination
    relapses_on_csa = np.clip(
        np.round(rng.normal(c.relapses_on_csa_mean, c.relapses_on_csa_sd, n)),
        1,
        MAX_RELAPSES_ON_CSA,
    ).astype(np.int64)
    relapses_on_csa = np.where(monogenic, 0, relapses_on_csa)
    second_agent = np.maximum(
        _gamma(rng, m.second_agent_days_mean, m.second_agent_days_sd, n).astype(np.int64),
        csa_start + csa_remission + 90 * relapses_on_csa + 90,
    )
    responds_on_csa = combined & ~monogenic
    segments.add(
        responds_on_csa,
        pid=pid,
        day=csa_start + csa_remission,
        state=csa_state,
        level=_remission_level(rng, csa_state),
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
            level=_level(rng, NEPHROTIC, n),
            tau=TAU_RELAPSE,
        )
        treatments.add(
            happens,
            pid=pid,
            drug=PREDNISONE,
            start=day + 2,
            end=day + 29,
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
            level=_remission_level(rng, back_state),
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
        _gamma(rng, m.remission_days_mean, m.remission_days_sd, n), 30, 300
    ).astype(np.int64)
    segments.add(
        combined & (combined_state != NEPHROTIC),
        pid=pid,
        day=combined_remission,
        state=combined_state,
        level=_remission_level(rng, combined_state),
        tau=TAU_REMISSION,
    )
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

    # --- kidney function ------------------------------------------------------------------------
    k = p.kidney
    egfr_first = np.clip(rng.normal(k.egfr_first_mean, k.egfr_first_sd, n), 85, 190)
    severe_share = np.where(combined, k.severe_ckd_combined, k.severe_ckd_other)
    severe_share = np.where(monogenic, 0.9, np.where(sensitive_only, 0.0, severe_share))
    severe_day = np.maximum(_gamma(rng, k.severe_ckd_days_mean, k.severe_ckd_days_sd, n), 120)
    severe_day = np.minimum(severe_day, end - 100).astype(np.int64)
    severe = (rng.random(n) < severe_share) & (severe_day >= 120)
    failure = severe & (rng.random(n) < k.kidney_failure_if_severe)
    egfr_last_other = np.clip(rng.normal(k.egfr_last_other_mean, k.egfr_last_other_sd, n), 62, None)
    egfr_last_other = np.minimum(egfr_last_other, egfr_first)
    egfr_last = np.where(
        failure,
        8.0,
        np.where(
            severe, rng.uniform(k.egfr_last_severe_min, k.egfr_last_severe_max, n), egfr_last_other
        ),
    )
    knots_day = np.stack(
        [
            np.zeros(n),
            np.where(severe, severe_day * 0.4, end / 3),
            np.where(severe, severe_day, 2 * end / 3),
            end,
        ],
        axis=1,
    )
    knots = np.stack(
        [
            egfr_first,
            egfr_first,
            np.where(severe, 60.0, (egfr_first + 2 * egfr_last) / 3),
            egfr_last,
        ],
        axis=1,
    )
    # eGFR falls linearly from 60 at severe_day to 8 at the end: below 15 from this day on.
    below_15 = severe_day + np.floor((60 - 15) / (60 - 8) * (end - severe_day)).astype(np.int64) + 1
    dialysis_day = np.where(failure, np.minimum(below_15 + rng.integers(0, 30, n), end), -1)
    transplant = failure & (rng.random(n) < k.transplant_if_failure)
    transplant_day = np.where(transplant, dialysis_day + rng.integers(180, 700, n), -1)
    transplant_day = np.where(transplant_day > end, -1, transplant_day)

    # --- toxicity (one susceptibility per child couples the events, [S]) -----------------------
    t = p.toxicity
    adverse = _Rows("pid", "day", "event", "drug", "grade")
    u = rng.random(n)
    grade = rng.integers(1, 4, n)
    on_cyclosporine = np.full(n, CYCLOSPORINE)
    rules: list[tuple[int, float, Array, Array]] = [
        (0, t.hypertrichosis, on_cyclosporine, rng.integers(30, 200, n)),
        (1, t.gingival_hypertrophy, on_cyclosporine, rng.integers(60, 300, n)),
        # a quarter of hypertension is recorded without a drug (counted while CsA is active)
        (
            2,
            t.hypertension,
            np.where(rng.random(n) < 0.25, -1, CYCLOSPORINE),
            rng.integers(20, 150, n),
        ),
    ]
    for event_code, share, drug_code, delay in rules:
        adverse.add(
            on_csa & (u < share),
            pid=pid,
            day=csa_start + delay,
            event=event_code,
            drug=drug_code,
            grade=grade,
        )
    adverse.add(
        on_csa & severe & (u < t.nephrotoxicity_if_severe_ckd),
        pid=pid,
        day=np.maximum(severe_day - rng.integers(0, 60, n), csa_start + 1),
        event=3,
        drug=CYCLOSPORINE,
        grade=grade,
    )
    adverse.add(
        combined & (u < t.gi_disorder),
        pid=pid,
        day=second_agent + rng.integers(7, 120, n),
        event=4,
        drug=MMF,
        grade=grade,
    )
    adverse.add(
        triple & (rng.random(n) < t.lymphopenia_rituximab),
        pid=pid,
        day=infusion + 30,
        event=5,
        drug=RITUXIMAB,
        grade=2,
    )
    adverse.add(
        rng.random(n) < t.cushingoid,
        pid=pid,
        day=course_start + 20,
        event=6,
        drug=PREDNISONE,
        grade=1,
    )

    events = _Rows("pid", "day", "event")
    events.add(failure & (dialysis_day >= 0), pid=pid, day=dialysis_day, event=DIALYSIS)
    events.add(transplant_day >= 0, pid=pid, day=transplant_day, event=TRANSPLANT)
    lost = (category == code["short_followup"]) | (rng.random(n) < p.observation.lost_to_followup)
    events.add(everyone, pid=pid, day=end, event=np.where(lost, LOST, LAST_VISIT))

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
        resistance=resistance,
        resistance_day=resistance_day,
        height_z=np.clip(rng.normal(-0.3, 1.0, n), -4, 4),  # within the plausible heights
        weight_z=np.clip(rng.normal(0.0, 1.0, n), -4, 4),
        egfr_knots_day=knots_day,
        egfr_knots=knots,
        kidney_failure_day=np.where(failure, np.minimum(below_15, dialysis_day), -1),
        severe_ckd_day=np.where(severe, severe_day + 1, -1),
        transplant_day=transplant_day,
    )
    latent.segments = _within_follow_up(segments.arrays(), end, "day")
    latent.treatments = _clip_treatments(treatments.arrays(), end)
    latent.adverse_events = _within_follow_up(adverse.arrays(), end, "day")
    latent.events = _within_follow_up(events.arrays(), end, "day")
    return latent


def _within_follow_up(rows: dict[str, Array], end: Array, day: str) -> dict[str, Array]:
    keep = (rows[day] <= end[rows["pid"].astype(np.int64)]) & (rows[day] >= 0)
    rows = {name: values[keep] for name, values in rows.items()}
    order = np.lexsort((rows[day], rows["pid"]))
    return {name: values[order] for name, values in rows.items()}


def _clip_treatments(rows: dict[str, Array], end: Array) -> dict[str, Array]:
    """Treatments within follow-up: a course past the last follow-up ends there."""
    last = end[rows["pid"].astype(np.int64)]
    keep = rows["start"] <= last
    rows = {name: values[keep] for name, values in rows.items()}
    last = last[keep]
    ongoing = rows["end"] < 0
    rows["end"] = np.where(ongoing, -1, np.minimum(rows["end"], last))
    order = np.lexsort((rows["drug"], rows["start"], rows["pid"]))
    return {name: values[order] for name, values in rows.items()}
