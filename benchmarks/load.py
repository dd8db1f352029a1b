"""Reading a cohort: read + validate + load (``read_cohort``) of one cohort as Parquet and as CSV.

Issue 21 part 5: a million children (63.7 M measurement rows, clinic-only seed2023 profile, as
``benchmarks/derive.py`` makes them) read, validated and loaded in at most 30 s and 8 GB from
Parquet on the 2-core reference machine, and the same cohort as CSV measured. Prints, for each
format, the wall time and peak memory of ``read_cohort`` in a fresh process, where validation's
time goes (the checks' share: read + validate without the load, ``check_cohort``), and the ratio
to the floor measured in the same run: DuckDB alone reading the same Parquet files into tables
(no checks, no types read, nothing made canonical), which no load can beat. The CSV copy is
written by DuckDB from the Parquet files (the same rows; dates ISO, numbers as DuckDB writes
them), with the cohort's ``cohort.toml``.

    .venv/bin/python benchmarks/load.py [--patients 1000000] [--cohort DIR] [--formats parquet csv]

``--cohort DIR`` reads a folder of Parquet tables already written (else one is generated, seed 3,
clinic-only, in a temporary folder). Each line ends with the machine's 1-minute load average
when it was measured: on a shared machine, wall time follows the load.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb

from srnskit.synth.generate import write_synthetic_cohort
from srnskit.synth.profile import load_profile

sys.path.insert(0, str(Path(__file__).resolve().parent))
from derive import clinic_only, scan_seconds  # benchmarks/derive.py

# One fresh process: argv = cohort folder, then "load" (read_cohort) or "check" (check_cohort).
CHILD = """
import json, resource, sys, time, datetime as dt
from pathlib import Path
from srnskit.cohort.load import check_cohort, read_cohort
started = time.perf_counter()
if sys.argv[2] == "load":
    cohort = read_cohort(Path(sys.argv[1]), today=dt.date(2026, 12, 1))
    rows = cohort.con.execute("SELECT count(*) FROM measurements").fetchone()[0]
else:
    problems = check_cohort(Path(sys.argv[1]), today=dt.date(2026, 12, 1))
    rows = sum(p.severity == "error" for p in problems)
print(json.dumps({"seconds": time.perf_counter() - started, "rows": rows,
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def child(folder: Path, what: str) -> dict[str, float]:
    """``read_cohort`` ("load") or ``check_cohort`` ("check") of ``folder`` in a fresh process."""
    out = subprocess.run(
        [sys.executable, "-c", CHILD, str(folder), what], check=True, capture_output=True, text=True
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
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        parquet = arguments.cohort
        if parquet is None:
            parquet = Path(scratch) / "parquet"
            profile = clinic_only(load_profile("seed2023"))
            write_synthetic_cohort(
                parquet, profile=profile, patients=arguments.patients, seed=3, fmt="parquet"
            )
        floor = scan_seconds(parquet)
        print(f"floor: DuckDB reads the Parquet files into tables in {floor:.1f} s")
        print(
            f"{'format':>8} {'rows':>12} {'check s':>8} {'load s':>7} {'× floor':>8} "
            f"{'peak MB':>8} {'load avg':>9}"
        )
        for fmt in arguments.formats:
            folder = parquet
            if fmt == "csv":
                folder = Path(scratch) / "csv"
                started = time.perf_counter()
                as_csv(parquet, folder)
                print(f"(CSV copy written in {time.perf_counter() - started:.0f} s)")
            checked = child(folder, "check")
            loaded = child(folder, "load")
            print(
                f"{fmt:>8} {int(loaded['rows']):>12,} {checked['seconds']:>8.1f} "
                f"{loaded['seconds']:>7.1f} {loaded['seconds'] / floor:>8.1f} "
                f"{loaded['peak_mb']:>8.0f} {os.getloadavg()[0]:>9.1f}"
            )


if __name__ == "__main__":
    main()
