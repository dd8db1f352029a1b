"""The later course of the simulated children: kidney function (the eGFR trajectory, severe CKD,
kidney failure, dialysis and transplant) and the adverse events of their drugs. Each draws from
the chunk's random generator in a fixed order, after the disease course (``model.simulate``)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from srnskit.synth.latent import CYCLOSPORINE, MMF, PREDNISONE, RITUXIMAB, Array, Rows, gamma
from srnskit.synth.profile import Profile

__all__ = ["KidneyCourse", "simulate_kidney", "simulate_toxicity"]


@dataclass(frozen=True)
class KidneyCourse:
    """Per child (days from onset, -1 = never): the eGFR knots, severe CKD, kidney failure."""

    knots_day: Array  # (n, 4)
    knots: Array  # (n, 4)
    severe: Array
    severe_day: Array
    failure: Array
    below_15: Array  # the first day of eGFR < 15 on the trajectory
    dialysis_day: Array
    transplant_day: Array


def simulate_kidney(
    rng: np.random.Generator,
    p: Profile,
    end: Array,
    *,
    combined: Array,
    monogenic: Array,
    sensitive_only: Array,
) -> KidneyCourse:
    """Each child's eGFR trajectory to last follow-up ``end`` and its kidney events, with the
    profile's ``[kidney]`` shares (severe CKD more often after a combination, [S])."""
    n = len(end)
    # --- kidney function ------------------------------------------------------------------------
    k = p.kidney
    egfr_first = np.clip(rng.normal(k.egfr_first_mean, k.egfr_first_sd, n), 85, 190)
    severe_share = np.where(combined, k.severe_ckd_combined, k.severe_ckd_other)
    severe_share = np.where(monogenic, 0.9, np.where(sensitive_only, 0.0, severe_share))
    severe_day = np.maximum(gamma(rng, k.severe_ckd_days_mean, k.severe_ckd_days_sd, n), 120)
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
    return KidneyCourse(
        knots_day, knots, severe, severe_day, failure, below_15, dialysis_day, transplant_day
    )


def simulate_toxicity(
    rng: np.random.Generator,
    p: Profile,
    *,
    on_csa: Array,
    combined: Array,
    triple: Array,
    severe: Array,
    severe_day: Array,
    csa_start: Array,
    second_agent: Array,
    infusion: Array,
    course_start: Array,
) -> Rows:
    """The adverse events (pid, day, event, drug, grade) with the profile's ``[toxicity]``
    shares; one susceptibility per child couples the events, as in the article [S]."""
    n = len(on_csa)
    pid = np.arange(n)
    # --- toxicity (one susceptibility per child couples the events, [S]) -----------------------
    t = p.toxicity
    adverse = Rows("pid", "day", "event", "drug", "grade")
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
    return adverse
