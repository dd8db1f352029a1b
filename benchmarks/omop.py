"""OMOP import speed (issue 20): N synthetic children through OMOP CDM v5.4 on DuckDB.

A synthetic cohort (the seed2023 profile; ``--profile clinic``, the default, turns its home
dipstick diaries off as benchmarks/synth.py's reference does, ``diary`` keeps them: about five
times the rows) is exported once with srnskit's own exporter to a DuckDB file and to a Parquet
folder; then each is imported (``srnskit omop import``'s work: ``read_omop`` then
``write_imported``, validation and the canonical folder included) in a fresh process, and so is
the floor: DuckDB alone reading every row of the same OMOP tables into its own tables, in the
same run. Prints rows read, seconds, rows/s for the import and its two halves, the floor, and the
import's rows/s over the floor's; each line ends with the machine's 1-minute load average when
it was measured (a shared machine's load shows in the ratio, not only in the seconds).

    .venv/bin/python benchmarks/omop.py [--patients 100000] [--profile clinic|diary] [--repeat 1]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# The OMOP tables the importer reads (sources/omop), whose rows the floor reads too.
READ = (
    "person",
    "observation_period",
    "care_site",
    "visit_occurrence",
    "condition_occurrence",
    "drug_exposure",
    "procedure_occurrence",
    "measurement",
    "observation",
    "death",
    "concept",
)

IMPORT = """
import datetime as dt, json, resource, sys, time
from pathlib import Path
from srnskit.cohort.imported import write_imported
from srnskit.sources.omop import read_omop
started = time.perf_counter()
rows = read_omop(sys.argv[1])
read = time.perf_counter() - started
result = write_imported(rows, Path(sys.argv[2]), today=dt.date(2026, 12, 1))
print(json.dumps({"seconds": time.perf_counter() - started, "read": read,
                  "rows": sum(result.counts.values()), "skipped": len(result.skipped),
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

FLOOR = """
import duckdb, json, resource, sys, time
from pathlib import Path
tables = sys.argv[2].split(",")
started = time.perf_counter()
con = duckdb.connect()
source = sys.argv[1]
if source.endswith(".duckdb"):
    con.execute(f"ATTACH '{source}' AS omop (READ_ONLY)")
    for name in tables:
        con.execute(f"CREATE TABLE {name} AS SELECT * FROM omop.{name}")
else:
    for name in tables:
        path = Path(source) / f"{name}.parquet"
        con.execute(f"CREATE TABLE {name} AS SELECT * FROM read_parquet('{path}')")
rows = sum(con.execute(f"SELECT count(*) FROM {name}").fetchone()[0] for name in tables)
print(json.dumps({"seconds": time.perf_counter() - started, "rows": rows,
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

PREPARE = """
import datetime as dt, json, sys, time
from pathlib import Path
from srnskit.cohort.load import read_cohort
from srnskit.outputs.exports.omop import export_omop
from srnskit.synth.generate import write_synthetic_cohort
from srnskit.synth.profile import load_profile
folder, patients, profile_name = Path(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
profile = load_profile("seed2023")
if profile_name == "clinic" and profile.diary is not None:
    off = profile.diary.model_copy(update={"enabled": False})
    profile = profile.model_copy(update={"diary": off})
started = time.perf_counter()
write_synthetic_cohort(folder / "cohort", profile=profile, patients=patients, seed=1,
                       fmt="parquet")
synthesised = time.perf_counter() - started
with read_cohort(folder / "cohort", today=dt.date(2026, 12, 1)) as cohort:
    loaded = time.perf_counter() - started - synthesised
    counts = export_omop(cohort, folder / "cdm.duckdb").counts
    export_omop(cohort, folder / "parquet")
print(json.dumps({"synth": synthesised, "load": loaded,
                  "export": time.perf_counter() - started - synthesised - loaded,
                  "counts": counts}))
"""


def _run(code: str, *args: str) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-c", code, *args], check=True, capture_output=True, text=True
    )
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _load() -> float:
    return os.getloadavg()[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=100_000)
    parser.add_argument("--profile", choices=["clinic", "diary"], default="clinic")
    parser.add_argument("--repeat", type=int, default=1)
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="srnskit-omop-bench-") as scratch:
        folder = Path(scratch)
        prepared = _run(PREPARE, str(folder), str(arguments.patients), arguments.profile)
        counts = prepared["counts"]
        assert isinstance(counts, dict)
        read_tables = [t for t in READ if t in counts]
        omop_rows = sum(int(counts[t]) for t in read_tables)
        print(
            f"{arguments.patients:,} children ({arguments.profile}): synthesised in "
            f"{prepared['synth']:.1f} s, loaded in {prepared['load']:.1f} s, exported to a "
            f"DuckDB file and a Parquet folder in {prepared['export']:.1f} s; "
            f"{omop_rows:,} OMOP rows in {len(read_tables)} tables "
            f"({int(counts['measurement']):,} measurement rows)"
        )
        print(
            f"{'source':8} {'step':22} {'rows read':>12} {'seconds':>8} {'rows/s':>11} "
            f"{'peak MB':>8} {'× floor':>8} {'load':>5}"
        )
        for _ in range(arguments.repeat):
            for kind, source in (
                ("duckdb", str(folder / "cdm.duckdb")),
                ("parquet", str(folder / "parquet")),
            ):
                started_load = _load()
                floor = _run(FLOOR, source, ",".join(read_tables))
                floor_rate = int(floor["rows"]) / float(floor["seconds"])  # type: ignore[arg-type]
                print(
                    f"{kind:8} {'floor (DuckDB reads)':22} {int(floor['rows']):>12,} "  # type: ignore[arg-type]
                    f"{float(floor['seconds']):>8.1f} {floor_rate:>11,.0f} "  # type: ignore[arg-type]
                    f"{float(floor['peak_mb']):>8.0f} {'1.00':>8} {started_load:>5.1f}"  # type: ignore[arg-type]
                )
                out = folder / f"imported-{kind}-{time.monotonic_ns()}"
                started_load = _load()
                result = _run(IMPORT, source, str(out))
                seconds = float(result["seconds"])  # type: ignore[arg-type]
                read = float(result["read"])  # type: ignore[arg-type]
                for step, spent in (
                    ("import (all)", seconds),
                    ("  read_omop", read),
                    ("  validate and write", seconds - read),
                ):
                    rate = omop_rows / spent
                    print(
                        f"{kind:8} {step:22} {omop_rows:>12,} {spent:>8.1f} {rate:>11,.0f} "
                        f"{float(result['peak_mb']) if step == 'import (all)' else 0:>8.0f} "  # type: ignore[arg-type]
                        f"{rate / floor_rate:>8.3f} {started_load:>5.1f}"
                    )
                print(
                    f"{kind:8} {'(cohort rows written)':22} {int(result['rows']):>12,} "  # type: ignore[arg-type]
                    f"skipped {result['skipped']}"
                )


if __name__ == "__main__":
    main()
