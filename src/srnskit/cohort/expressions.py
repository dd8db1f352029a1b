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
from typing import Any

import duckdb
import ibis
import sqlglot

from srnskit.cache import read_cached, write_cached
from srnskit.settings import plan_cache_enabled
from srnskit.sources.files import ROW_COLUMN

__all__ = ["raw_table", "run", "scalar", "to_sql"]


def raw_table(con: duckdb.DuckDBPyConnection, name: str) -> ibis.Table:
    """The raw table ``raw_<name>`` in ``con`` as an Ibis table: ``_row`` (int64) and every
    column as text, as ``register_raw_tables`` makes it."""
    cursor = con.execute(f"SELECT * FROM raw_{name} LIMIT 0")
    columns = [d[0] for d in cursor.description or ()]
    schema = {c: "int64" if c == ROW_COLUMN else "string" for c in columns}
    return ibis.table(schema, name=f"raw_{name}")


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


def run(con: duckdb.DuckDBPyConnection, expr: ibis.Table) -> list[dict[str, Any]]:
    """The rows of the table expression ``expr``, run in ``con``, as dicts by column name
    (dates as ``datetime.date``, numbers as Python numbers, NULL as None)."""
    cursor = con.execute(to_sql(expr))
    names = [d[0] for d in cursor.description or ()]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def scalar(con: duckdb.DuckDBPyConnection, expr: ibis.Scalar) -> Any:
    """The value of the scalar expression ``expr`` (a count, a sum), run in ``con``."""
    row = con.execute(to_sql(expr)).fetchone()
    return None if row is None else row[0]
