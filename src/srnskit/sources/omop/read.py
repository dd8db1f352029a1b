"""Read an OMOP CDM v5.4 database into the format's rows (``ArrowRows``), for
``cohort.imported.write_imported`` to validate and write.

The database is opened through Ibis (database.py: a DuckDB file, PostgreSQL, a Parquet folder
on DuckDB or Spark); the concepts its tables use are looked up in its own vocabulary tables and
the shared code list (vocabulary.py); each reader maps one part with Ibis expressions over whole
tables: persons.py (patients), labs.py (measurements), drugs.py (treatments), events.py
(adverse events and events, and the account of the other rows). Every row of a table read is
mapped or listed as skipped with the reason.
"""

from __future__ import annotations

from pathlib import Path

import ibis

from srnskit.sources.omop.columns import check_required
from srnskit.sources.omop.database import OmopDatabase, open_omop
from srnskit.sources.omop.drugs import read_treatments
from srnskit.sources.omop.events import read_events
from srnskit.sources.omop.labs import read_labs
from srnskit.sources.omop.persons import conditions, read_people
from srnskit.sources.omop.rows import ArrowRows, origin_text
from srnskit.sources.omop.typed import KEYS, as_kind, check_keys, check_types
from srnskit.sources.omop.vocabulary import read_vocabulary

__all__ = ["read_omop"]


def read_omop(
    source: str | Path, *, connection: ibis.BaseBackend | None = None, name: str | None = None
) -> ArrowRows:
    """The format's rows read from the OMOP database at ``source`` (``open_omop``: a DuckDB
    file or URL, a PostgreSQL URL, a Parquet folder), each with its origin
    (``OMOP measurement row 4411``), and the records skipped.

    ``connection``: the Ibis backend to read a Parquet folder with (Spark's); ``name``: the
    cohort's name. Raises ``UsageError`` (not a database, unreachable),
    ``MissingComponentError`` (no driver) and ``InvalidCohortError`` (no concept table, a
    required column missing, a number or date stored as text that is not one, a primary key
    on several rows)."""
    with open_omop(source, connection=connection) as database:
        check_required(database)
        check_types(database)
        check_keys(database)
        rows = ArrowRows(database.source, name=name)
        vocabulary = read_vocabulary(database)
        typed_conditions = conditions(database, vocabulary)
        people = read_people(database, vocabulary, typed_conditions, rows)
        used = read_labs(database, vocabulary, people, typed_conditions, rows)
        read_treatments(database, vocabulary, people, rows)
        read_events(database, vocabulary, people, typed_conditions, used, rows)
        _list_orphans(database, rows)
        return rows


# The clinical tables whose rows belong to a person (OMOP CDM v5.4), each named by its key.
_PERSON_TABLES = {
    name: KEYS[name]
    for name in (
        "measurement",
        "drug_exposure",
        "condition_occurrence",
        "procedure_occurrence",
        "observation",
        "visit_occurrence",
        "death",
    )
}


def _list_orphans(database: OmopDatabase, rows: ArrowRows) -> None:
    """List as skipped every row of a clinical table whose person is not in ``person`` (the
    readers join with the persons they read, so such a row would otherwise vanish unsaid)."""
    people = database.table("person")
    person = people.select(known_person=as_kind(people.person_id, "int64"))
    for name, key in _PERSON_TABLES.items():
        if not database.has(name):
            continue
        table = database.table(name)
        typed = table.select(
            row_id=as_kind(table[key], "int64"), pid=as_kind(table.person_id, "int64")
        )
        orphans = typed.anti_join(person, typed.pid == person.known_person)
        found = database.to_arrow(orphans)
        for row_id, person_id in zip(
            found.column("row_id").to_pylist(), found.column("pid").to_pylist(), strict=True
        ):
            rows.skip(origin_text(name, row_id), f"person {person_id} is not in the person table")
