"""A derive on DuckDB as a replayable SQL plan, cached per definition set and cohort schema.

Compiling the engine's Ibis expressions to SQL costs about a second of Python whatever the
cohort's size (most of a small cohort's derive). The SQL depends only on the definition set, the
cohort tables' column names and types, srnskit's own code and the versions of Ibis, sqlglot and
DuckDB — never on the data — so the compiled plan (each materialised step's SQL, then each
output's) is kept in the user's cache folder under a hash of exactly those, and replayed on the
next derive. Any
failure to read or write the cache only means compiling again; ``SRNSKIT_NO_PLAN_CACHE=1``
turns it off.
"""

from __future__ import annotations

import hashlib
import json
import os
from functools import cache
from importlib import metadata
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from srnskit.cache import read_cached, write_cached
from srnskit.cohort.schema import COHORT_TABLES

__all__ = ["Plan", "drop_steps", "load_plan", "plan_key", "replay", "save_plan"]

Plan = dict[str, Any]  # {"steps": [[name, sql], ...], "outputs": {name: sql}}


@cache
def _code_hash() -> str:
    """A hash of srnskit's own code: an edited engine (same version number) compiles anew."""
    digest = hashlib.sha256()
    package = Path(__file__).resolve().parents[1]
    for source in sorted(package.rglob("*.py")):
        digest.update(str(source.relative_to(package)).encode())
        digest.update(source.read_bytes())
    return digest.hexdigest()


def plan_key(con: duckdb.DuckDBPyConnection, definitions_json: str) -> str:
    """The hash of everything the compiled SQL depends on."""
    versions = [metadata.version(p) for p in ("ibis-framework", "duckdb", "sqlglot")]
    versions.append(_code_hash())
    schemas = [
        con.execute(
            f"SELECT column_name, data_type FROM duckdb_columns() "
            f"WHERE table_name = '{name}' ORDER BY column_index"
        ).fetchall()
        for name in COHORT_TABLES
    ]
    text = json.dumps([versions, definitions_json, schemas], default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def load_plan(key: str) -> Plan | None:
    if os.environ.get("SRNSKIT_NO_PLAN_CACHE"):
        return None
    text = read_cached(f"plans/{key}.json")
    try:
        plan: Plan | None = json.loads(text) if text is not None else None
    except ValueError:
        return None
    return plan


def save_plan(key: str, plan: Plan) -> None:
    if os.environ.get("SRNSKIT_NO_PLAN_CACHE"):
        return
    write_cached(f"plans/{key}.json", json.dumps(plan))


def replay(con: duckdb.DuckDBPyConnection, plan: Plan) -> dict[str, pa.Table]:
    """Run a plan's steps (those not already there), then its outputs to Arrow."""
    for name, sql in plan["steps"]:
        con.execute(f"CREATE TEMP TABLE IF NOT EXISTS {name} AS {sql}")
    return {name: con.execute(sql).arrow().read_all() for name, sql in plan["outputs"].items()}


def drop_steps(con: duckdb.DuckDBPyConnection, names: list[str]) -> None:
    for name in names:
        con.execute(f"DROP TABLE IF EXISTS {name}")
