"""Derive: a cohort's outcomes under a definition set (cohort-format.md §3), all or nothing.

Builds the three derived tables and the inclusion flow as Ibis expressions on the chosen
backend, executes each once to Arrow, and writes them through the declared schema.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import ibis
import pyarrow as pa

from srnskit.atomic import atomic_directory
from srnskit.cohort.load import Cohort
from srnskit.cohort.schema import DERIVED_TABLES, EXCLUSION_STEPS
from srnskit.cohort.writer import TableWriter, derived_schema
from srnskit.definitions.model import DefinitionSet
from srnskit.engine.backend import Engine, Tables, connect, materialise
from srnskit.engine.courses import course_responses, courses
from srnskit.engine.episodes import classify_days, episodes
from srnskit.engine.followup import last_followup
from srnskit.engine.kidney import kidney_outcomes
from srnskit.engine.outcomes import (
    cni_response,
    eligibility,
    first_remission,
    multidrug_resistance,
    steroid_response,
)
from srnskit.engine.plan import drop_steps, load_plan, plan_key, replay, save_plan
from srnskit.engine.proteinuria import proteinuria_days

__all__ = ["Derived", "derive", "derive_expressions", "derive_many", "flow", "write_derived"]


@dataclass
class Derived:
    """The derived tables as Arrow, and the inclusion flow."""

    patient_outcomes: pa.Table
    courses: pa.Table
    episodes: pa.Table
    flow: dict[str, Any]

    def tables(self) -> dict[str, pa.Table]:
        return {
            "patient_outcomes": self.patient_outcomes,
            "courses": self.courses,
            "episodes": self.episodes,
        }


def derive_expressions(tables: Tables, definitions: DefinitionSet) -> dict[str, ibis.Table]:
    """The three derived tables (and the per-patient first failed step) as Ibis expressions.

    Intermediate tables that several outputs read are materialised once on the backend
    (``materialise``), so no step is computed twice.
    """
    followup = materialise(tables, last_followup(tables))
    days = proteinuria_days(tables, definitions)
    events = classify_days(tables, days, definitions)
    episode = materialise(tables, episodes(tables.patients, events, days, followup, definitions))
    course = materialise(
        tables, course_responses(courses(tables.treatments, followup, definitions), episode, days)
    )
    steroid = materialise(tables, steroid_response(tables, episode, days, definitions))
    eligible = eligibility(tables, steroid, course, followup, definitions)
    outcome = tables.patients.select("patient_id")
    for part in (
        eligible,
        steroid,
        cni_response(tables, episode, days, course, definitions),
        multidrug_resistance(tables, episode, followup, definitions),
        first_remission(tables, episode),
        kidney_outcomes(tables, definitions),
    ):
        outcome = outcome.left_join(part, "patient_id").drop("patient_id_right")
    columns = [c.name for c in DERIVED_TABLES["patient_outcomes"]]
    named = tables.named
    return {
        "patient_outcomes": named(outcome.select(*columns, "first_failed")).order_by("patient_id"),
        "courses": named(course.select(*[c.name for c in DERIVED_TABLES["courses"]])).order_by(
            ["patient_id", "course_no"]
        ),
        "episodes": named(episode.select(*[c.name for c in DERIVED_TABLES["episodes"]])).order_by(
            ["patient_id", "start_date"]
        ),
    }


def _declared(table: pa.Table, name: str) -> pa.Table:
    """Cast a backend's result to the declared schema (DuckDB and Spark differ in types)."""
    schema = derived_schema(name)
    result = pa.table([table.column(f.name).cast(f.type) for f in schema], schema=schema)
    for column in table.column_names:
        if column not in schema.names:
            result = result.append_column(column, table.column(column))
    return result


def flow(outcomes: pa.Table, definitions: DefinitionSet) -> dict[str, Any]:
    """The inclusion flow: patients left after each step, each counted at its first failure."""
    first_failed = outcomes.column("first_failed").to_pylist()
    remaining = len(first_failed)
    steps = []
    for step in EXCLUSION_STEPS:
        excluded = sum(1 for f in first_failed if f == step)
        remaining -= excluded
        steps.append({"step": step, "excluded": excluded, "remaining": remaining})
    return {"definitions": definitions.name, "start": len(first_failed), "steps": steps}


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
            name: _declared(tables.backend.to_pyarrow(expr), name)
            for name, expr in expressions.items()
        }
        if engine == "duckdb":
            drop_steps(cohort.con, [name for name, _ in tables.steps])
    return _derived(results, definitions)


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
        results = {name: _declared(table, name) for name, table in replayed.items()}
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
            out.append(_derived(results, definitions))
    finally:
        drop_steps(cohort.con, list(dict.fromkeys(made)))
    return out


def _derived(results: dict[str, pa.Table], definitions: DefinitionSet) -> Derived:
    outcomes = results["patient_outcomes"]
    return Derived(
        patient_outcomes=outcomes.drop_columns(["first_failed"]),
        courses=results["courses"],
        episodes=results["episodes"],
        flow=flow(outcomes, definitions),
    )


def write_derived(
    derived: Derived, out: Path, *, fmt: Literal["csv", "parquet"] = "csv", force: bool = False
) -> None:
    """Write the derived tables and flow.json into ``out``, all or nothing."""
    with atomic_directory(out, force=force) as folder:
        for name, table in derived.tables().items():
            with TableWriter(folder, name, derived_schema(name), fmt) as writer:
                writer.write(table)
        (folder / "flow.json").write_text(
            json.dumps(derived.flow, indent=2) + "\n", encoding="utf-8"
        )
