"""Derive: a cohort's outcomes under a definition set (cohort-format.md §3) on a backend.

Runs the expressions of ``engine.derived`` on the chosen backend and hands on ``Derived``;
writing is an output's job (``outputs.writers``).
"""

from __future__ import annotations

import pyarrow as pa

from srnskit.cohort.load import Cohort
from srnskit.definitions.model import DefinitionSet
from srnskit.engine.backends import Engine, connect
from srnskit.engine.backends.plan import drop_steps, load_plan, plan_key, replay, save_plan
from srnskit.engine.derived import Derived, declared, derive_expressions, derived_from

__all__ = ["derive", "derive_many"]


def derive(
    cohort: Cohort,
    definitions: DefinitionSet,
    *,
    engine: Engine = "duckdb",
    patient_id: str | None = None,
    spark_master: str | None = None,
) -> Derived:
    """Compute the derived tables of ``cohort`` (or of one patient) under ``definitions``."""
    if engine == "duckdb" and patient_id is None:
        results, _ = _on_duckdb(cohort, definitions)
    else:
        tables = connect(
            cohort, engine, patient_id=patient_id, spark_master=spark_master, keyed=True
        )
        expressions = derive_expressions(tables, definitions)
        results = {
            name: declared(tables.backend.to_pyarrow(expr), name)
            for name, expr in expressions.items()
        }
        if engine == "duckdb":
            drop_steps(cohort.con, [name for name, _ in tables.steps])
    return derived_from(results, definitions)


def _on_duckdb(
    cohort: Cohort, definitions: DefinitionSet, *, keep_steps: bool = False
) -> tuple[dict[str, pa.Table], list[str]]:
    """The derived tables on DuckDB (a cached SQL plan replayed, or compiled, run and cached),
    and the names of the step tables it made; they are dropped unless ``keep_steps``."""
    key = plan_key(cohort.con, definitions.model_dump_json())
    plan = load_plan(key)
    if plan is None:
        # Compiled on empty step tables (only their schemas are needed), then replayed.
        tables = connect(cohort, "duckdb", keyed=True, schema_only=True)
        try:
            expressions = derive_expressions(tables, definitions)
            outputs = {
                name: str(tables.backend.compile(expr)) for name, expr in expressions.items()
            }
        finally:
            drop_steps(cohort.con, tables.empty_steps)
        plan = {"steps": tables.steps, "outputs": outputs}
        save_plan(key, plan)
    steps = [name for name, _ in plan["steps"]]
    try:
        replayed = replay(cohort.con, plan, keep_steps=keep_steps)
        results = {name: declared(table, name) for name, table in replayed.items()}
    finally:
        if not keep_steps:
            drop_steps(cohort.con, steps)
    return results, steps


def derive_many(cohort: Cohort, definition_sets: list[DefinitionSet]) -> list[Derived]:
    """``derive`` under several sets on DuckDB; the steps they share are computed once."""
    made: list[str] = []
    out = []
    try:
        for definitions in definition_sets:
            results, steps = _on_duckdb(cohort, definitions, keep_steps=True)
            made += steps
            out.append(derived_from(results, definitions))
    finally:
        drop_steps(cohort.con, list(dict.fromkeys(made)))
    return out
