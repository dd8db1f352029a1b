"""``srnskit report``: the study report, the article's Results for a cohort (docs/report.md)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

import typer

from srnskit.cli.common import (
    DateOrderOption,
    DefinitionsOption,
    StudyOption,
    TodayOption,
    app,
    check_distinct_outputs,
    echo_data_warnings,
    echo_warnings,
    load_rules,
    reference_date,
    reports_errors,
    say,
)
from srnskit.errors import UsageError

if TYPE_CHECKING:
    from srnskit.analysis.study.table1 import SummaryChoice

__all__: list[str] = []

# --summary's spelling on the command line → study()'s
SUMMARY_CHOICES: dict[str, SummaryChoice] = {
    "auto": "auto",
    "mean-sd": "mean_sd",
    "median-iqr": "median_iqr",
}
# Each file output's accepted suffixes (lower case) and what it is, for the usage error.
SUFFIXES: dict[str, tuple[tuple[str, ...], str]] = {
    "--out": ((".html", ".htm"), "the report is HTML; give a name ending in .html"),
    "--pdf": ((".pdf",), "the PDF report; give a name ending in .pdf"),
    "--docx": ((".docx",), "the tables are a Word document; give a name ending in .docx"),
}


@app.command("report")
@reports_errors
def _report(
    cohort: Annotated[
        str | None,
        typer.Argument(
            help="A cohort folder, workbook, DuckDB file or registry database URL (default: the "
            "bundled demo cohort).",
        ),
    ] = None,
    out: Annotated[Path, typer.Option(help="The HTML report to write.")] = Path("report.html"),
    definitions: DefinitionsOption = "kdigo2021",
    study: StudyOption = "seed2023",
    pdf: Annotated[Path | None, typer.Option(help="Also write the report as PDF.")] = None,
    docx: Annotated[
        Path | None,
        typer.Option(help="Also write the report's tables as a Word document (.docx)."),
    ] = None,
    figures: Annotated[
        Path | None, typer.Option(help="A folder for the figures (SVG and 300-dpi PNG).")
    ] = None,
    tables: Annotated[Path | None, typer.Option(help="A folder for the tables (CSV).")] = None,
    compare_seed: Annotated[
        bool,
        typer.Option(
            "--compare-seed", help="Set each published figure of the article beside this cohort's."
        ),
    ] = False,
    summary: Annotated[
        Literal["auto", "mean-sd", "median-iqr"],
        typer.Option(
            help="Table 1's summary of continuous variables: auto (mean ± SD when roughly "
            "symmetric, median [IQR] otherwise), mean-sd or median-iqr."
        ),
    ] = "auto",
    force: Annotated[bool, typer.Option("--force", help="Replace existing outputs.")] = False,
    today: TodayOption = None,
    date_order: DateOrderOption = None,
) -> None:
    """The study report: the article's Results for this cohort (HTML, optional PDF)."""
    from srnskit.atomic import check_apart, check_output_directory, check_parents
    from srnskit.cohort.load import read_cohort
    from srnskit.outputs.report.build import build_report, load_for_report, write_report
    from srnskit.outputs.words import counted
    from srnskit.sources.registry import is_database_url

    chosen, design = load_rules(definitions, study)
    files = {"--out": out, "--pdf": pdf, "--docx": docx}
    for option, file in files.items():
        suffixes, what = SUFFIXES[option]
        if file is not None and file.suffix.lower() not in suffixes:
            raise UsageError(f"{option} {file}: {what}")
    check_distinct_outputs(
        {**files, "--figures": figures, "--tables": tables}, folders=("--figures", "--tables")
    )
    for option, given in {**files, "--figures": figures, "--tables": tables}.items():
        if given is not None:
            check_apart(given, [cohort], option=option)
    for folder in (figures, tables):
        if folder is not None:
            check_output_directory(folder, force=force)
    for file in (out, pdf, docx):
        if file is None:
            continue
        if file.exists() and not force:
            raise UsageError(f"{file} already exists; use --force to replace it")
        check_parents(file)
    reference = reference_date(today)
    if cohort is not None and is_database_url(cohort):  # the registry, read as a cohort
        loaded, demo = read_cohort(cohort, today=reference, date_order=date_order), False
    else:
        path = None if cohort is None else Path(cohort)
        loaded, demo = load_for_report(path, reference, date_order=date_order)
    echo_warnings(loaded.warnings)
    report = build_report(
        loaded,
        chosen,
        study=design,
        today=reference,
        compare_seed=compare_seed or demo,
        summary=SUMMARY_CHOICES[summary],
    )
    echo_data_warnings(report.study.data_warnings)
    write_report(
        report, out, pdf=pdf, docx=docx, figures_dir=figures, tables_dir=tables, force=force
    )
    included = report.study.flow["steps"][-1]["remaining"]
    say(
        f"report of {loaded.name} ({counted(included, 'child', 'children')} included, "
        f"{chosen.name}, study {design.name}):",
        *(f"wrote {path.resolve()}" for path in (out, pdf, docx, figures, tables) if path),
        err=True,
    )
