"""Validation speed: reading and checking a cohort of N measurement rows (CSV and Parquet).

Prints a table of median wall time, rows per second, CPU seconds (every thread of the process:
on a shared machine wall time follows the load, CPU time much less) and peak memory over
repeated runs.
Goal (issue 3): one million measurement rows in under 10 s on the 2-core reference machine;
issue 16: at least 700,000 rows/s. Each format's ``floor`` row is DuckDB alone loading the same
files into tables (``read_csv`` of text, ``read_parquet``), measured in the same run in a fresh
process: no validation can be faster than reading its input, and its ratio is validate's rows/s
over the floor's.

    .venv/bin/python benchmarks/validate.py [--rows 1000000] [--repeat 3] [--against REV]

``--against REV`` also times the code of commit REV on the same files, in the same run, and
prints the ratio (this code's rows/s over REV's), the runs of the two alternating; each line ends
with the machine's 1-minute load average when it was measured.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

ANALYTES = [
    ("upcr", "mg/mg", 0.05, 12.0),
    ("albumin", "g/L", 12.0, 45.0),
    ("creatinine", "umol/L", 20.0, 400.0),
    ("height", "cm", 80.0, 180.0),
    ("weight", "kg", 10.0, 70.0),
    ("csa_trough", "ng/mL", 50.0, 400.0),
]


def make_cohort(folder: Path, rows: int, seed: int = 1) -> None:
    """A valid synthetic cohort with ``rows`` measurement rows (60 rows per child)."""
    rng = np.random.default_rng(seed)
    patients = max(1, rows // 60)
    ids = np.array([f"B{i:07d}" for i in range(patients)])
    birth = np.datetime64("2000-01-01") + rng.integers(0, 3000, patients).astype("timedelta64[D]")
    onset = birth + rng.integers(400, 4000, patients).astype("timedelta64[D]")
    pa_patients = pa.table(
        {
            "patient_id": ids,
            "sex": rng.choice(["F", "M"], patients),
            "birth_date": birth.astype(str),
            "onset_date": onset.astype(str),
        }
    )
    owner = rng.integers(0, patients, rows)
    kind = rng.integers(0, len(ANALYTES), rows)
    low = np.array([a[2] for a in ANALYTES])[kind]
    high = np.array([a[3] for a in ANALYTES])[kind]
    days = onset[owner] + rng.integers(0, 1500, rows).astype("timedelta64[D]")
    measurements = pa.table(
        {
            "patient_id": ids[owner],
            "date": days.astype(str),
            "analyte": np.array([a[0] for a in ANALYTES])[kind],
            "value": np.round(low + rng.random(rows) * (high - low), 2).astype(str),
            "unit": np.array([a[1] for a in ANALYTES])[kind],
        }
    )
    for name, table in (("patients", pa_patients), ("measurements", measurements)):
        pacsv.write_csv(table, folder / f"{name}.csv")


def as_parquet(folder: Path, out: Path) -> None:
    out.mkdir()
    for name in ("patients", "measurements"):
        options = pacsv.ConvertOptions(column_types={"value": pa.string()})
        pq.write_table(
            pacsv.read_csv(folder / f"{name}.csv", convert_options=options), out / f"{name}.parquet"
        )


def time_once(cohort: Path, src: Path | None = None) -> tuple[float, float, float, int]:
    """Wall seconds, CPU seconds, peak resident memory (MB) and problem count of one
    validation, in a fresh process so memory and caches do not carry over."""
    code = (
        "import sys, time, datetime as dt, resource\n"
        "from pathlib import Path\n"
        "from srnskit.cohort import check_cohort\n"
        "t, c = time.perf_counter(), time.process_time()\n"
        f"problems = check_cohort(Path({str(cohort)!r}), today=dt.date.fromisoformat("
        f"{dt.date.today().isoformat()!r}))\n"
        "elapsed, cpu = time.perf_counter() - t, time.process_time() - c\n"
        "peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024\n"
        "print(elapsed, cpu, peak, len(problems))\n"
    )
    env = dict(os.environ)
    if src is not None:
        env["PYTHONPATH"] = str(src)
    out = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True, env=env
    )
    elapsed, cpu, peak, problems = out.stdout.split()
    return float(elapsed), float(cpu), float(peak), int(problems)


def time_floor(cohort: Path) -> tuple[float, float]:
    """Wall and CPU seconds for DuckDB alone to load the cohort's files as tables of text (CSV)
    or as stored (Parquet), in a fresh process."""
    code = (
        "import sys, time, duckdb\n"
        "from pathlib import Path\n"
        "con = duckdb.connect()\n"
        "con.execute('SET enable_progress_bar = false')\n"
        "t, c = time.perf_counter(), time.process_time()\n"
        "for f in sorted(Path(sys.argv[1]).iterdir()):\n"
        "    read = ('read_csv(?, all_varchar = true)' if f.suffix == '.csv' else "
        "'read_parquet(?)')\n"
        "    con.execute(f'CREATE TABLE {f.stem} AS SELECT * FROM {read}', [str(f)])\n"
        "print(time.perf_counter() - t, time.process_time() - c)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(cohort)], check=True, capture_output=True, text=True
    )
    elapsed, cpu = out.stdout.split()
    return float(elapsed), float(cpu)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--against", help="a git revision to time on the same files")
    arguments = parser.parse_args()
    if arguments.against:
        from against import worktree

        with worktree(arguments.against) as src:
            _run(arguments, src)
    else:
        _run(arguments, None)


def _run(arguments: argparse.Namespace, reference: Path | None) -> None:
    header = f"{'format':8} {'rows':>10} {'median s':>9} {'rows/s':>11} {'cpu s':>6} {'peak MB':>8}"
    reference_header = f" {'ref s':>7} {'ratio':>6} {'ref cpu':>7} {'cpu ratio':>9}"
    print(f"{header} {'problems':>8}" + (reference_header if reference else ""))
    for rows in arguments.rows:
        with tempfile.TemporaryDirectory() as scratch:
            csv_folder = Path(scratch) / "csv"
            csv_folder.mkdir()
            make_cohort(csv_folder, rows)
            as_parquet(csv_folder, Path(scratch) / "parquet")
            for kind in ("csv", "parquet"):
                runs, ref_runs, floors = [], [], []
                # This code's runs, REV's and the floor's alternate, so a change in the machine's
                # load (other work on a shared machine) falls on all alike.
                for _ in range(arguments.repeat):
                    runs.append(time_once(Path(scratch) / kind))
                    if reference is not None:
                        ref_runs.append(time_once(Path(scratch) / kind, reference))
                    floors.append(time_floor(Path(scratch) / kind))
                median = statistics.median(r[0] for r in runs)
                cpu = statistics.median(r[1] for r in runs)
                peak = max(r[2] for r in runs)
                line = (
                    f"{kind:8} {rows:>10,} {median:>9.2f} {rows / median:>11,.0f} {cpu:>6.2f} "
                    f"{peak:>8.0f} {runs[0][3]:>8}"
                )
                if ref_runs:
                    ref = statistics.median(r[0] for r in ref_runs)
                    ref_cpu = statistics.median(r[1] for r in ref_runs)
                    line += f" {ref:>7.2f} {ref / median:>6.2f}"
                    line += f" {ref_cpu:>7.2f} {ref_cpu / cpu:>9.2f}"
                line += f"  load {os.getloadavg()[0]:.1f}"
                print(line, flush=True)
                floor = statistics.median(f[0] for f in floors)
                floor_cpu = statistics.median(f[1] for f in floors)
                print(
                    f"{'floor':8} {rows:>10,} {floor:>9.2f} {rows / floor:>11,.0f} "
                    f"{floor_cpu:>6.2f} {'':>8} {'':>8} {'':>7} {floor / median:>6.2f}  "
                    f"DuckDB loading {kind} alone",
                    flush=True,
                )


if __name__ == "__main__":
    main()
