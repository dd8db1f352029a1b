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
from functools import cache
from importlib import metadata
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from srnskit.cache import read_cached, write_cached
from srnskit.schema import COHORT_TABLES
from srnskit.settings import plan_cache_enabled

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
    if not plan_cache_enabled():
        return None
    text = read_cached(f"plans/{key}.json")
    try:
        plan: Plan | None = json.loads(text) if text is not None else None
    except ValueError:
        return None
    return plan


def save_plan(key: str, plan: Plan) -> None:
    if not plan_cache_enabled():
        return
    write_cached(f"plans/{key}.json", json.dumps(plan))


def replay(
    con: duckdb.DuckDBPyConnection, plan: Plan, *, keep_steps: bool = False
) -> dict[str, pa.Table]:
    """Run a plan's steps (those not already there), then its outputs to Arrow.

    Unless ``keep_steps``, a step's table is dropped as soon as the last step reading it has run,
    and of the steps ready to run the one reading the oldest live table runs first: the steps
    reading early tables (kidney function, body size for steroid doses) run, and their inputs
    go, before the episode steps are built rather than after them.
    """
    steps = dict(plan["steps"])
    inputs = {name: _reads(sql, steps) for name, sql in steps.items()}
    order = list(steps) if keep_steps else _schedule(list(steps), inputs)
    needed_by_outputs = set().union(*(_reads(sql, steps) for sql in plan["outputs"].values()))
    for index, name in enumerate(order):
        con.execute(f"CREATE TEMP TABLE IF NOT EXISTS {name} AS {steps[name]}")
        if keep_steps:
            continue
        later = set().union(*(inputs[n] for n in order[index + 1 :])) | needed_by_outputs
        for done in inputs[name] - later:
            con.execute(f"DROP TABLE IF EXISTS {done}")
    return {name: con.execute(sql).arrow().read_all() for name, sql in plan["outputs"].items()}


def _reads(sql: str, steps: dict[str, str]) -> set[str]:
    """The steps whose tables ``sql`` reads (a step's table is named by the step)."""
    return {name for name in steps if name in sql}


def _schedule(names: list[str], inputs: dict[str, set[str]]) -> list[str]:
    """The steps in an order that respects what each reads, preferring, among those ready, the
    one whose oldest input (in plan order) is oldest; ties in plan order."""
    position = {name: index for index, name in enumerate(names)}
    done: list[str] = []
    waiting = list(names)
    while waiting:
        ready = [n for n in waiting if inputs[n] <= set(done)]
        chosen = min(
            ready, key=lambda n: (min((position[r] for r in inputs[n]), default=-1), position[n])
        )
        done.append(chosen)
        waiting.remove(chosen)
    return done


def drop_steps(con: duckdb.DuckDBPyConnection, names: list[str]) -> None:
    for name in names:
        con.execute(f"DROP TABLE IF EXISTS {name}")
