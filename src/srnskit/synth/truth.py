"""The generator's ground truth: what ``srnskit derive`` should find, from the latent course.

Written in the tables and columns of cohort-format.md §3 (``rule`` is ``truth``, ``evidence``
empty), with the rules of clinical.md §4, §5 and §8 applied to the latent disease itself, not to
its noisy, sparse observation. Computed here independently of the engine, so that scoring the
engine is a comparison of two tables.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from srnskit.clinical.ckd import ckd_stage
from srnskit.constants import DAYS_PER_YEAR
from srnskit.definitions.model import load_definitions
from srnskit.schema import EXCLUSION_STEPS, REGIMEN_AGENTS
from srnskit.studies import load_study
from srnskit.synth.latent import (
    CR,
    CYCLOSPORINE,
    DIALYSIS,
    ENTER_CR,
    ENTER_NEPHROTIC,
    ENTER_PR,
    MMF,
    NEPHROTIC,
    RITUXIMAB,
    TRANSPLANT,
    Latent,
    entry_lag,
)

__all__ = [
    "STATE_NAMES",
    "course_responses",
    "courses",
    "egfr_at",
    "episodes",
    "kept_segments",
    "kidney_replacement",
    "nth_birthday",
    "patient_outcomes",
    "regimen_names",
]

Array = npt.NDArray[Any]
STATE_NAMES = np.array(["nephrotic", "partial_remission", "complete_remission"])
KEY = 1_000_000  # pid × KEY + day orders (patient, day) in one int64 key
# Bits of the regimen agents, in the order a regimen name joins them (cohort-format.md §3).
AGENT_BITS = {CYCLOSPORINE: 1, MMF: 4, RITUXIMAB: 8}
# Bit i of a course's mask stands for REGIMEN_AGENTS[i] (AGENT_BITS above).
AGENT_NAMES = REGIMEN_AGENTS
# The truth follows the rules of the shipped files it is calibrated to, read from them: the
# article's definition set (rituximab's active window, clinical.md §4; the shortest evaluable
# course, [S] "recorded for 2 or more months") and study (the combination agents, §8 step 5).
_DEFINITIONS = load_definitions("seed2023")
_ELIGIBILITY = load_study("seed2023").eligibility
COMBINATION_BITS = sum(1 << REGIMEN_AGENTS.index(a) for a in _ELIGIBILITY.combination_agents)
RITUXIMAB_ACTIVE_DAYS = _DEFINITIONS.rituximab_active_days
MIN_COURSE_DAYS = _DEFINITIONS.min_course_days


def kept_segments(latent: Latent) -> dict[str, Array]:
    """Segments with the day the latent proteinuria entered the new band (``onset_day``).

    A change of target starts moving proteinuria at ``day``; the state begins when the level
    crosses into its band, ``tau × ln((previous − target) / (boundary − target))`` days later. A
    segment that never got there before the next began did not happen and is dropped.
    """
    seg = latent.segments
    pid, day, state, level, tau = seg["pid"], seg["day"], seg["state"], seg["level"], seg["tau"]
    same = np.r_[False, pid[1:] == pid[:-1]]
    previous = np.where(same, np.r_[level[:1], level[:-1]], level)
    boundary = np.choose(state, [ENTER_NEPHROTIC, ENTER_PR, ENTER_CR])
    onset_day = day + np.where(same, entry_lag(previous, level, boundary, tau), 0)
    next_day = np.where(
        np.r_[pid[1:] == pid[:-1], False], np.r_[day[1:], 0], np.iinfo(np.int64).max
    )
    keep = onset_day < next_day
    return {**{k: v[keep] for k, v in seg.items()}, "onset_day": onset_day[keep]}


def episodes(latent: Latent, segments: dict[str, Array]) -> dict[str, Array]:
    """Disease-state episodes (clinical.md §3): consecutive segments of one state merged."""
    pid, state = segments["pid"], segments["state"]
    new = np.r_[True, (pid[1:] != pid[:-1]) | (state[1:] != state[:-1])]
    pid, state, start = pid[new], state[new], segments["onset_day"][new]
    last = np.r_[pid[1:] != pid[:-1], True]
    end = np.where(last, latent.end[pid], np.r_[start[1:], 0] - 1)
    previous = np.r_[NEPHROTIC, state[:-1]]
    first = np.r_[True, pid[1:] != pid[:-1]]
    # The article's relapse: nephrotic again after a complete *or partial* remission [S].
    relapse = (state == NEPHROTIC) & ~first & (previous != NEPHROTIC)
    return {"pid": pid, "state": state, "start": start, "end": end, "relapse": relapse}


def courses(latent: Latent) -> dict[str, Array]:
    """Regimen courses (clinical.md §4): follow-up cut where the set of active agents changes.

    Rituximab is active for 180 days from each infusion; a course without an end runs to the
    last follow-up; nothing runs past it.
    """
    t = latent.treatments
    is_agent = np.isin(t["drug"], list(AGENT_BITS))
    pid, drug, start, end = (t[k][is_agent] for k in ("pid", "drug", "start", "end"))
    pid = pid.astype(np.int64)
    last = latent.end[pid]
    end = np.where(drug == RITUXIMAB, start + RITUXIMAB_ACTIVE_DAYS, np.where(end < 0, last, end))
    end = np.minimum(end, last)
    bits = np.vectorize(AGENT_BITS.__getitem__, otypes=[np.int64])(drug) if len(drug) else drug
    # +1 for the agent on its first day, −1 the day after its last; counts per agent.
    ev_pid = np.r_[pid, pid]
    ev_day = np.r_[start, end + 1]
    ev_bits = np.r_[bits, bits]
    ev_delta = np.r_[np.ones_like(pid), -np.ones_like(pid)]
    order = np.lexsort((ev_day, ev_pid))
    ev_pid, ev_day, ev_bits, ev_delta = (
        ev_pid[order],
        ev_day[order],
        ev_bits[order],
        ev_delta[order],
    )
    mask = np.zeros(len(ev_pid), dtype=np.int64)
    for bit in AGENT_BITS.values():
        active = np.cumsum(np.where(ev_bits == bit, ev_delta, 0)) > 0
        mask |= np.where(active, bit, 0)
    last_of_day = np.r_[(ev_pid[1:] != ev_pid[:-1]) | (ev_day[1:] != ev_day[:-1]), True]
    b_pid, b_day, b_mask = ev_pid[last_of_day], ev_day[last_of_day], mask[last_of_day]
    # Runs of one mask between boundaries; the next boundary (same patient) ends the run.
    change = np.r_[True, (b_pid[1:] != b_pid[:-1]) | (b_mask[1:] != b_mask[:-1])]
    r_pid, r_day, r_mask = b_pid[change], b_day[change], b_mask[change]
    next_same = np.r_[r_pid[1:] == r_pid[:-1], False]
    keep = (r_mask > 0) & next_same
    c_pid, c_start, c_mask = r_pid[keep], r_day[keep], r_mask[keep]
    c_end = np.r_[r_day[1:], 0][keep] - 1
    first = np.r_[True, c_pid[1:] != c_pid[:-1]]
    group_start = np.maximum.accumulate(np.where(first, np.arange(len(c_pid)), 0))
    course_no = np.arange(len(c_pid)) - group_start + 1
    return {"pid": c_pid, "course_no": course_no, "start": c_start, "end": c_end, "mask": c_mask}


def regimen_names(mask: Array) -> tuple[Array, Array]:
    """Regimen names (agents joined by '+' in the declared order) and agent counts."""
    names = np.full(len(mask), "", dtype=object)
    count = np.zeros(len(mask), dtype=np.int64)
    for position, name in enumerate(AGENT_NAMES):
        has = (mask >> position) & 1 == 1
        names = np.where(has, np.where(names == "", name, names + "+" + name), names)
        count += has
    return names, count


def course_responses(course: dict[str, Array], episode: dict[str, Array]) -> dict[str, Array]:
    """Response, response day and relapses of each course from the episodes (clinical.md §4)."""
    key = episode["pid"] * KEY + episode["start"]
    c_key_start = course["pid"] * KEY + course["start"]
    lo = np.searchsorted(key, c_key_start, "left")
    hi = np.searchsorted(key, course["pid"] * KEY + course["end"], "right")
    covering = np.searchsorted(key, c_key_start, "right") - 1
    starts_in_remission = episode["state"][covering] != NEPHROTIC
    index = np.arange(len(key))
    big = len(key) + 1

    def next_where(flag: Array) -> Array:
        candidate = np.r_[np.where(flag, index, big), big]
        return np.minimum.accumulate(candidate[::-1])[::-1]

    next_remission = next_where(episode["state"] != NEPHROTIC)[lo]
    next_complete = next_where(episode["state"] == CR)[lo]
    has_remission = next_remission < hi
    days = course["end"] - course["start"] + 1
    evaluable = days >= MIN_COURSE_DAYS
    response = np.where(
        next_complete < hi, "complete", np.where(has_remission, "partial", "none")
    ).astype(object)
    assessable = evaluable & ~starts_in_remission
    response = np.where(assessable, response, "not_evaluable")
    starts = np.r_[episode["start"], -1]
    response_day = np.where(
        assessable & has_remission, starts[np.minimum(next_remission, big - 1)], -1
    )
    relapse_count = np.r_[0, np.cumsum(episode["relapse"])]
    return {
        "days": days,
        "evaluable": evaluable,
        "response": response,
        "response_day": response_day,
        "relapses": relapse_count[hi] - relapse_count[lo],
    }


def egfr_at(latent: Latent, pid: Array, day: Array) -> Array:
    """The latent eGFR (mL/min/1.73 m²) of children ``pid`` on ``day``: linear between knots."""
    t = latent.egfr_knots_day[pid]
    e = latent.egfr_knots[pid]
    value = e[:, 0].copy()
    for k in range(1, 4):
        span = np.maximum(t[:, k] - t[:, k - 1], 1e-9)
        inside = (day > t[:, k - 1]) & (day <= t[:, k])
        value = np.where(
            inside, e[:, k - 1] + (e[:, k] - e[:, k - 1]) * (day - t[:, k - 1]) / span, value
        )
        value = np.where(day > t[:, k], e[:, k], value)
    return value


def kidney_replacement(latent: Latent) -> dict[str, Array]:
    """Kidney replacement therapy per child (clinical.md §6) from the latent events: krt
    (``dialysis`` | ``transplant`` | ""), the first KRT event, krt_day (its day, -1 = none) and
    last_krt, the latest (on one day a dialysis start counts before a transplant, as in the
    engine)."""
    n = latent.n
    ev = latent.events
    none = np.iinfo(np.int64).max
    first: dict[int, Array] = {}
    last: dict[int, Array] = {}
    for code in (DIALYSIS, TRANSPLANT):
        rows = ev["event"] == code
        first[code] = np.full(n, none)
        np.minimum.at(first[code], ev["pid"][rows].astype(np.int64), ev["day"][rows])
        last[code] = np.full(n, -1)
        np.maximum.at(last[code], ev["pid"][rows].astype(np.int64), ev["day"][rows])
    dialysis_first = first[DIALYSIS] <= first[TRANSPLANT]
    krt_day = np.minimum(first[DIALYSIS], first[TRANSPLANT])
    has = krt_day < none
    krt = np.where(has, np.where(dialysis_first, "dialysis", "transplant"), "").astype(object)
    transplant_last = last[TRANSPLANT] >= last[DIALYSIS]
    last_krt = np.where(has, np.where(transplant_last, "transplant", "dialysis"), "")
    return {"krt": krt, "krt_day": np.where(has, krt_day, -1), "last_krt": last_krt}


def nth_birthday(birth_day: Array, years: int) -> Array:
    """The day number of the ``years``-th birthday; 29 February → 28 February (clinical.md §8)."""
    born = birth_day.astype("datetime64[D]")
    year = born.astype("datetime64[Y]").astype(np.int64) + 1970
    month = (born.astype("datetime64[M]") - born.astype("datetime64[Y]")).astype(np.int64)
    day = (born - born.astype("datetime64[M]")).astype(np.int64)
    day = np.where((month == 1) & (day == 28), 27, day)
    first_of_month = ((year + years - 1970) * 12 + month).astype("datetime64[M]")
    birthday: Array = (first_of_month.astype("datetime64[D]") + day).astype(np.int64)
    return birthday


def patient_outcomes(
    latent: Latent,
    episode: dict[str, Array],
    course: dict[str, Array],
    response: dict[str, Array],
    study_period: tuple[int, int] | None,
) -> dict[str, Array]:
    """One row of outcomes per child (cohort-format.md §3), from the latent course."""
    n = latent.n
    pid = np.arange(n)
    resistant = latent.resistance > 0
    key = episode["pid"] * KEY + episode["start"]
    remission = episode["state"] != NEPHROTIC

    # First remission.
    first_index = np.full(n, -1)
    rem_pid = episode["pid"][remission]
    rem_pos = np.flatnonzero(remission)
    unique_pid, first_pos = np.unique(rem_pid, return_index=True)
    first_index[unique_pid] = rem_pos[first_pos]
    has_first = first_index >= 0
    first_remission_day = np.where(has_first, episode["start"][first_index], -1)
    first_remission_type = np.where(
        has_first, np.where(episode["state"][first_index] == CR, "complete", "partial"), ""
    )

    # CNI response from the first cyclosporine start s (clinical.md §5).
    t = latent.treatments
    csa = t["drug"] == CYCLOSPORINE
    csa_start = np.full(n, -1)
    csa_end = np.full(n, -1)
    order = np.argsort(-t["start"][csa])  # the earliest start is written last
    csa_start[t["pid"][csa][order].astype(np.int64)] = t["start"][csa][order]
    csa_end[t["pid"][csa].astype(np.int64)] = np.maximum(
        csa_end[t["pid"][csa].astype(np.int64)], t["end"][csa]
    )
    treated = csa_start >= 0
    s_key = pid * KEY + np.maximum(csa_start, 0)
    covering = np.searchsorted(key, s_key, "right") - 1
    in_remission_at_s = treated & remission[covering]
    next_rem = np.searchsorted(key, s_key, "left")
    index = np.arange(len(key))
    candidate = np.r_[np.where(remission, index, len(key)), len(key)]
    next_rem = np.minimum.accumulate(candidate[::-1])[::-1][next_rem]
    rem_start = np.r_[episode["start"], -1][np.minimum(next_rem, len(key))]
    rem_pid = np.r_[episode["pid"], -1][np.minimum(next_rem, len(key))]
    responds = treated & (rem_pid == pid) & (rem_start <= csa_start + 180)
    exposure = np.minimum(csa_end, latent.end) - csa_start + 1
    cni = np.where(
        ~treated,
        "not_treated",
        np.where(
            in_remission_at_s,
            "not_evaluable",
            np.where(
                responds, "responsive", np.where(exposure >= 180, "resistant", "not_evaluable")
            ),
        ),
    )

    # Multidrug resistance (ipna2020): the second mechanistic class starts s2 (clinical.md §5).
    mmf = t["drug"] == MMF
    rtx = t["drug"] == RITUXIMAB
    second = np.full(n, np.iinfo(np.int64).max)
    for flag in (mmf, rtx):
        rows_pid = t["pid"][flag].astype(np.int64)
        np.minimum.at(second, rows_pid, t["start"][flag])
    has_second = treated & (second < np.iinfo(np.int64).max)
    enough = has_second & (latent.end - second >= 365)
    s2 = np.where(has_second, second, 0)
    s2_key = pid * KEY + s2
    cover2 = np.searchsorted(key, s2_key, "right") - 1
    cr_at_s2 = has_second & (episode["state"][cover2] == CR)
    complete = episode["state"] == CR
    candidate = np.r_[np.where(complete, index, len(key)), len(key)]
    next_cr = np.minimum.accumulate(candidate[::-1])[::-1][np.searchsorted(key, s2_key, "left")]
    cr_start = np.r_[episode["start"], -1][np.minimum(next_cr, len(key))]
    cr_pid = np.r_[episode["pid"], -1][np.minimum(next_cr, len(key))]
    cr_in_window = cr_at_s2 | ((cr_pid == pid) & (cr_start <= s2 + 365))
    multidrug = np.where(enough, np.where(cr_in_window, "false", "true"), "")

    # Eligibility (clinical.md §8), under the shipped study's thresholds.
    combination_course = response["evaluable"] & (
        np.bitwise_count(course["mask"] & COMBINATION_BITS) >= _ELIGIBILITY.combination_min_agents
    )
    has_combination = np.zeros(n, dtype=bool)
    has_combination[course["pid"][combination_course]] = True
    # Step 6: a year of follow-up from the first combination course's start (onset without one).
    first_combination = np.full(n, np.iinfo(np.int64).max)
    np.minimum.at(
        first_combination,
        course["pid"][combination_course].astype(np.int64),
        course["start"][combination_course].astype(np.int64),
    )
    followup_from = np.where(has_combination, first_combination, 0)
    in_period = np.zeros(n, dtype=bool)
    if study_period is not None:
        starts = latent.onset[course["pid"]] + course["start"]
        inside = combination_course & (starts >= study_period[0]) & (starts <= study_period[1])
        in_period[course["pid"][inside]] = True
    else:
        in_period[:] = True
    onset = latent.onset
    failing = {
        "age_over_18": onset >= nth_birthday(latent.birth, 18),
        "congenital": onset < latent.birth + 90,
        "infantile": (onset >= latent.birth + 90) & (onset < nth_birthday(latent.birth, 1)),
        "secondary": latent.secondary_cause >= 0,
        "not_steroid_resistant": ~resistant,
        # the latent course always has a steroid response (the generator records every onset
        # course), so no child's is unknown
        "steroid_response_unknown": np.zeros(n, dtype=bool),
        "no_combination": ~has_combination,
        "followup_under_1y": latent.end - followup_from < _ELIGIBILITY.min_followup_days,
        # only a child with a combination course, none starting in the period, fails step 7
        "outside_period": has_combination & ~in_period,
    }
    reasons = np.full(n, "", dtype=object)
    for step in EXCLUSION_STEPS:
        reasons = np.where(
            failing[step], np.where(reasons == "", step, reasons + ";" + step), reasons
        )

    krt = kidney_replacement(latent)
    # The native kidneys' last eGFR: the day before the first KRT event (clinical.md §6).
    last_native_day = np.where(
        krt["krt_day"] >= 0, np.minimum(latent.end, krt["krt_day"] - 1), latent.end
    )
    egfr_first = egfr_at(latent, pid, np.zeros(n))
    egfr_last = egfr_at(latent, pid, last_native_day)
    # ckd_stage_last follows the latest KRT event: G5D after a dialysis start; after a transplant
    # the stage of the graft's last eGFR with "T" — the generator models no graft function and
    # observes no creatinine after a transplant (observe.py), so none follows it and the stage is
    # empty, as the engine's rule gives; without KRT the stage of egfr_last.
    stage = np.asarray(ckd_stage(egfr_ml_min_1_73m2=egfr_last)).astype(object)
    stage = np.where(krt["last_krt"] == "dialysis", "G5D", stage)
    stage = np.where(krt["last_krt"] == "transplant", "", stage)
    return {
        "eligible": reasons == "",
        "exclusion_reasons": reasons,
        "onset_age_years": (latent.onset - latent.birth) / DAYS_PER_YEAR,
        "steroid_response": np.where(resistant, "resistant", "sensitive"),
        # the generator records every onset course, so every response comes from the data
        "steroid_response_source": np.full(n, "derived"),
        "resistance_type": np.choose(latent.resistance, ["", "initial", "late"]),
        "resistance_day": latent.resistance_day,
        "cni_response": cni,
        "multidrug_resistant": multidrug,
        "first_remission_day": first_remission_day,
        "first_remission_type": first_remission_type,
        "egfr_first": egfr_first,
        "egfr_last": egfr_last,
        "ckd_stage_last": stage,
        "krt": krt["krt"],
        "krt_day": krt["krt_day"],
        "severe_ckd_day": latent.severe_ckd_day,
        "kidney_failure_day": latent.kidney_failure_day,
        "followup_days": latent.end,
    }
