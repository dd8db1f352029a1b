"""The OMOP columns the importer reads as numbers and dates, and a database that stores them as
text.

The CDM v5.4 DDL (OHDSI/CommonDataModel ``inst/ddl/5.4``) declares ids and concept ids
INTEGER, ``value_as_number`` NUMERIC, dates DATE; a database built from CSV files (a Parquet
folder written by a script, a VARCHAR column of a staging table) may hold them as text. Such a
column is read trimmed, a blank cell as empty (``as_kind``); a text that does not read as the
DDL's type (``2,4``, ``n/a``, ``2016-02-30``) is a problem naming the table, the rows (by their
primary key) and the column, before anything else is read (``check_types``): exit 1, nothing
written, never a database error.

    check_types(database)                       # raises InvalidCohortError
    as_kind(table.value_as_number, "float64")   # an Ibis value of that type
"""

from __future__ import annotations

import ibis

from srnskit.errors import InvalidCohortError
from srnskit.schema.problems import Problem
from srnskit.sources.omop.database import OmopDatabase
from srnskit.sources.omop.rows import origin_text

__all__ = ["KEYS", "TYPED", "as_kind", "check_keys", "check_types"]

_ID = "int64"
_NUMBER = "float64"
_DATE = "date"

# Each table's columns the importer reads as a number or a date, with the type it reads them
# as (the DDL's INTEGER → int64, NUMERIC → float64, DATE → date, DATETIME → timestamp). Columns
# it does not read (quantity, days_supply, range_low, range_high, …) are not checked: whatever
# they hold changes nothing in the cohort.
TYPED: dict[str, dict[str, str]] = {
    "person": {
        "person_id": _ID,
        "gender_concept_id": _ID,
        "year_of_birth": _ID,
        "month_of_birth": _ID,
        "day_of_birth": _ID,
        "birth_datetime": "timestamp",
        "care_site_id": _ID,
    },
    "care_site": {"care_site_id": _ID},
    "observation_period": {"person_id": _ID, "observation_period_end_date": _DATE},
    "condition_occurrence": {
        "condition_occurrence_id": _ID,
        "person_id": _ID,
        "condition_concept_id": _ID,
        "condition_source_concept_id": _ID,
        "condition_start_date": _DATE,
    },
    "measurement": {
        "measurement_id": _ID,
        "person_id": _ID,
        "measurement_concept_id": _ID,
        "measurement_source_concept_id": _ID,
        "measurement_date": _DATE,
        "value_as_number": _NUMBER,
        "value_as_concept_id": _ID,
        "unit_concept_id": _ID,
        "operator_concept_id": _ID,
    },
    "observation": {
        "observation_id": _ID,
        "person_id": _ID,
        "observation_concept_id": _ID,
        "observation_source_concept_id": _ID,
        "observation_date": _DATE,
        "value_as_number": _NUMBER,
        "value_as_concept_id": _ID,
        "unit_concept_id": _ID,
    },
    "drug_exposure": {
        "drug_exposure_id": _ID,
        "person_id": _ID,
        "drug_concept_id": _ID,
        "drug_source_concept_id": _ID,
        "drug_exposure_start_date": _DATE,
        "drug_exposure_end_date": _DATE,
        "verbatim_end_date": _DATE,
    },
    "procedure_occurrence": {
        "procedure_occurrence_id": _ID,
        "person_id": _ID,
        "procedure_concept_id": _ID,
        "procedure_source_concept_id": _ID,
        "procedure_date": _DATE,
    },
    "visit_occurrence": {
        "visit_occurrence_id": _ID,
        "person_id": _ID,
        "visit_concept_id": _ID,
        "visit_source_concept_id": _ID,
        "visit_start_date": _DATE,
    },
    "death": {"person_id": _ID, "death_date": _DATE},
    "concept": {"concept_id": _ID},
    "concept_relationship": {"concept_id_1": _ID, "concept_id_2": _ID},
    "concept_ancestor": {
        "ancestor_concept_id": _ID,
        "descendant_concept_id": _ID,
        "min_levels_of_separation": _ID,
    },
}

# The primary key that names a row of each table in messages (CDM v5.4; the death table has
# none: a death is named by its person). Rows of the tables not listed are named by the value.
KEYS: dict[str, str] = {
    "person": "person_id",
    "care_site": "care_site_id",
    "measurement": "measurement_id",
    "drug_exposure": "drug_exposure_id",
    "condition_occurrence": "condition_occurrence_id",
    "procedure_occurrence": "procedure_occurrence_id",
    "observation": "observation_id",
    "visit_occurrence": "visit_occurrence_id",
    "death": "person_id",
    "concept": "concept_id",
}

# What a text must look like to be read as each type: plain decimal numbers (an exponent
# allowed), whole numbers that fit 64 bits. Dates are tried with the backend's TRY_CAST
# (PostgreSQL has none: there the shape YYYY-MM-DD is checked).
_SHAPES = {
    _ID: r"^[+-]?[0-9]{1,18}$",
    _NUMBER: r"^[+-]?([0-9]+[.]?[0-9]*|[.][0-9]+)([eE][+-]?[0-9]{1,3})?$",
    _DATE: r"^[0-9]{4}-[0-9]{2}-[0-9]{2}([ T].*)?$",
    "timestamp": r"^[0-9]{4}-[0-9]{2}-[0-9]{2}([ T].*)?$",
}
_WORDS = {
    _ID: "a whole number",
    _NUMBER: "a number",
    _DATE: "a date (YYYY-MM-DD)",
    "timestamp": "a date and time (YYYY-MM-DD hh:mm:ss)",
}
# A column's bad rows named in its one problem (cohort-format.md §1: one line per kind, with
# its count and the first rows).
_SHOWN_ROWS = 5
# At most this many characters of a bad value are shown.
_SHOWN_VALUE = 40


def as_kind(value: ibis.Value, kind: str) -> ibis.Value:
    """``value`` read as ``kind`` (``int64``, ``float64``, ``date``, ``timestamp``,
    ``string``). A value stored as text is trimmed first and a blank one is empty, so a number
    or date written as text reads as the DDL's type; ``check_types`` has made sure every such
    text does (a cast of one that does not would fail in the database)."""
    if kind != "string" and value.type().is_string():
        value = value.strip().nullif("")
    return value.cast(kind)


def check_types(database: OmopDatabase) -> None:
    """Raise ``InvalidCohortError`` (exit 1) when a column of ``TYPED`` stored as text holds a
    value that is not of its type: one problem per table and column, naming the first rows by
    their primary key (``OMOP measurement row 4411: value_as_number '2,4' is not a number``)
    and counting the rest. Columns stored with a type of their own are not looked at (the
    database has checked them), so a typed database costs nothing here."""
    problems: list[Problem] = []
    for table_name, columns in TYPED.items():
        if not database.has(table_name):
            continue
        table = database.table(table_name)
        schema = table.schema()
        for name, kind in columns.items():
            if name not in schema or not schema[name].is_string():
                continue
            message = _bad_rows(database, table_name, table, name, kind)
            if message is not None:
                problems.append(Problem("source", None, None, message))
    if problems:
        raise InvalidCohortError(problems)


def check_keys(database: OmopDatabase) -> None:
    """Raise ``InvalidCohortError`` (exit 1) when a table's primary key (``KEYS``: the CDM
    v5.4 DDL's PRIMARY KEY of each table read) names more than one row: one problem per table,
    naming the first ids and how many rows each is on (``OMOP measurement: measurement_id 1 is
    on 2 rows``). A database built without its constraints (a Parquet folder, rows loaded
    twice) may hold such rows; reading on would map the copy as a second record and double every
    row joined to a repeated person. The death table has no primary key in v5.4 and is not
    checked. Run after ``check_types`` (a key stored as text is read as a number)."""
    problems: list[Problem] = []
    for table_name, key in KEYS.items():
        if table_name == "death" or not database.has(table_name):
            continue
        table = database.table(table_name)
        if key not in table.columns:
            continue
        ids = table.select(key_id=as_kind(table[key], _ID)).filter(ibis._.key_id.notnull())
        counted = ids.group_by("key_id").aggregate(n=ibis._.count())
        repeated = counted.filter(counted.n > 1)
        found = database.to_arrow(repeated.order_by("key_id").limit(_SHOWN_ROWS))
        if found.num_rows == 0:
            continue
        total = int(
            database.to_arrow(repeated.aggregate(k=repeated.count())).column("k")[0].as_py()
        )
        shown = [
            f"{key_id} is on {n} rows"
            for key_id, n in zip(
                found.column("key_id").to_pylist(), found.column("n").to_pylist(), strict=True
            )
        ]
        rest = f" and {total - len(shown)} more {key}s repeat" if total > len(shown) else ""
        problems.append(
            Problem(
                "source",
                None,
                None,
                f"OMOP {table_name}: {key} {', '.join(shown)}{rest}, where a primary key names "
                "one row (OMOP CDM v5.4): were rows loaded twice? Keep one of each",
            )
        )
    if problems:
        raise InvalidCohortError(problems)


def _bad_rows(
    database: OmopDatabase, table_name: str, table: ibis.Table, name: str, kind: str
) -> str | None:
    """The problem of ``table``'s text column ``name`` whose values do not read as ``kind``,
    or None when all do."""
    text = table[name].strip()
    unreadable = ~text.re_search(_SHAPES[kind])
    if kind in (_DATE, "timestamp") and database.kind != "postgres":
        unreadable = unreadable | text.try_cast(kind).isnull()
    bad = table.filter(text.notnull() & (text != "") & unreadable)
    key = KEYS.get(table_name)
    named_by_key = key is not None and key != name and key in table.columns
    # the key as text, only to name the rows (whole numbers sort by length, then digits)
    row_id = table[key].cast("string").strip() if key is not None and named_by_key else None
    ordered = (
        bad.select(row_id=row_id, value=text).order_by(
            [ibis._.row_id.length(), ibis._.row_id, ibis._.value]
        )
        if row_id is not None
        else bad.select(value=text).order_by("value")
    )
    found = database.to_arrow(ordered.limit(_SHOWN_ROWS))
    if found.num_rows == 0:
        return None
    total = int(database.to_arrow(bad.aggregate(n=bad.count())).column("n")[0].as_py())
    values = list(dict.fromkeys(_shown(v) for v in found.column("value").to_pylist()))
    word = _WORDS[kind]
    if total == 1:
        where = (
            f"OMOP {table_name}"
            if row_id is None
            else origin_text(table_name, found.column("row_id")[0].as_py())
        )
        return f"{where}: {name} {values[0]} is not {word}"
    rest = f" and {total - found.num_rows} more ({total} rows)" if total > found.num_rows else ""
    if row_id is None:
        return f"OMOP {table_name}: {name} is not {word} ({', '.join(values)}{rest})"
    ids = ", ".join(str(i) for i in found.column("row_id").to_pylist())
    rows = "of persons" if table_name == "death" else "rows"
    return f"OMOP {table_name} {rows} {ids}{rest}: {name} is not {word} ({', '.join(values)})"


def _shown(value: object) -> str:
    text = str(value)
    return f"'{text}'" if len(text) <= _SHOWN_VALUE else f"'{text[:_SHOWN_VALUE]}…'"
