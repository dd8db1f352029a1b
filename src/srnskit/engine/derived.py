"""The derived tables as expressions, and ``Derived``, the one type the engine hands on.

``derive_expressions`` builds the three derived tables (cohort-format.md §3) as Ibis
expressions on any backend; ``Derived`` holds their results (Arrow) and the inclusion flow.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import ibis
import pyarrow as pa

from srnskit.definitions.model import DefinitionSet
from srnskit.engine.backends import Tables, materialise
from srnskit.engine.rules.courses import course_responses, courses
from srnskit.engine.rules.episodes import classify_days, episodes
from srnskit.engine.rules.followup import last_followup
from srnskit.engine.rules.kidney import kidney_outcomes
from srnskit.engine.rules.outcomes import (
    cni_response,
    eligibility,
    first_remission,
    multidrug_resistance,
    steroid_response,
)
from srnskit.engine.rules.proteinuria import proteinuria_days
from srnskit.schema import DERIVED_TABLES, EXCLUSION_STEPS
from srnskit.writer import derived_schema

__all__ = ["Derived", "declared", "derive_expressions", "derived_from", "flow"]


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


def declared(table: pa.Table, name: str) -> pa.Table:
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


def derived_from(results: dict[str, pa.Table], definitions: DefinitionSet) -> Derived:
    outcomes = results["patient_outcomes"]
    return Derived(
        patient_outcomes=outcomes.drop_columns(["first_failed"]),
        courses=results["courses"],
        episodes=results["episodes"],
        flow=flow(outcomes, definitions),
    )
