"""``srnskit derive`` and ``srnskit explain``: a cohort's outcomes under a definition set and a
study design, written to files or told for one child (cohort-format.md §3, §4).

The engine computes (``srnskit.engine.derive``), an output writes or renders
(``outputs.writers``, ``outputs.explain``); these commands only choose and print.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import typer

from srnskit.cli.common import (
    CohortPath,
    DefinitionsOption,
    StudyOption,
    TodayOption,
    app,
    echo_warnings,
    load_rules,
    reference_date,
    reports_errors,
)
from srnskit.errors import UsageError

__all__: list[str] = []


@app.command("derive")
@reports_errors
def _derive(
    cohort: CohortPath,
    out: Annotated[Path, typer.Option(help="The folder to write the derived tables to.")],
    definitions: DefinitionsOption = "kdigo2021",
    study: StudyOption = "seed2023",
    engine: Annotated[
        Literal["duckdb", "spark"], typer.Option(help="duckdb (default) or spark.")
    ] = "duckdb",
    spark_master: Annotated[
        str | None, typer.Option(help="Spark master URL (default local[2] or $SPARK_MASTER).")
    ] = None,
    fmt: Annotated[
        Literal["csv", "parquet"], typer.Option("--format", help="csv or parquet.")
    ] = "csv",
    force: Annotated[bool, typer.Option("--force", help="Replace a non-empty --out.")] = False,
    today: TodayOption = None,
) -> None:
    """Episodes, courses and patient outcomes under a definition set (all or nothing)."""
    from srnskit.atomic import check_output_directory
    from srnskit.cohort.load import read_cohort
    from srnskit.engine import derive
    from srnskit.outputs.words import counted
    from srnskit.outputs.writers import write_derived

    chosen, design = load_rules(definitions, study)
    check_output_directory(out, force=force)
    loaded = read_cohort(cohort, today=reference_date(today))
    echo_warnings(loaded.warnings)
    derived = derive(loaded, chosen, study=design, engine=engine, spark_master=spark_master)
    write_derived(derived, out, fmt=fmt, force=force)
    included = derived.flow["steps"][-1]["remaining"]
    typer.echo(
        f"wrote {out}: {counted(derived.patient_outcomes.num_rows, 'patient')} "
        f"({included} included), {counted(derived.courses.num_rows, 'course')}, "
        f"{counted(derived.episodes.num_rows, 'episode')} under {chosen.name}, "
        f"study {design.name}"
    )


@app.command("explain")
@reports_errors
def _explain(
    cohort: CohortPath,
    patient_id: Annotated[str, typer.Argument(help="The patient to explain.")],
    definitions: DefinitionsOption = "kdigo2021",
    study: StudyOption = "seed2023",
    today: TodayOption = None,
) -> None:
    """One patient's story, in order, with the evidence for every label."""
    from srnskit.cohort.load import read_cohort
    from srnskit.engine import derive
    from srnskit.outputs.explain import explain

    chosen, design = load_rules(definitions, study)
    loaded = read_cohort(cohort, today=reference_date(today))
    derived = derive(loaded, chosen, study=design, patient_id=patient_id, analysis=True)
    patients = derived.analysis["patients"] if derived.analysis else None
    if patients is None or patients.num_rows == 0:
        raise UsageError(f"no patient '{patient_id}' in {loaded.path}")
    for line in explain(derived, patient_id, chosen, design):
        typer.echo(line)
