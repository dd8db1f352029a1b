"""The simulated children's data structure and codes: the ``Latent`` chunk, the code tables the
writers turn into words, the bands of the latent proteinuria, and small array helpers."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = [
    "ACEI",
    "ADVERSE_EVENT_CODES",
    "CR",
    "CYCLOSPORINE",
    "DRUG_CODES",
    "EVENT_CODES",
    "MMF",
    "NEPHROTIC",
    "PR",
    "PREDNISONE",
    "RITUXIMAB",
    "SECONDARY_CAUSES",
    "Latent",
    "Rows",
    "clip_treatments",
    "draw_level",
    "draw_remission_level",
    "entry_lag",
    "gamma",
    "within_follow_up",
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


class Rows:
    """Columns of a flat table, appended block by block under a mask."""

    def __init__(self, *names: str) -> None:
        self.parts: dict[str, list[Array]] = {n: [] for n in names}

    def add(self, mask: Array, **columns: Any) -> None:
        """Append the rows where ``mask`` holds; a scalar column is repeated."""
        index = np.flatnonzero(mask)
        for name, parts in self.parts.items():
            value = columns[name]
            parts.append(np.asarray(value)[index] if np.ndim(value) else np.full(len(index), value))

    def arrays(self) -> dict[str, Array]:
        """Every column, its blocks concatenated."""
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
    # Home dipstick diaries: each family's share of days recorded (None without a [diary]), and
    # the readings of a relapse's first days, which decided its course (pid, day, value; NaN on
    # a day missed): synth/diary.py.
    diary_adherence: Array | None = None
    family_readings: dict[str, Array] = field(default_factory=dict)


def gamma(rng: np.random.Generator, mean: float, sd: float, size: int) -> Array:
    """``size`` gamma draws with the given mean and standard deviation."""
    shape = (mean / sd) ** 2
    return rng.gamma(shape, sd**2 / mean, size)


def within_follow_up(rows: dict[str, Array], end: Array, day: str) -> dict[str, Array]:
    """Rows dated (column ``day``) from 0 to their child's last follow-up, sorted by child, day."""
    keep = (rows[day] <= end[rows["pid"].astype(np.int64)]) & (rows[day] >= 0)
    rows = {name: values[keep] for name, values in rows.items()}
    order = np.lexsort((rows[day], rows["pid"]))
    return {name: values[order] for name, values in rows.items()}


def clip_treatments(rows: dict[str, Array], end: Array) -> dict[str, Array]:
    """Treatments within follow-up: a course past the last follow-up ends there."""
    last = end[rows["pid"].astype(np.int64)]
    keep = rows["start"] <= last
    rows = {name: values[keep] for name, values in rows.items()}
    last = last[keep]
    ongoing = rows["end"] < 0
    rows["end"] = np.where(ongoing, -1, np.minimum(rows["end"], last))
    order = np.lexsort((rows["drug"], rows["start"], rows["pid"]))
    return {name: values[order] for name, values in rows.items()}


def entry_lag(previous: Array, level: Array, boundary: float | Array, tau: float | Array) -> Array:
    """Whole days (int64, rounded up) from a change of target to ``level`` until the latent
    log UPCR, moving exponentially from ``previous`` with time constant ``tau`` days, crosses
    ``boundary`` (all log mg/mg); 0 where it does not move towards the boundary from outside it.
    ``tau × ln((previous − level) / (boundary − level))``."""
    gap_from = np.asarray(previous) - level
    gap_to = boundary - np.asarray(level)
    moving = (np.sign(gap_from) == np.sign(gap_to)) & (np.abs(gap_to) < np.abs(gap_from))
    with np.errstate(divide="ignore", invalid="ignore"):
        lag = np.where(moving, np.ceil(tau * np.log(gap_from / gap_to)), 0)
    result: Array = lag.astype(np.int64)
    return result


def draw_level(rng: np.random.Generator, state: int, size: int) -> Array:
    """``size`` target levels (log UPCR, mg/mg) within the band of ``state``."""
    if state == NEPHROTIC:
        return np.log(np.clip(rng.lognormal(np.log(6.0), 0.35, size), *NEPHROTIC_LEVEL))
    low, high = PR_LEVEL if state == PR else CR_LEVEL
    return np.log(rng.uniform(low, high, size))


def draw_remission_level(rng: np.random.Generator, state: Array) -> Array:
    """Target levels for remissions of either kind (draws complete, then partial, levels)."""
    n = len(state)
    return np.where(state == CR, draw_level(rng, CR, n), draw_level(rng, PR, n))
