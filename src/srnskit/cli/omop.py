"""``srnskit omop import`` and ``srnskit omop export``: a cohort from an OMOP CDM v5.4 database
(a DuckDB file, PostgreSQL, or a Parquet folder, on DuckDB or Spark), and a cohort as one
(a DuckDB file or a Parquet folder); issue 20, docs/interchange.md "OMOP CDM v5.4".

The library reads, maps and writes (``sources.omop``, ``cohort.imported``,
``outputs.exports.omop``); these commands only choose and print: a one-line summary on stderr
(rows per table, records skipped and where they are listed), then the skipped records, each
reason at most 100 times.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

import typer

from srnskit.cli.common import (
    CohortPath,
    ForceOption,
    TodayOption,
    app,
    echo_skipped,
    echo_warnings,
    reference_date,
    reports_errors,
    say,
)
from srnskit.outputs.words import table_rows

if TYPE_CHECKING:
    pass

__all__: list[str] = []

omop = typer.Typer(
    help="OMOP CDM v5.4: import a database into a cohort folder; export a cohort as one.",
    no_args_is_help=True,
)
app.add_typer(omop, name="omop")


@omop.command("import")
@reports_errors
def _import(
    source: Annotated[
        str,
        typer.Argument(
            metavar="URL|PARQUET_DIR",
            help="duckdb:///cdm.duckdb (or a .duckdb path), postgresql://USER@HOST/DB\\[/SCHEMA], "
            "or a folder of Parquet files, one per table (person.parquet, …).",
        ),
    ],
    out: Annotated[Path, typer.Option(help="The cohort folder to write.")],
    today: TodayOption = None,
    force: ForceOption = False,
    engine: Annotated[
        Literal["duckdb", "spark"],
        typer.Option(help="duckdb (default) or spark (reads a Parquet folder on Spark)."),
    ] = "duckdb",
    spark_master: Annotated[
        str | None, typer.Option(help="Spark master URL (default local[2] or $SPARK_MASTER).")
    ] = None,
) -> None:
    """Read an OMOP CDM v5.4 database into a cohort folder (validated; all or nothing)."""
    from srnskit.atomic import check_apart, check_output_directory
    from srnskit.cohort.imported import SKIPPED_FILE, write_imported
    from srnskit.errors import UsageError
    from srnskit.sources.omop import read_omop

    check_apart(out, [source])
    check_output_directory(out, force=force)
    if spark_master is not None and engine != "spark":
        raise UsageError("--spark-master chooses where Spark runs: give --engine spark too")
    connection = None
    if engine == "spark":
        import ibis

        from srnskit.sources.omop.database import is_omop_url

        if is_omop_url(source) or source.endswith(".duckdb"):
            raise UsageError(
                "--engine spark reads a folder of Parquet files, not a database: export its "
                "tables to Parquet first"
            )

        from srnskit.engine.backends import spark_session

        connection = ibis.pyspark.connect(spark_session(spark_master))
    rows = read_omop(source, connection=connection, name=out.name)
    result = write_imported(rows, out, today=reference_date(today), force=force)
    echo_warnings(result.warnings)
    counts = table_rows(result.counts)
    say(
        f"imported {counts} into {out}; {len(result.skipped)} OMOP record(s) "
        f"skipped, listed in {out / SKIPPED_FILE}",
        err=True,
    )
    echo_skipped(result.skipped)


@omop.command("export")
@reports_errors
def _export(
    cohort: CohortPath,
    out: Annotated[
        str,
        typer.Option(
            metavar="URL|DIR",
            help="duckdb:///cdm.duckdb (or a .duckdb path) for one database file, or a folder "
            "for one Parquet file per table.",
        ),
    ],
    today: TodayOption = None,
    force: Annotated[
        bool,
        typer.Option(
            "--force",
            help="Replace an existing --out (a folder only if it holds only srnskit's outputs; "
            "never an input); its vocabulary tables, if any, are kept and used; refused when "
            "it holds tables the export does not write (note, cohort, …).",
        ),
    ] = False,
) -> None:
    """Write a cohort as OMOP CDM v5.4 tables (all or nothing)."""
    from srnskit.atomic import check_apart
    from srnskit.cohort.load import read_cohort
    from srnskit.outputs.exports.omop import export_omop

    check_apart(out, [cohort])
    with read_cohort(cohort, today=reference_date(today)) as loaded:
        echo_warnings(loaded.warnings)
        written = export_omop(loaded, out, force=force)
    counts = table_rows(written.counts)
    vocabulary = (
        "concept ids from its concept table"
        if written.vocabulary == "target"
        else "a minimal concept table (ids from 2,000,000,001)"
    )
    say(f"wrote {counts} to {written.out}, with {vocabulary}", err=True)
    if written.missing_codes:
        say(
            f"warning: {len(written.missing_codes)} code(s) are not in the target's "
            f"concept table and were written as concept 0 with their source value: "
            f"{', '.join(written.missing_codes)}",
            err=True,
        )
