"""``srnskit fhir import`` and ``srnskit fhir export``: a cohort from a FHIR R4 Bundle or Bulk
Data folder, and a cohort as a transaction Bundle or Bulk Data NDJSON (issue 20;
docs/interchange.md "FHIR R4").

The library maps and writes (``sources.fhir``, ``cohort.imported``, ``outputs.exports.fhir``);
these commands only choose and print: a one-line summary on stderr (rows per table, records
skipped and where they are listed), then the skipped records, each reason at most 100 times.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from srnskit.cli.common import (
    CohortPath,
    ForceOption,
    StudyOption,
    TodayOption,
    app,
    echo_skipped,
    echo_warnings,
    load_rules,
    reference_date,
    reports_errors,
    say,
)
from srnskit.errors import UsageError
from srnskit.outputs.words import table_rows

if TYPE_CHECKING:
    pass

__all__: list[str] = []

fhir = typer.Typer(
    help="FHIR R4: import a Bundle or a Bulk Data export; export a cohort as FHIR.",
    no_args_is_help=True,
)
app.add_typer(fhir, name="fhir")


@fhir.command("import")
@reports_errors
def _import(
    source: Annotated[
        Path,
        typer.Argument(
            exists=True,
            metavar="BUNDLE.json|NDJSON_DIR",
            help="A FHIR R4 Bundle (JSON), or a folder of Bulk Data NDJSON files.",
        ),
    ],
    out: Annotated[Path, typer.Option(help="The cohort folder to write.")],
    today: TodayOption = None,
    force: ForceOption = False,
    patient_identifier: Annotated[
        str | None,
        typer.Option(
            "--patient-identifier",
            metavar="SYSTEM",
            help="Take patient_id from the Patient.identifier of this system (default: "
            "Patient.id).",
        ),
    ] = None,
) -> None:
    """Read a FHIR Bundle or Bulk Data export into a cohort folder (validated; all or
    nothing)."""
    from srnskit.atomic import check_apart, check_output_directory
    from srnskit.cohort.imported import SKIPPED_FILE, write_imported
    from srnskit.sources.fhir import read_fhir

    check_apart(out, [source])
    check_output_directory(out, force=force)
    found = read_fhir(source, patient_identifier=patient_identifier)
    result = write_imported(found.rows, out, today=reference_date(today), force=force)
    echo_warnings(result.warnings)
    counts = table_rows(result.counts)
    say(
        f"imported {counts} into {out}; {len(result.skipped)} FHIR record(s) "
        f"skipped ({found.ignored} entered in error), listed in {out / SKIPPED_FILE}",
        err=True,
    )
    if found.not_read:
        say(
            f"{len(found.not_read)} file(s) of {source} not read (neither .ndjson nor "
            f".ndjson.gz): {', '.join(found.not_read)}",
            err=True,
        )
        empty = [table for table, n in result.counts.items() if n == 0]
        if empty:
            say(
                f"warning: no rows in {', '.join(empty)}: were they in the files not read?",
                err=True,
            )
    echo_skipped(result.skipped)


@fhir.command("export")
@reports_errors
def _export(
    cohort: CohortPath,
    out: Annotated[Path, typer.Option(help="The folder to write (bundle.json, or NDJSON).")],
    ndjson: Annotated[
        bool,
        typer.Option("--ndjson", help="One RESOURCE.ndjson per type (Bulk Data), no Bundle."),
    ] = False,
    derived: Annotated[
        bool,
        typer.Option("--derived", help="Add the derived episodes and labels under --definitions."),
    ] = False,
    definitions: Annotated[
        str | None,
        typer.Option(
            "--definitions",
            help="With --derived: seed2023, kdigo2021, ipna2020 or a .toml file.",
        ),
    ] = None,
    study: StudyOption = "seed2023",
    today: TodayOption = None,
    force: ForceOption = False,
) -> None:
    """Write a cohort as a FHIR R4 transaction Bundle (or Bulk Data NDJSON files)."""
    from srnskit.atomic import check_apart, check_output_directory
    from srnskit.cohort.load import read_cohort
    from srnskit.outputs.exports.fhir import write_fhir

    check_apart(out, [cohort])
    check_output_directory(out, force=force)
    if definitions is not None and not derived:
        raise UsageError("--definitions chooses the derived results: give --derived too")
    if derived and definitions is None:
        raise UsageError("--derived needs --definitions NAME (seed2023, kdigo2021, ipna2020)")
    rules = load_rules(definitions, study) if derived and definitions is not None else None
    with read_cohort(cohort, today=reference_date(today)) as loaded:
        echo_warnings(loaded.warnings)
        written = write_fhir(loaded, out, ndjson=ndjson, rules=rules, force=force)
    counts = ", ".join(f"{n} {kind}" for kind, n in written.items())
    target = out if ndjson else out / "bundle.json"
    say(f"wrote {counts} to {target}", err=True)
