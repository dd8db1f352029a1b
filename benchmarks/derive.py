"""The outcome engine's speed: DuckDB by cohort size, against a plain SQL floor and pandas.

Prints, for synthetic cohorts of each size: wall time of `derive` on DuckDB (read, validate and
load apart), measurement rows per second, and peak memory (each in a fresh process); the ratio
to one plain DuckDB gaps-and-islands pass over the same measurement rows, those of the proteinuria
streams the engine reads (the practical floor; also over the UPCR rows alone, as measured before);
on the smallest size the ratio to a straightforward pandas group-by-apply of the same episode
rules (kdigo2021), which also cross-checks the engine's episodes; and DuckDB against Spark.
The cohorts are clinic-only (the seed2023 profile without home dipstick diaries, as the numbers
of docs/definitions.md were measured); ``--diary`` generates them with diaries.

    .venv/bin/python benchmarks/derive.py [--patients 10000 100000] [--spark] [--memory-limit 8GB]
        [--against REV] [--spark-at 100000] [--diary]

``--spark-at N`` (one of the sizes) also times, each in a fresh process on the same files, load
(Spark reading, validating and typing the Parquet folder itself) and derive on Spark local
(``local[2]``, srnskit's defaults) and on a Spark standalone cluster of two workers started here
on loopback (``tests/engine/spark_cluster.py``; one core and ``--worker-memory`` each), with the
ratio of each to DuckDB's raw scan of the same Parquet files (every table read into memory: the
floor of any engine that reads them) and the derive's ratio to the SQL floor above.

``--against REV`` also times the same child on the code of commit REV (a temporary git worktree,
imported through PYTHONPATH) on the same files in the same run, and prints the ratio of this
tree's derive time to REV's: the way a change shows it made the engine no slower.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb
import pandas as pd
from against import worktree

from srnskit.cohort import read_cohort
from srnskit.definitions import load_definitions
from srnskit.engine.derive import derive
from srnskit.synth.generate import write_synthetic_cohort
from srnskit.synth.profile import Profile, load_profile

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository: tests.engine
from tests.engine.spark_cluster import standalone_cluster

TODAY = dt.date.today()
PANDAS_MAX = 20_000  # the pandas comparison is per patient in Python: only on small cohorts
CHILD = """
import json, resource, sys, time, datetime as dt
from pathlib import Path
from srnskit.cohort import read_cohort
from srnskit.definitions import load_definitions
from srnskit.engine.derive import derive
started = time.perf_counter()
cohort = read_cohort(Path(sys.argv[1]), today=dt.date.today())
loaded = time.perf_counter()
derived = derive(cohort, load_definitions("kdigo2021"))
done = time.perf_counter()
rows = cohort.con.execute("SELECT count(*) FROM measurements").fetchone()[0]
print(json.dumps({"load": loaded - started, "derive": done - loaded, "rows": rows,
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""
# Load and derive on Spark, in a fresh process: argv = folder, master ('' for srnskit's default),
# then --spark-conf items. Spark reads, validates and loads the Parquet folder itself
# (engine.spark_cohort, issue 21): nothing of the cohort passes through this process.
SPARK_CHILD = """
import json, sys, time, datetime as dt
from srnskit.definitions import load_definitions
from srnskit.engine.backends.spark import parse_spark_conf, spark_session
from srnskit.engine.derive import derive_on
from srnskit.engine.spark_cohort import read_spark_cohort
started = time.perf_counter()
master = sys.argv[2] or None
spark_session(master, parse_spark_conf(sys.argv[3:]))
up = time.perf_counter()
cohort = read_spark_cohort(sys.argv[1], today=dt.date.today(), master=master)
loaded = time.perf_counter()
with cohort.backend(master=master) as backend:
    derived = derive_on(backend, load_definitions("kdigo2021"))
done = time.perf_counter()
print(json.dumps({"load": loaded - up, "start": up - started, "derive": done - loaded,
                  "outcomes": derived.patient_outcomes.num_rows}))
"""
# The floor reads the same measurement rows as the engine: those of kdigo2021's proteinuria
# streams (UPCR and dipstick, 26.8 M of the 63.7 M rows at a million children; until
# 2026-11-29 it read the UPCR rows alone, two thirds of them, see docs/decisions.md).
# The UPCR-only ratio is still printed, to compare with earlier measurements.
STREAMS = ", ".join(f"'{s}'" for s in load_definitions("kdigo2021").streams)
FLOOR = """
WITH days AS (SELECT patient_id, date, max(value) AS value FROM measurements
              WHERE analyte IN ({streams}) GROUP BY 1, 2),
flags AS (SELECT *, value <= 0.2 AS complete FROM days),
marks AS (SELECT *, CASE WHEN complete IS DISTINCT FROM lag(complete) OVER w THEN 1 ELSE 0 END
          AS brk FROM flags WINDOW w AS (PARTITION BY patient_id ORDER BY date)),
islands AS (SELECT *, sum(brk) OVER (PARTITION BY patient_id ORDER BY date
            ROWS UNBOUNDED PRECEDING) AS island FROM marks)
SELECT count(*) FROM (SELECT patient_id, island, min(date), count(*) AS n FROM islands
                      WHERE complete GROUP BY 1, 2 HAVING count(*) >= 3)
"""


def measure(
    folder: Path, memory_limit: str | None = None, source: Path | None = None
) -> dict[str, float]:
    """Load and derive times of one fresh process; ``source``: another tree's ``src`` to run."""
    env = dict(os.environ)
    if memory_limit:
        env["SRNSKIT_MEMORY_LIMIT"] = memory_limit
    if source is not None:
        env["PYTHONPATH"] = str(source)
    out = subprocess.run(
        [sys.executable, "-c", CHILD, str(folder)],
        check=True,
        capture_output=True,
        text=True,
        env=env,
    )
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def measure_spark(folder: Path, master: str | None, settings: list[str]) -> dict[str, float]:
    """Load, session start and derive times on Spark, in a fresh process."""
    out = subprocess.run(
        [sys.executable, "-c", SPARK_CHILD, str(folder), master or "", *settings],
        check=True,
        capture_output=True,
        text=True,
    )
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def scan_seconds(folder: Path) -> float:
    """DuckDB's raw scan of the cohort's Parquet files: every table read into memory, no checks."""
    con = duckdb.connect()
    started = time.perf_counter()
    for table in sorted(folder.glob("*.parquet")):
        source = str(table).replace("'", "''")
        con.execute(f"CREATE TABLE {table.stem} AS SELECT * FROM read_parquet('{source}')")
    seconds = time.perf_counter() - started
    con.close()
    return seconds


def clinic_only(profile: Profile) -> Profile:
    """``profile`` without home dipstick diaries (clinic visits only)."""
    if profile.diary is None:
        return profile
    return profile.model_copy(update={"diary": profile.diary.model_copy(update={"enabled": False})})


def floor_seconds(folder: Path, streams: str = STREAMS) -> float:
    cohort = read_cohort(folder, today=TODAY)
    started = time.perf_counter()
    cohort.con.execute(FLOOR.format(streams=streams)).fetchone()
    return time.perf_counter() - started


def pandas_episodes(folder: Path) -> tuple[float, pd.DataFrame]:
    """kdigo2021 episode starts by a per-patient Python function (group-by-apply)."""
    rules = load_definitions("kdigo2021")
    cohort = read_cohort(folder, today=TODAY)
    started = time.perf_counter()
    measurements = cohort.table("measurements")
    m = measurements.filter(measurements.analyte.isin(["upcr", "dipstick"])).to_pandas()
    onset = cohort.table("patients").to_pandas()[["patient_id", "onset_date"]]
    m = m.merge(onset, on="patient_id")
    m = m[m.date >= m.onset_date]
    m["priority"] = m.unit.map({"mg/mg": 0, "mg/mmol": 1}).fillna(5)
    m = m.sort_values(
        ["patient_id", "date", "priority", "value"], ascending=[True, True, True, False]
    )
    days = m.drop_duplicates(["patient_id", "date"])
    cr, neph, pr = (
        rules.complete_remission.thresholds,
        rules.nephrotic.thresholds,
        rules.partial_remission.thresholds,
    )
    # Each state's own confirmation (kdigo2021: CR and relapse 3 days, PR one measurement).
    confirm = {
        "nephrotic": rules.nephrotic.confirm_count,
        "partial": rules.partial_remission.confirm_count,
        "complete": rules.complete_remission.confirm_count,
    }

    def classify(row: pd.Series) -> tuple[bool, bool, float | None]:
        if row.analyte == "dipstick":
            return row.value <= cr["dipstick"].value, row.value >= neph["dipstick"].value, None
        key = "upcr_mg_mg" if row.unit == "mg/mg" else "upcr_mg_mmol"
        return row.value <= cr[key].value, row.value >= neph[key].value, row.value

    def per_patient(group: pd.DataFrame) -> pd.DataFrame:
        state, starts = "nephrotic", [(group.onset_date.iloc[0], "nephrotic")]
        runs: dict[str, list] = {"complete": [], "partial": [], "nephrotic": []}
        anchor = group.onset_date.iloc[0]  # the latest confirmed nephrotic run start
        nephrotic_values: list[tuple] = []  # (date, family, value) of nephrotic-range days
        for row in group.itertuples():
            complete, nephrotic, value = classify(pd.Series(row._asdict()))
            family = row.unit or "dipstick"
            if nephrotic:
                nephrotic_values.append((row.date, family, row.value))
            base = next((v for d, f, v in nephrotic_values if f == family and d >= anchor), None)
            key = "upcr_mg_mg" if row.unit == "mg/mg" else "upcr_mg_mmol"
            partial = complete or (
                value is not None
                and not nephrotic
                and value < pr[key].value
                and (base is None or value <= 0.5 * base)
            )
            events = []
            for kind, flag in (
                ("nephrotic", nephrotic),
                ("partial", partial),
                ("complete", complete),
            ):
                if kind == "partial" and row.analyte == "dipstick" and not (complete or nephrotic):
                    # A 1+/2+ neither counts toward a PR run nor ends it (clinical.md §1); a 3+/4+
                    # is nephrotic-range, not PR-qualifying, and ends the run like a UPCR ≥ 2.
                    continue
                runs[kind] = runs[kind] + [row.date] if flag else []
                if len(runs[kind]) == confirm[kind]:
                    events.append((kind, runs[kind][0]))
            for kind, first_day in events:
                if kind == "nephrotic":
                    anchor = first_day
                new = {
                    "nephrotic": "nephrotic",
                    "partial": "partial_remission",
                    "complete": "complete_remission",
                }[kind]
                changes = (
                    (kind == "nephrotic" and state != "nephrotic")
                    or (kind == "complete" and state != "complete_remission")
                    or (kind == "partial" and state == "nephrotic")
                )
                if changes:
                    state = new
                    if starts[-1][0] == first_day:  # complete wins over partial that day
                        starts.pop()
                    starts.append((first_day, new))
        return pd.DataFrame(starts, columns=["start_date", "state"])

    result = days.groupby("patient_id", group_keys=True).apply(per_patient, include_groups=False)
    return time.perf_counter() - started, result.reset_index(level=0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--spark", action="store_true", help="compare with Spark at the first size")
    parser.add_argument(
        "--memory-limit",
        help="DuckDB memory limit for the engine (e.g. 8GB): beyond it, it spills to disk",
    )
    parser.add_argument(
        "--against", metavar="REV", help="also time the code of git commit REV, same files"
    )
    parser.add_argument(
        "--spark-at",
        type=int,
        metavar="N",
        help="at this size (one of --patients) also time Spark local and a standalone cluster",
    )
    parser.add_argument("--worker-memory", default="2g", help="each cluster worker's memory")
    parser.add_argument("--diary", action="store_true", help="cohorts with home diaries")
    arguments = parser.parse_args()
    if arguments.spark_at is not None and arguments.spark_at not in arguments.patients:
        parser.error(f"--spark-at {arguments.spark_at} is not one of --patients")
    with contextlib.ExitStack() as stack:
        reference = stack.enter_context(worktree(arguments.against)) if arguments.against else None
        run(arguments, reference)


def run(arguments: argparse.Namespace, reference: Path | None) -> None:
    against = f"× {arguments.against[:10]}" if reference else ""
    print(
        f"{'children':>10} {'rows':>11} {'load s':>7} {'derive s':>9} {'rows/s':>10} "
        f"{'peak MB':>8} {'floor s':>8} {'× floor':>8} {'× UPCR-only':>11}"
        + (f" {'REV load':>8} {'REV derive':>10} {against:>13}" if reference else "")
    )
    notes = []
    profile = load_profile("seed2023")
    if not arguments.diary:
        profile = clinic_only(profile)
    for index, patients in enumerate(arguments.patients):
        with tempfile.TemporaryDirectory() as scratch:
            folder = Path(scratch) / "cohort"
            write_synthetic_cohort(
                folder, profile=profile, patients=patients, seed=3, fmt="parquet"
            )
            r = measure(folder, arguments.memory_limit)
            floor = floor_seconds(folder)
            upcr_only = floor_seconds(folder, "'upcr'")
            line = (
                f"{patients:>10,} {int(r['rows']):>11,} {r['load']:>7.1f} {r['derive']:>9.1f} "
                f"{r['rows'] / r['derive']:>10,.0f} {r['peak_mb']:>8.0f} {floor:>8.2f} "
                f"{r['derive'] / floor:>8.1f} {r['derive'] / upcr_only:>11.1f}"
            )
            if reference is not None:
                old = measure(folder, arguments.memory_limit, reference)
                line += (
                    f" {old['load']:>8.1f} {old['derive']:>10.1f} "
                    f"{r['derive'] / old['derive']:>13.2f}"
                )
            print(line)
            if patients == arguments.spark_at:
                notes += spark_rows(folder, Path(scratch), r, floor, arguments.worker_memory)
            if index == 0 and patients <= PANDAS_MAX:
                seconds, by_pandas = pandas_episodes(folder)
                engine = derive(read_cohort(folder, today=TODAY), load_definitions("kdigo2021"))
                ours = engine.episodes.to_pandas()[["patient_id", "start_date", "state"]]
                key = ["patient_id", "start_date", "state"]
                ours["start_date"] = pd.to_datetime(ours.start_date)
                by_pandas["start_date"] = pd.to_datetime(by_pandas.start_date)
                same = ours.merge(by_pandas[key], on=key, how="outer", indicator=True)
                agree = (same._merge == "both").mean()
                notes.append(
                    f"pandas group-by-apply on {patients:,}: {seconds:.1f} s for the "
                    f"episodes alone = {seconds / r['derive']:.1f}× the whole engine; "
                    f"episodes agree {100 * agree:.2f}%"
                )
                if arguments.spark:
                    cohort = read_cohort(folder, today=TODAY)
                    started = time.perf_counter()
                    on_spark = derive(cohort, load_definitions("kdigo2021"), engine="spark")
                    spark_seconds = time.perf_counter() - started
                    equal = all(on_spark.tables()[n].equals(t) for n, t in engine.tables().items())
                    notes.append(
                        f"Spark on {patients:,}: {spark_seconds:.1f} s; outputs "
                        f"{'identical' if equal else 'DIFFERENT'} to DuckDB"
                    )
    for note in notes:
        print(note)


def spark_rows(
    folder: Path, scratch: Path, duck: dict[str, float], floor: float, worker_memory: str
) -> list[str]:
    """Load and derive on Spark local and on a standalone cluster, against the scan floor."""
    scan = scan_seconds(folder)
    # Two workers of one core: shuffle partitions twice the cores, as docs/scale.md advises; the
    # driver collects the derived tables (2g: the outputs of 100,000 children as Arrow).
    cluster_settings = [
        "spark.sql.shuffle.partitions=4",
        f"spark.executor.memory={worker_memory}",
        "spark.driver.memory=2g",
    ]
    runs = [("Spark local[2]", measure_spark(folder, None, []))]
    with standalone_cluster(scratch / "cluster", memory=worker_memory) as cluster:
        runs.append(("Spark cluster 2×1", measure_spark(folder, cluster.url, cluster_settings)))
    lines = [
        f"DuckDB raw scan of the same Parquet files: {scan:.2f} s; DuckDB load + derive "
        f"{duck['load'] + duck['derive']:.1f} s = {(duck['load'] + duck['derive']) / scan:.1f}× it"
    ]
    for name, run in runs:
        total = run["load"] + run["derive"]
        lines.append(
            f"{name}: load {run['load']:.1f} s, session start {run['start']:.1f} s, derive "
            f"{run['derive']:.1f} s; load + derive {total:.1f} s = {total / scan:.1f}× the scan, "
            f"derive {run['derive'] / floor:.1f}× the SQL floor, "
            f"{total / (duck['load'] + duck['derive']):.1f}× DuckDB's load + derive"
        )
    return lines


if __name__ == "__main__":
    main()
