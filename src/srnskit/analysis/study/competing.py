"""Time to remission with competing events: the cumulative incidence of remission (clinical.md §9).

Each compared course is followed from its start until the first of: remission (the event of
interest, at ``response_date``); kidney failure (the patient's ``kidney_failure_date``), death
(an ``events`` row ``death``) or the course's end without remission when it ended before the
patient's last follow-up (the three competing events); loss to follow-up (an ``events`` row
``lost_to_followup``) or the end of follow-up with the course still going (censored). The
Aalen–Johansen estimate of each state per group (``analysis.cumulative_incidence``) is what
the report plots beside the Kaplan–Meier curve, which censors every course at its end.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from srnskit import analysis
from srnskit.constants import DAYS_PER_MONTH
from srnskit.protocols import Protocol

__all__ = [
    "CENSORED",
    "COMPETING_AT_MONTHS",
    "COMPETING_STATES",
    "competing_courses",
    "competing_summary",
    "estimands",
    "incidence",
]

# The states a course can end in, the event of interest first (clinical.md §9).
COMPETING_STATES = ("remission", "course_end", "kidney_failure", "death")
CENSORED = "censored"
DEATH, LOST = "death", "lost_to_followup"  # the events table's words (schema/vocabulary.py)
COMPETING_AT_MONTHS = (3, 6, 12)  # the estimates the report prints in its table
# Ties on one day: kidney failure, then death, then loss to follow-up, then the course's end.
_PRECEDENCE = ("kidney_failure", "death", CENSORED, "course_end")


def _first_event_after(courses: pd.DataFrame, events: pd.DataFrame, kind: str) -> pd.Series:
    """Per course (index of ``courses``): the first ``kind`` event of its patient from its start
    on, in days since the start (NaN when none)."""
    rows = events[events.event == kind][["patient_id", "date"]]
    probe = courses[["patient_id", "start_date"]].reset_index()
    joined = probe.merge(rows, on="patient_id")
    joined = joined[joined.date >= joined.start_date]
    days = (joined.date - joined.start_date).dt.days.groupby(joined["index"]).min()
    return days.reindex(courses.index).astype(float)


def competing_courses(
    courses: pd.DataFrame, people: pd.DataFrame, events: pd.DataFrame
) -> pd.DataFrame:
    """Each compared course with the state it ended in and when.

    ``courses``: the compared courses (``remission``'s output: group, patient_id, start_date,
    end_date, event, days_to_remission); ``people``: patients with their outcomes
    (onset_date, followup_days, kidney_failure_date); ``events``: the cohort's events rows.
    Adds ``state`` (a ``COMPETING_STATES`` name or ``CENSORED``), ``state_days`` (days from the
    course's start) and ``state_months`` (÷ ``DAYS_PER_MONTH``). A course ends at the earliest
    of its remission, kidney failure, death, loss to follow-up and its own end (``days`` − 1
    after its start); its end is a competing event only when it came before the patient's last
    follow-up (onset + followup_days): otherwise the course was still going, and is censored.
    """
    out = courses.copy()
    person = people.set_index("patient_id").reindex(out.patient_id)
    start = out.start_date
    last_fu = (person.onset_date + pd.to_timedelta(person.followup_days, unit="D")).to_numpy()
    failure = pd.to_datetime(person.kidney_failure_date).to_numpy()
    failure_days = pd.Series((failure - start.to_numpy()) / np.timedelta64(1, "D"), out.index)
    failure_days = failure_days.where(failure_days >= 0)
    end_days = (out.end_date - start).dt.days.astype(float)
    ongoing = pd.Series(out.end_date.to_numpy() >= last_fu, out.index)
    candidates = pd.DataFrame(
        {
            "kidney_failure": failure_days,
            "death": _first_event_after(out, events, DEATH),
            CENSORED: _first_event_after(out, events, LOST),
            "course_end": end_days,
        },
        index=out.index,
    )[list(_PRECEDENCE)]
    within = candidates.where(candidates.le(end_days, axis=0))  # within the course only
    values = within.to_numpy(dtype=float)
    found = ~np.isnan(values).all(axis=1)
    first = np.argmin(np.where(np.isnan(values), np.inf, values), axis=1)  # ties: _PRECEDENCE
    state = pd.Series(np.array(_PRECEDENCE, dtype=object)[first], out.index).where(found, CENSORED)
    days = pd.Series(np.nanmin(np.where(found[:, None], values, 0.0), axis=1), out.index)
    days = days.where(found)
    state = state.where(~((state == "course_end") & ongoing), CENSORED)
    remitted = out.event == 1
    remission_first = remitted & ~(days < out.days_to_remission)
    out["state"] = state.where(~remission_first, "remission")
    out["state_days"] = days.where(~remission_first, out.days_to_remission.astype(float))
    out["state_months"] = out.state_days / DAYS_PER_MONTH
    return out


def incidence(competed: pd.DataFrame) -> pd.DataFrame:
    """The Aalen–Johansen cumulative incidence of each state per group (clinical.md §9).

    ``competed``: ``competing_courses``' output. Columns: group, time_months, n_risk, state,
    estimate, std_err, ci_low, ci_high (0–1; the interval is R survival's default for
    multi-state curves, see ``analysis.cumulative_incidence``). Empty without courses.
    """
    columns = ["group", "time_months", "n_risk", "state", "estimate", "std_err"]
    if competed.empty:
        return pd.DataFrame(columns=[*columns, "ci_low", "ci_high"])
    code = {name: k for k, name in enumerate(COMPETING_STATES, start=1)}
    status = competed.state.map(code).fillna(0).astype(int)
    cif = analysis.cumulative_incidence(
        competed.state_months, status, COMPETING_STATES, competed.group
    )
    return cif.rename(columns={"time": "time_months", "lower": "ci_low", "upper": "ci_high"})


def competing_summary(competed: pd.DataFrame, cif: pd.DataFrame) -> pd.DataFrame:
    """The incidence of each state at 3, 6 and 12 months, per group (the report's table).

    Columns: group, months, one column per state of ``COMPETING_STATES`` (0–1), and
    ``competing_events`` (the group's courses that ended in a competing event).
    """
    rows: list[dict[str, Any]] = []
    for name, g in competed.groupby("group", sort=False):
        curve = cif[cif.group == name]
        ended = int(g.state.isin(COMPETING_STATES[1:]).sum())
        for months in COMPETING_AT_MONTHS:
            row: dict[str, Any] = {"group": name, "months": months}
            for state in COMPETING_STATES:
                at = curve[(curve.state == state) & (curve.time_months <= months)]
                row[state] = float(at.estimate.iloc[-1]) if len(at) else 0.0
            rows.append({**row, "competing_events": ended})
    columns = ["group", "months", *COMPETING_STATES, "competing_events"]
    return pd.DataFrame(rows, columns=columns)


def estimands(protocol: Protocol) -> dict[str, str]:
    """What the Kaplan–Meier curve ("km") and the cumulative incidence ("cif") each estimate,
    in words for the report (clinical.md §9), naming when ``protocol`` assesses a drug."""
    day = protocol.assessment.response_day
    months = day / DAYS_PER_MONTH
    return {
        "km": (
            "Kaplan–Meier: the probability of remission had the course gone on. A course that "
            "ends without remission is censored at its end; it usually ended because the "
            "treatment was failing and the child was switched, so this censoring is informative "
            "and the curve overstates remission."
        ),
        "cif": (
            "Cumulative incidence (Aalen–Johansen): the probability of remission reached before "
            "the course ended, with the course's end without remission, kidney failure and "
            "death as competing events, and loss to follow-up or the end of follow-up censored. "
            "It also depends on when the protocol stops a failing drug: "
            f"{protocol.name.upper()} assesses response on day {day} (about {months:.0f} "
            "months) and stops the drug without remission."
        ),
    }
