"""Reading a cohort: read + validate + load (``read_cohort``) of one cohort as Parquet and as CSV.

Issue 21 part 5: a million children (63.7 M measurement rows, clinic-only seed2023 profile, as
``benchmarks/derive.py`` makes them) read, validated and loaded in at most 30 s and 8 GB from
Parquet on the 2-core reference machine, and the same cohort as CSV measured. Prints, for each
format, the wall time and peak memory of ``read_cohort`` in a fresh process, where validation's
time goes (the checks' share: read + validate without the load, ``check_cohort``), and the ratio
to the floor measured just before it, also in a fresh process: DuckDB alone reading the same
Parquet files into tables (no checks, no types read, nothing made canonical), which no load can
beat. Parquet is measured ``--runs`` times (default 3; floor, then load, each time) with the
median: the machine's speed drifts within minutes, so one floor is no yardstick for a later load.
The CSV copy is written by DuckDB from the Parquet files (the same rows; dates ISO, numbers
as DuckDB writes them), with the cohort's ``cohort.toml``.

    .venv/bin/python benchmarks/load.py [--patients 1000000] [--cohort DIR] [--formats parquet csv]
                                        [--runs 3]

``--cohort DIR`` reads a folder of Parquet tables already written (else one is generated, seed 3,
clinic-only, in a temporary folder). Each line ends with the machine's 1-minute load average
when it was measured: on a shared machine, wall time follows the load.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb

from srnskit.synth.generate import write_synthetic_cohort
from srnskit.synth.profile import load_profile

sys.path.insert(0, str(Path(__file__).resolve().parent))
from derive import clinic_only  # benchmarks/derive.py

HERE = Path(__file__).resolve().parent

# One fresh process: argv = cohort folder, then "load" (read_cohort), "check" (check_cohort) or
# "floor" (``derive.scan_seconds``: DuckDB alone copies the Parquet files into tables), then
# the benchmarks folder (where derive.py lies).
CHILD = """
import json, resource, sys, time, datetime as dt
from pathlib import Path
if sys.argv[2] == "floor":
    sys.path.insert(0, sys.argv[3])
    from derive import scan_seconds
    seconds, rows = scan_seconds(Path(sys.argv[1])), None
else:
    from srnskit.cohort.load import check_cohort, read_cohort
    started = time.perf_counter()
    if sys.argv[2] == "load":
        cohort = read_cohort(Path(sys.argv[1]), today=dt.date(2026, 12, 1))
        rows = cohort.con.execute("SELECT count(*) FROM measurements").fetchone()[0]
    else:
        problems = check_cohort(Path(sys.argv[1]), today=dt.date(2026, 12, 1))
        rows = sum(p.severity == "error" for p in problems)
    seconds = time.perf_counter() - started
print(json.dumps({"seconds": seconds, "rows": rows,
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def child(folder: Path, what: str) -> dict[str, float]:
    """``read_cohort`` ("load"), ``check_cohort`` ("check") or the floor ("floor") of
    ``folder`` in a fresh process: its seconds (after the imports), rows (None for the floor)
    and peak memory."""
    out = subprocess.run(
        [sys.executable, "-c", CHILD, str(folder), what, str(HERE)],
        check=True,
        capture_output=True,
        text=True,
    )
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def as_csv(parquet: Path, target: Path) -> None:
    """The Parquet cohort ``parquet`` written as CSV files into ``target`` by DuckDB."""
    target.mkdir()
    con = duckdb.connect()
    for table in sorted(parquet.glob("*.parquet")):
        source = str(table).replace("'", "''")
        out = str(target / f"{table.stem}.csv").replace("'", "''")
        con.execute(f"COPY (SELECT * FROM read_parquet('{source}')) TO '{out}' (HEADER)")
    con.close()
    for settings in parquet.glob("cohort.toml"):
        shutil.copy(settings, target / settings.name)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=1_000_000)
    parser.add_argument("--cohort", type=Path, help="a folder of Parquet tables already written")
    parser.add_argument("--formats", nargs="+", default=["parquet", "csv"])
    parser.add_argument("--runs", type=int, default=3, help="Parquet runs (floor, then load)")
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        parquet = arguments.cohort
        if parquet is None:
            parquet = Path(scratch) / "parquet"
            profile = clinic_only(load_profile("seed2023"))
            write_synthetic_cohort(
                parquet, profile=profile, patients=arguments.patients, seed=3, fmt="parquet"
            )
        print(
            f"{'format':>8} {'run':>4} {'rows':>12} {'check s':>8} {'floor s':>8} {'load s':>7} "
            f"{'× floor':>8} {'peak MB':>8} {'load avg':>9}"
        )
        for fmt in arguments.formats:
            folder = parquet
            if fmt == "csv":
                folder = Path(scratch) / "csv"
                started = time.perf_counter()
                as_csv(parquet, folder)
                print(f"(CSV copy written in {time.perf_counter() - started:.0f} s)")
            checked = child(folder, "check")
            # Each run the floor, then the load, each in a fresh process, one after the other:
            # the machine's speed drifts within minutes, so each load is read against the
            # floor measured just before it. CSV once: its floor is the Parquet files'.
            runs = arguments.runs if fmt == "parquet" else 1
            ratios, seconds = [], []
            for run in range(1, runs + 1):
                floor = child(parquet, "floor")["seconds"]
                loaded = child(folder, "load")
                ratios.append(loaded["seconds"] / floor)
                seconds.append(loaded["seconds"])
                check = f"{checked['seconds']:>8.1f}" if run == 1 else f"{'':>8}"
                print(
                    f"{fmt:>8} {run:>4} {int(loaded['rows']):>12,} {check} {floor:>8.1f} "
                    f"{loaded['seconds']:>7.1f} {ratios[-1]:>8.1f} {loaded['peak_mb']:>8.0f} "
                    f"{os.getloadavg()[0]:>9.1f}",
                    flush=True,
                )
            if runs > 1:
                print(
                    f"{fmt:>8} {'med':>4} {'':>30} {statistics.median(seconds):>7.1f} "
                    f"{statistics.median(ratios):>8.1f}"
                )


if __name__ == "__main__":
    main()
