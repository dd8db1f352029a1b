"""Ibis expressions over validation's raw tables, run on validation's own DuckDB connection.

The checks written as Ibis expressions (``forms``, ``chronology``) read the tables that
``validate.register_raw_tables`` made (``raw_NAME``: ``_row`` and text cells). Here each
expression is compiled to DuckDB's SQL by Ibis's compiler (``ibis.to_sql``) and run on the
connection, so validation never loads Ibis's DuckDB backend: that backend imports pandas and
every SQL dialect Ibis knows, about 0.5 s of a fresh process's time, more than the checks'
queries on a million rows. The expressions stay the engine-neutral ones a later engine (Spark)
compiles to its own SQL.

The compiled SQL is cached as the engine's plans are (``srnskit.cache``, off with
``SRNSKIT_NO_PLAN_CACHE``), under a hash of the expression itself (its pickle, which holds
every table, column and literal it reads) and of Ibis's and sqlglot's versions: compiling
imports Ibis's SQL compilers, ~0.2 s in a fresh process, and takes a few milliseconds per
expression, all of it on one core; the cached SQL costs a file read.
"""

from __future__ import annotations

import hashlib
import pickle
from typing import Any, Protocol, runtime_checkable

import duckdb
import ibis
import ibis.expr.datatypes as dt
import numpy as np
import sqlglot

from srnskit.cache import read_cached, write_cached
from srnskit.cohort.parse import cells_are_view, quote, raw_cells
from srnskit.settings import plan_cache_enabled
from srnskit.sources.files import ROW_COLUMN

__all__ = [
    "CheckEngine",
    "Checks",
    "DuckDBChecks",
    "checks_engine",
    "engine_hash",
    "raw_table",
    "run",
    "scalar",
    "to_sql",
]


@runtime_checkable
class CheckEngine(Protocol):
    """Where validation's Ibis expressions run: the raw tables (``raw_NAME``: ``_row`` and
    every cell as text, blank cells NULL) of one cohort on one engine. ``DuckDBChecks`` runs
    them in validation's own DuckDB connection; the engine layer brings Spark's
    (``srnskit.engine.backends.spark_checks``), so the same checks run where the data lie."""

    def raw_table(self, name: str) -> ibis.Table:
        """The raw table ``raw_<name>`` as an Ibis table."""
        ...

    def rows(self, expr: ibis.Table) -> list[dict[str, Any]]:
        """The rows of ``expr`` as dicts by column name (dates as ``datetime.date``, numbers
        as Python numbers, NULL as None)."""
        ...

    def scalar(self, expr: ibis.Scalar) -> Any:
        """The value of the scalar ``expr`` (a count, a sum)."""
        ...

    def repeats(self, values: ibis.Column) -> bool:
        """Whether a value of the column ``values`` (a column of one raw table, or an
        expression over its columns: a row's hash) occurs twice or more."""
        ...

    def rewrite(self, name: str, column: str, value: ibis.Value, where: ibis.BooleanValue) -> None:
        """Set ``column`` of raw table ``name`` to ``value`` (an expression over that raw
        table) on the rows where ``where`` holds: an NA string read as empty, a text date
        read as ISO. Later expressions over ``raw_<name>`` see the new cells."""
        ...

    def keep(self, name: str, expr: ibis.Table) -> ibis.Table:
        """``expr`` computed once and kept as the table ``name`` (for checks that share it),
        returned as an Ibis table over what was kept."""
        ...

    def drop(self, name: str) -> None:
        """Forget the table ``keep`` made as ``name`` (nothing if there is none)."""
        ...


class DuckDBChecks:
    """Validation's checks in its own DuckDB connection ``con`` (``validate.register_raw_tables``
    made the raw tables): each expression compiled to DuckDB's SQL (``to_sql``) and run."""

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self.con = con

    def raw_table(self, name: str) -> ibis.Table:
        return _duckdb_table(self.con, f"raw_{name}")

    def rows(self, expr: ibis.Table) -> list[dict[str, Any]]:
        cursor = self.con.execute(to_sql(expr))
        names = [d[0] for d in cursor.description or ()]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

    def scalar(self, expr: ibis.Scalar) -> Any:
        row = self.con.execute(to_sql(expr)).fetchone()
        return None if row is None else row[0]

    def repeats(self, values: ibis.Column) -> bool:
        # Sorted, then each value compared with the next: 64 M hashes (8 bytes each) in about
        # a second, where a grouping by them builds a table of 64 M groups (half a minute).
        # Written to a table first, then fetched: DuckDB fills a table on both cores, but
        # fetches a computed column more slowly (64 M row hashes: 1.3 s, then 0.4 s, against
        # 2.2 s fetched as computed).
        table = "_srnskit_repeats"
        query = to_sql(values.name("value").as_table())
        self.con.execute(f"CREATE OR REPLACE TEMP TABLE {table} AS {query}")
        try:
            found = self.con.execute(f"SELECT value FROM {table}").fetchnumpy()
        finally:
            self.con.execute(f"DROP TABLE IF EXISTS {table}")
        column = np.asarray(found["value"])
        column.sort()
        return bool(np.any(column[1:] == column[:-1]))

    def rewrite(self, name: str, column: str, value: ibis.Value, where: ibis.BooleanValue) -> None:
        # In place, on the cells table under the raw view (an UPDATE keeps the rows' order,
        # which numbers the rows of a file read by position): Ibis writes no UPDATE, so the two
        # expressions are compiled as a SELECT's and taken out of it.
        raw = self.raw_table(name)
        select = raw.select(__value=value, __where=where)
        tree = sqlglot.parse_one(to_sql(select), read="duckdb")
        parts = {e.alias_or_name: e.unalias() for e in tree.expressions}
        source = tree.find(sqlglot.exp.Table)
        alias = source.alias_or_name if source is not None else f"raw_{name}"
        cells = raw_cells(name)
        _materialized(self.con, name)
        set_to = parts["__value"].sql(dialect="duckdb")
        when = parts["__where"].sql(dialect="duckdb")
        self.con.execute(f'UPDATE {cells} AS "{alias}" SET {quote(column)} = {set_to} WHERE {when}')

    def keep(self, name: str, expr: ibis.Table) -> ibis.Table:
        self.con.execute(f"CREATE OR REPLACE TABLE {name} AS {to_sql(expr)}")
        return _duckdb_table(self.con, name)

    def drop(self, name: str) -> None:
        self.con.execute(f"DROP TABLE IF EXISTS {name}")


Checks = duckdb.DuckDBPyConnection | CheckEngine


def _materialized(con: duckdb.DuckDBPyConnection, name: str) -> None:
    """The cells of raw table ``name`` made a table if they are a view over a file (a Parquet
    table read where it lies, ``validate.register_raw_tables``), so a cell can be rewritten: a
    copy is made only for the rare file with an NA string or a text date to rewrite."""
    if cells_are_view(con, name):
        cells = raw_cells(name)
        con.execute(f"CREATE TABLE {cells}__copy AS SELECT * FROM {cells}")
        con.execute(f"DROP VIEW {cells}")
        con.execute(f"ALTER TABLE {cells}__copy RENAME TO {cells}")


def checks_engine(checks: Checks) -> CheckEngine:
    """``checks`` as a ``CheckEngine``: a DuckDB connection is wrapped in ``DuckDBChecks``."""
    if isinstance(checks, duckdb.DuckDBPyConnection):
        return DuckDBChecks(checks)
    return checks


def _duckdb_table(con: duckdb.DuckDBPyConnection, name: str) -> ibis.Table:
    """The table or view ``name`` in ``con`` as an Ibis table of its columns' types (``_row``
    int64, cells text or a typed Parquet column's type; a kept table's own types)."""
    cursor = con.execute(f"SELECT * FROM {name} LIMIT 0")
    described = cursor.description or ()
    schema = {d[0]: _IBIS_TYPES.get(str(d[1]), "string") for d in described}
    if ROW_COLUMN in schema:
        schema[ROW_COLUMN] = "int64"
    return ibis.table(schema, name=name)


# DuckDB's type names (as a cursor's description gives them) in Ibis's words.
_IBIS_TYPES = {
    "VARCHAR": "string",
    "BIGINT": "int64",
    "INTEGER": "int32",
    "SMALLINT": "int16",
    "TINYINT": "int8",
    "UBIGINT": "uint64",
    "UINTEGER": "uint32",
    "USMALLINT": "uint16",
    "UTINYINT": "uint8",
    "HUGEINT": "int64",
    "DOUBLE": "float64",
    "DATE": "date",
    "BOOLEAN": "boolean",
}


@ibis.udf.scalar.builtin(name="hash")  # type: ignore[untyped-decorator]
def engine_hash(value) -> dt.int64:  # type: ignore[no-untyped-def]
    """The engine's own ``hash`` of one value (a struct: a whole row), as DuckDB and Spark
    both name it: equal values hash alike, so equal hashes find the candidates for equality (a
    row that repeats another, ``cells.check_duplicate_rows``). Ibis's ``Value.hash`` casts
    DuckDB's unsigned hash to a signed one through a bit string, a fifth more time on a million
    rows than the hash itself; the engine's own type is kept (DuckDB's UBIGINT, Spark's INT),
    though Ibis calls it int64."""


# The function's node class, named so that a pickle finds it (``to_sql`` caches the SQL under
# the pickle of the expression).
_HASH_NODE = type(engine_hash(ibis.literal(0)).op())
_HASH_NODE.__qualname__ = "_HASH_NODE"


def raw_table(checks: Checks, name: str) -> ibis.Table:
    """The raw table ``raw_<name>`` of ``checks`` (an engine, or validation's DuckDB
    connection) as an Ibis table: ``_row`` (int64) and every column as text, as
    ``register_raw_tables`` makes it."""
    return checks_engine(checks).raw_table(name)


def to_sql(expr: ibis.Expr) -> str:
    """``expr`` as one DuckDB SQL statement: compiled by Ibis, or read from the cache."""
    name = _cache_name(expr)
    if name is not None:
        cached = read_cached(name)
        if cached:
            return cached
    sql = str(ibis.to_sql(expr, dialect="duckdb", pretty=False))
    if name is not None:
        write_cached(name, sql)
    return sql


def _cache_name(expr: ibis.Expr) -> str | None:
    """Where the SQL of ``expr`` is cached, or None (the cache off, or an expression that does
    not pickle: then it is compiled every time)."""
    if not plan_cache_enabled():
        return None
    try:
        pickled = pickle.dumps(expr, protocol=5)
    except (pickle.PicklingError, TypeError, AttributeError):
        return None
    digest = hashlib.sha256(pickled)
    versions = f"duckdb ibis {ibis.__version__} sqlglot {getattr(sqlglot, '__version__', '')}"
    digest.update(versions.encode())
    return f"validation/{digest.hexdigest()[:32]}.sql"


def run(checks: Checks, expr: ibis.Table) -> list[dict[str, Any]]:
    """The rows of the table expression ``expr``, run by ``checks``, as dicts by column name
    (dates as ``datetime.date``, numbers as Python numbers, NULL as None)."""
    return checks_engine(checks).rows(expr)


def scalar(checks: Checks, expr: ibis.Scalar) -> Any:
    """The value of the scalar expression ``expr`` (a count, a sum), run by ``checks``."""
    return checks_engine(checks).scalar(expr)
