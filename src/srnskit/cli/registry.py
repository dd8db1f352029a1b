"""The registry's commands (registry.md §1): ``db upgrade``, ``users add|list|disable``,
``registry import|export`` and ``audit verify``.

Each opens the database of ``--db`` (else ``SRNSKIT_DB``, else ``sqlite:///srnskit.db``) and
calls the registry's service (``srnskit.registry``); a write commits once, all or nothing. The
command line acts as the database's owner (``Actor.system``: every centre), recorded in the
audit as ``cli:<login name>``, or as ``--user NAME`` where the command takes it.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Literal

import typer

from srnskit.cli.common import (
    DateOrderOption,
    ForceOption,
    TodayOption,
    app,
    reference_date,
    reports_errors,
    say,
)
from srnskit.errors import UsageError
from srnskit.schema.problems import escaped, problem_lines

__all__: list[str] = []

db_app = typer.Typer(help="The registry's database: create or migrate its schema.")
users_app = typer.Typer(help="The registry's accounts.")
registry_app = typer.Typer(help="Import a cohort into the registry, or export it as a cohort.")
audit_app = typer.Typer(help="The registry's tamper-evident audit trail.")
app.add_typer(db_app, name="db")
app.add_typer(users_app, name="users")
app.add_typer(registry_app, name="registry")
app.add_typer(audit_app, name="audit")

DbOption = Annotated[
    str | None,
    typer.Option(
        "--db",
        help="Database URL (default: $SRNSKIT_DB, else sqlite:///srnskit.db).",
        show_default=False,
    ),
]


@db_app.command("upgrade")
@reports_errors
def _upgrade(db: DbOption = None) -> None:
    """Create the registry's schema, or migrate it to this srnskit's version."""
    from srnskit.registry.db import database_url, upgrade
    from srnskit.sources.registry import redact_url

    url = database_url(db)
    revision = upgrade(url)
    say(f"{redact_url(url)}: schema at revision {revision}", err=True)


def _password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    text: str = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    return text


@users_app.command("add")
@reports_errors
def _users_add(
    name: Annotated[str, typer.Argument(help="The user's login name.")],
    role: Annotated[
        Literal["admin", "investigator", "data_entry", "viewer"],
        typer.Option("--role", help="admin, investigator, data_entry or viewer."),
    ],
    center: Annotated[
        list[str],
        typer.Option("--center", help="A centre of the user (repeat; '*' = every centre)."),
    ],
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from stdin.")
    ] = False,
    db: DbOption = None,
) -> None:
    """Add a user (the password has at least 12 characters)."""
    from srnskit.registry.access import Actor
    from srnskit.registry.db import open_registry
    from srnskit.registry.users import add_user

    password = _password(password_stdin)
    with open_registry(db) as registry, registry.session() as session:
        user = add_user(session, Actor.system(), name, role, center, password)
        session.commit()
        say(f"added {user.name} ({user.role}; {', '.join(sorted(user.center_ids))})", err=True)


@users_app.command("list")
@reports_errors
def _users_list(db: DbOption = None) -> None:
    """Every user: name, role, centres, active."""
    from srnskit.registry.access import Actor
    from srnskit.registry.db import open_registry
    from srnskit.registry.users import list_users, user_values

    with open_registry(db) as registry, registry.session() as session:
        typer.echo("name\trole\tcenters\tactive")
        for user in list_users(session, Actor.system()):
            values = user_values(user)
            centers = ",".join(values["centers"])
            active = "yes" if values["active"] else "no"
            fields = (values["name"], values["role"], centers, active)
            typer.echo("\t".join(map(escaped, fields)))  # a tab within a field escaped


@users_app.command("disable")
@reports_errors
def _users_disable(
    name: Annotated[str, typer.Argument(help="The user to disable.")], db: DbOption = None
) -> None:
    """Disable a user: the account can no longer log in; its history stays."""
    from srnskit.registry.access import Actor
    from srnskit.registry.db import open_registry
    from srnskit.registry.users import disable_user

    with open_registry(db) as registry, registry.session() as session:
        disable_user(session, Actor.system(), name)
        session.commit()
        say(f"disabled {name}", err=True)


@registry_app.command("import")
@reports_errors
def _import(
    cohort: Annotated[
        Path,
        typer.Argument(
            exists=True,
            metavar="COHORT",
            help="A folder of CSV/Parquet tables, an .xlsx workbook or a .duckdb file.",
        ),
    ],
    center: Annotated[str, typer.Option("--center", help="The centre the cohort belongs to.")],
    user: Annotated[
        str | None, typer.Option("--user", help="The registry user the import is made as.")
    ] = None,
    db: DbOption = None,
    today: TodayOption = None,
    date_order: DateOrderOption = None,
) -> None:
    """Import a cohort into a centre: validated first, then all or nothing."""
    from srnskit.registry.access import Actor
    from srnskit.registry.db import open_registry
    from srnskit.registry.imports import import_cohort
    from srnskit.registry.users import get_user

    with open_registry(db) as registry, registry.session() as session:
        actor = Actor.system()
        if user is not None:
            found = get_user(session, user)
            if found is None:
                raise UsageError(f"no registry user {user}")
            actor = Actor.of(found)
        result = import_cohort(
            session,
            actor,
            cohort,
            center=center,
            today=reference_date(today),
            date_order=date_order,
            commit=True,
            progress=lambda stage: say(stage, err=True),
        )
        for line in problem_lines(result.problems):  # each kind at most 100 times (§1)
            typer.echo(line)
        if not result.valid:
            errors = sum(p.severity == "error" for p in result.problems)
            say(f"{cohort}: NOT valid: {errors} error(s); nothing was written", err=True)
            raise typer.Exit(1)
        session.commit()
    preview = result.preview
    rows_new = sum(preview["rows_new"].values())
    rows_changed = sum(preview["rows_changed"].values())
    say(
        f"imported {cohort} into {center}: {preview['patients_new']} new and "
        f"{preview['patients_changed']} changed patient(s), {rows_new} new and "
        f"{rows_changed} changed or removed row(s); {result.audit_entries} audit entries",
        err=True,
    )


@registry_app.command("export")
@reports_errors
def _export(
    out: Annotated[Path, typer.Option("--out", help="The folder to write the cohort to.")],
    center: Annotated[
        list[str] | None, typer.Option("--center", help="Only this centre (repeat).")
    ] = None,
    deidentify: Annotated[
        bool,
        typer.Option(
            "--deidentify", help="Pseudonymous ids, dates shifted per child, extra columns dropped."
        ),
    ] = False,
    fmt: Annotated[
        Literal["csv", "parquet"], typer.Option("--format", help="csv or parquet.")
    ] = "csv",
    force: ForceOption = False,
    db: DbOption = None,
) -> None:
    """Export the registry as a cohort in the canonical format (all or nothing)."""
    from srnskit.atomic import check_apart, check_output_directory
    from srnskit.registry.access import Actor
    from srnskit.registry.db import open_registry
    from srnskit.registry.export import export_tables, write_export
    from srnskit.settings import database_url

    check_apart(out, [database_url(db)])
    check_output_directory(out, force=force)
    with open_registry(db) as registry, registry.session() as session:
        tables = export_tables(session, Actor.system(), centers=center, deidentify=deidentify)
        write_export(tables, out, fmt=fmt, force=force)
        session.commit()  # the pseudonym key and offsets drawn for a de-identified export
    patients = tables["patients"].num_rows
    kind = "de-identified " if deidentify else ""
    say(f"wrote {out}: {kind}cohort of {patients} patient(s)", err=True)


@audit_app.command("verify")
@reports_errors
def _verify(db: DbOption = None) -> None:
    """Re-compute the audit chain: exit 0 intact, 1 broken (the first broken entry and why)."""
    from srnskit.registry.audit import verify
    from srnskit.registry.db import open_registry

    with open_registry(db) as registry, registry.engine.connect() as connection:
        verdict = verify(connection)
    if verdict.intact:
        say(f"audit trail intact: {verdict.entries} entries; head {verdict.head_hash}")
        return
    say(f"audit trail BROKEN at entry {verdict.broken_id}: {verdict.reason}")
    raise typer.Exit(1)
