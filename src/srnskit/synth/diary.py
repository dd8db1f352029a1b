"""Home dipstick diaries: the first-morning urine dipsticks a family reads and writes down.

KDIGO's and IPNA's "three consecutive days" for remission and relapse presuppose them: a reading
every morning during each steroid course and for a few weeks after it, every morning from a
relapse until its remission is confirmed, and a few times a week otherwise (in the first year of
each regimen agent, when its remission is awaited, and in the first years after onset; later
the clinic's own visits carry the follow-up). Families miss days: each family records a
share of them (its adherence, drawn once), and a few keep no diary at all. A strip reads the true
proteinuria with the misclassification of the profile's matrix. Every number is in the profile's
``[diary]`` section, with its source.

Two steps, so that the caller supplies the latent proteinuria of the days chosen:
``diary_days`` (which days were read) then ``read_dipsticks`` (what the strip showed). One part
of the diary is read earlier, inside the disease model: a family's first days of a relapse
(``confirm_relapses``), because the relapse's prednisone starts when the family's own readings
confirm it, so those readings decide the course; ``diary_days`` then writes them as they were.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from srnskit.constants import DAYS_PER_YEAR
from srnskit.synth.latent import CYCLOSPORINE, MMF, NEPHROTIC, PREDNISONE, RITUXIMAB, Latent
from srnskit.synth.profile import Diary
from srnskit.synth.truth import RITUXIMAB_ACTIVE_DAYS

__all__ = [
    "COMPLETE_RANGE_UPCR",
    "DIPSTICK_LEVELS",
    "FAMILY_WINDOW_DAYS",
    "NEPHROTIC_RANGE_UPCR",
    "confirm_relapses",
    "diary_days",
    "expand",
    "family_adherence",
    "read_dipsticks",
    "true_band",
]

Array = npt.NDArray[Any]
KEY = 1_000_000  # pid × KEY + day orders (child, day) in one int64 key
# The true band a strip reads (latent UPCR, mg/mg): below 0.2 the complete-remission range
# (KDIGO/IPNA's CR threshold), from 2.5 the nephrotic range (the truth's band, synth/latent.py).
COMPLETE_RANGE_UPCR, NEPHROTIC_RANGE_UPCR = 0.2, 2.5
# The strip's levels as the cohort format writes them (neg, trace, 1+, 2+, 3+, 4+), two per
# reading band: ≤ trace, 1+/2+, ≥ 3+.
DIPSTICK_LEVELS = ((0.0, 0.5), (1.0, 2.0), (3.0, 4.0))
# How long a family reads a relapse before the generator gives up on its confirming it (the
# clinic then treats it, profile ``relapse_unconfirmed_delay_days``): a family recording 40% of
# its days confirms within 30 days with probability above 99.9%.
FAMILY_WINDOW_DAYS = 30
# The run a family needs: "three consecutive days" of ≥ 3+ [K][I] (clinical.md §2, relapse).
RELAPSE_RUN = 3


def expand(pid: Array, start: Array, end: Array, per_week: int) -> tuple[Array, Array]:
    """Days from ``start`` to ``end`` (both included) of each interval, ``per_week`` a week.

    ``per_week`` 7 is every day; 2 gives offsets 0, 3, 7, 10, 14 … (⌊k × 7 / 2⌋). An interval
    whose end is before its start gives nothing. Returns (pid, day) arrays, unsorted.
    """
    if per_week <= 0:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
    length = np.asarray(end, dtype=np.int64) - np.asarray(start, dtype=np.int64)
    count = np.where(length >= 0, length * per_week // 7 + 1, 0)
    first = np.cumsum(count) - count
    k = np.arange(int(count.sum()), dtype=np.int64) - np.repeat(first, count)
    day = np.repeat(np.asarray(start, dtype=np.int64), count) + k * 7 // per_week
    return np.repeat(np.asarray(pid, dtype=np.int64), count), day


def _daily_intervals(
    latent: Latent, segments: dict[str, Array], diary: Diary
) -> tuple[Array, Array, Array]:
    """Every daily steroid course to ``after_course_days`` past its end; every relapse to its
    remission + ``confirm_days`` (at most ``relapse_max_days``)."""
    t = latent.treatments
    steroid = (t["drug"] == PREDNISONE) & (t["schedule"] == 0)
    s_pid = t["pid"][steroid].astype(np.int64)
    s_end = np.where(t["end"][steroid] < 0, latent.end[s_pid], t["end"][steroid])
    pid, state, onset = segments["pid"], segments["state"], segments["onset_day"]
    same_next = np.r_[pid[1:] == pid[:-1], False]
    same_previous = np.r_[False, pid[1:] == pid[:-1]]
    previous_state = np.r_[NEPHROTIC, state[:-1]]
    relapse = (state == NEPHROTIC) & same_previous & (previous_state != NEPHROTIC)
    next_onset = np.where(same_next, np.r_[onset[1:], 0], latent.end[pid])
    r_end = np.minimum(next_onset + diary.confirm_days, onset + diary.relapse_max_days)
    return (
        np.concatenate([s_pid, pid[relapse]]),
        np.concatenate([t["start"][steroid], onset[relapse]]),
        np.concatenate([s_end + diary.after_course_days, r_end[relapse]]),
    )


def _routine_intervals(latent: Latent, diary: Diary) -> tuple[Array, Array, Array]:
    """The first ``routine_agent_days`` of each regimen agent (while it is taken; rituximab
    for its active days), and the first ``routine_years`` after onset."""
    t = latent.treatments
    agent = np.isin(t["drug"], [CYCLOSPORINE, MMF, RITUXIMAB])
    a_pid = t["pid"][agent].astype(np.int64)
    a_end = np.where(
        t["drug"][agent] == RITUXIMAB,
        t["start"][agent] + RITUXIMAB_ACTIVE_DAYS,
        np.where(t["end"][agent] < 0, latent.end[a_pid], t["end"][agent]),
    )
    a_end = np.minimum(a_end, t["start"][agent] + diary.routine_agent_days)
    first_years = np.full(latent.n, round(diary.routine_years * DAYS_PER_YEAR))
    return (
        np.concatenate([a_pid, np.arange(latent.n)]),
        np.concatenate([t["start"][agent], np.zeros(latent.n, dtype=np.int64)]),
        np.concatenate([a_end, first_years]),
    )


def family_adherence(n: int, diary: Diary, rng: np.random.Generator) -> Array:
    """Each family's share of diary days recorded (float32, shape (n,)); 0 without a diary.

    Draws, in this order, whether each family keeps a diary (``no_diary``) and its adherence
    (beta, mean ``adherence_mean``, sd ``adherence_sd``).
    """
    keeps = rng.random(n) >= diary.no_diary
    m, sd = diary.adherence_mean, diary.adherence_sd
    concentration = m * (1 - m) / sd**2 - 1
    adherence = rng.beta(m * concentration, (1 - m) * concentration, n)
    result: Array = np.where(keeps, adherence, 0.0).astype(np.float32)
    return result


def confirm_relapses(
    first_day: Array, adherence: Array, diary: Diary, rng: np.random.Generator
) -> tuple[Array, Array]:
    """A family's readings from the day each relapse reaches the nephrotic range, and the day
    its diary confirms the relapse.

    ``first_day`` (shape (m,)): the day, from onset, proteinuria enters the nephrotic range;
    ``adherence`` (m,): the family's share of days recorded. The family reads every morning for
    ``FAMILY_WINDOW_DAYS`` days (missing days at its adherence; each strip read from the
    nephrotic row of the misclassification matrix, as ``read_dipsticks``). A relapse is
    confirmed on the third of three consecutive recorded readings of ≥ 3+ (a missed day
    neither counts nor breaks the run, as for the engine's proteinuria days, clinical.md §1).
    Returns the confirmation day (−1 when the window holds no such run) and the readings,
    shape (m, ``FAMILY_WINDOW_DAYS``), NaN on a day not recorded. Draws one uniform per day
    (recorded or not), then the strips' readings.
    """
    m = len(first_day)
    recorded = rng.random((m, FAMILY_WINDOW_DAYS), dtype=np.float32) < adherence[:, None]
    upcr = np.full(m * FAMILY_WINDOW_DAYS, NEPHROTIC_RANGE_UPCR)
    value = read_dipsticks(upcr, diary, rng).reshape(m, FAMILY_WINDOW_DAYS)
    value = np.where(recorded, value, np.nan)
    run = np.zeros(m, dtype=np.int64)
    confirmed = np.full(m, -1, dtype=np.int64)
    for k in range(FAMILY_WINDOW_DAYS):
        run = np.where(recorded[:, k], np.where(value[:, k] >= 3, run + 1, 0), run)
        confirmed = np.where((confirmed < 0) & (run >= RELAPSE_RUN), k, confirmed)
    day = np.where(confirmed >= 0, np.asarray(first_day) + confirmed, -1)
    return day, value


def diary_days(
    latent: Latent, segments: dict[str, Array], diary: Diary, rng: np.random.Generator
) -> tuple[Array, Array, Array]:
    """The (pid, day, reading) of every diary reading in the chunk, sorted, one a day, within
    follow-up; the reading is NaN where the strip is still to be read (``read_dipsticks``) and
    the family's own where the disease model read it (``latent.family_readings``: a relapse's
    days before its course, which decided the course; they take the place of any other
    reading of their day, and their missed days stay missed).

    ``segments`` are the truth's kept segments (``truth.kept_segments``: pid, day, state and
    the day the state began, ``onset_day``), sorted by child and day. The families' adherence
    is ``latent.diary_adherence`` (drawn here by ``family_adherence`` when the chunk has none);
    then one uniform per scheduled day (kept when below the adherence).
    """
    d_pid, d_start, d_end = _daily_intervals(latent, segments, diary)
    r_pid, r_start, r_end = _routine_intervals(latent, diary)
    daily = expand(d_pid, d_start, d_end, 7)
    routine = expand(r_pid, r_start, r_end, diary.routine_per_week)
    family = latent.family_readings
    f_pid = family.get("pid", np.empty(0, dtype=np.int64)).astype(np.int64)
    f_key = f_pid * KEY + family.get("day", np.empty(0, dtype=np.int64)).astype(np.int64)
    # Twice the key, + 1 for a scheduled day: the family's own reading of a day sorts first.
    key = np.sort(
        np.concatenate(
            [
                f_key * 2,
                (daily[0] * KEY + daily[1]) * 2 + 1,
                (routine[0] * KEY + routine[1]) * 2 + 1,
            ]
        )
    )
    new = np.empty(len(key), dtype=bool)
    new[:1] = True
    np.not_equal(key[1:] // 2, key[:-1] // 2, out=new[1:])  # one reading a day
    key = key[new]
    scheduled = (key % 2).astype(bool)
    key //= 2
    pid = key // KEY
    adherence = latent.diary_adherence
    if adherence is None:
        adherence = family_adherence(latent.n, diary, rng)
    reading = np.full(len(key), np.nan)
    own = ~scheduled
    order = np.argsort(f_key, kind="stable")
    reading[own] = np.asarray(family.get("value", np.empty(0)), dtype=float)[order][
        np.searchsorted(f_key[order], key[own])
    ]
    kept = np.where(
        scheduled, rng.random(len(pid), dtype=np.float32) < adherence[pid], ~np.isnan(reading)
    )
    key, reading = key[kept], reading[kept]
    pid, day = key // KEY, key % KEY
    inside = day <= latent.end[pid]
    return pid[inside], day[inside], reading[inside]


def true_band(upcr_mg_mg: Array) -> Array:
    """0 below ``COMPLETE_RANGE_UPCR``, 2 from ``NEPHROTIC_RANGE_UPCR``, 1 between."""
    upcr = np.asarray(upcr_mg_mg)
    return np.where(upcr < COMPLETE_RANGE_UPCR, 0, np.where(upcr >= NEPHROTIC_RANGE_UPCR, 2, 1))


def read_dipsticks(upcr_mg_mg: Array, diary: Diary, rng: np.random.Generator) -> Array:
    """What the strip shows (0, 0.5, 1, 2, 3, 4 for neg … 4+) for each true UPCR (mg/mg).

    The reading band is drawn from the row of the misclassification matrix for the true band
    (``misread_complete_range``, ``misread_between``, ``misread_nephrotic_range``); within it,
    either level with equal chance (neg or trace, 1+ or 2+, 3+ or 4+).
    """
    matrix = np.array(
        [diary.misread_complete_range, diary.misread_between, diary.misread_nephrotic_range]
    )
    cumulative = np.cumsum(matrix, axis=1).astype(np.float32)
    band = true_band(upcr_mg_mg)
    u = rng.random(len(band), dtype=np.float32)
    # The reading band: how many of the row's first two cumulative chances u passes (no
    # (rows × 3) intermediate: this runs on every diary day).
    read = (u >= cumulative[:, 0][band]).astype(np.int8) + (u >= cumulative[:, 1][band])
    levels = np.array(DIPSTICK_LEVELS).ravel()
    reading: Array = levels[2 * read + rng.integers(0, 2, len(band), dtype=np.int8)]
    return reading
