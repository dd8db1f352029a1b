"""What the clinic recorded: visits, laboratory values with noise, units by centre.

Visits follow a clinic schedule (every 2 weeks in the first month, monthly to 3 months, every
2 months to 1 year, every 3 months to 2 years, then every 8 months) plus a visit 14 days after
each treatment starts; some are missed. At each visit each analyte is measured with the
profile's probability; height and weight always at diagnosis and with every creatinine (the
eGFR and the doses need them). With the profile's home dipstick diaries (synth/diary.py) the
dipsticks are the families' first-morning readings; without them (a centre that sees its
children at clinic visits only) a dipstick is read every other day at the start of each daily
steroid course. Diaries are drawn last, so a diary cohort and a clinic-only cohort of one seed
share every latent course and every clinic value. Centre A reports UPCR in mg/mg, creatinine in
µmol/L and albumin in g/L; centre B in mg/mmol, mg/dL and g/dL.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from srnskit.clinical.egfr import SCHWARTZ_BEDSIDE_K
from srnskit.clinical.units import CREATININE_UMOL_L_PER_MG_DL, UPCR_MG_MMOL_PER_MG_MG
from srnskit.constants import DAYS_PER_YEAR, G_L_PER_G_DL
from srnskit.synth.diary import diary_days, read_dipsticks
from srnskit.synth.growth import height_cm_at, weight_kg_at
from srnskit.synth.latent import CYCLOSPORINE, PREDNISONE, Latent
from srnskit.synth.profile import Profile
from srnskit.synth.truth import egfr_at

__all__ = ["ANALYTE_CODES", "UNIT_CODES", "latent_upcr", "measurements"]

Array = npt.NDArray[Any]
ANALYTE_CODES = (
    "upcr",
    "uprot_24h",
    "dipstick",
    "albumin",
    "creatinine",
    "height",
    "weight",
    "csa_trough",
    "sbp",
    "dbp",
    "edema",
)
UNIT_CODES = (
    "mg/mg",
    "mg/mmol",
    "g/24h",
    "g/L",
    "g/dL",
    "umol/L",
    "mg/dL",
    "cm",
    "kg",
    "ng/mL",
    "mmHg",
    "",
)
_U = {name: i for i, name in enumerate(UNIT_CODES)}
_A = {name: i for i, name in enumerate(ANALYTE_CODES)}
# The clinic schedule: (until this day from onset, a visit every so many days).
SCHEDULE = ((28, 14), (90, 30), (365, 60), (730, 90), (40_000, 240))
FOLLOW_UP_VISITS_AFTER_A_START = (14,)
# Daily urine creatinine excretion, to turn UPCR into 24-hour protein: ~20 mg/kg/day in children.
CREATININE_EXCRETION_G_PER_KG_DAY = 0.020
NEPHROTIC_LATENT_UPCR, REMISSION_LATENT_UPCR = 2.5, 0.2
# Every generated value stays inside the format's plausible range (cohort-format.md §2): the
# far tails of the lognormal trough and 24-hour protein are cut (1 in millions otherwise).
MAX_TROUGH_NG_ML = 1500.0
MAX_UPROT_G_24H = 45.0


def _grid() -> Array:
    days, day = [], 0
    for until, step in SCHEDULE:
        while day <= until:
            days.append(day)
            day += step
    return np.array(days, dtype=np.int64)


GRID = _grid()


def latent_upcr(latent: Latent, segments: dict[str, Array], pid: Array, day: Array) -> Array:
    """The latent UPCR (mg/mg) of children ``pid`` on ``day``, moving between segment targets."""
    key = segments["pid"] * 1_000_000 + segments["day"]
    index = np.searchsorted(key, pid * 1_000_000 + day, "right") - 1
    level, tau = segments["level"][index], segments["tau"][index]
    same = np.r_[False, segments["pid"][1:] == segments["pid"][:-1]]
    previous = np.where(
        same, np.r_[segments["level"][:1], segments["level"][:-1]], segments["level"]
    )[index]
    elapsed = day - segments["day"][index]
    upcr_mg_mg: Array = np.exp(level + (previous - level) * np.exp(-elapsed / tau))
    return upcr_mg_mg


def _visits(latent: Latent, rng: np.random.Generator, missed: float) -> tuple[Array, Array]:
    count = np.searchsorted(GRID, latent.end, "right")
    pid = np.repeat(np.arange(latent.n), count)
    position = np.arange(len(pid)) - np.repeat(np.cumsum(count) - count, count)
    day = GRID[position] + np.where(position > 2, rng.integers(-3, 4, len(pid)), 0)
    t = latent.treatments
    starts = t["schedule"] == 0
    extra_pid = np.repeat(t["pid"][starts].astype(np.int64), len(FOLLOW_UP_VISITS_AFTER_A_START))
    extra_day = (t["start"][starts][:, None] + np.array(FOLLOW_UP_VISITS_AFTER_A_START)).ravel()
    pid, day = np.r_[pid, extra_pid], np.r_[day, extra_day]
    keep = (day >= 0) & (day <= latent.end[pid]) & ((day == 0) | (rng.random(len(pid)) >= missed))
    key = np.sort(pid[keep] * 1_000_000 + day[keep])
    key = key[np.r_[True, key[1:] != key[:-1]]]  # one visit a day
    return key // 1_000_000, key % 1_000_000


def measurements(
    latent: Latent, segments: dict[str, Array], profile: Profile, rng: np.random.Generator
) -> dict[str, Array]:
    """Measurement rows: pid, day, analyte code, value, unit code (cohort-format.md §2)."""
    o = profile.observation
    pid, day = _visits(latent, rng, o.missed_visit)
    b = latent.centre_b[pid]
    age = (latent.onset[pid] - latent.birth[pid] + day) / DAYS_PER_YEAR
    male = latent.male[pid]
    height = height_cm_at(age_years=age, male=male, z=latent.height_z[pid])
    weight = weight_kg_at(age_years=age, male=male, z=latent.weight_z[pid])
    upcr = latent_upcr(latent, segments, pid, day)
    nephrotic = upcr >= NEPHROTIC_LATENT_UPCR
    remission = upcr < REMISSION_LATENT_UPCR
    parts: list[tuple[Array, Array, int | Array, Array, Array]] = []

    def take(probability: float | Array, analyte: int, value: Array, unit: int | Array) -> None:
        chosen = rng.random(len(pid)) < probability
        unit_array = np.broadcast_to(unit, chosen.shape)
        parts.append((pid[chosen], day[chosen], analyte, value[chosen], unit_array[chosen]))

    noisy = upcr * rng.lognormal(0, 0.10, len(pid))
    take(
        o.upcr,
        _A["upcr"],
        np.where(b, np.round(noisy * UPCR_MG_MMOL_PER_MG_MG), np.round(noisy, 2).clip(0.01)),
        np.where(b, _U["mg/mmol"], _U["mg/mg"]),
    )
    protein = upcr * CREATININE_EXCRETION_G_PER_KG_DAY * weight * rng.lognormal(0, 0.12, len(pid))
    take(
        o.uprot_24h, _A["uprot_24h"], np.round(protein, 2).clip(0.01, MAX_UPROT_G_24H), _U["g/24h"]
    )
    albumin = np.where(
        nephrotic,
        rng.uniform(12, 24, len(pid)),
        np.where(remission, rng.uniform(36, 45, len(pid)), rng.uniform(30.5, 34, len(pid))),
    )
    take(
        o.albumin,
        _A["albumin"],
        np.where(b, np.round(albumin / G_L_PER_G_DL, 1), np.round(albumin)),
        np.where(b, _U["g/dL"], _U["g/L"]),
    )
    take(o.edema, _A["edema"], (nephrotic & (rng.random(len(pid)) < 0.8)).astype(float), _U[""])
    creatinine_noise = rng.lognormal(0, 0.05, len(pid))
    before_transplant = (latent.transplant_day[pid] < 0) | (day < latent.transplant_day[pid])
    chosen = rng.random(len(pid)) < np.where(before_transplant, o.creatinine, 0.0)
    # eGFR only where creatinine was measured (the costly part); same random draws as `take`.
    egfr = egfr_at(latent, pid[chosen], day[chosen])
    creatinine_umol_l = (
        SCHWARTZ_BEDSIDE_K
        * height[chosen]
        / egfr
        * CREATININE_UMOL_L_PER_MG_DL
        * creatinine_noise[chosen]
    )
    in_mg_dl = b[chosen]
    parts.append(
        (
            pid[chosen],
            day[chosen],
            _A["creatinine"],
            np.where(
                in_mg_dl,
                np.round(creatinine_umol_l / CREATININE_UMOL_L_PER_MG_DL, 2),
                np.round(creatinine_umol_l),
            ),
            np.where(in_mg_dl, _U["mg/dL"], _U["umol/L"]),
        )
    )
    # Height and weight at diagnosis and with every creatinine (the eGFR and doses need them),
    # otherwise now and then.
    measured_with = chosen | (day == 0)
    take(np.where(measured_with, 1.0, o.height), _A["height"], np.round(height, 1), _U["cm"])
    take(np.where(measured_with, 1.0, o.weight), _A["weight"], np.round(weight, 1), _U["kg"])
    t = latent.treatments
    csa = t["drug"] == CYCLOSPORINE
    csa_start = np.full(latent.n, -1)
    csa_end = np.full(latent.n, -1)
    csa_start[t["pid"][csa].astype(np.int64)] = t["start"][csa]
    csa_end[t["pid"][csa].astype(np.int64)] = t["end"][csa]
    on_csa = (day >= csa_start[pid]) & (day <= csa_end[pid]) & (csa_start[pid] >= 0)
    c = profile.cyclosporine
    sigma2 = np.log(1 + (c.trough_sd / c.trough_mean) ** 2)
    trough = rng.lognormal(np.log(c.trough_mean) - sigma2 / 2, np.sqrt(sigma2), len(pid))
    take(
        np.where(on_csa, o.csa_trough, 0.0),
        _A["csa_trough"],
        np.round(np.minimum(trough, MAX_TROUGH_NG_ML)),
        _U["ng/mL"],
    )
    systolic = np.round(rng.normal(100 + 1.5 * age, 9, len(pid)))
    chosen = rng.random(len(pid)) < o.blood_pressure
    parts.append(
        (pid[chosen], day[chosen], _A["sbp"], systolic[chosen], np.full(chosen.sum(), _U["mmHg"]))
    )
    diastolic = np.round(systolic * 0.62 + rng.normal(0, 4, len(pid)))
    parts.append(
        (pid[chosen], day[chosen], _A["dbp"], diastolic[chosen], np.full(chosen.sum(), _U["mmHg"]))
    )
    if profile.diary is not None and profile.diary.enabled:
        parts.append(_diaries(latent, segments, profile, rng))
    else:
        parts.append(_dipsticks(latent, segments, o.dipstick_days, rng))
    return {
        "pid": np.concatenate([q[0] for q in parts]),
        "day": np.concatenate([q[1] for q in parts]),
        "analyte": np.concatenate([np.broadcast_to(q[2], q[0].shape) for q in parts]),
        "value": np.concatenate([q[3] for q in parts]).astype(float),
        "unit": np.concatenate([q[4] for q in parts]),
    }


def _dipsticks(
    latent: Latent, segments: dict[str, Array], days: int, rng: np.random.Generator
) -> tuple[Array, Array, int, Array, Array]:
    """Home dipstick every other day for ``days`` days from each daily steroid course start."""
    t = latent.treatments
    courses = (t["drug"] == PREDNISONE) & (t["schedule"] == 0)
    offsets = np.arange(0, days, 2)
    pid = np.repeat(t["pid"][courses].astype(np.int64), len(offsets))
    day = (t["start"][courses][:, None] + offsets).ravel()
    inside = day <= latent.end[pid]
    pid, day = pid[inside], day[inside]
    upcr = latent_upcr(latent, segments, pid, day)
    reading = np.where(
        upcr >= NEPHROTIC_LATENT_UPCR,
        rng.choice([3.0, 4.0], len(pid)),
        np.where(
            upcr < REMISSION_LATENT_UPCR,
            rng.choice([0.0, 0.5], len(pid)),
            rng.choice([1.0, 2.0], len(pid)),
        ),
    )
    return pid, day, _A["dipstick"], reading, np.full(len(pid), _U[""])


def _diaries(
    latent: Latent, segments: dict[str, Array], profile: Profile, rng: np.random.Generator
) -> tuple[Array, Array, int, Array, Array]:
    """The home dipstick diaries' rows (synth/diary.py)."""
    assert profile.diary is not None
    pid, day, reading = diary_days(latent, segments, profile.diary, rng)
    unread = np.isnan(reading)
    reading[unread] = read_dipsticks(
        latent_upcr(latent, segments, pid[unread], day[unread]), profile.diary, rng
    )
    return pid, day, _A["dipstick"], reading, np.full(len(pid), _U[""])
