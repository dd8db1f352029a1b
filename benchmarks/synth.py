"""Synthetic-cohort speed and memory: 10k, 100k and 1M children, each in a fresh process.

Prints wall time, children per second, measurement rows per child and peak resident memory, for
two profiles: ``clinic`` (seed2023 with its home dipstick diaries off, clinic visits only: the
reference, comparable with every earlier number, 63.7 M rows at 1M children) and ``diary``
(seed2023 as shipped, with diaries). Goal (issue 4): one million children in ≤ 60 s and ≤ 4 GB
peak on the 2-core reference machine. ``--diary-patients`` sizes the diary runs separately
(they write about five times the rows).

    .venv/bin/python benchmarks/synth.py [--patients 10000 100000 1000000] [--format parquet]
        [--diary-patients 10000 100000]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile

CODE = """
import json, resource, sys, time
from pathlib import Path
from srnskit.synth.generate import write_synthetic_cohort
from srnskit.synth.profile import load_profile
profile = load_profile("seed2023")
if sys.argv[5] == "clinic" and profile.diary is not None:
    off = profile.diary.model_copy(update={"enabled": False})
    profile = profile.model_copy(update={"diary": off})
started = time.perf_counter()
summary = write_synthetic_cohort(Path(sys.argv[1]), profile=profile,
                                 patients=int(sys.argv[2]), seed=1, fmt=sys.argv[3],
                                 with_truth=sys.argv[4] == "truth")
print(json.dumps({"seconds": time.perf_counter() - started,
                  "rows_per_child": summary.rows_per_patient,
                  "measurements": summary.measurements,
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def run(patients: int, fmt: str, truth: bool, profile: str) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as scratch:
        out = subprocess.run(
            [
                sys.executable,
                "-c",
                CODE,
                f"{scratch}/cohort",
                str(patients),
                fmt,
                "truth" if truth else "no",
                profile,
            ],
            check=True,
            capture_output=True,
            text=True,
        )
    result: dict[str, float] = json.loads(out.stdout)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--format", default="parquet", choices=["csv", "parquet"])
    parser.add_argument("--truth", action="store_true", help="also write the truth tables")
    parser.add_argument("--diary-patients", type=int, nargs="*", default=None)
    arguments = parser.parse_args()
    diary_patients = (
        arguments.patients if arguments.diary_patients is None else arguments.diary_patients
    )
    print(
        f"{'profile':8} {'children':>10} {'format':8} {'seconds':>8} {'children/s':>11} "
        f"{'rows/child':>10} {'rows':>12} {'peak MB':>8} {'1M children, s':>15}"
    )
    for profile, sizes in (("clinic", arguments.patients), ("diary", diary_patients)):
        for patients in sizes:
            r = run(patients, arguments.format, arguments.truth, profile)
            print(
                f"{profile:8} {patients:>10,} {arguments.format:8} {r['seconds']:>8.1f} "
                f"{patients / r['seconds']:>11,.0f} {r['rows_per_child']:>10.1f} "
                f"{int(r['measurements']):>12,} {r['peak_mb']:>8.0f} "
                f"{r['seconds'] * 1_000_000 / patients:>15.0f}"
            )


if __name__ == "__main__":
    main()
