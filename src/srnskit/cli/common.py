"""What every command shares: the application, the one error handler, the common options.

Exit codes (cohort-format.md §4): 0 done; 1 invalid input (the problems are printed first);
2 usage; 3 a missing optional component. ``reports_errors`` turns a ``SrnskitError`` into its
message on stderr and its exit code; a bug is not a ``SrnskitError`` and still shows its
traceback.

Where a line goes (docs/decisions.md, "One rule for stdout and stderr"): stdout carries the
answer a command was asked for (problem lines, numbers, a story, a table, a verdict, JSON);
stderr carries what a command says about its own work (what it wrote or imported and where,
progress, warnings, errors), each line starting ``srnskit: ``. ``say`` prints both kinds, each
line escaped.
"""

from __future__ import annotations

import datetime as dt
import functools
import warnings
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal, TypeVar

import typer
from typer._click.core import Command, Context
from typer._click.exceptions import UsageError as ParseError  # typer 0.29 ships its own Click
from typer.core import TyperGroup, TyperOption

from srnskit import __version__
from srnskit.engine.backends.spark_interrupt import take_interrupt
from srnskit.errors import (
    InvalidCohortError,
    InvalidInputError,
    SrnskitError,
    SrnskitWarning,
    UsageError,
)
from srnskit.schema.problems import SHOWN_PER_KIND, Problem, escaped, kind_of, problem_lines

if TYPE_CHECKING:
    from srnskit.definitions.model import DefinitionSet
    from srnskit.sources.interchange import Skipped
    from srnskit.studies import StudyDesign

__all__ = [
    "STOPPED",
    "CohortPath",
    "DateOrderOption",
    "DefinitionsOption",
    "ForceOption",
    "StudyOption",
    "TodayOption",
    "app",
    "check_distinct_outputs",
    "echo_data_warnings",
    "echo_skipped",
    "echo_warnings",
    "load_rules",
    "reference_date",
    "reports_errors",
    "say",
]

F = TypeVar("F", bound=Callable[..., Any])


class _Group(TyperGroup):
    """The application's group: on building it, every command below it (``_tidy``) shows no
    type for a flag and prints its Usage line with every usage error."""

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        _tidy(self)


def _tidy(command: Command) -> None:
    """Flags (``--force``) take no value, so their help shows none: typer 0.29's rich help
    prints ``<bool>`` beside them, which reads as ``--force <bool>`` (and ``--force true``
    fails). And every parse error carries the command's context, so it prints the Usage line:
    Click (as typer 0.29 ships it) raises "Option '--x' requires an argument." without one,
    and that error alone showed no Usage line."""
    for param in command.params:
        _no_value_shown(param)
    command.get_help_option = _help_shown_bare(  # type: ignore[method-assign, assignment]
        command.get_help_option
    )
    command.parse_args = _in_context(command.parse_args)  # type: ignore[method-assign, assignment]
    if isinstance(command, TyperGroup):
        for sub in command.commands.values():
            _tidy(sub)


def _no_value_shown(param: object) -> None:
    """A flag's help shows no value (typer would print ``<bool>``)."""
    if isinstance(param, TyperOption) and param.is_flag and param.metavar is None:
        param.metavar = ""


def _help_shown_bare(
    get: Callable[[Context], TyperOption | None],
) -> Callable[[Context], TyperOption | None]:
    """``get`` (a command's ``get_help_option``, made on first use) with ``--help`` shown as
    the flag it is."""

    @functools.wraps(get)
    def get_help_option(ctx: Context) -> TyperOption | None:
        option = get(ctx)
        _no_value_shown(option)
        return option

    return get_help_option


def _in_context(
    parse: Callable[[Context, list[str]], list[str]],
) -> Callable[[Context, list[str]], list[str]]:
    """``parse`` (a command's ``parse_args``) whose usage errors name the context."""

    @functools.wraps(parse)
    def parse_args(ctx: Context, args: list[str]) -> list[str]:
        try:
            return parse(ctx, args)
        except ParseError as exc:
            if exc.ctx is None:
                exc.ctx = ctx
            raise

    return parse_args


app = typer.Typer(
    cls=_Group,
    name="srnskit",
    help="Clinical research toolkit for childhood steroid-resistant nephrotic syndrome.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def say(*lines: str, err: bool = False) -> None:
    """Print each of ``lines`` on one line, ``escaped``: a name a line quotes (a cohort folder,
    a patient, a centre) that holds a line break or an invisible character (``\\u200b``) stays
    on its line and is seen as its code. A line is never split: ``"\\n"`` inside one is a
    character of a name, printed as ``\\n``; give each line as its own argument.

    ``err=False``: on stdout, as is: the answer the command was asked for (explain's story,
    a table, a verdict). ``err=True``: on stderr, each line starting ``srnskit: ``: what the
    command says about its own work (``say(f"wrote {out}: …", err=True)`` prints
    ``srnskit: wrote OUT: …``). Problem lines (``problem_lines``) and JSON are not printed
    with it."""
    for line in lines:
        typer.echo(f"srnskit: {escaped(line)}" if err else escaped(line), err=err)


def reports_errors(command: F) -> F:
    """Turn a SrnskitError into its message on stderr and its exit code (never a traceback).

    An ``InvalidCohortError`` prints each problem on stdout first, then the verdict on stderr.
    """

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return _uninterrupted(command, *args, **kwargs)
        except InvalidCohortError as exc:
            for line in problem_lines(exc.problems):  # each kind at most 100 times (§1)
                typer.echo(line)
            say(str(exc), err=True)
            raise typer.Exit(exc.exit_code) from None
        except SrnskitError as exc:
            # A name the user typed or a file holds (a patient, a study, a definition key) may
            # hold what does not print: each line escaped. Only an invalid input's message
            # (a definition file's problems) has lines of its own; any other (a usage error
            # quoting a folder named with a line break) is one line, its breaks written \n.
            text = str(exc)
            lines = text.split("\n") if isinstance(exc, InvalidInputError) else [text]
            typer.echo("srnskit: error: " + "\n".join(map(escaped, lines)), err=True)
            raise typer.Exit(exc.exit_code) from None

    return wrapper  # type: ignore[return-value]


# The stop signals this process received (SIGINT, SIGTERM), as ``main`` records them.
STOPPED: list[int] = []


def _uninterrupted(command: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """``command(*args, **kwargs)``; an error met while a Ctrl-C is served (a Spark job it
    cancelled failing on its way out, ``spark_interrupt``), or after a stop signal (``STOPPED``:
    DuckDB turns the interruption of a running query into its own "Query interrupted" error),
    is the interruption it is, as Ctrl-C anywhere else ends (Typer: exit code 130), not an
    error to report."""
    try:
        return command(*args, **kwargs)
    except Exception:
        if take_interrupt() or STOPPED:
            raise KeyboardInterrupt from None
        raise


def _version(value: bool) -> None:
    if value:
        typer.echo(f"srnskit {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version.")
    ] = False,
) -> None:
    """Clinical research toolkit for childhood steroid-resistant nephrotic syndrome."""


CohortPath = Annotated[
    Path,
    typer.Argument(
        exists=True,
        metavar="COHORT",
        help="A folder of CSV/Parquet tables, an .xlsx workbook or a .duckdb file.",
    ),
]
ForceOption = Annotated[
    bool,
    typer.Option(
        "--force",
        help="Replace an --out folder holding only srnskit's outputs (never an input).",
    ),
]

TodayOption = Annotated[
    dt.datetime | None,
    typer.Option(
        formats=["%Y-%m-%d"],
        help="Reference date for 'in the future' (YYYY-MM-DD; default: today).",
    ),
]
DateOrderOption = Annotated[
    Literal["dmy", "mdy"] | None,
    typer.Option(
        "--date-order",
        help="Read text dates with the year last (18/01/2014) day-first (dmy) or month-first "
        "(mdy); each column so read is a warning.",
    ),
]
DefinitionsOption = Annotated[
    str, typer.Option("--definitions", help="seed2023, kdigo2021, ipna2020 or a .toml file.")
]
StudyOption = Annotated[
    str,
    typer.Option(
        "--study",
        help="The study design (eligibility, comparison group, windows): seed2023 or a .toml file.",
    ),
]


def reference_date(today: dt.datetime | None) -> dt.date:
    """The date that counts as today: ``--today`` when given, else the system date."""
    return today.date() if today else dt.date.today()


def echo_skipped(skipped: Iterable[Skipped]) -> None:
    """Each record an import skipped on stderr (``skipped: ORIGIN: REASON``, control characters
    escaped so each is one line), each kind (the reason with its values masked,
    ``schema.problems.kind_of``) at most ``SHOWN_PER_KIND`` times, then how many more of it the
    skipped file (import/skipped.csv) lists."""
    seen: dict[tuple[str, str | None, str, str], int] = {}
    for item in skipped:
        kind = kind_of(Problem("skipped", None, None, item.reason))
        seen[kind] = seen.get(kind, 0) + 1
        if seen[kind] <= SHOWN_PER_KIND:
            typer.echo(escaped(f"skipped: {item}"), err=True)
    for kind, count in seen.items():
        if count > SHOWN_PER_KIND:
            typer.echo(
                escaped(
                    f"skipped: {count - SHOWN_PER_KIND} more like '{kind[3]}' (the file lists each)"
                ),
                err=True,
            )


def echo_warnings(warnings: Iterable[object]) -> None:
    """Print each warning (a loaded cohort's problem line, ``table:row:column: warning: …``,
    cohort-format.md §1) on its own line of stderr, escaped as ``problem_lines`` escapes."""
    for warning in warnings:
        typer.echo(escaped(str(warning)), err=True)


def _warning(sentence: str) -> str:
    """``warning: `` and ``sentence`` starting lower-case ("No child met …" → "no child met …";
    an acronym such as "MMF" or "eGFR" is kept as written)."""
    text = sentence.strip()
    if len(text) > 1 and text[0].isupper() and not text[1].isupper():
        text = text[0].lower() + text[1:]
    return f"warning: {text}"


def echo_data_warnings(sentences: Iterable[str]) -> None:
    """Each sentence about what the data cannot support (``Derived.warnings``,
    ``Study.data_warnings``, a token file's) on stderr, as every command prints one:
    ``srnskit: warning: `` then the sentence starting lower-case (``_warning``), escaped
    (``say``): derive, explain, report and redcap print them alike."""
    say(*map(_warning, sentences), err=True)


def check_distinct_outputs(outputs: dict[str, Path | None], folders: Iterable[str] = ()) -> None:
    """Refuse two outputs on one path, and a file output inside a folder output (the folder is
    written whole, all or nothing). ``outputs`` maps each option ("--out") to its path (None:
    not asked for); ``folders`` names the options that are folders. Raises ``UsageError``
    (exit 2) naming both options."""
    given = {option: path.resolve() for option, path in outputs.items() if path is not None}
    seen: dict[Path, str] = {}
    for option, path in given.items():
        if path in seen:
            raise UsageError(
                f"{seen[path]} and {option} are both {outputs[option]}: each output needs its "
                "own path"
            )
        seen[path] = option
    for folder in folders:
        if folder not in given:
            continue
        for option, path in given.items():
            if option != folder and given[folder] in path.parents:
                raise UsageError(
                    f"{option} {outputs[option]} is inside {folder} {outputs[folder]}, which "
                    "is written whole: give it a path outside that folder"
                )


def load_rules(definitions: str, study: str) -> tuple[DefinitionSet, StudyDesign]:
    """The definition set and the study design a command was given (a shipped name or a .toml
    file), loaded and checked.

    A file of an older format is read in the current one's terms; each ``SrnskitWarning`` it
    gives (a moved or renamed key) is printed on stderr as ``srnskit: warning: FILE: …``, also
    when the file then fails its checks. Raises ``UsageError`` for an unknown name or a missing
    file and ``DefinitionError`` for a file that fails its checks.
    """
    from srnskit.definitions.model import load_definitions
    from srnskit.studies import load_study

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", SrnskitWarning)
        try:
            return load_definitions(definitions), load_study(study)
        finally:
            for warning in caught:
                if issubclass(warning.category, SrnskitWarning):
                    say(f"warning: {warning.message}", err=True)
                else:
                    warnings.showwarning(
                        warning.message, warning.category, warning.filename, warning.lineno
                    )
