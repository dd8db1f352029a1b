"""``srnskit validate`` and ``srnskit template``: check a cohort, or start one (cohort-format.md
§1)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from srnskit.atomic import atomic_file
from srnskit.cli.common import (
    CohortPath,
    DateOrderOption,
    TodayOption,
    app,
    reference_date,
    reports_errors,
    say,
)
from srnskit.cohort.validate import validate_raw_cohort
from srnskit.errors import UsageError
from srnskit.outputs.words import table_rows
from srnskit.schema.problems import problem_lines
from srnskit.sources.files import read_raw_cohort
from srnskit.sources.template import write_template

__all__: list[str] = []


@app.command("validate")
@reports_errors
def _validate(
    cohort: CohortPath,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON report.")] = False,
    today: TodayOption = None,
    date_order: DateOrderOption = None,
) -> None:
    """Check a cohort and list every problem (table:row:column: severity: message)."""
    raw = read_raw_cohort(cohort)
    problems = validate_raw_cohort(raw, today=reference_date(today), date_order=date_order)
    errors = sum(p.severity == "error" for p in problems)
    warnings = len(problems) - errors
    if as_json:
        report = {
            "cohort": str(cohort),
            "valid": errors == 0,
            "errors": errors,
            "warnings": warnings,
            "rows": {name: table.rows for name, table in raw.tables.items()},
            "problems": [p.to_dict() for p in problems],
        }
        typer.echo(json.dumps(report, indent=2))
    else:
        for line in problem_lines(problems):
            typer.echo(line)
        rows = table_rows({name: t.rows for name, t in raw.tables.items()})
        verdict = "valid" if errors == 0 else "NOT valid"
        read = f"({rows})" if rows else "(no table read)"
        say(f"{cohort}: {verdict}: {errors} error(s), {warnings} warning(s) {read}", err=True)
    raise typer.Exit(1 if errors else 0)


@app.command("template")
@reports_errors
def _template(
    out: Annotated[Path, typer.Option("--out", help="The workbook to write (.xlsx).")],
    force: Annotated[bool, typer.Option("--force", help="Replace an existing file.")] = False,
) -> None:
    """Write an empty cohort workbook with drop-down lists and a sheet explaining each column."""
    if out.suffix.lower() != ".xlsx":
        raise UsageError(f"{out}: the template is an Excel workbook; give a name ending in .xlsx")
    with atomic_file(out, force=force) as temporary:
        write_template(temporary)
    say(f"wrote {out}", err=True)
