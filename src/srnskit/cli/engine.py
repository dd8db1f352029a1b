"""``srnskit derive`` and ``srnskit explain``: a cohort's outcomes under a definition set and a
study design, written to files or told for one child (cohort-format.md §3, §4).

The engine computes (``srnskit.engine.derive``), an output writes or renders
(``outputs.writers``, ``outputs.explain``, ``outputs.timeline`` for ``explain --plot``); these
commands only choose and print (``cli.common.say``). Both print on stderr, as
``srnskit: warning: …`` (``cli.common.echo_data_warnings``, as ``report`` does), what the data
cannot support (``Derived.warnings``). derive's answer is its folder: on stderr it says
how many children each inclusion step excluded, with the reason in words
(``schema.EXCLUSION_WORDS``, docs/clinical-rules.md "Who the study includes"), then
``srnskit: wrote OUT: …``. explain's story is its answer, on stdout; ``--plot`` says
``srnskit: wrote FILE: the timeline`` on stderr.

``--engine spark`` runs where ``--spark-master`` says, configured by the user's own
``spark-defaults.conf`` and ``--spark-conf KEY=VALUE`` (repeatable, wins; docs/scale.md). On a
folder of Parquet tables, a URI Spark reads (``hdfs://``, ``s3a://``, ``file://``) or Spark's
catalog (``--spark-tables DB``), Spark reads, validates and loads the cohort itself
(``engine.spark_cohort``); other cohorts are read here and handed to Spark as Parquet. With
``--format parquet`` Spark's executors write the derived tables (``NAME.parquet/`` part files,
``engine.derive.derive_kept``); CSV is written here from the tables brought back.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

import typer

from srnskit.cli.common import (
    DateOrderOption,
    DefinitionsOption,
    ForceOption,
    StudyOption,
    TodayOption,
    app,
    echo_data_warnings,
    echo_warnings,
    load_rules,
    reference_date,
    reports_errors,
    say,
)
from srnskit.errors import UsageError

if TYPE_CHECKING:
    from srnskit.cohort.forms import DateOrder
    from srnskit.definitions.model import DefinitionSet
    from srnskit.engine import Derived, DerivedOnEngine
    from srnskit.engine.backends import Backend
    from srnskit.studies import StudyDesign

__all__: list[str] = []

# A cohort path, or a registry's database URL (sqlite:///…, postgresql+psycopg://…): the registry
# read as a cohort (registry.md §1). A path that does not exist is read_cohort's usage error.
CohortOrDatabase = Annotated[
    str,
    typer.Argument(
        metavar="COHORT",
        help="A folder of CSV/Parquet tables, an .xlsx workbook, a .duckdb file or a registry "
        "database URL.",
    ),
]


# derive's COHORT: none with --spark-tables (the cohort is in Spark's catalog).
OptionalCohort = Annotated[
    str | None,
    typer.Argument(
        metavar="COHORT",
        help="A folder of CSV/Parquet tables (or a URI Spark reads, with --engine spark), an "
        ".xlsx workbook, a .duckdb file or a registry database URL; none with --spark-tables.",
        show_default=False,
    ),
]


@app.command("derive")
@reports_errors
def _derive(
    cohort: OptionalCohort = None,
    out: Annotated[
        str | None,
        typer.Option(
            metavar="FOLDER",
            help="The folder to write the derived tables to; with --engine spark --format "
            "parquet, also a URI of the cluster's file system (hdfs://…, s3a://…).",
        ),
    ] = None,
    definitions: DefinitionsOption = "kdigo2021",
    study: StudyOption = "seed2023",
    engine: Annotated[
        Literal["duckdb", "spark"], typer.Option(help="duckdb (default) or spark.")
    ] = "duckdb",
    spark_master: Annotated[
        str | None,
        typer.Option(
            metavar="URL",
            help="Spark master URL (default $SPARK_MASTER, else spark.master of your "
            "spark-defaults.conf, else local[2]).",
        ),
    ] = None,
    spark_conf: Annotated[
        list[str] | None,
        typer.Option(
            metavar="KEY=VALUE",
            help="A Spark setting (repeatable); wins over spark-defaults.conf and srnskit's "
            "defaults.",
        ),
    ] = None,
    spark_tables: Annotated[
        str | None,
        typer.Option(
            metavar="DB",
            help="Read the cohort from Spark's catalog: the tables DB.patients, "
            "DB.measurements, … (with --engine spark, instead of COHORT).",
        ),
    ] = None,
    fmt: Annotated[
        Literal["csv", "parquet"], typer.Option("--format", help="csv or parquet.")
    ] = "csv",
    force: ForceOption = False,
    today: TodayOption = None,
    date_order: DateOrderOption = None,
) -> None:
    """Episodes, courses and patient outcomes under a definition set (all or nothing)."""
    from srnskit.atomic import (
        check_apart,
        check_output_directory,
        check_scheme_path,
        is_uri,
        location_file,
    )
    from srnskit.outputs.words import counted
    from srnskit.outputs.writers import write_derived

    if out is None:
        raise UsageError("Missing option '--out'.")
    for location in (cohort, out):
        if location is not None:
            check_scheme_path(location)
    if is_uri(out) and not (engine == "spark" and fmt == "parquet"):
        raise UsageError(
            f"--out {out} is a URI: only Spark's executors write there (--engine spark "
            "--format parquet); otherwise give a local folder"
        )
    # A URI stays the text it is (a Path would make hdfs://nn/x into hdfs:/nn/x)
    target: Path | str = out if is_uri(out) else Path(out)
    if spark_tables is not None and engine != "spark":
        raise UsageError("--spark-tables needs --engine spark")
    if spark_tables is not None and cohort is not None:
        raise UsageError("give COHORT or --spark-tables DB, not both")
    if cohort is None and spark_tables is None:
        raise UsageError("Missing argument 'COHORT' (or, with --engine spark, --spark-tables DB).")
    from srnskit.engine.backends import BACKENDS
    from srnskit.sources.registry import is_database_url

    # DuckDB reads a local folder or file, or a registry's database: a file system's URI is
    # Spark's (said before anything starts, not as a path that does not exist)
    remote = cohort is not None and is_uri(cohort) and not is_database_url(str(cohort))
    if remote and engine != "spark":
        here = location_file(str(cohort))  # file:///x, file:c1, duckdb:///x.duckdb
        raise UsageError(
            f"{cohort} is a URI: only Spark reads a cohort folder at a URI (--engine spark); "
            + (f"here give its path, {here}" if here is not None else "here give a local path")
        )
    local = cohort is not None and not is_uri(cohort)
    if local and not Path(str(cohort)).exists():  # said before Spark starts, as DuckDB says it
        raise UsageError(f"{cohort}: no such file or directory")
    chosen, design = load_rules(definitions, study)
    check_apart(target, [cohort] if cohort is not None else [])
    if isinstance(target, Path):
        check_output_directory(target, force=force)
    _start_spark(engine, spark_master, spark_conf or [])
    if isinstance(target, str):  # said before any work, as for a local folder
        from srnskit.engine.backends.spark import spark_session
        from srnskit.engine.backends.spark_out import check_output_uri

        check_output_uri(spark_session(), target, force=force)
    # Spark writes Parquet itself, from its executors; CSV (small outputs) is written here
    kept = fmt == "parquet" and BACKENDS[engine].writes_parts
    with _derived(
        cohort, spark_tables, chosen, design, engine, spark_master, today, date_order, kept=kept
    ) as derived:
        echo_data_warnings(derived.warnings)
        write_derived(derived, target, fmt=fmt, force=force)
    included = derived.flow["steps"][-1]["remaining"]
    rows = derived.rows()
    say(
        *_excluded_lines(derived.flow),
        f"wrote {out}: {counted(rows['patient_outcomes'], 'patient')} "
        f"({included} included), {counted(rows['courses'], 'course')}, "
        f"{counted(rows['episodes'], 'episode')} under {chosen.name}, "
        f"study {design.name}",
        err=True,
    )


@app.command("explain")
@reports_errors
def _explain(
    cohort: CohortOrDatabase,
    patient_id: Annotated[str, typer.Argument(help="The patient to explain.")],
    definitions: DefinitionsOption = "kdigo2021",
    study: StudyOption = "seed2023",
    plot: Annotated[
        Path | None,
        typer.Option(help="Also draw the patient's timeline to FILE.svg, FILE.png or FILE.html."),
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Replace an existing --plot file.")
    ] = False,
    today: TodayOption = None,
    date_order: DateOrderOption = None,
) -> None:
    """One patient's story, in order, with the evidence for every label; --plot draws it."""
    from srnskit.cohort.load import read_cohort
    from srnskit.engine import derive
    from srnskit.outputs.explain import explain, no_such_patient
    from srnskit.sources.registry import redact_url

    if plot is not None:
        from srnskit.atomic import check_apart
        from srnskit.outputs.timeline import check_plot_path

        check_apart(plot, [cohort], option="--plot")
        check_plot_path(plot, force=force)  # a wrong suffix or path says so before any work
    chosen, design = load_rules(definitions, study)
    loaded = read_cohort(cohort, today=reference_date(today), date_order=date_order)
    echo_warnings(loaded.warnings)
    known = loaded.to_arrow("patients").column("patient_id").to_pylist()
    if patient_id not in known:
        raise no_such_patient(patient_id, known, redact_url(cohort))
    derived = derive(loaded, chosen, study=design, patient_id=patient_id, analysis=True)
    echo_data_warnings(derived.warnings)
    say(*explain(derived, patient_id, chosen, design))
    if plot is not None:
        from srnskit.outputs.timeline import timeline, write_timeline

        measurements = loaded.table("measurements")
        rows = measurements.filter(measurements.patient_id == patient_id).to_pyarrow()
        write_timeline(timeline(derived, rows, patient_id, chosen, design), plot, force=force)
        say(f"wrote {plot}: the timeline", err=True)


@contextmanager
def _derived(
    cohort: str | None,
    spark_tables: str | None,
    chosen: DefinitionSet,
    design: StudyDesign,
    engine: Literal["duckdb", "spark"],
    master: str | None,
    today: dt.datetime | None,
    date_order: DateOrder | None,
    *,
    kept: bool = False,
) -> Iterator[Derived | DerivedOnEngine]:
    """The cohort read (by Spark itself where it can: ``spark_reads``) and derived; ``kept``
    (Spark only): the derived tables kept on the executors, which write them within the block
    (``DerivedOnEngine``), else brought back as ``Derived``."""
    from srnskit.engine import derive
    from srnskit.engine.backends import open_backend
    from srnskit.engine.derive import derive_kept, derive_on
    from srnskit.engine.spark_cohort import read_spark_cohort, spark_reads

    def on(backend: Backend, name: str) -> Derived | DerivedOnEngine:
        if kept:
            return derive_kept(backend, chosen, study=design, cohort_name=name)
        return derive_on(backend, chosen, study=design, cohort_name=name)

    if engine == "spark" and (spark_tables is not None or spark_reads(cohort)):
        on_spark = read_spark_cohort(
            cohort,
            database=spark_tables,
            today=reference_date(today),
            date_order=date_order,
            master=master,
        )
        try:
            echo_warnings(on_spark.warnings)
            with on_spark.backend(master=master) as backend:
                yield on(backend, on_spark.name)
        finally:
            on_spark.close()
        return
    from srnskit.cohort.load import read_cohort

    assert cohort is not None  # derive's checks: a COHORT, or --spark-tables with Spark
    loaded = read_cohort(cohort, today=reference_date(today), date_order=date_order)
    echo_warnings(loaded.warnings)
    if kept:
        with open_backend(engine, loaded, spark_master=master) as opened:
            yield on(opened, loaded.name)
        return
    yield derive(loaded, chosen, study=design, engine=engine, spark_master=master)


def _start_spark(engine: str, master: str | None, settings: list[str]) -> None:
    """Start Spark as ``--spark-master`` and ``--spark-conf`` say, before the cohort is read, so
    a configuration Spark refuses is told at once (the engine then uses this session). Raises
    ``UsageError`` for Spark options without ``--engine spark`` or a malformed setting."""
    if engine != "spark":
        if master is not None or settings:
            raise UsageError("--spark-master and --spark-conf need --engine spark")
        return
    from srnskit.engine.backends.spark import parse_spark_conf, spark_session

    spark_session(master, parse_spark_conf(settings))


def _excluded_lines(flow: dict[str, Any]) -> list[str]:
    """One line per inclusion step that excluded anyone, in the flow's order: '3 children
    excluded: <the reason in words>' (each child counted at the first step failed)."""
    from srnskit.outputs.words import counted
    from srnskit.schema import EXCLUSION_WORDS

    return [
        f"{counted(step['excluded'], 'child', 'children')} excluded: "
        f"{EXCLUSION_WORDS.get(step['step'], step['step'])}"
        for step in flow["steps"]
        if step["excluded"]
    ]
