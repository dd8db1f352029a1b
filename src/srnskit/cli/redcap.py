"""``srnskit redcap dictionary|import|export``: a REDCap project for the cohort format, its
exports read into a cohort folder, a cohort written as REDCap's import file (issue 20;
docs/interchange.md, REDCap).

The API token comes from ``--token-file`` or ``SRNSKIT_REDCAP_TOKEN``, never from the command
line (where other users of the machine and the shell's history would see it), and is never
printed.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from srnskit.cli.common import (
    CohortPath,
    DateOrderOption,
    TodayOption,
    app,
    echo_data_warnings,
    echo_skipped,
    reference_date,
    reports_errors,
    say,
)
from srnskit.errors import UsageError
from srnskit.outputs.words import table_rows
from srnskit.schema.problems import problem_lines

if TYPE_CHECKING:
    from srnskit.sources.redcap import RedcapApi

__all__: list[str] = []

redcap_app = typer.Typer(
    help="REDCap: a data dictionary for the cohort format, a project's export read into a "
    "cohort, a cohort written as REDCap's import file.",
    no_args_is_help=True,
)
app.add_typer(redcap_app, name="redcap")

ApiOption = Annotated[
    str | None,
    typer.Option(
        "--api",
        metavar="URL",
        help="The project's REDCap API URL (https://SERVER/api/).",
        show_default=False,
    ),
]
TokenFileOption = Annotated[
    Path | None,
    typer.Option(
        "--token-file",
        help="A file holding the project's API token alone (default: $SRNSKIT_REDCAP_TOKEN).",
        show_default=False,
    ),
]
ForceOption = Annotated[
    bool,
    typer.Option(
        "--force",
        help="Replace an existing --out (a folder only if it holds only srnskit's outputs; "
        "never an input).",
    ),
]


def _api(url: str, token_file: Path | None) -> RedcapApi:
    """The project's API client; the URL is checked before the token is read."""
    from srnskit.sources.redcap import RedcapApi, read_token, token_file_warning

    RedcapApi(url, "")
    token = read_token(token_file)
    if token_file is not None:
        warning = token_file_warning(token_file)
        if warning:
            echo_data_warnings([warning])
    return RedcapApi(url, token)


@redcap_app.command("dictionary")
@reports_errors
def _dictionary(
    out: Annotated[
        Path | None,
        typer.Option("--out", help="The data dictionary to write (.csv).", show_default=False),
    ] = None,
    force: ForceOption = False,
    api: ApiOption = None,
    token_file: TokenFileOption = None,
) -> None:
    """Write REDCap's data dictionary for the cohort format (--api: upload it, set repeating).

    With --api the dictionary replaces the instruments of a project in development status,
    and the measurements, treatments, adverse_events and events instruments are made
    repeating."""
    from srnskit.atomic import atomic_file, check_apart
    from srnskit.sources.redcap import build_dictionary, redcap_mapping

    if out is None and api is None:
        raise UsageError("give --out FILE.csv, --api URL, or both")
    if token_file is not None and api is None:
        raise UsageError("--token-file goes with --api URL")
    if out is not None and out.suffix.lower() != ".csv":
        raise UsageError(
            f"{out}: REDCap uploads a data dictionary as .csv; give a name ending in .csv"
        )
    if out is not None:
        check_apart(out, [token_file])
    mapping = redcap_mapping()
    dictionary = build_dictionary(mapping)
    repeating = [t.instrument for t in mapping.tables.values() if t.repeating]
    own = mapping.tables["patients"].instrument
    if out is not None:
        with atomic_file(out, force=force) as temporary:
            temporary.write_text(dictionary.csv_text(), encoding="utf-8")
        say(
            f"wrote {out}: {len(dictionary.fields)} fields in "
            f"{len(dictionary.forms)} instruments ({own}; repeating: {', '.join(repeating)})",
            err=True,
        )
    if api is None:
        say(
            "next, in REDCap: Project Setup > Data Dictionary > Upload File > Commit "
            "Changes; then Project Setup > 'Enable optional modules and customizations' > "
            f"'Repeating instruments and events' > Enable, tick {', '.join(repeating)}, Save (or "
            "run this command with --api URL to do both)",
            err=True,
        )
        return
    client = _api(api, token_file)
    fields = client.import_metadata(dictionary)
    instruments = client.import_repeating(repeating)
    say(
        f"{client.shown}: uploaded {fields} fields; {instruments} repeating "
        f"instruments ({', '.join(repeating)})",
        err=True,
    )


@redcap_app.command("import")
@reports_errors
def _import(
    out: Annotated[Path, typer.Option("--out", help="The cohort folder to write.")],
    export: Annotated[
        Path | None,
        typer.Argument(
            exists=True,
            dir_okay=False,
            metavar="EXPORT.csv",
            help="A REDCap export (CSV, raw or labels) of a project made from the dictionary.",
            show_default=False,
        ),
    ] = None,
    dictionary: Annotated[
        Path | None,
        typer.Option(
            "--dictionary",
            exists=True,
            dir_okay=False,
            help="The project's data dictionary (.csv; default: srnskit's own, or the server's "
            "with --api).",
            show_default=False,
        ),
    ] = None,
    today: TodayOption = None,
    force: ForceOption = False,
    api: ApiOption = None,
    token_file: TokenFileOption = None,
) -> None:
    """Read a REDCap export (a file, or the records through --api) into a cohort folder.

    The rows are validated first and written all or nothing; every record that maps to
    nothing in the format is listed in the --out folder's import/skipped.csv."""
    from srnskit.atomic import check_apart, check_output_directory
    from srnskit.cohort.imported import SKIPPED_FILE, write_imported
    from srnskit.sources.redcap import read_dictionary, read_export, read_export_file, shown_url

    if export is not None and api is not None:
        raise UsageError(
            f"{export} and --api {shown_url(api)} are alternatives: give the REDCap export "
            "file, or --api URL to read the project's records from the server, not both"
        )
    if export is None and api is None:
        raise UsageError(
            "give a REDCap export file (EXPORT.csv), or --api URL to read the project's records"
        )
    if token_file is not None and api is None:
        raise UsageError("--token-file goes with --api URL")
    check_apart(out, [export, dictionary, token_file])
    check_output_directory(out, force=force)
    project = read_dictionary(dictionary) if dictionary is not None else None
    if export is not None:
        rows = read_export_file(export, project, name=out.name)
        source = str(export)
    else:
        client = _api(str(api), token_file)
        project = project or client.export_metadata()
        rows = read_export(client.export_records(), project, source=client.shown, name=out.name)
        source = client.shown
    result = write_imported(rows, out, today=reference_date(today), force=force)
    for line in problem_lines(result.warnings):
        typer.echo(line, err=True)
    counts = table_rows(result.counts)
    say(
        f"imported {source} into {out}: {counts}; {len(result.skipped)} record(s) "
        f"skipped (listed in {out / SKIPPED_FILE})",
        err=True,
    )
    echo_skipped(result.skipped)


@redcap_app.command("export")
@reports_errors
def _export(
    cohort: CohortPath,
    out: Annotated[Path, typer.Option("--out", help="REDCap's import file to write (.csv).")],
    force: ForceOption = False,
    today: TodayOption = None,
    date_order: DateOrderOption = None,
) -> None:
    """Write a cohort as REDCap's import file (raw values) for a project made from the dictionary.

    One row per patient, then one per instance of each repeating instrument; load it with
    REDCap's Data Import Tool."""
    from srnskit.atomic import check_apart
    from srnskit.cohort.load import read_cohort
    from srnskit.outputs.exports.redcap import redcap_export, write_redcap_export

    if out.suffix.lower() != ".csv":
        raise UsageError(f"{out}: REDCap imports a .csv file; give a name ending in .csv")
    check_apart(out, [cohort])
    with read_cohort(cohort, today=reference_date(today), date_order=date_order) as loaded:
        export = redcap_export(loaded)
    write_redcap_export(export, out, force=force)
    counts = ", ".join(f"{n} {name}" for name, n in export.counts.items())
    say(f"wrote {out}: {len(export.rows)} rows ({counts})", err=True)
    if export.left_out:
        echo_data_warnings(
            [
                f"{len(export.left_out)} column(s) beyond the cohort format have no field in the "
                f"REDCap project and were left out: {', '.join(export.left_out)}"
            ]
        )
