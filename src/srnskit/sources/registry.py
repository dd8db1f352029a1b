"""Read the registry's database as a cohort: its tables as text, like any other source.

The registry (``srnskit.registry``) keeps the cohort tables typed, under the names and columns
of ``schema.tables``, plus ``extra_columns`` (a JSON object of a row's centre-supplied columns).
This module reads them back as a ``RawCohort`` of text cells, so validation, units and loading
are the cohort layer's, exactly as for a folder of CSV files: a date as ISO text, a number in
plain decimal notation, a boolean as ``true``/``false``.

It knows the tables by name only (``sqlalchemy.table``): the registry's models are declared from
the same schema, to the right of this layer.

    is_database_url(text) -> bool                        a cohort location that is a database
    read_registry(url, centers=None) -> RawCohort        the whole registry (or some centres)
    read_registry_rows(connection, patient_ids=…, centers=…) -> RawCohort
                                                         inside an open connection/transaction
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Collection, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from srnskit.errors import UsageError
from srnskit.schema import COHORT_TABLES
from srnskit.sources.raw import RawCohort, RawTable, plain_decimal, text_table

if TYPE_CHECKING:  # SQLAlchemy is imported when a database is read, not by every command
    import sqlalchemy as sa

__all__ = [
    "EXTRA_COLUMN",
    "cell_text",
    "is_database_url",
    "read_registry",
    "read_registry_rows",
    "redact_url",
]

# The column holding a row's centre-supplied extra columns, as a JSON object (text).
EXTRA_COLUMN = "extra_columns"
_URL = re.compile(r"^(sqlite|postgresql)(\+[a-z0-9_]+)?://", re.IGNORECASE)
# Patients read per query when a set of ids is asked for (bound parameters stay far below
# SQLite's limit of 32,766 and PostgreSQL's of 65,535).
_IDS_PER_QUERY = 5_000


def is_database_url(text: str | Path) -> bool:
    """Whether ``text`` is a registry database URL (``sqlite:///…``,
    ``postgresql+psycopg://…``) rather than a path."""
    return isinstance(text, str) and bool(_URL.match(text))


def redact_url(url: str) -> str:
    """``url`` with its password hidden, for messages (a path or other text as it is)."""
    if not is_database_url(url):
        return url
    import sqlalchemy as sa

    return sa.engine.make_url(url).render_as_string(hide_password=True)


def cell_text(value: Any) -> str | None:
    """A typed database value as the text a cohort file holds: dates ISO, numbers in plain
    decimal notation (137.0 as '137'), booleans ``true``/``false``, None as an empty cell."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float | int):
        return plain_decimal(float(value))
    return str(value)


def read_registry(url: str, *, centers: Collection[str] | None = None) -> RawCohort:
    """Every patient of the registry at ``url`` (or of ``centers``) as a ``RawCohort``.

    Raises ``UsageError`` when the database cannot be opened or holds no registry (run
    ``srnskit db upgrade`` first).
    """
    import sqlalchemy as sa

    shown = redact_url(url)
    try:
        engine = sa.create_engine(url)
    except (sa.exc.ArgumentError, ImportError) as exc:
        raise UsageError(f"{shown}: not a database URL srnskit can open ({exc})") from None
    try:
        with engine.connect() as connection:
            if not sa.inspect(connection).has_table("patients"):
                raise UsageError(f"{shown} holds no registry; run 'srnskit db upgrade' first")
            raw = read_registry_rows(connection, centers=centers)
    except sa.exc.OperationalError as exc:
        raise UsageError(f"{shown}: cannot be read ({exc.orig})") from None
    finally:
        engine.dispose()
    raw.name = "registry"
    return raw


def read_registry_rows(
    connection: sa.Connection,
    *,
    patient_ids: Sequence[str] | None = None,
    centers: Collection[str] | None = None,
) -> RawCohort:
    """The registry's rows on ``connection`` (uncommitted changes of its transaction included)
    as a ``RawCohort``: all patients, or those of ``patient_ids``, or of ``centers`` (``'*'``
    among them: every centre). Rows come in patient order, then in the order they were stored;
    the row numbers count from 2, as in a file whose header is row 1."""
    import sqlalchemy as sa

    raw = RawCohort(path=Path("registry"))
    for name, table in COHORT_TABLES.items():
        columns = [*table.column_names, EXTRA_COLUMN]
        order = ["patient_id"] if name == "patients" else ["patient_id", "id"]
        lightweight = sa.table(name, *(sa.column(c) for c in [*columns, *order]))
        records: list[Sequence[Any]] = []
        for condition in _conditions(lightweight, patient_ids, centers):
            query = sa.select(*(lightweight.c[c] for c in columns)).order_by(
                *(lightweight.c[c] for c in order)
            )
            if condition is not None:
                query = query.where(condition)
            records.extend(connection.execute(query).all())
        raw.tables[name] = _raw_table(name, list(table.column_names), records)
    return raw


def _conditions(
    table: sa.TableClause, patient_ids: Sequence[str] | None, centers: Collection[str] | None
) -> Iterator[sa.ColumnElement[bool] | None]:
    """The WHERE clause of each query that together read the patients asked for."""
    import sqlalchemy as sa

    in_centers: sa.ColumnElement[bool] | None = None
    if centers is not None and "*" not in centers:
        patients = sa.table("patients", sa.column("patient_id"), sa.column("center_id"))
        chosen = sa.select(patients.c.patient_id).where(patients.c.center_id.in_(list(centers)))
        in_centers = table.c.patient_id.in_(chosen)
    if patient_ids is None:
        yield in_centers
        return
    ids = list(dict.fromkeys(patient_ids))
    for start in range(0, len(ids), _IDS_PER_QUERY):
        condition = table.c.patient_id.in_(ids[start : start + _IDS_PER_QUERY])
        yield condition if in_centers is None else sa.and_(condition, in_centers)


def _raw_table(name: str, declared: list[str], records: list[Sequence[Any]]) -> RawTable:
    """The rows as a table of text: the declared columns, then every extra column any row has
    (in order of first appearance)."""
    extras: list[dict[str, Any]] = [json.loads(r[-1]) if r[-1] else {} for r in records]
    extra_names = list(dict.fromkeys(k for e in extras for k in e))
    values: list[list[str | None]] = [
        [cell_text(r[i]) for r in records] for i in range(len(declared))
    ]
    values += [[cell_text(e.get(k)) for e in extras] for k in extra_names]
    data = text_table([*declared, *extra_names], values, range(2, len(records) + 2))
    return RawTable.of(name, f"registry[{name}]", data)
