"""How well does `srnskit derive` recover the synthetic truth? One table per cohort and set.

Two cohorts of one seed are compared: with home dipstick diaries (the seed2023 profile) and
seen at clinic visits only (the same profile with ``[diary] enabled = false``); they share every
latent course and every clinic value, so the difference is the diaries alone. Agreement is
printed over ALL children and over the observable ones (below).

For a synthetic cohort written with its truth, the derived labels are compared with the true
ones: steroid response and its type, each course's response (courses are cut from the same
treatment rows, so they pair one to one), and the first remission date. "Observable" restricts
a comparison to children the clinic saw well enough: every true episode holds at least its
state's confirmation count of proteinuria days of the set's streams, the first within a week of
the episode's true start. It is read from which days were measured, never from the values, so
it does not favour the engine: where the observations permit the labels at all. A course
counts as observable when, besides, it holds at least one measured day of the set's streams
(without one, clinical.md §4 makes it not evaluable, whatever happened). A steroid
response the engine reports as ``unknown`` (no proteinuria day in the window, clinical.md §5) is
left out of the observable columns: the engine abstains there, rightly.

Where a label disagrees, the benchmark names what caused it, read from the observations in the
label's window (steroid response: onset to the later resistance date + 14 days, or to day 72;
a course: the course; first remission: the two dates ± 7 days), the first that applies:
``no measurement`` (no proteinuria day of the set's streams in the window); ``no diary`` (in the
diary cohort, a child whose family keeps none: no dipstick at all, seen at clinic visits only);
a reading whose band
contradicts the true state on its day (≥ 3+ / ≥ 2 mg/mg outside a nephrotic episode, ≤ trace /
≤ 0.2 mg/mg inside a nephrotic or partial one, 1+/2+ / between inside a nephrotic or complete
one), named by stream and as ``in a transition`` when within 3 days of a true change of state,
else ``misread``; ``too few days`` (a true episode in the window holds fewer measured days than
its confirmation count); else ``rule`` (the observations fit the truth: the engine's rules
read them otherwise).

    .venv/bin/python benchmarks/agreement.py [--patients 3000] [--seed 1] [--definitions kdigo2021]
"""

from __future__ import annotations

import argparse
import datetime as dt
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from srnskit.clinical.units import UPCR_MG_MMOL_PER_MG_MG
from srnskit.cohort import read_cohort
from srnskit.definitions import load_definitions
from srnskit.engine.derive import derive
from srnskit.synth.generate import write_synthetic_cohort
from srnskit.synth.profile import Profile, load_profile

REMISSION_DAYS_WITHIN = 30
SEEN_WITHIN_DAYS = 7  # an episode first measured within a week of its true start
TRANSITION_DAYS = 3  # a reading this close to a true change of state is "in a transition"
STEROID_WINDOW_DAYS = 72  # onset to the first course's day 42 with a 30-day course allowance
STATE_BAND = {"complete_remission": 0, "partial_remission": 1, "nephrotic": 2}


def _share(frame: pd.DataFrame, column: str) -> str:
    return "—" if frame.empty else f"{100 * frame[column].mean():6.1f}%"


def _state_streams(chosen: Any) -> dict[str, tuple[str, ...]]:
    """The set's streams that can show each state: those its thresholds for the state name. A
    dipstick never shows partial remission: a 1+/2+ is compatible with it but never counts
    toward it (clinical.md §1), and a ≤ trace is complete-remission range, so under every set
    a partial remission is seen only on a quantitative stream (UPCR, 24-hour protein)."""
    rules = {
        "nephrotic": chosen.nephrotic,
        "partial_remission": chosen.partial_remission,
        "complete_remission": chosen.complete_remission,
    }
    return {
        state: tuple(
            stream
            for stream in chosen.streams
            if any(key.startswith(stream) for key in rule.thresholds)
            and not (state == "partial_remission" and stream == "dipstick")
        )
        for state, rule in rules.items()
    }


def _observable(episodes: pd.DataFrame, readings: pd.DataFrame, chosen: Any) -> set[str]:
    """Children whose every true episode the clinic saw well enough to confirm it: at least the
    state's confirmation count of days measured on a stream that can show the state
    (``_state_streams``) inside it, the first within ``SEEN_WITHIN_DAYS`` of its start. Read
    from which days were measured and on which stream, not from values."""
    counts = {
        "nephrotic": chosen.nephrotic.confirm_count,
        "partial_remission": chosen.partial_remission.confirm_count,
        "complete_remission": chosen.complete_remission.confirm_count,
    }
    episodes = episodes.assign(
        start=pd.to_datetime(episodes.start_date),
        end=pd.to_datetime(episodes.end_date),
        needed=episodes.state.map(counts),
        episode=range(len(episodes)),
    )
    parts = []
    for state, streams in _state_streams(chosen).items():
        days = readings[readings.analyte.isin(streams)].drop_duplicates(["patient_id", "date"])
        joined = days[["patient_id", "date"]].merge(
            episodes[episodes.state == state], on="patient_id"
        )
        parts.append(joined[(joined.date >= joined.start) & (joined.date <= joined.end)])
    inside = pd.concat(parts)
    seen = inside.groupby("episode").agg(days=("date", "size"), first=("date", "min"))
    episodes = episodes.join(seen, on="episode")
    prompt = (episodes["first"] - episodes.start).dt.days <= SEEN_WITHIN_DAYS
    episodes["seen"] = (episodes.days.fillna(0) >= episodes.needed) & prompt
    per_child = episodes.groupby("patient_id").seen.all()
    return set(per_child[per_child].index)


def _measured_within(courses: pd.DataFrame, measured: pd.DataFrame) -> pd.Series:
    """Whether each course holds at least one measured day of the set's streams."""
    spans = courses[["patient_id", "start_date", "end_date"]].assign(
        start=lambda f: pd.to_datetime(f.start_date),
        end=lambda f: pd.to_datetime(f.end_date),
        course=range(len(courses)),
    )
    joined = measured.merge(spans, on="patient_id")
    inside = joined[(joined.date >= joined.start) & (joined.date <= joined.end)]
    return pd.Series(spans.course.isin(set(inside.course)).to_numpy(), index=courses.index)


def _bands(readings: pd.DataFrame) -> pd.Series:
    """0 (≤ trace, ≤ 0.2 mg/mg), 1 (between), 2 (≥ 3+, ≥ 2 mg/mg); NaN for 24-hour protein,
    whose nephrotic threshold needs the weight (left out of the contradictions)."""
    value = readings.value.to_numpy(dtype=float)
    mg_mg = np.where(readings.unit == "mg/mmol", value / UPCR_MG_MMOL_PER_MG_MG, value)
    upcr = np.where(mg_mg <= 0.2, 0, np.where(mg_mg >= 2, 2, 1))
    dip = np.where(value <= 0.5, 0, np.where(value >= 3, 2, 1))
    band = np.where(
        readings.analyte == "upcr", upcr, np.where(readings.analyte == "dipstick", dip, -1)
    )
    return pd.Series(np.where(band < 0, np.nan, band), index=readings.index)


def _contradictions(readings: pd.DataFrame, episodes: pd.DataFrame) -> pd.DataFrame:
    """The readings whose band contradicts the true state of their day, with their kind."""
    ep = episodes.assign(
        start=pd.to_datetime(episodes.start_date), end=pd.to_datetime(episodes.end_date)
    )
    joined = readings.merge(ep[["patient_id", "state", "start", "end"]], on="patient_id")
    joined = joined[(joined.date >= joined.start) & (joined.date <= joined.end)].copy()
    joined["band"] = _bands(joined)
    state = joined.state.map(STATE_BAND)
    wrong = (
        ((state == 2) & (joined.band != 2))
        | ((state == 0) & (joined.band != 0))
        | ((state == 1) & (joined.band != 1))
    ) & joined.band.notna()
    joined = joined[wrong].copy()
    near = np.minimum((joined.date - joined.start).dt.days, (joined.end - joined.date).dt.days + 1)
    joined["kind"] = joined.analyte + np.where(
        near <= TRANSITION_DAYS, " in a transition", " misread"
    )
    return joined[["patient_id", "date", "kind"]]


def _cause(
    patient: str,
    low: pd.Timestamp,
    high: pd.Timestamp,
    by_patient: dict[str, pd.DataFrame],
    wrong_by_patient: dict[str, pd.DataFrame],
    episodes_by_patient: dict[str, pd.DataFrame],
    counts: dict[str, int],
    without_diary: set[str],
    shown_by_patient: dict[str, dict[str, pd.DataFrame]],
) -> str:
    """What caused a disagreement in [low, high] (the module's docstring gives the order)."""
    days = by_patient.get(patient)
    if days is None or not ((days.date >= low) & (days.date <= high)).any():
        return "no measurement"
    if patient in without_diary:
        return "no diary"
    wrong = wrong_by_patient.get(patient)
    if wrong is not None:
        inside = wrong[(wrong.date >= low) & (wrong.date <= high)]
        if len(inside):
            return str(inside.kind.iloc[0])
    episodes = episodes_by_patient.get(patient)
    if episodes is not None:
        for row in episodes.itertuples():
            if row.end < low or row.start > high:
                continue
            shown = shown_by_patient[row.state].get(patient, days.iloc[:0])
            held = ((shown.date >= row.start) & (shown.date <= row.end)).sum()
            if held < counts[row.state]:
                return "too few days"
    return "rule"


def compare(
    folder: Path, definitions: str, *, diaries: bool = True
) -> tuple[list[tuple[str, int, str, int, str]], dict[str, tuple[Counter[str], Counter[str]]]]:
    """Agreement rows (label, compared, agree, observable, agree) and, per label, the causes
    of its disagreements over all children and over the observable ones, counted
    (``diaries``: the cohort was generated
    with home dipstick diaries, so a child without a dipstick is one whose family keeps
    none)."""
    chosen = load_definitions(definitions)
    derived = derive(read_cohort(folder, today=dt.date.today()), chosen)
    truth = {
        n: pd.read_csv(folder / "truth" / f"{n}.csv")
        for n in ("patient_outcomes", "courses", "episodes")
    }
    got = derived.patient_outcomes.to_pandas()
    measurements = pd.read_csv(
        folder / "measurements.csv", usecols=["patient_id", "date", "analyte", "value", "unit"]
    )
    readings = measurements[measurements.analyte.isin(chosen.streams)].copy()
    readings["date"] = pd.to_datetime(readings.date)
    measured = readings.drop_duplicates(["patient_id", "date"])[["patient_id", "date", "analyte"]]
    observable = _observable(truth["episodes"], readings, chosen)
    outcome = got.merge(truth["patient_outcomes"], on="patient_id", suffixes=("", "_true"))
    outcome["steroid"] = outcome.steroid_response == outcome.steroid_response_true
    outcome["type"] = outcome.resistance_type.fillna("") == outcome.resistance_type_true.fillna("")
    derived_first = pd.to_datetime(outcome.first_remission_date)
    true_first = pd.to_datetime(outcome.first_remission_date_true)
    both = outcome[derived_first.notna() & true_first.notna()].copy()
    lag = (
        pd.to_datetime(both.first_remission_date) - pd.to_datetime(both.first_remission_date_true)
    ).dt.days
    both["remission"] = lag.abs() <= REMISSION_DAYS_WITHIN
    courses = derived.courses.to_pandas().merge(
        truth["courses"], on=["patient_id", "course_no"], suffixes=("", "_true")
    )
    assessed = courses[courses.response_true != "not_evaluable"].copy()
    assessed["response_agrees"] = assessed.response == assessed.response_true
    assessed["measured"] = _measured_within(assessed, measured)
    rows = []
    observed: dict[str, pd.Index] = {}
    for label, frame, column in (
        ("steroid response", outcome, "steroid"),
        ("resistance type", outcome, "type"),
        ("course response", assessed, "response_agrees"),
        (f"first remission ±{REMISSION_DAYS_WITHIN} days", both, "remission"),
    ):
        seen = frame[frame.patient_id.isin(observable)]
        if column == "response_agrees":
            # a course without one day of the set's streams: the engine says not_evaluable (§4)
            seen = seen[seen.measured]
        if column in ("steroid", "type"):
            # "unknown": the engine itself says the window holds no proteinuria day (§5)
            seen = seen[seen.steroid_response != "unknown"]
        observed[label] = seen.index
        rows.append((label, len(frame), _share(frame, column), len(seen), _share(seen, column)))
    # What caused each disagreement, over all children.
    counts = {
        "nephrotic": chosen.nephrotic.confirm_count,
        "partial_remission": chosen.partial_remission.confirm_count,
        "complete_remission": chosen.complete_remission.confirm_count,
    }
    episodes = truth["episodes"].assign(
        start=lambda f: pd.to_datetime(f.start_date), end=lambda f: pd.to_datetime(f.end_date)
    )
    by_patient = {k: g for k, g in measured.groupby("patient_id")}
    shown_by_patient = {
        state: {
            k: g
            for k, g in readings[readings.analyte.isin(streams)]
            .drop_duplicates(["patient_id", "date"])
            .groupby("patient_id")
        }
        for state, streams in _state_streams(chosen).items()
    }
    wrong = _contradictions(readings, truth["episodes"]).sort_values(["patient_id", "date"])
    wrong_by_patient = {k: g for k, g in wrong.groupby("patient_id")}
    episodes_by_patient = {k: g for k, g in episodes.groupby("patient_id")}
    dipstick = set(measurements.patient_id[measurements.analyte == "dipstick"])
    without_diary = set(got.patient_id) - dipstick if diaries else set()
    onset = pd.read_csv(folder / "patients.csv", usecols=["patient_id", "onset_date"])
    onset = onset.set_index("patient_id").onset_date.map(pd.Timestamp)
    causes: dict[str, tuple[Counter[str], Counter[str]]] = {}

    def count(label: str, frame: pd.DataFrame, column: str, window: Any) -> None:
        tally: Counter[str] = Counter()
        seen: Counter[str] = Counter()
        for row in frame[~frame[column]].itertuples():
            low, high = window(row)
            cause = _cause(
                row.patient_id,
                low,
                high,
                by_patient,
                wrong_by_patient,
                episodes_by_patient,
                counts,
                without_diary,
                shown_by_patient,
            )
            tally[cause] += 1
            if row.Index in observed[label]:
                seen[cause] += 1
        causes[label] = (tally, seen)

    def steroid_window(row: Any) -> tuple[pd.Timestamp, pd.Timestamp]:
        start = onset[row.patient_id]
        dates = [
            pd.Timestamp(d)
            for d in (row.resistance_date, row.resistance_date_true)
            if isinstance(d, (str, dt.date))
        ]
        high = (
            max(dates) + pd.Timedelta(days=14)
            if dates
            else start + pd.Timedelta(days=STEROID_WINDOW_DAYS)
        )
        return start, high

    count("steroid response", outcome, "steroid", steroid_window)
    count("resistance type", outcome, "type", steroid_window)
    count(
        "course response",
        assessed,
        "response_agrees",
        lambda r: (pd.Timestamp(r.start_date), pd.Timestamp(r.end_date)),
    )
    count(
        f"first remission ±{REMISSION_DAYS_WITHIN} days",
        both,
        "remission",
        lambda r: (
            min(pd.Timestamp(r.first_remission_date), pd.Timestamp(r.first_remission_date_true))
            - pd.Timedelta(days=7),
            max(pd.Timestamp(r.first_remission_date), pd.Timestamp(r.first_remission_date_true))
            + pd.Timedelta(days=7),
        ),
    )
    return rows, causes


def clinic_only(profile: Profile) -> Profile:
    """``profile`` with its home dipstick diaries turned off (clinic visits only)."""
    if profile.diary is None:
        return profile
    return profile.model_copy(update={"diary": profile.diary.model_copy(update={"enabled": False})})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--definitions", nargs="+", default=["kdigo2021", "ipna2020", "seed2023"])
    arguments = parser.parse_args()
    diary = load_profile("seed2023")
    with tempfile.TemporaryDirectory() as scratch:
        for cohort, profile in (("diary", diary), ("clinic-only", clinic_only(diary))):
            folder = Path(scratch) / cohort
            write_synthetic_cohort(
                folder,
                profile=profile,
                patients=arguments.patients,
                seed=arguments.seed,
                with_truth=True,
            )
            for definitions in arguments.definitions:
                print(
                    f"\n{definitions}, {cohort} cohort: {arguments.patients} synthetic children, "
                    f"seed {arguments.seed}"
                )
                print(
                    f"{'label':32} {'all':>9} {'agree':>8} {'observable':>11} {'agree':>8}  "
                    "disagreements by cause: all children / observable"
                )
                rows, causes = compare(folder, definitions, diaries=cohort == "diary")
                for label, n, share, n_seen, share_seen in rows:
                    every, seen = causes[label]
                    why = ", ".join(f"{k} {v}" for k, v in every.most_common())
                    why_seen = ", ".join(f"{k} {v}" for k, v in seen.most_common()) or "none"
                    print(f"{label:32} {n:>9} {share:>8} {n_seen:>11} {share_seen:>8}  {why}")
                    print(f"{'':72}  observable: {why_seen}")


if __name__ == "__main__":
    main()
