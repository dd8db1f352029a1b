"""How well does `srnskit derive` recover the synthetic truth? Prints one table per definition set.

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

    .venv/bin/python benchmarks/agreement.py [--patients 5000] [--seed 1] [--definitions kdigo2021]
"""

from __future__ import annotations

import argparse
import datetime as dt
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd

from srnskit.cohort import read_cohort
from srnskit.definitions import load_definitions
from srnskit.engine.derive import derive
from srnskit.synth.generate import write_synthetic_cohort
from srnskit.synth.profile import load_profile

REMISSION_DAYS_WITHIN = 30
SEEN_WITHIN_DAYS = 7  # an episode first measured within a week of its true start


def _share(frame: pd.DataFrame, column: str) -> str:
    return "—" if frame.empty else f"{100 * frame[column].mean():6.1f}%"


def _observable(episodes: pd.DataFrame, measured: pd.DataFrame, chosen: Any) -> set[str]:
    """Children whose every true episode the clinic saw well enough to confirm it: at least the
    state's confirmation count of proteinuria days inside it, the first within
    ``SEEN_WITHIN_DAYS`` of its start. Read from which days were measured, not from values."""
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
    joined = measured.merge(episodes, on="patient_id")
    inside = joined[(joined.date >= joined.start) & (joined.date <= joined.end)]
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


def compare(folder: Path, definitions: str) -> list[tuple[str, int, str, int, str]]:
    chosen = load_definitions(definitions)
    derived = derive(read_cohort(folder, today=dt.date.today()), chosen)
    truth = {
        n: pd.read_csv(folder / "truth" / f"{n}.csv")
        for n in ("patient_outcomes", "courses", "episodes")
    }
    got = derived.patient_outcomes.to_pandas()
    measurements = pd.read_csv(
        folder / "measurements.csv", usecols=["patient_id", "date", "analyte"]
    )
    measured = measurements[measurements.analyte.isin(chosen.streams)].drop_duplicates(
        ["patient_id", "date"]
    )
    measured["date"] = pd.to_datetime(measured.date)
    observable = _observable(truth["episodes"], measured, chosen)
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
        rows.append((label, len(frame), _share(frame, column), len(seen), _share(seen, column)))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--definitions", nargs="+", default=["kdigo2021", "ipna2020", "seed2023"])
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch) / "cohort"
        write_synthetic_cohort(
            folder,
            profile=load_profile("seed2023"),
            patients=arguments.patients,
            seed=arguments.seed,
            with_truth=True,
        )
        for definitions in arguments.definitions:
            print(
                f"\n{definitions}: {arguments.patients} synthetic children, seed {arguments.seed}"
            )
            print(f"{'label':32} {'compared':>9} {'agree':>8} {'observable':>11} {'agree':>8}")
            for label, n, share, n_seen, share_seen in compare(folder, definitions):
                print(f"{label:32} {n:>9} {share:>8} {n_seen:>11} {share_seen:>8}")


if __name__ == "__main__":
    main()
