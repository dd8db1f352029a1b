"""The study report's speed: the demo cohort from a cold start, and a large synthetic cohort.

Each run is a fresh process (`srnskit report`, imports included), timed by wall clock, three
times for the demo (median) and once for the large cohort (its synthetic cohort is generated
first, untimed). The demo is timed with an empty cache folder (the chart bundle and the compiled
SQL plans are made on the way) and with the cache a previous run left. Prints a table.

    .venv/bin/python benchmarks/report.py [--patients 100000] [--against REV]

``--against REV`` also times the large cohort's report on the code of commit REV (a temporary git
worktree, imported through PYTHONPATH) on the same files in the same run, prints the ratio of
this tree's time to REV's, and names the report's tables (CSV) that differ between the two.
"""

from __future__ import annotations

import argparse
import contextlib
import filecmp
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from against import worktree

from srnskit.synth.generate import write_synthetic_cohort
from srnskit.synth.profile import load_profile

SRNSKIT = Path(sys.executable).with_name("srnskit")


def timed_report(args: list[str], cache: Path | None = None, src: Path | None = None) -> float:
    """Wall time of one `srnskit report` process; ``cache``: a cache folder to use (cold);
    ``src``: another tree's source folder to run instead of this one (PYTHONPATH)."""
    env = dict(os.environ)
    if cache:
        env["XDG_CACHE_HOME"] = str(cache)
    if src:
        env["PYTHONPATH"] = str(src)
    started = time.perf_counter()
    subprocess.run(
        [str(SRNSKIT), "report", *args, "--force"], check=True, capture_output=True, env=env
    )
    return time.perf_counter() - started


def peak_mb() -> float:
    """The largest resident set of any process run so far (report and its workers), in MB."""
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def differing_tables(ours: Path, theirs: Path) -> list[str]:
    """The CSV tables of two reports' --tables folders that differ (or exist in one only)."""
    names = sorted({p.name for p in ours.iterdir()} | {p.name for p in theirs.iterdir()})
    return [
        n
        for n in names
        if not ((ours / n).exists() and (theirs / n).exists())
        or not filecmp.cmp(ours / n, theirs / n, shallow=False)
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=100_000)
    parser.add_argument(
        "--against", metavar="REV", help="also time the large cohort on commit REV's code"
    )
    arguments = parser.parse_args()
    with contextlib.ExitStack() as stack:
        reference = stack.enter_context(worktree(arguments.against)) if arguments.against else None
        run(arguments, reference)


def run(arguments: argparse.Namespace, reference: Path | None) -> None:
    print(f"{'cohort':>28} {'children':>10} {'wall s':>8} {'peak MB':>8}  outputs")
    with tempfile.TemporaryDirectory() as scratch:
        out = Path(scratch)
        cold = [
            timed_report(["--out", str(out / "demo.html")], cache=out / f"cache{i}")
            for i in range(3)
        ]
        print(
            f"{'demo, empty cache (median 3)':>28} {58:>10} {statistics.median(cold):>8.1f} "
            f"{peak_mb():>8.0f}  HTML"
        )
        timed_report(["--out", str(out / "demo.html")])  # fills the user's cache if empty
        demo = [timed_report(["--out", str(out / "demo.html")]) for _ in range(3)]
        print(
            f"{'demo, warm cache (median 3)':>28} {58:>10} {statistics.median(demo):>8.1f} "
            f"{peak_mb():>8.0f}  HTML"
        )
        with_pdf = timed_report(["--out", str(out / "demo.html"), "--pdf", str(out / "d.pdf")])
        print(f"{'demo':>28} {58:>10} {with_pdf:>8.1f} {peak_mb():>8.0f}  HTML + PDF")
        cohort = out / "large"
        write_synthetic_cohort(
            cohort,
            profile=load_profile("seed2023"),
            patients=arguments.patients,
            seed=4,
            fmt="parquet",
        )
        ours = out / "tables"
        large = timed_report([str(cohort), "--out", str(out / "large.html"), "--tables", str(ours)])
        print(
            f"{'synthetic (parquet)':>28} {arguments.patients:>10,} {large:>8.1f} "
            f"{peak_mb():>8.0f}  HTML"
        )
        if reference is not None:
            theirs = out / "tables-reference"
            old = timed_report(
                [str(cohort), "--out", str(out / "old.html"), "--tables", str(theirs)],
                src=reference,
            )
            label = f"same, on {arguments.against[:10]}"
            print(
                f"{label:>28} {arguments.patients:>10,} {old:>8.1f} {peak_mb():>8.0f}  HTML"
                f"  (this tree × {large / old:.2f})"
            )
            differ = differing_tables(ours, theirs)
            print(f"tables that differ: {', '.join(differ) if differ else 'none'}")


if __name__ == "__main__":
    main()
