"""``srnskit synth``: a synthetic SRNS cohort of invented children, or its calibration report."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

import typer

from srnskit.cli.common import ForceOption, app, reports_errors, say
from srnskit.errors import UsageError

if TYPE_CHECKING:
    from srnskit.synth.calibration import FigureResult

__all__: list[str] = []

# The report's cohort size when --patients is not given (docs/synthetic.md).
_DEFAULT_PATIENTS = 5000


@app.command("synth")
@reports_errors
def _synth(
    patients: Annotated[
        int | None, typer.Option(help="Number of children (default 5000 for the report).")
    ] = None,
    seed: Annotated[
        int, typer.Option(help="Random seed; the same seed gives the same cohort.")
    ] = 1,
    out: Annotated[Path | None, typer.Option(help="The folder to write.")] = None,
    fmt: Annotated[
        Literal["csv", "parquet"], typer.Option("--format", help="csv or parquet.")
    ] = "csv",
    profile: Annotated[str, typer.Option(help="A shipped profile or a .toml file.")] = "seed2023",
    truth: Annotated[bool, typer.Option("--truth", help="Also write the ground truth.")] = False,
    force: ForceOption = False,
    calibration_report: Annotated[
        bool,
        typer.Option("--calibration-report", help="Print each calibrated figure and its verdict."),
    ] = False,
) -> None:
    """Generate a synthetic SRNS cohort (invented children), or its calibration report."""
    from srnskit.outputs.words import counted
    from srnskit.synth.calibration import calibrate
    from srnskit.synth.generate import write_synthetic_cohort
    from srnskit.synth.profile import load_profile

    if patients is not None and patients < 1:
        raise UsageError(f"--patients must be at least 1, not {patients}")
    if seed < 0:
        raise UsageError(f"--seed must be 0 or more, not {seed}")
    chosen = load_profile(profile)
    count = patients or _DEFAULT_PATIENTS
    if calibration_report:
        _print_calibration(calibrate(chosen, patients=count, seed=seed))
        return
    if out is None:
        raise UsageError("--out is required (the folder to write the cohort to)")
    with _progress(count) as advance:
        summary = write_synthetic_cohort(
            out,
            profile=chosen,
            patients=count,
            seed=seed,
            fmt=fmt,
            with_truth=truth,
            force=force,
            on_chunk=advance,
        )
    say(
        f"wrote {out}: {counted(summary.patients, 'child', 'children')}, "
        f"{counted(summary.measurements, 'measurement')} "
        f"({summary.rows_per_patient:.1f} a child){' and the truth' if truth else ''} "
        f"in {summary.seconds:.1f} s",
        err=True,
    )


def _print_calibration(results: list[FigureResult]) -> None:
    typer.echo(f"{'figure':48} {'target':>9} {'generated':>10} {'tolerance':>10}  verdict")
    for result in results:
        value = "—" if result.value is None else f"{result.value:10.2f}"
        verdict = "ok" if result.passed else "OUT OF TOLERANCE"
        typer.echo(
            f"{result.figure.name:48} {result.target:9.2f} {value:>10} "
            f"{'±' + format(result.figure.tolerance, 'g'):>10}  {verdict}"
        )
    passed = sum(r.passed for r in results)
    typer.echo(f"{passed} of {len(results)} figures within tolerance")


@contextlib.contextmanager
def _progress(total: int) -> Iterator[Callable[[int], None]]:
    """A progress bar on stderr for long runs (more than one chunk); silent otherwise."""
    from rich.progress import Progress

    from srnskit.synth.generate import CHUNK_PATIENTS

    if total <= CHUNK_PATIENTS or not sys.stderr.isatty():
        yield lambda _: None
        return
    with Progress(transient=True) as bar:
        task = bar.add_task("children", total=total)
        yield lambda done: bar.advance(task, done)
