"""DuckDB in process (the default backend), with a replayable SQL plan cached per build.

Compiling the engine's Ibis expressions to SQL costs about a second of Python whatever the
cohort's size (most of a small cohort's derive). The SQL depends only on what the build computes
(the caller's ``key``: definition set, study, …), the cohort tables' column names and types,
srnskit's own code and the versions of Ibis, sqlglot and DuckDB — never on the data — so the
compiled plan (each materialised step's SQL, then each output's) is kept in the user's cache
folder under a hash of exactly those, and replayed on the next run. Any failure to read or write
the cache only means compiling again; ``SRNSKIT_NO_PLAN_CACHE=1`` turns it off.

Each step is a temp table named by a hash of its SQL (which names the earlier steps it reads), so
the same step of two builds (two definition sets' shared proteinuria days) is computed once
when the backend keeps its steps (``share_steps``).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from functools import cache
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self

import duckdb
import ibis
import pyarrow as pa

from srnskit.cache import read_cached, write_cached
from srnskit.engine.backends.base import Backend, Build, TableLocations, step_name
from srnskit.schema import COHORT_TABLES
from srnskit.settings import plan_cache_enabled

if TYPE_CHECKING:
    from srnskit.cohort.load import Cohort

__all__ = ["DuckDBBackend", "Plan", "plan_key", "replay"]

Plan = dict[str, Any]  # {"steps": [[name, sql], ...], "outputs": {name: sql}}


class DuckDBBackend(Backend):
    """The rules on an in-process DuckDB connection holding the canonical tables by name.

    ``share_steps``: keep every step table until ``close`` (several builds on one cohort then
    compute their common steps once); otherwise a run drops its steps when its outputs are read.
    """

    name = "duckdb"

    def __init__(self, con: duckdb.DuckDBPyConnection, *, share_steps: bool = False) -> None:
        super().__init__(ibis.duckdb.from_connection(con))
        self.con = con
        self.share_steps = share_steps
        self._steps: list[tuple[str, str]] = []  # this run's steps, in order
        self._schema_only = False  # compiling: each step made empty (its schema is enough)
        self._empty: list[str] = []
        self._kept: list[str] = []  # steps kept for ``close`` (share_steps)

    @classmethod
    def for_cohort(cls, cohort: Cohort, *, master: str | None = None) -> Self:
        """The cohort's own in-process database (no copy)."""
        return cls(cohort.con)

    @classmethod
    def from_locations(cls, locations: TableLocations) -> Self:
        """A fresh in-memory database whose canonical tables are views of Parquet files."""
        con = _connect()
        for name, location in locations.items():
            path = location.replace("'", "''")
            con.execute(f"CREATE VIEW {name} AS SELECT * FROM read_parquet('{path}')")
        return cls(con)

    @classmethod
    def from_arrow(cls, tables: Mapping[str, pa.Table]) -> Self:
        """A fresh in-memory database holding ``tables`` (Arrow) as the canonical tables."""
        con = _connect()
        for name, table in tables.items():
            con.register(f"arrow_{name}", table)
            con.execute(f"CREATE TABLE {name} AS SELECT * FROM arrow_{name}")
            con.unregister(f"arrow_{name}")
        return cls(con)

    def source(self, name: str) -> ibis.Table:
        return self.ibis.table(name)

    def materialise(self, sql: str) -> str:
        # A named temp table rather than ibis' cache(): the step's SQL is recorded, so the whole
        # run can be replayed as SQL and the tables dropped afterwards.
        name = step_name(sql)
        if self._schema_only:
            exists = self.con.execute(
                f"SELECT 1 FROM duckdb_tables() WHERE table_name = '{name}'"
            ).fetchall()
            if not exists:
                self.con.execute(f"CREATE TEMP TABLE {name} AS {sql} LIMIT 0")
                self._empty.append(name)
        else:
            self.con.execute(f"CREATE TEMP TABLE IF NOT EXISTS {name} AS {sql}")
        self._steps.append((name, sql))
        return name

    def run(self, build: Build, *, key: str, patient_id: str | None = None) -> dict[str, pa.Table]:
        """One patient: compiled and run directly. The whole cohort: the cached plan replayed,
        or compiled on empty step tables, cached and replayed."""
        self._steps = []
        if patient_id is not None:
            try:
                return super().run(build, key=key, patient_id=patient_id)
            finally:
                self._done([name for name, _ in self._steps])
        plan = self.plan(build, key=key)
        steps = [name for name, _ in plan["steps"]]
        try:
            return replay(self.con, plan, keep_steps=self.share_steps)
        finally:
            self._done(steps)

    def plan(self, build: Build, *, key: str) -> Plan:
        """The cached plan of ``build`` under ``key`` on these tables' schemas; compiled (on
        empty step tables, dropped afterwards) and cached when there is none."""
        full_key = plan_key(self.con, key)
        plan = _load_plan(full_key)
        if plan is not None:
            return plan
        self._steps, self._empty, self._schema_only = [], [], True
        try:
            expressions = build(self.tables(keyed=True))
            outputs = {name: self.compile(expr) for name, expr in expressions.items()}
        finally:
            self._schema_only = False
            _drop(self.con, self._empty)
        plan = {"steps": self._steps, "outputs": outputs}
        _save_plan(full_key, plan)
        return plan

    def cached_steps(self, key: str) -> set[str] | None:
        """The step names of the plan cached under ``key`` on these tables, or None."""
        plan = _load_plan(plan_key(self.con, key))
        return None if plan is None else {name for name, _ in plan["steps"]}

    def close(self) -> None:
        _drop(self.con, list(dict.fromkeys(self._kept)))
        self._kept = []

    def _done(self, steps: list[str]) -> None:
        if self.share_steps:
            self._kept += steps
        else:
            _drop(self.con, steps)


def _connect() -> duckdb.DuckDBPyConnection:
    # Offline: only what the wheel bundles (parquet among it), never a download.
    return duckdb.connect(
        config={"autoinstall_known_extensions": False, "autoload_known_extensions": False}
    )


@cache
def _code_hash() -> str:
    """A hash of srnskit's own code: an edited engine (same version number) compiles anew."""
    digest = hashlib.sha256()
    package = Path(__file__).resolve().parents[2]
    for source in sorted(package.rglob("*.py")):
        digest.update(str(source.relative_to(package)).encode())
        digest.update(source.read_bytes())
    return digest.hexdigest()


def plan_key(con: duckdb.DuckDBPyConnection, key: str) -> str:
    """The hash of everything the compiled SQL depends on: ``key`` (what the build computes),
    the canonical tables' columns and types, srnskit's code and the SQL libraries' versions."""
    versions = [metadata.version(p) for p in ("ibis-framework", "duckdb", "sqlglot")]
    versions.append(_code_hash())
    schemas = [
        con.execute(
            f"SELECT column_name, data_type FROM duckdb_columns() "
            f"WHERE table_name = '{name}' ORDER BY column_index"
        ).fetchall()
        for name in COHORT_TABLES
    ]
    text = json.dumps([versions, key, schemas], default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def _load_plan(key: str) -> Plan | None:
    if not plan_cache_enabled():
        return None
    text = read_cached(f"plans/{key}.json")
    try:
        plan: Plan | None = json.loads(text) if text is not None else None
    except ValueError:
        return None
    return plan


def _save_plan(key: str, plan: Plan) -> None:
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
    go, before the episode steps are built rather than after them. The steps the outputs read
    are the caller's to drop.
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
        _drop(con, list(inputs[name] - later))
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


def _drop(con: duckdb.DuckDBPyConnection, names: list[str]) -> None:
    for name in names:
        con.execute(f"DROP TABLE IF EXISTS {name}")
